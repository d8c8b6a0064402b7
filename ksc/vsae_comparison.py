"""Chapter 06's comparisons of the vSAE paper: paired rows seed by seed and k by k, the sensitivity grid, and the
numbers the chapter's verdict paragraph states.

The paper compares a variational TopK SAE with a TopK SAE; each comparison here pairs two models trained with
the same seed and k on the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import claims, sae, superposition
from .metrics import firing_frequency

SUMMARY_QUANTITIES = ["l0", "dead_fraction", "fve", "cosine", "relative_bias", "variance", "scale_free_variance"]
RECOVERY_QUANTITIES = ["mmcs", "matched_cosine", "recovered_fraction"]
PAIRED_ON = ("seed", "k")


def per_fit_table(fits: dict) -> pd.DataFrame:
    """One metrics row per trained model, with its data set and the fraction of living latents."""
    table = pd.DataFrame([{**fit.metrics, "dataset": dataset} for dataset, group in fits.items() for fit in group])
    table["living"] = 1.0 - table.dead_fraction
    return table


def summaries(per_fit: pd.DataFrame) -> dict:
    """Data set -> mean ± sd over seeds of every quantity, per model and k (model labelled 'kind k=K')."""
    tables = {}
    for dataset, group in per_fit.groupby("dataset", sort=False):
        quantities = SUMMARY_QUANTITIES + (RECOVERY_QUANTITIES if dataset == "superposition" else [])
        tables[dataset] = claims.summarise(group.assign(model=group.model + " k=" + group.k.astype(str)), quantities)
    return tables


def paired_rows(per_fit: pd.DataFrame, variant: str, dataset: str) -> pd.DataFrame:
    """The paper's three comparisons of ``variant`` against the TopK SAE on one data set: living-latent ratio,
    FVE gap (TopK SAE minus variant) and cosine gap (variant minus TopK SAE)."""
    frame = per_fit[per_fit.dataset == dataset]
    return pd.concat(
        [
            claims.paired(
                frame, variant, "topk_sae", "living", f"{variant}/topk_sae ({dataset})", "living_ratio", PAIRED_ON
            ),
            claims.paired(
                frame, "topk_sae", variant, "fve", f"topk_sae-{variant} ({dataset})", "fve_gap", PAIRED_ON, "difference"
            ),
            claims.paired(
                frame,
                variant,
                "topk_sae",
                "cosine",
                f"{variant}-topk_sae ({dataset})",
                "cosine_gap",
                PAIRED_ON,
                "difference",
            ),
        ],
        ignore_index=True,
    )


def paper_count_ratio() -> float:
    """The vSAE paper's own two counts (Section 4.2) divided: its 'fewer than one sixth', recomputed."""
    registry = claims.load_registry().set_index("id")
    return registry.loc["vsae-s4.2-vsae-count", "claimed"] / registry.loc["vsae-s4.2-sae-count", "claimed"]


def measured_rows(per_fit: pd.DataFrame) -> pd.DataFrame:
    """Every measurement the registry's vSAE rows and the KSC draft's TopK-SAE expectation are judged on."""
    ksc_rows = claims.summarise(
        per_fit.query("dataset == 'logistic' and model == 'topk_sae' and k == 32").assign(
            model="topk_sae k=32 (logistic)"
        ),
        ["variance", "dead_fraction"],
    )
    return pd.concat(
        [paired_rows(per_fit, "vsae", d) for d in per_fit.dataset.unique()]
        + [ksc_rows, claims.rows("paper's own counts", {"count_ratio": paper_count_ratio()}, 1)],
        ignore_index=True,
    )


def no_sampling_rows(per_fit: pd.DataFrame) -> pd.DataFrame:
    """The same paired comparisons for the vSAE without sampling (``vsae_mean``), where both were trained."""
    if not {"vsae_mean", "topk_sae"} <= set(per_fit.model):
        return pd.DataFrame()
    return pd.concat([paired_rows(per_fit, "vsae_mean", d) for d in per_fit.dataset.unique()], ignore_index=True)


def firing_densities(fits: dict, k: int) -> dict:
    """Data set -> model kind -> firing frequency of every latent at ``k``, pooled over seeds."""
    return {
        dataset: {
            kind: np.concatenate([firing_frequency(f.codes) for f in group if f.kind == kind and f.metrics["k"] == k])
            for kind in dict.fromkeys(f.kind for f in group)
        }
        for dataset, group in fits.items()
    }


def decoder_maps(synthetic, fits: list, k: int, seed: int, data_seed: int) -> dict:
    """t-SNE maps of the true features (coloured by firing probability) and of each model's decoder directions
    at ``k`` for one seed (coloured by firing frequency)."""
    first = {f.kind: f for f in fits if f.seed == seed and f.metrics["k"] == k}
    maps = {
        "true features (probability)": (sae.decoder_embedding(synthetic.features, data_seed), synthetic.probabilities)
    }
    maps |= {
        f"{kind}, k={k}": (sae.decoder_embedding(f.decoder, seed), firing_frequency(f.codes))
        for kind, f in first.items()
    }
    return maps


