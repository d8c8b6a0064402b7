"""Chapter 09's comparison: each SAE kind over its coefficient grid on several image sets, read off at one L0.

A penalty-based SAE (ReLU-L1, JumpReLU, Gated) sets its sparsity through its coefficient, so two kinds
are only comparable at the same number of active latents per sample (L0). :func:`train_grid` trains
every (data set, coefficient, seed) of a kind as one computation; :func:`at_l0` reads every metric at a
target L0 by linear interpolation in log L0 between the two coefficients whose L0 bracket the target
(per kind, data set and seed), and leaves the row empty, flagged, when the grid does not bracket it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data.chaos import Splits
from ksc.evidence.claims import accepts, load_registry
from ksc.measures.metrics import sae_metrics
from ksc.measures.stats import compare_two
from ksc.models.training import train_many
from ksc.saes.kinds import train_variants

READ_AT_L0 = (
    "sparsity",
    "dead_fraction",
    "variance",
    "scale_free_variance",
    "test_mse",
    "mean_predictor_mse",
    "fve",
    "relative_bias",
)


def flat(splits: Splits) -> tuple[np.ndarray, np.ndarray]:
    """(training images, test images) as rows of pixels."""
    return splits.train.reshape(len(splits.train), -1), splits.test.reshape(len(splits.test), -1)


def train_grid(kind: str, datasets: dict, coefficients, seeds, n_latents: int, **settings) -> pd.DataFrame:
    """One row of metrics per (data set, coefficient, seed) of one SAE kind, trained as one computation."""
    members = [(name, c, int(s)) for name in datasets for c in coefficients for s in seeds]
    fits = train_variants(kind, {name: flat(s) for name, s in datasets.items()}, members, n_latents, **settings)
    return pd.DataFrame([fit.metrics for fit in fits])


def v4_grid(datasets: dict, seeds, latent_dim: int, k: int, **train_kwargs) -> pd.DataFrame:
    """V4 (the draft's model, the authors' training) on every data set and seed, measured like the SAEs."""
    grid = [(name, int(s)) for name in datasets for s in seeds]
    runs = train_many(
        "v4", [datasets[n] for n, _ in grid], [s for _, s in grid], latent_dim=latent_dim, k=k, **train_kwargs
    )
    rows = []
    for (name, seed), run in zip(grid, runs):
        train, test = flat(datasets[name])
        metrics = sae_metrics(test, run.reconstruction.reshape(len(test), -1), run.z_test, train)
        rows.append(
            {
                "model": "v4",
                "dataset": name,
                "coefficient": k,
                "seed": seed,
                "n_latents": latent_dim,
                **metrics,
                "wall_seconds": run.wall_seconds,
            }
        )
    return pd.DataFrame(rows)


def at_l0(runs: pd.DataFrame, target: float, quantities=READ_AT_L0) -> pd.DataFrame:
    """Every quantity at L0 = ``target``, per (model, data set, n_latents, seed), interpolated linearly in L0
    between the two coefficients that bracket the target (so sparsity comes out as 1 - target / latents);
    ``coefficient`` is their geometric interpolation (linear next to a coefficient of 0).

    ``read`` is False, and the quantities NaN, where the grid's L0 range misses the target or where L0 does
    not change monotonically with the coefficient (then no single coefficient gives the target); ``l0_range``
    says what the grid reached."""
    rows = []
    for (model, dataset, width, seed), group in runs.groupby(["model", "dataset", "n_latents", "seed"], sort=False):
        by_coefficient = group.sort_values("coefficient")
        l0_c = by_coefficient.l0.to_numpy(float)
        steps = np.diff(l0_c)
        monotone = bool(np.all(steps <= 0) or np.all(steps >= 0))
        group = by_coefficient.sort_values("l0", kind="stable")
        l0 = group.l0.to_numpy(float)
        row = {
            "model": model,
            "dataset": dataset,
            "n_latents": width,
            "seed": seed,
            "l0": target,
            "l0_range": f"{l0.min():.3g}-{l0.max():.3g}",
            "monotone": monotone,
        }
        above = np.flatnonzero(l0 >= target)
        if not monotone or len(above) == 0 or (above[0] == 0 and l0[0] > target):
            rows.append({**row, "read": False, **{q: np.nan for q in quantities}, "coefficient": np.nan})
            continue
        hi = above[0]
        lo = hi if l0[hi] == target else hi - 1
        w = 0.0 if lo == hi else (target - l0[lo]) / (l0[hi] - l0[lo])
        values = {q: (1 - w) * group[q].iloc[lo] + w * group[q].iloc[hi] for q in quantities}
        c_lo, c_hi = float(group.coefficient.iloc[lo]), float(group.coefficient.iloc[hi])
        if c_lo > 0 and c_hi > 0:
            coefficient = float(np.exp((1 - w) * np.log(c_lo) + w * np.log(c_hi)))
        else:
            coefficient = (1 - w) * c_lo + w * c_hi
        rows.append({**row, "read": True, **values, "coefficient": coefficient})
    return pd.DataFrame(rows)


# the registry rows of the draft's Section 7.3 table: its JumpReLU and Gated predictions, and V4's own numbers
PLAN_ROWS = {"jumprelu": "s7.3-jumprelu", "gated": "s7.3-gated", "v4": "abs-v4"}
PLAN_QUANTITIES = {"sparsity": "sparsity", "dead_fraction": "dead", "variance": "variance", "val_loss": "valloss"}


def plan_table(matched: pd.DataFrame, registry: pd.DataFrame, datasets) -> pd.DataFrame:
    """The draft's Section 7.3 table (expected values from the registry) beside the same quantities measured at
    the target L0, mean over seeds, on each data set; one row per model."""
    claimed = registry.set_index("id").claimed
    rows = []
    for model, runs in matched.groupby("model", sort=False):
        row = {"model": model}
        for quantity, suffix in PLAN_QUANTITIES.items():
            key = f"{PLAN_ROWS.get(model)}-{suffix}"
            row[f"{quantity}: draft expects"] = float(claimed[key]) if key in claimed.index else np.nan
            for dataset in datasets:
                row[f"{quantity}: {dataset}"] = float(runs[runs.dataset == dataset][quantity].mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def fve_tests(matched: pd.DataFrame, kinds, datasets) -> pd.DataFrame:
    """Welch tests of the FVE at the target L0, V4 against each SAE kind on each data set (pairs with fewer than
    two seeds on either side are left out)."""
    rows = []
    for dataset in datasets:
        runs = matched[matched.dataset == dataset]
        v4 = runs[runs.model == "v4"].fve.dropna()
        for kind in kinds:
            sae = runs[runs.model == kind].fve.dropna()
            if len(sae) >= 2 and len(v4) >= 2:
                welch = next(row for row in compare_two(sae, v4, kind, "v4") if row["test"] == "Welch")
                rows.append({"dataset": dataset, **welch})
    columns = ["dataset", "comparison", "mean_a", "mean_b", "difference", "p", "cohens_d"]
    return pd.DataFrame(rows, columns=columns + ["test"])[columns]


def variance_in_units(matched: pd.DataFrame, scales: dict, dim: int) -> pd.DataFrame:
    """Each SAE's mean code variance at the target L0 per data set, in the images' pixel units (as measured) and
    in the two input scalings SAE papers use: RMS 1 per dimension (``scales[dataset]`` times the pixels) and mean
    squared norm 1 (that, divided by the square root of ``dim``). A variance scales with the square of the units."""
    picked = matched[matched.read.astype(bool) & (matched.model != "v4")]
    table = picked.groupby(["model", "dataset"], sort=False).variance.mean().reset_index()
    table = table.rename(columns={"variance": "pixel units"})
    table["RMS 1 per pixel"] = table["pixel units"] * table.dataset.map(scales) ** 2
    table["mean squared norm 1"] = table["RMS 1 per pixel"] / dim
    return table


def nearest_coefficients(matched: pd.DataFrame, grids: dict, kinds) -> dict:
    """For each kind, the coefficient of its grid nearest (in log) to the mean coefficient that gave the target L0."""
    chosen = {}
    for kind in kinds:
        wanted = matched[(matched.model == kind) & matched.read.astype(bool)].coefficient.mean()
        if np.isfinite(wanted):
            chosen[kind] = min(grids[kind], key=lambda c: abs(np.log(c) - np.log(wanted)))
    return chosen


# an SAE whose every latent stays at 0: all units dead, no variance, and it outputs its decoder bias (the mean image)
ALL_ZERO_CODE = {"dead_fraction": 1.0, "variance": 0.0}


def null_checks(claim_table: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Whether each measured row's own rule would call a null 'reproduced': an all-zero code (its val loss is the
    mean image's) and the same SAE trained on noise, read at the same L0 (``summary`` labels 'kind (noise)'), for its
    variance and dead units."""
    measured = summary.set_index(["model", "quantity"])["mean"]
    registry = load_registry().set_index("id")

    def passes(value: float, claim, row) -> bool:
        tolerance = None if pd.isna(row.tolerance) else float(row.tolerance)
        return bool(np.isfinite(value)) and accepts(float(value), row.claimed, row.rule, tolerance, claim.floor)

    rows = []
    for claim in claim_table[claim_table.verdict != "not testable here"].itertuples():
        row = registry.loc[claim.id]
        zero = claim.floor if claim.quantity == "val_loss" else ALL_ZERO_CODE.get(claim.quantity, np.nan)
        noise = measured.get((str(claim.model).replace("(logistic)", "(noise)"), claim.quantity), np.nan)
        if claim.quantity == "val_loss":  # a loss on other images: not comparable with a logistic-image claim
            noise = np.nan
        rows.append(
            {
                "id": claim.id,
                "verdict": claim.verdict,
                "all-zero code": zero,
                "passes (all-zero code)": passes(zero, claim, row),
                "same SAE on noise": noise,
                "passes (on noise)": passes(noise, claim, row),
            }
        )
    return pd.DataFrame(rows)
