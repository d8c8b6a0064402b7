"""The experiment the draft's Section 1.2 starts from, re-run: the authors' earlier dense chaos autoencoder.

The draft's motivation ("variance collapse", "flat divergence trajectory") comes from the unit tests of the
authors' earlier cryptography repository (VictorGod/Chaos-Almost-Everything-You-Need-Autoencoders-for-
Enhancing-Classical-Cryptography, ``app/crypto/autoencoder.py``, ``app/crypto/utils.py``,
``tests/test_encryption.py``, commit 5156883). What those files do, re-implemented here in our own code:

- the model: 784 -> Dense(128), chaos activation -> Dense(64), chaos activation = the code, plus a loss
  term -0.01 * mean per-unit batch variance of the code (a reward for variance, added once per batch, not
  divided by the batch size) -> Dense(128), BatchNormalization, chaos activation -> Dense(784, sigmoid);
  Adam at Keras's default learning rate (1e-3), mean squared error;
- images: 784 logistic-map iterates (r = 3.99) from x0, x0 itself excluded, as in this book; the
  repository's "fixed initial" data sets start every image at x0 = 0.4, so they hold copies of one image;
- the variance test (``test_explainability_interpretability``): trained for 2 epochs (batch 64) on 500
  images from x0 = 0.4, the model encodes 200 images from x0 = 0.4 and every unit's variance must exceed 1e-4;
- the divergence test (``test_latent_chaos_behavior``): trained for 3 epochs (batch 64, 10 % validation
  split) on 1000 images from random x0, the model encodes two chains of 10 images, frame t started from the
  t-th iterate of 0.4 and of 0.4 + 1e-5; the latent distance at the last frame must exceed 5 times the first.
"""

from __future__ import annotations

import numpy as np

from ksc.data.chaos import IMAGE_SIDE, PIXELS, logistic_orbit
from ksc.models.layers import ChaosActivation
from ksc.runtime.backend import keras

FIXED_START = 0.4


class VarianceReward(keras.layers.Layer):
    """Identity that adds -strength * mean per-unit batch variance of its input to the loss."""

    def __init__(self, strength: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.strength = float(strength)

    def call(self, x):
        self.add_loss(-self.strength * keras.ops.mean(keras.ops.var(x, axis=0)))
        return x


def build_origin(latent_dim: int = 64, hidden: int = 128):
    """The authors' earlier autoencoder: (model, encoder)."""
    image = keras.Input(shape=(IMAGE_SIDE, IMAGE_SIDE), name="image")
    x = keras.layers.Flatten()(image)
    x = ChaosActivation(name="enc_chaos")(keras.layers.Dense(hidden, name="enc")(x))
    code = ChaosActivation(name="latent_chaos")(keras.layers.Dense(latent_dim, name="latent")(x))
    code = VarianceReward(0.01, name="variance_reward")(code)
    x = keras.layers.BatchNormalization(name="dec_norm")(keras.layers.Dense(hidden, name="dec")(code))
    x = ChaosActivation(name="dec_chaos")(x)
    x = keras.layers.Dense(PIXELS, activation="sigmoid", name="pixels")(x)
    output = keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE))(x)
    model = keras.Model(image, output, name="origin")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model, keras.Model(image, code, name="origin_encoder")


def images_from(starts, r: float = 3.99) -> np.ndarray:
    """One image per start point: the 784 iterates after it, row-major, float32."""
    return (
        logistic_orbit(np.asarray(starts, np.float64), r, PIXELS).reshape(-1, IMAGE_SIDE, IMAGE_SIDE).astype(np.float32)
    )


def training_images(n: int, fixed: bool, seed: int, r: float = 3.99) -> np.ndarray:
    """The repository's data sets: every image from x0 = 0.4 (``fixed``) or from x0 ~ U[0, 1)."""
    starts = np.full(n, FIXED_START) if fixed else np.random.default_rng([seed, 4]).uniform(0.0, 1.0, n)
    return images_from(starts, r)


def train_origin(images: np.ndarray, seed: int, epochs: int, batch_size: int = 64, validation_split: float = 0.0):
    """Builds and trains the origin model on ``images`` as the repository's tests do; returns (model, encoder)."""
    keras.utils.set_random_seed(seed)
    model, encoder = build_origin()
    model.fit(images, images, epochs=epochs, batch_size=batch_size, validation_split=validation_split, verbose=0)
    return model, encoder


def encode(encoder, images: np.ndarray) -> np.ndarray:
    """The codes of ``images`` as the repository's tests get them (``predict``, batches of 32)."""
    return np.asarray(encoder.predict(images, batch_size=32, verbose=0), np.float64)


def divergence_chains(start: float, delta: float, steps: int, r: float = 3.99) -> tuple[np.ndarray, np.ndarray]:
    """The test's two chains: frame t is the image started from the t-th iterate of ``start`` (and of start + delta)."""
    chain = []
    for x0 in (start, start + delta):
        points = np.concatenate([[x0], logistic_orbit(np.array([x0]), r, steps - 1)[0]])
        chain.append(images_from(points, r))
    return chain[0], chain[1]


def frame_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between matching rows of a and b (flattened)."""
    return np.linalg.norm(a.reshape(len(a), -1).astype(np.float64) - b.reshape(len(b), -1), axis=1)
