"""Chapter 06's diagnostics beside the claims: the living-fraction / FVE frontier over beta, the input-scale check,
firing densities and the fits behind the decoder maps, how far training went (validation curves), the vSAE authors'
code path against ours, the attribution of its dead latents to the differences between the two codes (one switched
at a time), its living latents against the TopK SAE's and the KL term's share of the loss, the overcomplete check and
the probing table.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from ksc.chapters.vsae import HEADLINE_AUXK, living_ratios, mean_interval, paired_p, selected_betas
from ksc.measures.metrics import firing_frequency
from ksc.measures.stats import holm

# the decision rules' thresholds, fixed before the attribution's results existed (:func:`preregistered`)
LIVING_SUPPORTED = 0.5  # vsae-living: supported if at every k the ratio's 95 % interval lies at or below this
LIVING_NOT_SUPPORTED = 0.8  # not supported if at some k it lies at or above this and at none at or below 0.5
KL_FRACTION = 0.5  # vsae-kl-cause: the KL term's fraction of the lost latents, its interval above or below this
DECISIVE_CHANGE = 0.1  # the attribution names a switch that changes the living fraction by at least this
ALPHA = 0.05  # with Holm-adjusted p below this
AUTHORS_PATH = "authors' path"  # the attribution's baseline: the vSAE as the authors' code runs it
ALL_OURS = "all ours"  # every difference switched: our KL-only vSAE with AuxK
ATTRIBUTION_COLUMNS = ["variant", "switched", "k", "beta", "seed", "living", "fve", "l0"]
LIVING_PRIMARY_COLUMNS = [
    "k",
    "beta",
    "living_vsae",
    "living_topk",
    "living_beta0",
    "ratio",
    "ci_low",
    "ci_high",
    "ratio_beta0",
    "n",
]
EFFECT_COLUMNS = [
    "variant",
    "k",
    "beta",
    "living_authors",
    "living_variant",
    "difference",
    "ci_low",
    "ci_high",
    "p",
    "p_holm",
    "n",
]
KL_SHARE_COLUMNS = ["k", "beta", "gap", "kl_share", "code_share", "kl_fraction", "ci_low", "ci_high", "n"]


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


def authors_chosen(authors: pd.DataFrame, table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """Per k of the authors' form: the beta chapter 06's rule (:func:`ksc.chapters.vsae.selected_betas`) picks for it
    against the TopK SAE of the superposition design (AuxK on, main input scale) among the grid's betas (beta = 0 is
    no candidate), the TopK SAE's validation FVE minus the authors' form's at that beta, and whether that is within
    the margin."""
    topk = table[
        (table.dataset == "superposition")
        & (table.model == "topk_sae")
        & (table.auxk == HEADLINE_AUXK)
        & (table.rms == input_rms)
        & table.k.isin(authors.k.unique())
    ]
    picked = selected_betas(pd.concat([topk, authors[authors.beta > 0]], ignore_index=True), input_rms)
    picked = picked[picked.variant == "vsae_mean"]
    return pd.DataFrame(
        {
            "k": picked.k.astype(int).to_numpy(),
            "beta": picked.beta.to_numpy(),
            "val_fve_gap": (picked.topk_val_fve - picked.variant_val_fve).to_numpy(),
            "within_margin": picked.meets_margin.to_numpy(),
        }
    )


def _at_chosen(authors: pd.DataFrame, chosen: pd.DataFrame) -> pd.Series:
    """Which rows of the authors' form's table are at their k's chosen beta."""
    return authors.beta == authors.k.map(chosen.set_index("k").beta)


def attribution_table(authors: pd.DataFrame, chosen: pd.DataFrame, attribution: pd.DataFrame) -> pd.DataFrame:
    """One row per trained member: the authors' path (the authors' form's own members at beta = 0 and at each k's
    chosen beta) and every variant of the attribution arm."""
    own = authors[(authors.beta == 0) | _at_chosen(authors, chosen)].assign(variant=AUTHORS_PATH, switched="")
    rows = pd.concat([own, attribution], ignore_index=True)[ATTRIBUTION_COLUMNS]
    return rows.astype({"k": int, "seed": int, "beta": float})


