"""Chapter 09's comparison: each SAE kind over its coefficient grid on several image sets, read off at one L0.

A penalty-based SAE (ReLU-L1, JumpReLU, Gated) sets its sparsity through its coefficient, so two kinds
are only comparable at the same number of active latents per sample (L0). :func:`train_grid` trains
every (data set, coefficient, seed) of a kind as one computation (TopK's AuxK with this chapter's k_aux rule,
:data:`K_AUX`), :func:`train_all` every model of the chapter; :func:`at_l0` reads every metric at a
target L0 by linear interpolation in L0 between the two coefficients whose L0 bracket the target
(per kind, data set and seed), and leaves the row empty, flagged, when the grid does not bracket it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.data import chaos
from ksc.data.chaos import Splits
from ksc.evidence import claims
from ksc.evidence.claims import accepts, load_registry
from ksc.measures.metrics import sae_metrics
from ksc.measures.stats import compare_two
from ksc.models.training import train_many
from ksc.saes.auxk import TWICE_K
from ksc.saes.base import input_scale
from ksc.saes.kinds import PAPER_THETA0, train_sae_kinds

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


# the quantities summarised over seeds at the target L0
SUMMARY_QUANTITIES = ["dead_fraction", "variance", "scale_free_variance", "fve", "val_loss", "mean_predictor_mse"]
# the Section 7.3 predictions this chapter judges
PREDICTION_IDS = [
    f"s7.3-{kind}-{q}" for kind in ("jumprelu", "gated") for q in ("sparsity", "dead", "variance", "valloss")
]
# the columns of the longer-training table the page shows
LONGER_COLUMNS = ["model", "coefficient", "epochs", "l0", "dead_fraction", "variance", "fve", "wall_seconds"]


def make_data(datasets, n_train: int, n_val: int, n_test: int, r: float, seed: int) -> dict:
    """Name -> the image splits of every data set (``r``: the logistic map's parameter; ``seed``: the data seed)."""
    return {name: chaos.make_splits(name, n_train, n_val, n_test, r=r, seed=seed) for name in datasets}


def flat(splits: Splits) -> tuple[np.ndarray, np.ndarray]:
    """(training images, test images) as rows of pixels."""
    return splits.train.reshape(len(splits.train), -1), splits.test.reshape(len(splits.test), -1)


K_AUX = TWICE_K  # AuxK's number of dead latents in this chapter, min(2k, L) (ksc.saes.auxk)


def train_grid(kind: str, datasets: dict, coefficients, seeds, n_latents: int, **settings) -> pd.DataFrame:
    """One row of metrics per (data set, coefficient, seed) of one SAE kind, trained as one computation, TopK's AuxK
    with this chapter's k_aux rule (:data:`K_AUX`)."""
    members = [(name, c, int(s)) for name in datasets for c in coefficients for s in seeds]
    data = {name: flat(s) for name, s in datasets.items()}
    fits = train_sae_kinds(kind, data, members, n_latents, k_aux=K_AUX, **settings)
    return pd.DataFrame([fit.metrics for fit in fits])


def train_all(
    data: dict,
    grids: dict,
    kinds,
    seeds,
    n_latents: int,
    wide_latents: int,
    wide_factor: float,
    target_l0: int,
    settings: dict,
) -> pd.DataFrame:
    """Every model of the comparison, one row of metrics each, in this order: each SAE kind over its coefficient
    grid (``grids``) on every data set and seed; JumpReLU at the paper's initial threshold (logistic images, first
    seed; model ``jumprelu (paper's θ₀)``); every kind with ``wide_latents`` latents (logistic images, first seed,
    every penalty grid times ``wide_factor``, TopK with k = ``target_l0``); V4 on every data set and seed.
    ``settings`` go to :func:`train_grid` (V4 takes its epochs, batch size and learning rate)."""
    frames = [train_grid(kind, data, grids[kind], seeds, n_latents, **settings) for kind in kinds]
    logistic = {"logistic": data["logistic"]}
    paper_settings = {**settings, "theta0": PAPER_THETA0}
    paper = train_grid("jumprelu", logistic, grids["jumprelu"], seeds[:1], n_latents, **paper_settings)
    frames.append(paper.assign(model="jumprelu (paper's θ₀)"))
    for kind in kinds:
        wide_grid = [target_l0] if kind == "topk_auxk" else [c * wide_factor for c in grids[kind]]
        frames.append(train_grid(kind, logistic, wide_grid, seeds[:1], wide_latents, **settings))
    v4 = {key: settings[key] for key in ("epochs", "batch_size", "learning_rate")}
    frames.append(v4_grid(data, seeds, n_latents, target_l0, **v4))
    return pd.concat(frames, ignore_index=True)


def auxk_shapes(data: dict, kinds, ks, n_latents: int, wide_latents: int, target_l0: int) -> dict:
    """What AuxK's k_aux is computed from in this chapter: arm -> (input width, latents, ks) of TopK + AuxK (none
    where it is not trained)."""
    if "topk_auxk" not in kinds:
        return {}
    dim = flat(next(iter(data.values())))[0].shape[1]
    return {
        f"TopK + AuxK, {n_latents} latents": (dim, n_latents, list(ks)),
        f"TopK + AuxK, {wide_latents} latents": (dim, wide_latents, [target_l0]),
    }


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


def matched_at_l0(runs: pd.DataFrame, target: float, n_latents: int) -> pd.DataFrame:
    """:func:`at_l0` with ``val_loss`` (the test MSE, the draft table's quantity) and a ``label`` per model and data
    set (the width added where it is not ``n_latents``)."""
    matched = at_l0(runs, target).assign(val_loss=lambda t: t.test_mse)
    width = matched.n_latents.map(lambda n: "" if n == n_latents else f", {n} latents")
    matched["label"] = matched.model + " (" + matched.dataset + width + ")"
    return matched


def summary_at_l0(matched: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds of every :data:`SUMMARY_QUANTITIES` at the target L0, per label (rows read only)."""
    return claims.summarise(matched[matched.read], SUMMARY_QUANTITIES, by="label")


def unread(matched: pd.DataFrame) -> pd.DataFrame:
    """The rows not read at the target L0, with the L0 range their grid reached."""
    return matched.loc[~matched.read, ["model", "dataset", "n_latents", "seed", "l0_range", "monotone"]]


def at_width(matched: pd.DataFrame, n_latents: int) -> pd.DataFrame:
    """The rows read at the target L0 of the dictionaries with ``n_latents`` latents."""
    reached = matched[matched.read]
    return reached[reached.n_latents == n_latents]


def input_scales(data: dict, input_rms: float) -> dict:
    """Name -> the factor that scaled each data set's training images to ``input_rms`` per pixel."""
    return {name: input_scale(flat(split)[0], input_rms) for name, split in data.items()}


def longer_runs(
    runs: pd.DataFrame,
    matched: pd.DataFrame,
    data: dict,
    grids: dict,
    seed: int,
    n_latents: int,
    settings: dict,
    long_epochs: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """JumpReLU and the Gated SAE trained ``long_epochs`` epochs on the logistic images (seed ``seed``), each at the
    coefficient of its grid nearest to the one that gave the target L0 (``matched``: the rows read at it); returns
    (those runs, a table of them beside the same runs after ``settings["epochs"]`` epochs)."""
    logistic = {"logistic": data["logistic"]}
    nearest = nearest_coefficients(matched[matched.dataset == "logistic"], grids, ["jumprelu", "gated"])
    long_settings = {**settings, "epochs": long_epochs}
    parts = [train_grid(kind, logistic, [c], [seed], n_latents, **long_settings) for kind, c in nearest.items()]
    longer = pd.concat(parts, ignore_index=True) if parts else runs.iloc[:0]
    short = runs[(runs.dataset == "logistic") & (runs.n_latents == n_latents) & (runs.seed == seed)]
    short = pd.concat([short[(short.model == k) & (short.coefficient == c)] for k, c in nearest.items()])
    table = pd.concat([short.assign(epochs=settings["epochs"]), longer.assign(epochs=long_epochs)], ignore_index=True)
    return longer, table


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
