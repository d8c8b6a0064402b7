"""Chapter 13's sparse coders on a language model's residual stream, and SAEBench's core and probing metrics.

Five arms, each k and seed one member of one computation per form (:func:`ksc.saes.topk_vsae.train_members`):

- ``topk_sae``: the TopK SAE (our form, AuxK on);
- ``vsae``: the vSAE as the paper describes it (sampling and the KL term, our form, AuxK on);
- ``vsae_mean``: our KL-only vSAE (no sampling, as the authors' recorded runs; every other step ours): the vSAE
  the registry judges, as chapter 06 does;
- ``vsae_authors``: the authors' code path (chapter 06's ``form="authors"``: their switches, schedule, clip, AuxK);
- ``v4_coder``: V4's latent block as a sparse coder (:mod:`ksc.saes.chaos_coder`), the draft's Section 7.3 on
  this data.

beta is chosen by chapter 06's rule (:func:`ksc.chapters.vsae.selected_betas`) on a pilot: the first seed of every
vSAE arm at every beta of the grid, on the validation tokens (held-out plays); every seed is then trained at the
chosen beta and measured on the test tokens. Two null references: the TopK SAE untrained (learning rate 0) and the
TopK SAE trained on shuffled activations (each dimension permuted across tokens on its own).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pandas as pd
from keras import ops

from ksc.chapters.vsae import selected_betas
from ksc.measures import saebench
from ksc.saes.auxk import HALF_INPUT_WIDTH
from ksc.saes.chaos_coder import ChaosCoder
from ksc.saes.living import ever_fire
from ksc.saes.topk_vsae import train_members

VSAE_ARMS = ("vsae", "vsae_mean", "vsae_authors")
ARMS = ("topk_sae",) + VSAE_ARMS + ("v4_coder",)
NULLS = ("untrained topk_sae", "topk_sae on shuffled activations")


def _member(arm: str, k: int, seed: int, beta: float, alpha: float) -> dict:
    noise = 1.0 if arm == "vsae" else 0.0
    if arm == "v4_coder":
        return {"model": arm, "k": k, "seed": seed, "noise": 0.0, "beta": 0.0, "auxk_alpha": 0.0, "topk_by": "abs"}
    return {"model": arm, "k": k, "seed": seed, "noise": noise, "beta": beta, "auxk_alpha": alpha}


class Measures(NamedTuple):
    """What chapter 13 measures of every member on the trained model, beyond its test metrics."""

    val: np.ndarray | None  # validation tokens (FVE per epoch)
    count: np.ndarray  # tokens on which living latents are counted (with the evaluation tokens)
    lm: object  # the language model (``ksc.chapters.lm_data.LanguageModel``), None: no spliced loss
    site: int
    loss_windows: np.ndarray
    probe_x: np.ndarray  # (n, tokens, d) probing samples' activations


def _reconstructor(sae, m: int):
    """x -> member m's reconstruction, for the residual's positions 1.. (position 0 is left as it is)."""
    index = ops.convert_to_tensor(np.asarray([m], "int32"))
    W, b, scale = ops.take(sae.W_dec, index, axis=0), ops.take(sae.b_dec, index, axis=0), float(sae.scale_M[m])

    def replace(residual_BTd):
        B, T, d = residual_BTd.shape
        x = residual_BTd[:, 1:].reshape(-1, d)
        z = sae._top_k(sae.member_latents(x, [m]), [sae.ks[m]], sae.by_abs_M[[m]])
        x_hat = ops.convert_to_numpy(ops.matmul(z, W) + b)[0] / scale
        out = residual_BTd.copy()
        out[:, 1:] = x_hat.reshape(B, T - 1, d)
        return out

    return replace


def _pooled_codes(sae, probe_x: np.ndarray, samples: int = 64) -> np.ndarray:
    """(members, n, latents) codes along unit decoder directions, in the activations' units, mean-pooled over each
    sample's tokens (codes only: no reconstruction is computed)."""
    n, t, d = probe_x.shape
    members = np.arange(len(sae.ks))
    unscale = (1.0 / sae.scale_M)[:, None, None]
    parts = []
    for start in range(0, n, samples):
        block = probe_x[start : start + samples]
        z = sae._top_k(sae.member_latents(block.reshape(-1, d), members), sae.ks, sae.by_abs_M)
        codes = ops.convert_to_numpy(sae.unit_codes(z)) * unscale
        parts.append(codes.reshape(len(members), len(block), t, -1).mean(axis=2))
    return np.concatenate(parts, axis=1)


