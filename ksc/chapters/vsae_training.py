"""Chapter 06's data and training: the superposition benchmark (with validation and counting samples), a small
network's activations on the digits, the logistic images, and every arm of SAEs trained on them.

Every arm trains its members in one computation (:func:`ksc.saes.topk_vsae.train_members`), AuxK with this
chapter's rule for k_aux (:data:`K_AUX`). The functions that take ``params`` read the chapter's parameters from it
(``chapter.parameters``, the values of its ``parameters`` cell).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd

from ksc.chapters import vsae
from ksc.chapters.vsae_diagnostics import authors_chosen, chosen_fits
from ksc.data import chaos, superposition
from ksc.data import network_activations as na
from ksc.measures.metrics import cosine_similarity, firing_frequency
from ksc.saes.auxk import HALF_INPUT_WIDTH
from ksc.saes.topk_vsae import PRESETS, SCHEDULES, decoder_embedding, train_members

K_AUX = HALF_INPUT_WIDTH  # AuxK's number of dead latents in this chapter, min(d // 2, L) (ksc.saes.auxk)
KL_ONLY = ("KL without clip",)  # variants whose switch acts only through the KL term: not trained at beta = 0


class Data(NamedTuple):
    """The chapter's data sets."""

    synthetic: superposition.Superposition  # the superposition benchmark: train and test samples, its features
    synthetic_val: np.ndarray  # validation samples of the same features (beta is chosen on these)
    count: np.ndarray  # fresh samples on which dead latents are counted
    network: na.NetworkActivations  # a trained network's activations on the digits, with labels
    network_seconds: float  # the network's training time
    images: dict  # the logistic images as rows of pixels: "train", "val", "test"


def make_data(params: dict) -> Data:
    """The chapter's data sets from its parameters, drawn in a fixed order from ``data_seed``."""
    p = params
    splits = chaos.make_splits("logistic", p["n_train"], p["n_val"], p["n_test"], r=p["r"], seed=p["data_seed"])
    images = {s: getattr(splits, s).reshape(len(getattr(splits, s)), -1) for s in ("train", "val", "test")}
    sizes = [p[name] for name in ("synthetic_train", "synthetic_test", "dim", "n_features", "n_active", "decay")]
    synthetic = superposition.make_superposition(*sizes, seed=p["data_seed"])
    fresh = np.random.default_rng([p["data_seed"], 7])  # validation and counting samples: new draws of its features
    synthetic_val = superposition.sample(synthetic.features, synthetic.probabilities, p["synthetic_val"], fresh)
    count = superposition.sample(synthetic.features, synthetic.probabilities, p["count_samples"], fresh)
    started = time.perf_counter()
    network = na.network_activations(p["network_hidden"], p["network_train"], seed=p["data_seed"])
    return Data(synthetic, synthetic_val, count, network, time.perf_counter() - started, images)


class Arms(NamedTuple):
    """Every trained arm: its fits and per-member tables, the training seconds, and the sizes AuxK saw."""

    fits: dict  # arm name -> list of SAEFit
    tables: dict  # data set -> per-member table (superposition with its feature recovery, network, logistic)
    wide: pd.DataFrame  # per-member table of the overcomplete check
    authors: pd.DataFrame  # per-member table of the authors' form
    seconds: dict  # arm name -> training wall time
    shapes: dict  # arm name -> (input width d, latents L, the ks trained): what k_aux is computed from
    authors_chosen: pd.DataFrame  # per k of the authors' form: its beta by the chapter's rule (k, beta, gap, margin)
    attribution: pd.DataFrame  # per-member table of the attribution arm (one difference switched, or all)

    @property
    def design(self) -> pd.DataFrame:
        """The per-member tables of the three data sets, stacked: the chapter's design table."""
        return pd.concat(self.tables.values(), ignore_index=True)


