"""Training autoencoders the authors' way: Adam(1e-3), MSE, batch 64, shuffled epochs.

:func:`train` is the reference: one model, one seed, Keras ``fit`` as the authors ran it.
:func:`train_many` trains several seeds (or Top-K sizes) of one model as one computation
(:mod:`ksc.models.members`), each member with its own initialisation and data order, an epoch per
compiled call; it returns the same :class:`Fit` per member.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.data.chaos import Splits
from ksc.measures.metrics import latent_metrics, reconstruction_metrics
from ksc.models.architectures import Autoencoder, build_model
from ksc.models.fused_adam import FusedAdam
from ksc.models.members import MemberAutoencoder
from ksc.runtime.backend import keras


class Fit(NamedTuple):
    """Everything one training produced: a fit."""

    model_name: str
    seed: int
    history: pd.DataFrame  # one row per epoch: loss, val_loss
    metrics: dict  # latent and reconstruction metrics on the test set
    wall_seconds: float  # build + fit + evaluation
    z_test: np.ndarray  # (n_test, latent_dim) latents of the test set
    reconstruction: np.ndarray  # (n_test, 28, 28)
    autoencoder: Autoencoder


class LatentProbe(keras.callbacks.Callback):
    """Latent metrics of held-out images after every epoch (the draft's training-stability figure)."""

    def __init__(self, encoder, images):
        super().__init__()
        self.encoder, self.images, self.rows = encoder, images, []

    def on_epoch_end(self, epoch, logs=None):
        z = keras.ops.convert_to_numpy(self.encoder(self.images, training=False))
        m = latent_metrics(z)
        self.rows.append({f"probe_{q}": m[q] for q in ("variance", "dead_units", "sparsity")})


def data_orders(seeds, n: int, epochs: int) -> np.ndarray:
    """(epochs, members, n) training-row orders; member m's are drawn from seeds[m] alone."""
    rngs = [np.random.default_rng([int(seed), 1]) for seed in seeds]
    return np.stack([np.stack([rng.permutation(n) for rng in rngs]) for _ in range(epochs)])


def train(
    model_name: str,
    data: Splits,
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    label: str | None = None,
    probe: np.ndarray | None = None,
    **model_kwargs,
) -> Fit:
    """Builds ``model_name`` with ``model_kwargs``, trains it on ``data.train`` and measures it on ``data.test``.

    On the CPU the same seed gives the same numbers: the seed fixes the weights and every epoch's
    data order (:func:`data_orders`).
    With ``probe`` (images), the history also holds latent variance, dead units and sparsity after
    every epoch.
    """
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    ae = build_model(model_name, **model_kwargs)
    ae.model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callbacks = [LatentProbe(ae.encoder, probe)] if probe is not None else []
    # One fit call per epoch on that epoch's order: with a seed set, fit(shuffle=True) on the
    # TensorFlow backend repeats the first epoch's order in every epoch (its shuffle op restarts
    # from the same seed with each epoch's new iterator), where the authors' unseeded runs reshuffled.
    logs = []
    for epoch, order in enumerate(data_orders([seed], len(data.train), epochs)[:, 0]):
        x = data.train[order]
        fit = ae.model.fit(
            x,
            x,
            validation_data=(data.val, data.val),
            initial_epoch=epoch,
            epochs=epoch + 1,
            batch_size=batch_size,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )
        logs.append({name: values[-1] for name, values in fit.history.items()})
    history = pd.DataFrame(logs)
    if callbacks:
        history = pd.concat([history, pd.DataFrame(callbacks[0].rows)], axis=1)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    # One direct call on the whole test set: no per-call tracing as predict() would do.
    z_test = keras.ops.convert_to_numpy(ae.encoder(data.test, training=False))
    reconstruction = keras.ops.convert_to_numpy(ae.model(data.test, training=False))
    wall = time.perf_counter() - start
    return _fit(label or model_name, seed, history, z_test, reconstruction, ae, data, wall)


def _fit(label, seed, history, z_test, reconstruction, autoencoder, data: Splits, wall: float) -> Fit:
    metrics = {
        "model": label,
        "seed": seed,
        **latent_metrics(z_test),
        **reconstruction_metrics(data.test, reconstruction, data.train),
        "val_loss": float(history["val_loss"].iloc[-1]),
        "train_loss": float(history["loss"].iloc[-1]),
        "wall_seconds": wall,
    }
    return Fit(label, seed, history, metrics, wall, z_test, reconstruction, autoencoder)


def _padded_batches(rows_MN: np.ndarray, batch_size: int) -> np.ndarray:
    """(steps * batch_size, members) row indices, the last batch padded with -1."""
    pad = -rows_MN.shape[1] % batch_size
    return np.pad(rows_MN, ((0, 0), (0, pad)), constant_values=-1).T.astype(np.int32)


class _MemberProbe(keras.callbacks.Callback):
    """Per-member latent metrics of held-out images after every epoch."""

    def __init__(self, members: MemberAutoencoder, images):
        super().__init__()
        self.members, self.images, self.rows = members, images, []

    def on_epoch_end(self, epoch, logs=None):
        _, z, _ = self.members.forward(self.images)
        self.rows.append(
            [
                {f"probe_{q}": m[q] for q in ("variance", "dead_units", "sparsity")}
                for m in map(latent_metrics, keras.ops.convert_to_numpy(z))
            ]
        )


# Compiled member models by everything that shapes their graph, most recent last. A later call with
# the same shapes resets one and skips building and tracing (compiling, with JAX) its training step.
_COMPILED: dict = {}
_COMPILED_KEPT = 8


def forget_compiled() -> None:
    """Drops the compiled member models kept for reuse (the next call of any shape builds its own)."""
    _COMPILED.clear()


def _compiled_members(
    key, references, ks, images, dropout_seeds, learning_rate: float, steps: int, jit_compile, member_type, options
) -> MemberAutoencoder:
    members = _COMPILED.pop(key, None)
    if members is None:
        members = member_type(references, ks, images, dropout_seeds, **options)
        rates = isinstance(learning_rate, tuple)  # per-member rates: Adam's own rate is 1, each member's scales it
        optimizer = FusedAdam(1.0, member_rates=learning_rate) if rates else FusedAdam(learning_rate)
        members.compile(optimizer=optimizer, steps_per_execution=steps, jit_compile=jit_compile)
    else:
        members.restart(references, images, dropout_seeds)
        for variable in members.optimizer.variables:  # step count and moments back to zero (the rate too)
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))
        # per-member rates are part of the key; Adam's own rate is 1, each member's scales it
        members.optimizer.learning_rate = 1.0 if isinstance(learning_rate, tuple) else learning_rate
    _COMPILED[key] = members
    while len(_COMPILED) > _COMPILED_KEPT:
        _COMPILED.pop(next(iter(_COMPILED)))
    return members


