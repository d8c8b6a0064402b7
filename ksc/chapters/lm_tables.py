"""Chapter 13's tables from its trained coders: core metrics per arm and k, V4's coder against the TopK SAE, the null
references of the registry's comparisons, and the convergence of training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.lm_saes import NULLS
from ksc.chapters.vsae import mean_interval

DATASET = "language model"  # the registry's name of this data set (rows vsae-lm-*)
CORE = ("fve", "cosine", "l0", "living", "ce_loss", "ce_recovered")


def with_loss_scale(runs: pd.DataFrame, references: dict) -> pd.DataFrame:
    """``runs`` with ``ce_recovered``: the share of the loss that zeroing the residual costs which the spliced
    reconstruction wins back, (zero - spliced) / (zero - clean) (SAEBench's loss-recovered score), and the data
    set's name."""
    span = references["zero"] - references["clean"]
    return runs.assign(ce_recovered=(references["zero"] - runs.ce_loss) / span, dataset=DATASET)


def core_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per arm (and null) and k: the mean over seeds of each core metric, and the number of seeds."""
    table = runs.groupby(["model", "k"], sort=False)[list(CORE)].mean().reset_index()
    seeds = runs.groupby(["model", "k"], sort=False).seed.nunique().to_numpy()
    return table.assign(seeds=seeds)


def paired_gaps(runs: pd.DataFrame, a: str, b: str, quantities) -> pd.DataFrame:
    """Per k and quantity: a minus b, paired by seed, with its 95 % interval over seeds."""
    rows = []
    for k, group in runs.groupby("k"):
        left = group[group.model == a].set_index("seed")
        right = group[group.model == b].set_index("seed")
        seeds = left.index.intersection(right.index)
        for quantity in quantities:
            diff = (left.loc[seeds, quantity] - right.loc[seeds, quantity]).to_numpy(dtype=float)
            mean, low, high, n = mean_interval(diff)
            rows.append({"k": int(k), "quantity": quantity, "difference": mean, "ci_low": low, "ci_high": high, "n": n})
    return pd.DataFrame(rows, columns=["k", "quantity", "difference", "ci_low", "ci_high", "n"])


def v4_against_topk(runs: pd.DataFrame) -> pd.DataFrame:
    """V4's latent block against the TopK SAE at the same k (so the same L0): FVE, cosine, living fraction and the
    spliced next-token loss, V4 minus TopK SAE, paired by seed."""
    return paired_gaps(runs, "v4_coder", "topk_sae", ("fve", "cosine", "living", "ce_loss"))


def authors_against_topk(runs: pd.DataFrame) -> pd.DataFrame:
    """The authors' code path against the TopK SAE: living fraction as a ratio and FVE as a gap, per k, paired."""
    rows = []
    for k, group in runs.groupby("k"):
        authors = group[group.model == "vsae_authors"].set_index("seed")
        topk = group[group.model == "topk_sae"].set_index("seed")
        seeds = authors.index.intersection(topk.index)
        ratio = (authors.loc[seeds, "living"] / topk.loc[seeds, "living"]).to_numpy(dtype=float)
        gap = (topk.loc[seeds, "fve"] - authors.loc[seeds, "fve"]).to_numpy(dtype=float)
        r, r_low, r_high, n = mean_interval(ratio)
        g, g_low, g_high, _ = mean_interval(gap)
        rows.append({"k": int(k), "living_ratio": r, "ratio_low": r_low, "ratio_high": r_high, "fve_gap": g,
                     "gap_low": g_low, "gap_high": g_high, "n": n})  # fmt: skip
    return pd.DataFrame(rows)


def null_references(runs: pd.DataFrame) -> pd.DataFrame:
    """What the registry's comparisons would read if the vSAE were a model that learned nothing of the language model
    (means over k and seeds): ``vSAE = TopK SAE`` (ratio 1, gaps 0), ``untrained TopK SAE`` and ``TopK SAE on
    shuffled activations`` in the vSAE's place (their own measurements against the TopK SAE's). Long form
    (reference, model, quantity, value, source), as chapter 06's."""
    topk = runs[runs.model == "topk_sae"].groupby("k").mean(numeric_only=True)
    models = {
        "living_ratio": f"vsae/topk_sae ({DATASET})",
        "fve_gap": f"topk_sae-vsae ({DATASET})",
        "cosine_gap": f"vsae-topk_sae ({DATASET})",
        "ce_loss_gap": f"vsae-topk_sae ({DATASET})",
        "tpp_gap": f"vsae-topk_sae ({DATASET})",
        "scr_gap": f"vsae-topk_sae ({DATASET})",
    }
    rows = [("vSAE = TopK SAE", models[q], q, 1.0 if q == "living_ratio" else 0.0) for q in models]
    for reference in ("untrained topk_sae", "topk_sae on shuffled activations"):
        null = runs[runs.model == reference].groupby("k").mean(numeric_only=True)
        ks = null.index.intersection(topk.index)
        if ks.empty:
            continue
        n, t = null.loc[ks], topk.loc[ks]
        values = {
            "living_ratio": float((n.living / t.living).mean()),
            "fve_gap": float((t.fve - n.fve).mean()),
            "cosine_gap": float((n.cosine - t.cosine).mean()),
            "ce_loss_gap": float((n.ce_loss - t.ce_loss).mean()),
            "tpp_gap": float((n.tpp - t.tpp).mean()),
            "scr_gap": float((n.scr - t.scr).mean()),
        }
        rows += [(reference, models[q], q, v) for q, v in values.items() if np.isfinite(v)]
    table = pd.DataFrame(rows, columns=["reference", "model", "quantity", "value"])
    return table.assign(source="13_language_model")


def convergence(history: pd.DataFrame) -> pd.DataFrame:
    """Per arm and k (not the null references): the validation FVE after each epoch, median over seeds."""
    if "probe_fve" not in history:
        return pd.DataFrame(columns=["model", "k", "epoch", "val_fve"])
    kept = history[history.probe_fve.notna() & ~history.model.isin(NULLS)]  # the nulls have no training to follow
    return kept.groupby(["model", "k", "epoch"], sort=False).probe_fve.median().rename("val_fve").reset_index()


def last_change(curves: pd.DataFrame) -> pd.DataFrame:
    """Per arm and k: the validation FVE at the last epoch and its change from the epoch before (NaN: one epoch)."""
    rows = []
    for (model, k), group in curves.groupby(["model", "k"], sort=False):
        fve = group.sort_values("epoch").val_fve.to_numpy()
        rows.append({"model": model, "k": int(k), "val_fve": fve[-1], "last_change": fve[-1] - fve[-2]
                     if len(fve) > 1 else float("nan")})  # fmt: skip
    return pd.DataFrame(rows)


PROBING = ("sparse_probe_1_genre", "sparse_probe_5_genre", "sparse_probe_1_verse", "tpp", "scr")


def probing_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per arm (and null) and k: the probing scores, mean over seeds; SCR over the seeds where it is defined, and
    "undefined" where it is on none (the biased probe did not lean on the spurious label)."""
    table = runs.groupby(["model", "k"], sort=False)[list(PROBING)].mean()
    table["scr"] = table.scr.astype(object).where(table.scr.notna(), "undefined")
    return table