def attribution_variants(params: dict) -> dict:
    """Variant -> (the difference it switches from the authors' code path to ours, the member keys that switch it):
    each of the seven differences alone (:data:`ksc.saes.topk_vsae.SWITCHES` and the optimiser), then all of them
    together (``all ours``: our KL-only vSAE with AuxK). The AuxK switch carries our number of silent samples before
    a latent is dead (``auxk_dead_after``), the optimiser switch our constant ``learning_rate``."""
    ours = PRESETS["ours"]
    one = {
        "centred input": ("input centring", {"centre_input": ours["centre_input"]}),
        "decoder start length 1": ("decoder start length", {"init_length": ours["init_length"]}),
        "unit-norm decoder": ("decoder renormalisation", {"unit_norm": ours["unit_norm"]}),
        "Gao's AuxK": ("AuxK form", {"auxk_form": ours["auxk_form"], "dead_after": params["auxk_dead_after"]}),
        "Top-K by value": ("Top-K ranking", {"topk_by": ours["topk_by"]}),
        "KL without clip": ("KL clip", {"kl_clip": ours["kl_clip"]}),
        "constant learning rate, no clip": (
            "learning-rate schedule and gradient clipping",
            {"schedule": SCHEDULES["ours"], "learning_rate": params["learning_rate"], "clip_norm": None},
        ),
    }
    everything = {key: value for _, keys in one.values() for key, value in keys.items()}
    return one | {"all ours": ("all", everything)}


def attribution_design(ks, seeds, chosen_beta: dict, auxk_alpha: float, variants: dict) -> list:
    """The attribution arm's members: every variant of :func:`attribution_variants` (the KL-only vSAE, AuxK on) at
    every k of ``ks`` with beta = 0 and that k's ``chosen_beta``, every seed; the variants of :data:`KL_ONLY` at the
    chosen beta only (at beta = 0 there is no KL term for them to change)."""
    members = []
    for variant, (switched, keys) in variants.items():
        for k in ks:
            for beta in sorted({0.0, float(chosen_beta[k])}):
                if beta == 0 and variant in KL_ONLY:
                    continue
                for seed in seeds:
                    members.append(
                        {
                            "model": "vsae_mean",
                            "k": int(k),
                            "seed": int(seed),
                            "noise": 0.0,
                            "beta": beta,
                            "auxk_alpha": auxk_alpha,
                            "auxk": True,
                            "variant": variant,
                            "switched": switched,
                            **keys,
                        }
                    )
    return members


