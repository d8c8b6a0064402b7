"""The autoencoders of the KSC draft: Dense ReLU baseline and V1-V4.

All share one shape: 784 -> 256 -> 128 -> latent -> 128 -> 256 -> 784 (sigmoid output), and differ
only in the latent layer and the hidden activation:

- ``dense_relu``: ReLU everywhere, latent Dense(latent_dim, relu) (the draft uses 64 and 128);
- ``v1``: latent ReLU with L1(1e-4) activity and kernel penalties, then Dropout(0.2);
- ``v2``: latent ReLU with an L2(1e-4) kernel penalty only;
- ``v3``: latent ReLU followed by Top-K(k);
- ``v4``: chaos activation everywhere but the output, target-variance penalty, Top-K(k).
"""

from __future__ import annotations

from typing import NamedTuple

from ksc.data.chaos import IMAGE_SIDE, PIXELS
from ksc.models.layers import ChaosActivation, TargetVarianceRegularizer, TopK
from ksc.runtime.backend import keras

MODELS = ("dense_relu", "v1", "v2", "v3", "v4")
VARIANCE_PENALTIES = ("draft", "code", "none")


class Autoencoder(NamedTuple):
    """The trainable model (image -> image) and its encoder (image -> latent)."""

    model: keras.Model
    encoder: keras.Model


def _hidden(units: int, chaos: dict | None, name: str):
    """Dense + activation as a list of layers: ReLU, or the chaos activation when ``chaos`` is given."""
    if chaos is None:
        return [keras.layers.Dense(units, activation="relu", name=name)]
    return [keras.layers.Dense(units, name=name), ChaosActivation(**chaos, name=f"{name}_chaos")]


def _apply(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def _latent_block(name: str, latent_dim: int, k: int, topk_by: str, variance_penalty: str, chaos: dict):
    """The layers between the encoder trunk and the decoder, per model."""
    if name == "dense_relu":
        return [keras.layers.Dense(latent_dim, activation="relu", name="latent")]
    if name == "v1":
        return [
            keras.layers.Dense(
                latent_dim,
                activation="relu",
                name="latent",
                activity_regularizer=keras.regularizers.L1(1e-4),
                kernel_regularizer=keras.regularizers.L1(1e-4),
            ),
            keras.layers.Dropout(0.2, name="latent_dropout"),
        ]
    if name == "v2":
        return [
            keras.layers.Dense(
                latent_dim, activation="relu", name="latent", kernel_regularizer=keras.regularizers.L2(1e-4)
            )
        ]
    if name == "v3":
        return [keras.layers.Dense(latent_dim, activation="relu", name="latent"), TopK(k, by=topk_by, name="topk")]
    if name == "v4":
        draft = TargetVarianceRegularizer(0.1, 0.01, "abs") if variance_penalty == "draft" else None
        code = TargetVarianceRegularizer(0.1, 0.01, "squared") if variance_penalty == "code" else None
        return [
            keras.layers.Dense(latent_dim, name="latent", activity_regularizer=draft),
            ChaosActivation(**chaos, name="latent_chaos"),
            TopK(k, by=topk_by, name="topk", activity_regularizer=code),
        ]
    raise ValueError(f"model must be one of {MODELS}, got {name!r}")


def build_model(
    name: str,
    latent_dim: int = 128,
    k: int = 32,
    topk_by: str = "abs",
    variance_penalty: str = "draft",
    omega: float = 8.0,
    alpha: float = 0.5,
    beta: float = 4.0,
) -> Autoencoder:
    """Builds one of :data:`MODELS`; ``k``, ``topk_by`` and ``variance_penalty`` matter only where used."""
    if variance_penalty not in VARIANCE_PENALTIES:
        raise ValueError(f"variance_penalty must be one of {VARIANCE_PENALTIES}, got {variance_penalty!r}")
    chaos = dict(omega=omega, alpha=alpha, beta=beta) if name == "v4" else None
    image = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="image")
    x = keras.layers.Flatten()(image)
    x = _apply(_hidden(256, chaos, "enc1") + _hidden(128, chaos, "enc2"), x)
    latent = _apply(_latent_block(name, latent_dim, k, topk_by, variance_penalty, chaos), x)
    x = _apply(_hidden(128, chaos, "dec1") + _hidden(256, chaos, "dec2"), latent)
    x = keras.layers.Dense(PIXELS, activation="sigmoid", name="pixels")(x)
    output = keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE))(x)
    return Autoencoder(keras.Model(image, output, name=name), keras.Model(image, latent, name=f"{name}_encoder"))


def pre_topk_latents(model, images):
    """The latent layer's output before Top-K (layer ``latent``) of a trained V3/V4 model, as a numpy array."""
    inner = keras.Model(model.input, model.get_layer("latent").output)
    return keras.ops.convert_to_numpy(inner(images))