def fit_members(
    members: MemberAutoencoder,
    orders: np.ndarray,
    val_rows: np.ndarray,
    batch_size: int = 64,
    probe: np.ndarray | None = None,
    callbacks=(),
) -> list[pd.DataFrame]:
    """Trains every member of a compiled model on its own row orders ((epochs, members, n), indices into its images).

    One compiled call per epoch (compile with ``steps_per_execution`` = batches per epoch); the
    validation loss is measured on ``val_rows`` ((n_val,) for all members or (members, n_val)) after
    every epoch. ``callbacks`` (Keras callbacks) run too. Returns each member's history (loss, val_loss, probe).
    """
    epochs, n_members, n = orders.shape
    steps = -(-n // batch_size)
    train_rows = np.concatenate([_padded_batches(order, batch_size) for order in orders])
    val = _padded_batches(np.broadcast_to(val_rows, (n_members, np.shape(val_rows)[-1])), batch_size)
    probes = [_MemberProbe(members, probe)] if probe is not None else []
    fit = members.fit(
        train_rows,
        epochs=epochs,
        batch_size=batch_size,
        steps_per_epoch=steps,
        shuffle=False,
        validation_data=(val,),
        verbose=0,
        callbacks=probes + list(callbacks),
    )
    histories = []
    for m in range(n_members):
        history = pd.DataFrame(
            {"loss": fit.history[f"member_loss_{m}"], "val_loss": fit.history[f"val_member_loss_{m}"]}
        )
        if probes:
            history = pd.concat([history, pd.DataFrame([rows[m] for rows in probes[0].rows])], axis=1)
        history.insert(0, "epoch", np.arange(1, len(history) + 1))
        histories.append(history)
    return histories


def _pool(datasets) -> tuple[np.ndarray, list[int]]:
    """The training and validation images of every distinct data set, stacked, and where each set starts."""
    distinct = list({id(d): d for d in datasets}.values())
    sizes = {(len(d.train), len(d.val), len(d.test)) for d in distinct}
    if len(sizes) > 1:
        raise ValueError(f"data sets trained together need equal train/val/test sizes, got {sorted(sizes)}")
    images = np.concatenate([np.concatenate([d.train, d.val]) for d in distinct])
    block = len(distinct[0].train) + len(distinct[0].val)
    offsets = {id(d): i * block for i, d in enumerate(distinct)}
    return images, [offsets[id(d)] for d in datasets]


def train_many(
    model_name: str,
    data,
    seeds,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float | list = 1e-3,
    labels=None,
    ks=None,
    probe: np.ndarray | None = None,
    jit_compile="auto",
    member_type=MemberAutoencoder,
    member_options: dict | None = None,
    callbacks=(),
    **model_kwargs,
) -> list[Fit]:
    """:func:`train` for every seed in ``seeds`` at once, as one computation; one :class:`Fit` per seed.

    Member m starts from the weights and follows the data orders that :func:`train` uses for
    seeds[m]; only Dropout draws its masks from a different stream (one drawn from seeds[m] alone, so a
    member's numbers do not depend on which seeds train beside it).

    ``data`` is one :class:`~ksc.data.chaos.Splits` for all, or one per seed (of equal sizes); ``ks``
    (one per seed) gives each member its own Top-K size; ``labels`` is one label for all or one per
    seed. On the CPU the same seeds give the same numbers. Each run's ``wall_seconds`` is the wall
    time of the whole batch (build, training, evaluation) divided by the number of members.

    ``learning_rate`` is one rate for all or one per seed (:class:`~ksc.models.fused_adam.FusedAdam` with
    per-member rates).
    ``member_type`` (a :class:`~ksc.models.members.MemberAutoencoder` subclass, built with ``member_options``) and
    ``callbacks`` (Keras callbacks of the one ``fit``) change how the members train
    (``ksc.chapters.training_controls.revival``).
    """
    start = time.perf_counter()
    seeds = [int(s) for s in seeds]
    datasets = [data] * len(seeds) if isinstance(data, Splits) else list(data)
    ks = [int(k) for k in ks] if ks is not None else [int(model_kwargs.get("k", 32))] * len(seeds)
    labels = [labels or model_name] * len(seeds) if labels is None or isinstance(labels, str) else list(labels)
    if not len(datasets) == len(ks) == len(labels) == len(seeds):
        raise ValueError(
            f"one data set, k and label per seed: {len(seeds)} seeds, {len(datasets)} data sets, "
            f"{len(ks)} ks, {len(labels)} labels"
        )
    if isinstance(learning_rate, (list, tuple, np.ndarray)):
        rates = tuple(float(rate) for rate in learning_rate)
        if len(rates) != len(seeds):
            raise ValueError(f"one learning rate per seed: {len(seeds)} seeds, {len(rates)} rates")
        learning_rate = rates if len(set(rates)) > 1 else rates[0]
    settings = {key: value for key, value in model_kwargs.items() if key != "k"}
    references = []
    for seed, k in zip(seeds, ks):  # each member starts where train(seed=...) starts
        keras.utils.set_random_seed(seed)
        references.append(build_model(model_name, k=k, **settings))
    images, offsets = _pool(datasets)
    n_train, n_val = len(datasets[0].train), len(datasets[0].val)
    steps = -(-n_train // batch_size)
    key = (
        model_name,
        tuple(sorted(settings.items())),
        tuple(ks),
        images.shape,
        batch_size,
        steps,
        str(jit_compile),
        keras.config.floatx(),
        member_type,
        tuple(sorted((member_options or {}).items())),
        learning_rate if isinstance(learning_rate, tuple) else None,
    )
    members = _compiled_members(
        key,
        references,
        ks,
        images,
        [int(np.random.default_rng(seed).integers(2**31)) for seed in seeds],  # each member's own Dropout stream
        learning_rate,
        steps,
        jit_compile,
        member_type,
        member_options or {},
    )
    offsets_M = np.array(offsets)[:, None]
    histories = fit_members(
        members,
        data_orders(seeds, n_train, epochs) + offsets_M,
        offsets_M + n_train + np.arange(n_val),
        batch_size,
        probe,
        callbacks,
    )
    shared = all(d is datasets[0] for d in datasets)
    reconstruction, z, _ = members.forward(datasets[0].test if shared else np.stack([d.test for d in datasets]))
    reconstruction, z = keras.ops.convert_to_numpy(reconstruction), keras.ops.convert_to_numpy(z)
    autoencoders = members.export(references)
    wall = (time.perf_counter() - start) / len(seeds)
    return [
        _fit(labels[m], seeds[m], histories[m], z[m], reconstruction[m], autoencoders[m], datasets[m], wall)
        for m in range(len(seeds))
    ]


def stability_summary(history: pd.DataFrame, epochs: int) -> dict:
    """What Figure 6 states about a long run, from the per-epoch probe of the test set: the most dead units at any
    epoch, the final variance, and the mean and sd of the variance over the second half of training."""
    late = history[history.epoch > epochs // 2]
    return {
        "max_dead_units": int(history.probe_dead_units.max()),
        "final_variance": float(history.probe_variance.iloc[-1]),
        "late_variance_mean": float(late.probe_variance.mean()),
        "late_variance_sd": float(late.probe_variance.std(ddof=1)),
    }


def train_configurations(configs: dict, data, seeds, **train_kwargs) -> list[Fit]:
    """Every configuration trained for every seed: one :func:`train_many` computation per
    configuration (all its seeds together); the fits in configuration order, seeds in order within each.

    ``data`` is one :class:`~ksc.data.chaos.Splits` or one per seed; ``train_kwargs`` (epochs, batch size, learning
    rate) go to every computation."""
    fits = []
    for label, (name, settings) in configs.items():
        fits += train_many(name, data, seeds=seeds, labels=label, **train_kwargs, **settings)
    return fits


def training_seconds(fits: list[Fit]) -> dict[str, float]:
    """Wall seconds spent on each label's runs (summed over its seeds), in the order the labels first appear."""
    seconds = {}
    for fit in fits:
        seconds[fit.model_name] = seconds.get(fit.model_name, 0) + fit.wall_seconds
    return seconds