def attribution_effects(attribution: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (not the authors' path), k and beta: mean living fraction of the authors' path and of the
    variant, their difference paired by seed with its 95 % t-interval, the paired t-test's two-sided p and its Holm
    adjustment over every row of the table (:func:`ksc.measures.stats.holm`)."""
    base = attribution[attribution.variant == AUTHORS_PATH].set_index(["k", "beta", "seed"]).living
    rows = []
    others = attribution[attribution.variant != AUTHORS_PATH]
    for (variant, k, beta), group in others.groupby(["variant", "k", "beta"], sort=False):
        own = group.set_index("seed").living
        theirs = base.xs((k, beta), level=("k", "beta"))
        seeds = own.index.intersection(theirs.index)
        difference = (own[seeds] - theirs[seeds]).to_numpy()
        mean, low, high, n = mean_interval(difference)
        rows.append(
            {
                "variant": variant,
                "k": int(k),
                "beta": float(beta),
                "living_authors": float(theirs[seeds].mean()),
                "living_variant": float(own[seeds].mean()),
                "difference": mean,
                "ci_low": low,
                "ci_high": high,
                "p": paired_p(difference),
                "n": n,
            }
        )
    table = pd.DataFrame(rows, columns=[c for c in EFFECT_COLUMNS if c != "p_holm"])
    table["p_holm"] = holm(table.p.to_numpy())
    return table[EFFECT_COLUMNS]


def _paired_living(authors: pd.DataFrame, chosen: pd.DataFrame, table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """Per k and seed: living fraction of the TopK SAE (superposition design, AuxK on, main input scale), of the
    authors' form at the k's chosen beta and at beta = 0, and that beta."""
    topk = table[
        (table.dataset == "superposition")
        & (table.model == "topk_sae")
        & (table.auxk == HEADLINE_AUXK)
        & (table.rms == input_rms)
    ]
    parts = {
        "topk": topk.set_index(["k", "seed"]).living,
        "vsae": authors[_at_chosen(authors, chosen)].set_index(["k", "seed"]).living,
        "beta0": authors[authors.beta == 0].set_index(["k", "seed"]).living,
    }
    wide = pd.DataFrame(parts).dropna().reset_index()
    return wide.assign(beta=wide.k.map(chosen.set_index("k").beta))


def living_primary(authors: pd.DataFrame, chosen: pd.DataFrame, table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """Per k of the authors' form, and pooled over k: its living fraction at the chosen beta and at beta = 0 against
    the TopK SAE's (same k and seeds), the ratios' means over seeds and the first one's 95 % t-interval."""
    wide = _paired_living(authors, chosen, table, input_rms)
    rows = []
    groups = [(int(k), g) for k, g in wide.groupby("k")] + [("pooled", wide)]
    for k, group in groups:
        mean, low, high, n = mean_interval((group.vsae / group.topk).to_numpy())
        rows.append(
            {
                "k": k,
                "beta": float(group.beta.iloc[0]) if group.beta.nunique() == 1 else float("nan"),
                "living_vsae": float(group.vsae.mean()),
                "living_topk": float(group.topk.mean()),
                "living_beta0": float(group.beta0.mean()),
                "ratio": mean,
                "ci_low": low,
                "ci_high": high,
                "ratio_beta0": float((group.beta0 / group.topk).mean()),
                "n": n,
            }
        )
    return pd.DataFrame(rows, columns=LIVING_PRIMARY_COLUMNS)


def kl_share(authors: pd.DataFrame, chosen: pd.DataFrame, table: pd.DataFrame, input_rms: float) -> pd.DataFrame:
    """Per k of the authors' form: the living latents it loses against the TopK SAE at its chosen beta (gap), the
    part its KL term accounts for (living at beta = 0 minus at the chosen beta) and the part its code path without
    any KL term does (TopK SAE minus beta = 0), means over seeds; and the KL term's fraction of the gap, seed by seed
    (a seed with no gap has none), with its mean and 95 % t-interval."""
    wide = _paired_living(authors, chosen, table, input_rms)
    rows = []
    for k, group in wide.groupby("k"):
        gap, kl = group.topk - group.vsae, group.beta0 - group.vsae
        with np.errstate(divide="ignore", invalid="ignore"):
            fraction = np.where(gap != 0, kl / gap.where(gap != 0, 1.0), np.nan)
        mean, low, high, n = mean_interval(fraction)
        rows.append(
            {
                "k": int(k),
                "beta": float(group.beta.iloc[0]),
                "gap": float(gap.mean()),
                "kl_share": float(kl.mean()),
                "code_share": float((group.topk - group.beta0).mean()),
                "kl_fraction": mean,
                "ci_low": low,
                "ci_high": high,
                "n": n,
            }
        )
    return pd.DataFrame(rows, columns=KL_SHARE_COLUMNS)


def ours_living_ratio(runs: pd.DataFrame, dataset: str = "superposition") -> float | None:
    """Our KL-only vSAE's living ratio against the TopK SAE on ``dataset`` (:func:`ksc.chapters.vsae.living_ratios`,
    mean over k and seeds), None where not measured."""
    ratios = living_ratios(runs)
    own = ratios[(ratios.variant == "vsae_mean") & (ratios.dataset == dataset)]
    return float(own["mean"].iloc[0]) if len(own) else None


def decisive_differences(effects: pd.DataFrame, size: float = DECISIVE_CHANGE, alpha: float = ALPHA) -> pd.DataFrame:
    """The rows of :func:`attribution_effects` (one difference switched alone) whose living fraction changes by at
    least ``size`` with Holm-adjusted p below ``alpha``."""
    alone = effects[effects.variant != ALL_OURS]
    return alone[(alone.difference.abs() >= size) & (alone.p_holm < alpha)]


def living_verdict(primary: pd.DataFrame) -> tuple[str, float, pd.DataFrame]:
    """``vsae-living`` on :func:`living_primary`, per k (k is a setting of the SAE, not a replicate, so the pooled
    row is shown, not judged): supported if at every k the ratio's 95 % interval lies at or below
    :data:`LIVING_SUPPORTED`; not supported if at some k it lies at or above :data:`LIVING_NOT_SUPPORTED` and at none
    at or below :data:`LIVING_SUPPORTED`; otherwise cannot tell. Returns the verdict, the pooled ratio and the rows
    per k."""
    is_pooled = primary.k.astype(str) == "pooled"
    by_k, pooled = primary[~is_pooled], float(primary[is_pooled].ratio.iloc[0])
    return living_by_k(by_k.ci_low, by_k.ci_high), pooled, by_k


def living_by_k(ci_low, ci_high) -> str:
    """``vsae-living``'s thresholds on the living ratio's 95 % intervals, one per k (chapters 06 and 13)."""
    low_enough = pd.Series(ci_high).to_numpy() <= LIVING_SUPPORTED
    if low_enough.all():
        return "supported"
    if (pd.Series(ci_low).to_numpy() >= LIVING_NOT_SUPPORTED).any() and not low_enough.any():
        return "not supported"
    return "cannot tell"


def kl_cause_verdict(share: pd.DataFrame, effects_at_chosen: pd.DataFrame) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """``vsae-kl-cause`` on :func:`kl_share` and the 2 x 2 at each k's chosen beta: the verdict, the rows where
    sampling without the KL term raises the dead fraction (Holm-adjusted over the k tested) and the rows tested."""
    if "dataset" in effects_at_chosen:
        effects_at_chosen = effects_at_chosen[effects_at_chosen.dataset == "superposition"]
    sampling = effects_at_chosen.assign(p_holm=holm(effects_at_chosen["sampling without KL p"].to_numpy()))
    raises = sampling[(sampling["sampling without KL"] > 0) & (sampling.p_holm < ALPHA)]
    above, below = share.ci_low > KL_FRACTION, share.ci_high < KL_FRACTION
    if above.all() and raises.empty:
        return "supported", raises, sampling
    if below.any() or len(raises):
        return "not supported", raises, sampling
    return "cannot tell", raises, sampling


def independence_verdict(tpp: pd.DataFrame) -> str:
    """``vsae-independence`` on :func:`ksc.chapters.vsae.tpp_by_k`."""
    if (tpp.ci_low > 0).all():
        return "supported"
    if (tpp.ci_high < 0).any() and not (tpp.ci_low > 0).any():
        return "not supported"
    return "cannot tell"


def preregistered(
    primary: pd.DataFrame, share: pd.DataFrame, effects_at_chosen: pd.DataFrame, tpp: pd.DataFrame
) -> dict:
    """The decision rules fixed before these tables existed, applied to them (the ledger's rules in
    :mod:`ksc.conclusions` judge the same tables; this is what the chapter's page states):

    - ``vsae-living`` (``primary``, :func:`living_primary`): supported if the pooled ratio and the ratio at every k are
      at most 0.5; not supported if the pooled ratio is at least 0.8; otherwise cannot tell;
    - ``vsae-kl-cause`` (``share``, :func:`kl_share`; ``effects_at_chosen``, the 2 x 2 at each k's chosen beta on the
      superposition benchmark):
      supported if at every k the interval of the KL fraction lies above 0.5 and sampling without the KL term raises
      the dead fraction at no k (Holm-adjusted over the k tested, p < 0.05); not supported if at some k that interval
      lies below 0.5 or sampling raises it at some k; otherwise cannot tell;
    - ``vsae-independence`` (``tpp``, :func:`ksc.chapters.vsae.tpp_by_k`): supported if at every k the interval of
      the TPP gap lies above 0; not supported if at some k it lies below 0 and at none above; otherwise cannot tell.

    Each entry: (verdict, what it read)."""
    living, pooled, by_k = living_verdict(primary)
    kl_cause, raises, sampling = kl_cause_verdict(share, effects_at_chosen)
    independence = independence_verdict(tpp)
    return {
        "vsae-living": (living, {"pooled": pooled, "by_k": dict(zip(by_k.k, by_k.ratio))}),
        "vsae-kl-cause": (
            kl_cause,
            {"share": share, "sampling_raises_at": [int(k) for k in raises.k], "k_tested": len(sampling)},
        ),
        "vsae-independence": (independence, {"tpp": tpp}),
    }
