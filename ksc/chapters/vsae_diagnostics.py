"""Chapter 06's diagnostics beside the claims: the living-fraction / FVE frontier over beta, the input-scale check,
firing densities and the fits behind the decoder maps, how far training went (validation curves), the vSAE authors'
code path against ours, the overcomplete check and the probing table.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from ksc.chapters.vsae import HEADLINE_AUXK
from ksc.measures.metrics import firing_frequency


def frontier(table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """Living fraction and FVE (means over seeds) of every cell and beta, per data set, k and AuxK setting,
    at the main input scale: the trade-off curve of the figure."""
    keep = table[table.rms == input_rms]
    return (
        keep.groupby(["dataset", "k", "auxk", "model", "beta"], sort=False)[["living", "fve", "dead_fraction", "l0"]]
        .mean()
        .reset_index()
    )


def scale_table(table: pd.DataFrame, scale_k: int) -> pd.DataFrame:
    """The TopK SAE and the vSAE at every input scale (k = ``scale_k``, AuxK on): living fraction and FVE
    over seeds, and the vSAE's living ratio and FVE gap against the TopK SAE of the same scale."""
    keep = table[(table.k == scale_k) & table.auxk & table.model.isin(["topk_sae", "vsae"])]
    scales = keep.groupby("dataset").rms.nunique()
    keep = keep[keep.dataset.isin(scales[scales > 1].index)]  # data sets with a scale check
    means = keep.groupby(["dataset", "rms", "model", "beta"])[["living", "fve", "l0"]].mean().reset_index()
    topk = means[means.model == "topk_sae"].set_index(["dataset", "rms"])
    vsae = means[means.model == "vsae"].copy()
    index = pd.MultiIndex.from_frame(vsae[["dataset", "rms"]])
    vsae["living_ratio"] = vsae.living.to_numpy() / topk.living.reindex(index).to_numpy()
    vsae["fve_gap"] = topk.fve.reindex(index).to_numpy() - vsae.fve.to_numpy()
    return vsae.reset_index(drop=True)


def firing_densities(fits_by_dataset: dict, k: int, chosen: pd.DataFrame) -> dict:
    """Data set -> model -> firing frequency of every latent at ``k`` (headline AuxK setting, each vSAE at its
    chosen beta), pooled over seeds."""
    out = {}
    for dataset, fits in fits_by_dataset.items():
        mine = chosen[(chosen.dataset == dataset) & (chosen.k == k) & (chosen.auxk == HEADLINE_AUXK)]
        betas = {"topk_sae": 0.0, **dict(zip(mine.variant, mine.beta))}
        groups = {}
        for f in fits:
            m = f.metrics
            if m["k"] == k and m["auxk"] == HEADLINE_AUXK and "rms" not in m and betas.get(m["model"]) == m["beta"]:
                groups.setdefault(m["model"], []).append(firing_frequency(f.codes))
        out[dataset] = {model: np.concatenate(v) for model, v in groups.items()}
    return out


def chosen_fits(fits: list, chosen: pd.DataFrame, dataset: str, k: int, seed: int) -> dict:
    """Model -> fit of one seed at ``k``: the TopK SAE and each vSAE at its chosen beta (headline AuxK setting,
    main input scale)."""
    mine = chosen[(chosen.dataset == dataset) & (chosen.k == k) & (chosen.auxk == HEADLINE_AUXK)]
    betas = {"topk_sae": 0.0, **dict(zip(mine.variant, mine.beta))}
    return {
        f.metrics["model"]: f
        for f in fits
        if f.metrics["k"] == k
        and f.metrics["seed"] == seed
        and f.metrics["auxk"] == HEADLINE_AUXK
        and "rms" not in f.metrics
        and betas.get(f.metrics["model"]) == f.metrics["beta"]
    }


def convergence(fits: list, dataset: str) -> pd.DataFrame:
    """Validation FVE and silent fraction after every epoch, one row per member and epoch."""
    rows = []
    for fit in fits:
        m = fit.metrics
        for h in fit.history:
            rows.append(
                {
                    "dataset": dataset,
                    "model": m["model"],
                    "k": m["k"],
                    "beta": m["beta"],
                    "auxk": m["auxk"],
                    "rms": m.get("rms"),
                    "seed": m["seed"],
                    "epoch": h["epoch"],
                    "val_fve": h.get("probe_fve"),
                    "val_silent": h.get("probe_dead"),
                }
            )
    return pd.DataFrame(rows)