def measure_members(measures: Measures, eval_ND: np.ndarray):
    """The ``after`` hook of :func:`train_members`: per member, the latents that fire on the evaluation and counting
    tokens, the next-token loss with its reconstruction spliced in, and its pooled probing codes."""

    def after(sae):
        fired = ever_fire(sae, eval_ND, chunk=256)
        fired = ever_fire(sae, measures.count, fired_ML=fired, chunk=256)
        pooled = _pooled_codes(sae, measures.probe_x)
        decoders = sae.unit_decoders()
        out = []
        for m in range(len(sae.ks)):
            loss = float("nan")
            if measures.lm is not None:
                loss = measures.lm.model.next_token_loss(
                    measures.loss_windows, after_block=measures.site, replace=_reconstructor(sae, m)
                )
            out.append({"fired": fired[m], "ce_loss": loss, "pooled": pooled[m], "decoder": decoders[m]})
        return out

    return after


class Trained(NamedTuple):
    table: pd.DataFrame  # one row per member: labels, test metrics, living, spliced loss
    history: pd.DataFrame  # per member and epoch: training loss and validation FVE
    measured: list  # per row of ``table``: the hook's measures (pooled codes, decoder)
    seconds: dict  # computation -> wall seconds


def _train(name, train_ND, eval_ND, members, latents, settings, measures, trained, report, **extra):
    started = time.perf_counter()
    fits = train_members(
        train_ND, eval_ND, members, latents, probe_ND=measures.val, after=measure_members(measures, eval_ND),
        **{**settings, **extra},
    )  # fmt: skip
    seconds = time.perf_counter() - started
    report(f"{name:34s} {len(members):3d} members, one computation: {seconds:6.1f} s")
    rows, history = [], []
    for fit, member in zip(fits, members):
        measured = fit.measured
        row = {**fit.metrics, "model": member["model"], "beta": member["beta"], "computation": name}
        row |= {"living": float(measured["fired"].mean()), "n_counted": len(eval_ND) + len(measures.count)}
        row |= {"ce_loss": measured["ce_loss"]}
        rows.append(row)
        trained["measured"].append(measured)
        for h in fit.history:
            history.append({"model": member["model"], "k": member["k"], "seed": member["seed"], "beta": member["beta"],
                            "computation": name, **h})  # fmt: skip
    trained["rows"].extend(rows)
    trained["history"].extend(history)
    trained["seconds"][name] = seconds


def settings_from(p: dict) -> tuple[dict, dict]:
    """(our settings, the authors' form's settings) of :func:`train_members` from the chapter's parameters."""
    ours = dict(
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        warmup_fraction=p["warmup_fraction"],
        input_rms=p["input_rms"],
        dead_after=p["auxk_dead_after"],
        k_aux=HALF_INPUT_WIDTH,
    )
    authors = dict(
        form="authors",
        learning_rate=p["authors_learning_rate"],
        clip_norm=p["authors_clip_norm"],
        dead_after=p["authors_dead_after"],
    )
    return ours, authors


def choose_betas(pilot: pd.DataFrame) -> pd.DataFrame:
    """Chapter 06's rule (:func:`ksc.chapters.vsae.selected_betas`) on the pilot: per vSAE arm (our KL-only vSAE,
    the authors' code path) and k, the largest beta whose validation FVE is at least the TopK SAE's minus its
    margin; where none is, the smallest (``meets_margin`` False)."""
    table = pilot.assign(dataset="language model", auxk=True, rms=1.0, val_fve=pilot.fve)  # one data set, one scale
    chosen = selected_betas(table, 1.0, variants=("vsae_mean", "vsae_authors"))
    chosen = chosen.rename(columns={"variant": "model", "variant_val_fve": "val_fve"})
    return chosen[["model", "k", "beta", "meets_margin", "topk_val_fve", "val_fve"]]


def pilot(sets, ks, seed: int, p: dict, report=print) -> pd.DataFrame:
    """The first seed of the TopK SAE, our KL-only vSAE and the authors' code path at every beta, trained for
    ``pilot_epochs`` and measured on the validation tokens. The vSAE with sampling takes the KL-only vSAE's beta
    (as chapter 06's factorial compares them), so the pilot does not train it."""
    ours, authors = settings_from(p)
    alpha, rows = p["auxk_alpha"], []
    plain = [_member("topk_sae", k, seed, 0.0, alpha) for k in ks]
    plain += [_member("vsae_mean", k, seed, b, alpha) for b in p["betas"] for k in ks]
    theirs = [_member("vsae_authors", k, seed, b, alpha) for b in p["betas"] for k in ks]
    for name, members, extra in (("pilot (our form)", plain, {}), ("pilot (authors' form)", theirs, authors)):
        started = time.perf_counter()
        settings = {**ours, **extra, "epochs": p["pilot_epochs"]}
        fits = train_members(sets.train, sets.val, members, p["lm_latents"], **settings)
        report(f"{name:34s} {len(members):3d} members, one computation: {time.perf_counter() - started:6.1f} s")
        rows += [{**f.metrics, "model": m["model"], "beta": m["beta"]} for f, m in zip(fits, members)]
    return pd.DataFrame(rows)