def train_arms(data: Data, seeds, params: dict, report=print) -> Arms:
    """Trains every arm (the superposition benchmark's full design, its overcomplete check, the authors' form, the
    network's activations, the logistic images and the attribution of the authors' form's dead latents), in that
    order; ``report`` gets one line per arm."""
    p = params
    settings = dict(
        learning_rate=p["learning_rate"],
        warmup_fraction=p["warmup_fraction"],
        input_rms=p["input_rms"],
        dead_after=p["auxk_dead_after"],
        k_aux=K_AUX,
    )
    fits, tables, seconds, shapes = {}, {}, {}, {}
    synthetic = dict(epochs=p["synthetic_epochs"], batch_size=p["synthetic_batch_size"])
    synthetic |= dict(probe_ND=data.synthetic_val, count_ND=data.count)

    def run(name, train_x, test_x, members, latents, **extra):
        started = time.perf_counter()
        fits[name] = train_members(train_x, test_x, members, latents, **{**settings, **extra})
        seconds[name] = time.perf_counter() - started
        shapes[name] = (train_x.shape[1], latents, sorted({int(m["k"]) for m in members}))
        report(f"{name:28s} {len(members):4d} members, one computation: {seconds[name]:6.1f} s")
        return vsae.per_member_table(fits[name], name.split(" ")[0], p["input_rms"])

    alpha, betas, ks, scale_k = p["auxk_alpha"], p["betas"], p["ks"], p["scale_k"]
    main = vsae.design(
        ks, seeds, betas, alpha, auxk_off_cells=("topk_sae", "vsae_mean"), scale_rms=p["scale_rms"], scale_k=scale_k
    )
    tables["superposition"] = run(
        "superposition", data.synthetic.train, data.synthetic.test, main, p["synthetic_latents"], **synthetic
    )
    recovery = pd.DataFrame([_recovery(data, f) for f in fits["superposition"]])
    tables["superposition"] = pd.concat([tables["superposition"], recovery], axis=1)
    wide_design = vsae.design([scale_k], seeds, betas, alpha, cells=("topk_sae", "vsae_mean"))
    wide = run(
        "superposition (overcomplete)",
        data.synthetic.train,
        data.synthetic.test,
        wide_design,
        p["overcomplete_latents"],
        **synthetic,
    )
    authors_members = [
        {"model": "vsae_mean", "k": k, "seed": s, "noise": 0.0, "beta": b, "auxk_alpha": alpha, "auxk": True}
        for b in [0.0] + list(betas)
        for k in p["authors_ks"]
        for s in seeds
    ]
    authors_settings = dict(
        learning_rate=p["authors_learning_rate"],
        form="authors",
        clip_norm=p["authors_clip_norm"],
        dead_after=p["authors_dead_after"],
    )
    authors = run(
        "superposition (authors' form)",
        data.synthetic.train,
        data.synthetic.test,
        authors_members,
        p["synthetic_latents"],
        **synthetic,
        **authors_settings,
    )
    cells = ("topk_sae", "vsae", "vsae_mean")
    network = data.network
    tables["network"] = run(
        "network",
        network.train,
        network.test,
        vsae.design(ks, seeds, betas, alpha, cells=cells),
        p["network_latents"],
        epochs=p["network_epochs"],
        batch_size=p["synthetic_batch_size"],
        probe_ND=network.val,
        extra_ND=network.val,
    )
    images = data.images
    tables["logistic"] = run(
        "logistic",
        images["train"],
        images["test"],
        vsae.design(p["image_ks"], seeds, betas, alpha, cells=cells),
        p["image_latents"],
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        probe_ND=images["val"],
    )
    # the attribution: the authors' form with one difference (or all) switched to ours, at beta = 0 and at the beta
    # the chapter's rule picks for the authors' form (its own rows at those betas are the baseline: not trained again)
    picked = authors_chosen(authors, tables["superposition"], p["input_rms"])
    variants = attribution_variants(p)
    attribution_members = attribution_design(p["authors_ks"], seeds, dict(zip(picked.k, picked.beta)), alpha, variants)
    attribution = run(
        "superposition (attribution)",
        data.synthetic.train,
        data.synthetic.test,
        attribution_members,
        p["synthetic_latents"],
        **synthetic,
        **authors_settings,
    )
    return Arms(fits, tables, wide, authors, seconds, shapes, picked, attribution)


def _recovery(data: Data, fit) -> dict:
    """How well one superposition fit's living decoder directions recover the true features."""
    return superposition.feature_recovery(data.synthetic.features, fit.decoder, fit.codes.any(axis=0))


def overcomplete_table(arms: Arms, data: Data) -> pd.DataFrame:
    """The overcomplete check's per-member table with each member's feature recovery."""
    recovery = pd.DataFrame([_recovery(data, f) for f in arms.fits["superposition (overcomplete)"]])
    return arms.wide.assign(**recovery)


def mean_image_cosines(data: Data) -> dict:
    """Data set -> cosine similarity of the training mean with each test sample (what an all-zero SAE scores)."""
    pairs = {
        "superposition": (data.synthetic.train, data.synthetic.test),
        "network": (data.network.train, data.network.test),
        "logistic": (data.images["train"], data.images["test"]),
    }
    return {
        name: cosine_similarity(test, np.broadcast_to(train.mean(axis=0), test.shape))
        for name, (train, test) in pairs.items()
    }


def decoder_map_points(arms: Arms, chosen: pd.DataFrame, data: Data, k: int, seed: int, data_seed: int) -> dict:
    """Panel title -> (t-SNE map, firing frequency): the true features (coloured by their firing probability), then
    the superposition benchmark's TopK SAE and each vSAE at its chosen beta at ``k``, of one seed."""
    first = chosen_fits(arms.fits["superposition"], chosen, "superposition", k, seed)
    features = data.synthetic.features
    maps = {"true features (probability)": (decoder_embedding(features, data_seed), data.synthetic.probabilities)}
    maps |= {f"{m}, k={k}": (decoder_embedding(f.decoder, seed), firing_frequency(f.codes)) for m, f in first.items()}
    return maps


def seconds_table(arms: Arms) -> pd.DataFrame:
    """Each arm's training wall time."""
    return pd.DataFrame([{"arm": a, "seconds": s} for a, s in arms.seconds.items()])