def at_chosen(curves: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """The curves of the runs the registry judges: the TopK SAE and each vSAE at its chosen beta (AuxK on, main
    input scale)."""
    main = curves[curves.auxk & curves.rms.isna()]
    picked = chosen[chosen.auxk == HEADLINE_AUXK].rename(columns={"variant": "model"})[
        ["dataset", "k", "model", "beta"]
    ]
    return pd.concat([main[main.model == "topk_sae"], main.merge(picked, on=["dataset", "k", "model", "beta"])])


def convergence_summary(curves: pd.DataFrame, tail: float = 0.25) -> pd.DataFrame:
    """Per data set and cell: the largest change of any member's validation FVE and silent fraction over the
    last ``tail`` of its epochs (a run still improving shows a large change)."""
    rows = []
    for (dataset, model), group in curves.groupby(["dataset", "model"], sort=False):
        last = group.epoch.max()
        since = max(1, int(round(last * (1 - tail))))
        ends = group[group.epoch.isin([since, last])].pivot_table(
            index=["k", "beta", "auxk", "seed"], columns="epoch", values=["val_fve", "val_silent"]
        )
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "compared": f"epoch {since} vs {last}",
                "largest FVE change": float((ends["val_fve"][last] - ends["val_fve"][since]).abs().max()),
                "largest silent-fraction change": float(
                    (ends["val_silent"][last] - ends["val_silent"][since]).abs().max()
                ),
            }
        )
    return pd.DataFrame(rows)


def all_convergence(fits: dict, arms=("superposition", "network", "logistic")) -> pd.DataFrame:
    """:func:`convergence` of the given arms (name -> fits), stacked."""
    return pd.concat([convergence(fits[name], name) for name in arms], ignore_index=True)


def code_differences() -> pd.DataFrame:
    """Every difference between this book's vSAE and the vSAE authors' public code, with where in their file."""
    with resources.files("ksc.chapters").joinpath("vsae_code_differences.csv").open() as handle:
        return pd.read_csv(handle)


def authors_comparison(authors: pd.DataFrame, table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """The authors' form next to ours (KL only, AuxK on, main scale) at the same k and beta: living fraction,
    FVE and L0 over seeds, and each form's living ratio against its own beta = 0 run."""
    ours = table[(table.dataset == "superposition") & (table.rms == input_rms) & table.auxk]
    ours = ours[ours.model.isin(["topk_sae", "vsae_mean"])]
    ours = ours[ours.k.isin(authors.k.unique())]
    both = pd.concat([authors.assign(form="authors' code"), ours.assign(form="ours")], ignore_index=True)
    means = both.groupby(["form", "k", "beta"])[["living", "fve", "l0"]].mean().reset_index()
    base = means[means.beta == 0].set_index(["form", "k"]).living
    means["living_ratio"] = (
        means.living.to_numpy() / base.reindex(pd.MultiIndex.from_frame(means[["form", "k"]])).to_numpy()
    )
    wide = means.pivot_table(index=["k", "beta"], columns="form", values=["living", "living_ratio", "fve", "l0"])
    wide.columns = [f"{quantity} ({form})" for quantity, form in wide.columns]
    return wide.reset_index()


def overcomplete_summary(wide: pd.DataFrame) -> pd.DataFrame:
    """The overcomplete check's means over seeds per model and beta."""
    columns = ["living", "dead_fraction", "dead_counted", "fve", "l0", "matched_cosine"]
    return wide.groupby(["model", "beta"])[columns].mean()


def probing_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Living fraction, FVE, sparse probing and TPP of the network arm's judged runs, means over seeds."""
    probing = runs[runs.dataset == "network"]
    columns = ["living", "fve", "sparse_probe_1", "sparse_probe_5", "tpp_targeted", "tpp_others", "tpp"]
    return probing.groupby(["k", "model", "beta"])[columns].mean()