def train_arms(sets, chosen: pd.DataFrame, ks, seeds, p: dict, measures: Measures, report=print) -> Trained:
    """Every arm at every k and seed (each vSAE at its chosen beta), then the two null references."""
    ours, authors = settings_from(p)
    alpha, beta = p["auxk_alpha"], chosen.set_index(["model", "k"]).beta
    trained = {"rows": [], "history": [], "measured": [], "seconds": {}}
    args = (p["lm_latents"], ours, measures, trained, report)
    own = {
        "topk_sae": lambda k: 0.0,
        "vsae": lambda k: beta[("vsae_mean", k)],
        "vsae_mean": lambda k: beta[("vsae_mean", k)],
    }
    plain = [_member(a, k, s, own[a](k), alpha) for a in own for k in ks for s in seeds]
    _train("TopK SAE and our vSAEs", sets.train, sets.test, plain, *args)
    theirs = [_member("vsae_authors", k, s, beta[("vsae_authors", k)], alpha) for k in ks for s in seeds]
    _train("the authors' code path", sets.train, sets.test, theirs, *args, **authors)
    coders = [_member("v4_coder", k, s, 0.0, alpha) for k in ks for s in seeds]
    _train("V4's latent block", sets.train, sets.test, coders, *args, sae_class=ChaosCoder, k_aux=None)
    # null references: the TopK SAE at its initial weights, and trained on activations without their joint structure
    untrained = [{**_member("topk_sae", k, seeds[0], 0.0, 0.0), "model": NULLS[0]} for k in ks]
    short = sets.train[: 4 * p["batch_size"]]
    _train("null: untrained", short, sets.test, untrained, *args, learning_rate=0.0, epochs=1)
    shuffled = {name: shuffle_dimensions(getattr(sets, name), p["data_seed"]) for name in ("train", "test", "count")}
    null_measures = measures._replace(count=shuffled["count"], val=None)
    null = [{**_member("topk_sae", k, seeds[0], 0.0, alpha), "model": NULLS[1]} for k in ks]
    _train("null: shuffled activations", shuffled["train"], shuffled["test"], null, p["lm_latents"], ours,
           null_measures, trained, report)  # fmt: skip
    table = pd.DataFrame(trained["rows"])
    return Trained(table, pd.DataFrame(trained["history"]), trained["measured"], trained["seconds"])


def shuffle_dimensions(x_ND: np.ndarray, seed: int) -> np.ndarray:
    """Each dimension permuted across the tokens on its own: every dimension keeps its values, the tokens lose the
    joint structure an SAE could learn."""
    rng = np.random.default_rng([seed, 23])
    return np.stack([x_ND[rng.permutation(len(x_ND)), j] for j in range(x_ND.shape[1])], axis=1)


def spliced_references(lm, windows: np.ndarray, site: int) -> dict:
    """The next-token loss on the loss windows as the model runs (clean) and with the residual after ``site``
    zeroed at positions 1.. (zero-ablated): the scale on which a spliced reconstruction is read."""

    def zeroed(residual):
        out = residual.copy()
        out[:, 1:] = 0.0
        return out

    return {"clean": lm.model.next_token_loss(windows), "zero": lm.model.next_token_loss(windows, site, zeroed)}


def probing(trained: Trained, labels: pd.DataFrame, probe_x: np.ndarray, n_ablate: int, seed: int) -> pd.DataFrame:
    """Sparse probing (genre, verse) and TPP (genre) per member, on the probing samples split in half (latents chosen
    and probes fitted on the first half); SCR with verse against prose as the target and the archaic second person
    (thou, thee, thy, thine) as the spurious label, on its own split of all samples."""
    X = probe_x.mean(axis=1)
    half = np.random.default_rng([seed, 29]).permutation(len(X)) < len(X) // 2
    genre, verse = labels.genre.to_numpy(), labels.verse.to_numpy().astype(bool)
    thou = labels.thou.to_numpy().astype(bool)
    probes = saebench.activation_probes(X[half], genre[half])
    rows = []
    for measured in trained.measured:
        Z, D = measured["pooled"], measured["decoder"]
        row = {}
        for name, y in (("genre", genre), ("verse", verse)):
            scores = saebench.sparse_probing(Z[half], y[half], Z[~half], y[~half])
            row |= {f"{key}_{name}": value for key, value in scores.items()}
        row |= saebench.tpp_with_probes(probes, X[~half], genre[~half], Z[half], genre[half], Z[~half], D, n_ablate)
        scr = saebench.spurious_correlation_removal(X, Z, D, verse, thou, n_ablate, seed=seed)
        rows.append(row | scr)
    return pd.concat([trained.table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def seconds_table(trained: Trained, lm, sets) -> pd.DataFrame:
    """Wall seconds of reading the model, the activations and every computation of coders."""
    rows = [("model weights", lm.seconds), ("activations" + (" (cache)" if sets.cached else ""), sets.seconds)]
    rows += list(trained.seconds.items())
    return pd.DataFrame(rows, columns=["step", "seconds"])