def sensitivity_grid(
    synthetic, rms_values, betas, k: int, n_latents: int, seed: int, epochs: int, batch_size: int, **settings
) -> pd.DataFrame:
    """The TopK SAE and the sampling vSAE at every input scale (and every beta for the vSAE), one seed; each
    vSAE judged against the TopK SAE of the same scale by the registry's own rules."""
    grid = []
    for rms in rms_values:
        for kind, kind_betas in (("topk_sae", [0.0]), ("vsae", betas)):
            for beta in kind_betas:
                fit = sae.train_sae(
                    kind,
                    synthetic.train,
                    synthetic.test,
                    k=k,
                    n_latents=n_latents,
                    seed=seed,
                    epochs=epochs,
                    batch_size=batch_size,
                    **{**settings, "beta": beta, "input_rms": rms},
                )
                recovery = superposition.feature_recovery(synthetic.features, fit.decoder, fit.codes.any(axis=0))
                grid.append(
                    {
                        "input_rms": rms,
                        "model": kind,
                        "beta": beta if kind == "vsae" else np.nan,
                        **{q: fit.metrics[q] for q in ("l0", "dead_fraction", "fve", "cosine")},
                        **recovery,
                    }
                )
    table = pd.DataFrame(grid)
    topk = table[table.model == "topk_sae"].set_index("input_rms").reindex(table.input_rms)
    table["living_ratio"] = (1 - table.dead_fraction.to_numpy()) / (1 - topk.dead_fraction.to_numpy())
    table["fve_gap"] = topk.fve.to_numpy() - table.fve.to_numpy()
    registry = claims.load_registry().set_index("id")
    for quantity, claim in (("living_ratio", "vsae-living-superposition"), ("fve_gap", "vsae-fve-superposition")):
        rule = registry.loc[claim]
        table[f"{quantity} verdict"] = [
            claims.verdict(v, rule.claimed, rule.rule, rule.tolerance) if m == "vsae" else ""
            for v, m in zip(table[quantity], table.model)
        ]
    return table


def verdict_paragraph(
    claim_table: pd.DataFrame, per_fit: pd.DataFrame, sensitivity: pd.DataFrame, n_seeds: int, n_ks: int
) -> str:
    """The chapter's verdict, every number in it computed from the tables above."""
    saes = [m for m in per_fit.model.unique() if m != "v4"]
    by_data = (
        per_fit[per_fit.model.isin(saes)]
        .groupby(["dataset", "model"])
        .agg(living=("living", "mean"), fve=("fve", "mean"), cosine=("cosine", "mean"), variance=("variance", "mean"))
    )
    lines = [
        f"**Verdict.** {claims.count_sentence(claim_table, 'claims of the registry this chapter answers')}"
        f" ({n_seeds} seeds × {n_ks} values of k per data set)."
    ]
    for dataset in per_fit.dataset.unique():
        if {"topk_sae", "vsae"} <= set(saes):
            t, v = by_data.loc[(dataset, "topk_sae")], by_data.loc[(dataset, "vsae")]
            lines.append(
                f"On the {dataset} data the TopK SAE keeps {t.living:.0%} of its latents alive and the vSAE "
                f"{v.living:.0%}; FVE {t.fve:+.3f} vs {v.fve:+.3f}; cosine {t.cosine:.3f} vs {v.cosine:.3f}."
            )
    if "v4" in set(per_fit.model):
        v4 = per_fit[per_fit.model == "v4"]
        best = per_fit[per_fit.dataset == "logistic"].fve.max()
        lines.append(
            f"On the images the best FVE of any model is {best:+.3f} (V4: {v4.fve.mean():+.3f} on average)"
            + (
                ": no model here explains even half of the images' variance, so a latent variance on these "
                "images says how spread the codes are, not what they carry."
                if best < 0.5
                else "."
            )
        )
    both = sensitivity[
        (sensitivity["living_ratio verdict"] == "reproduced") & (sensitivity["fve_gap verdict"] == "reproduced")
    ]
    lines.append(
        f"In the sensitivity grid ({len(sensitivity[sensitivity.model == 'vsae'])} vSAE settings), "
        + (
            "both the living-latent ratio and the FVE gap meet the registry's rules at "
            + "; ".join(f"input RMS {r.input_rms:g}, β {r.beta:g}" for r in both.itertuples())
            if len(both)
            else "no setting meets the registry's rules for both the living-latent ratio and the FVE gap"
        )
        + "."
    )
    ratio = paper_count_ratio()
    lines.append(
        f"The paper's own counts give {ratio:.3f} of the SAE's histogram entries for the vSAE, "
        f"{'below' if ratio < 1 / 6 else 'above'} the one sixth it states."
    )
    return " ".join(lines)


def data_table(synthetic, images, synthetic_latents: int, image_latents: int) -> pd.DataFrame:
    """The two data sets side by side: dimension, samples, true features and how often they fire, SAE width."""
    p = synthetic.probabilities
    return pd.DataFrame(
        {
            "superposition": {
                "dimension": synthetic.train.shape[1],
                "samples (train / eval)": f"{len(synthetic.train)} / {len(synthetic.test)}",
                "true features": len(synthetic.features),
                "features firing per sample": float(np.sum(p)),
                "firing probability, most / least common": f"{p[0]:.3f} / {p[-1]:.4f}",
                "SAE latents": synthetic_latents,
            },
            "logistic": {
                "dimension": images.train[0].size,
                "samples (train / eval)": f"{len(images.train)} / {len(images.test)}",
                "true features": "unknown",
                "features firing per sample": "—",
                "firing probability, most / least common": "—",
                "SAE latents": image_latents,
            },
        }
    )
