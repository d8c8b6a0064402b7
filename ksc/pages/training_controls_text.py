"""Chapter 10's page text: the Markdown paragraphs that state each section's measured results, assembled from the
tables the chapter computes (no number typed in). Each function returns one paragraph."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.training_controls.constant_image import FROZEN, RELU, V4
from ksc.chapters.training_controls.learning_curves import best_learning_rates
from ksc.chapters.training_controls.remedy_comparison import RESAMPLING
from ksc.chapters.training_controls.trained_vs_untrained import mean_of
from ksc.data.chaos import IMAGE_SIDE, PIXELS

MEAN_IMAGE = "per-pixel mean"


def describe_untrained_v4(runs: pd.DataFrame) -> str:
    """V4 on logistic images at its initial weights against after training: variance, dead fraction and FVE."""

    def v4(training, quantity):
        return mean_of(runs, "v4", "logistic", training, quantity)

    v4_before, v4_after = v4("untrained", "variance"), v4("trained", "variance")
    return (
        f"At its initial weights V4 has a latent variance of {v4_before:.3f} and a dead fraction of "
        f"{v4('untrained', 'dead_fraction'):.2f} on logistic images; after training, {v4_after:.3f} "
        f"({v4_after / v4_before:.2f}× the untrained value) and {v4('trained', 'dead_fraction'):.2f}. Training does "
        f"change V4: its FVE goes from {v4('untrained', 'fve'):+.3f} to {v4('trained', 'fve'):+.3f}, towards the mean "
        "image, while the variance and the dead fraction stay where the architecture put them."
    )


def describe_best_learning_rates(convergence: pd.DataFrame, references: dict, epochs: int) -> str:
    """Each architecture at its best learning rate (best validation MSE, its epoch, test FVE there and at the end),
    next to the mean image's and PCA's validation MSE."""
    best = best_learning_rates(convergence)
    return (
        "**At the best learning rate of each architecture** (lowest validation loss over the sweep): "
        + "; ".join(
            f"{b.architecture}: best validation MSE {b.best_val_loss:.4f} at epoch {b.best_epoch} of "
            f"{epochs} (lr {b.learning_rate:g}), test FVE {b.early_stopped_test_fve:+.3f} at that epoch "
            f"({b.test_fve:+.3f} at the last){'' if b.converged else ', not converged'}"
            for b in best.itertuples()
        )
        + f". The mean image's validation MSE is {references[MEAN_IMAGE]:.4f}; "
        + ", ".join(f"{name}: {value:.4f}" for name, value in references.items() if name != MEAN_IMAGE)
        + "."
    )


def describe_constant_image(table: pd.DataFrame) -> str:
    """What the constant-image runs show: V4's error and moving features, V4 with only its output layer trained,
    dense ReLU; the diagnosis is stated only when V4's features move by more than half their size in the last epoch
    and the output layer alone gets the error below a tenth of V4's."""
    full, frozen, relu = table.loc[V4], table.loc[FROZEN], table.loc[RELU]
    diagnosis = (
        "V4's features do not settle: each epoch's updates of the earlier layers move the features the "
        "output layer reads by about their own size, so what the output layer learned in one epoch no longer "
        "fits in the next. Which ingredient makes them move (the frequency 8 of sin(8x) in five layers is the "
        "first suspect) is a question for an ablation of the activation, not answered here."
        if full["feature change, last epoch"] > 0.5 and frozen["MSE at end"] < 0.1 * full["MSE at end"]
        else "In this run the diagnosis is not clear-cut; see the table."
    )
    return (
        f"Trained whole, V4 ends at MSE {full['MSE at end']:.2g} on the one image it sees; its last hidden "
        f"features move by {full['feature change per epoch (mean)']:.2f} of their own size per epoch and "
        f"{full['Top-K flips per epoch (mean)']:.0%} of its latent units enter or leave the Top-K each epoch. "
        f"With only the output layer trained, the same network reaches MSE {frozen['MSE at end']:.2g}: the "
        "target is within reach of the output layer (for one constant input, its bias alone could fit it), so "
        "the failure is not one of capacity or of a saturated sigmoid. Freezing the earlier layers also freezes "
        "which units Top-K keeps, so this control does not separate the moving features from the flipping "
        "Top-K. "
        f"Dense ReLU reaches {relu['MSE at end']:.2g} while its features settle (last epoch: "
        f"{relu['feature change, last epoch']:.3f}). " + diagnosis
    )


def describe_probes(probe_table: pd.DataFrame, k: int, latent_dim: int) -> str:
    """The ridge probe on logistic images: the principal subspace, x1 and x0 read from V4's and dense ReLU's codes
    (with the references), and the codes' effective ranks."""

    def r2(code, target):
        return float(probe_table.loc[("logistic", "ridge", code), target])

    return (
        f"With the ridge probe on logistic images, the top-{k} principal subspace is read back with R² "
        f"{r2('v4 trained', 'pcs'):+.3f} from V4's code and {r2('dense_relu trained', 'pcs'):+.3f} from dense "
        f"ReLU's (PCA-{k}: {r2(f'PCA-{k}', 'pcs'):+.3f}); the first iterate x1 with {r2('v4 trained', 'x1'):+.3f} "
        f"and {r2('dense_relu trained', 'x1'):+.3f} (pixels: {r2('pixels', 'x1'):+.3f}); the folded start x0 with "
        f"{r2('v4 trained', 'x0'):+.3f} and {r2('dense_relu trained', 'x0'):+.3f}. V4's code has an "
        f"effective rank of {r2('v4 trained', 'effective_rank'):.1f} of {latent_dim} directions "
        f"(untrained: {r2('v4 untrained', 'effective_rank'):.1f}; dense ReLU: "
        f"{r2('dense_relu trained', 'effective_rank'):.1f}). A code can spread over many directions and "
        "still carry nothing a probe can read."
    )


def describe_remedies(remedies: pd.DataFrame, resample_epochs) -> str:
    """Each variant's dead fraction on logistic images, and how many units resampling renewed and saw die again."""
    dead = remedies[remedies.dataset == "logistic"].groupby("variant", sort=False).dead_fraction.mean()
    resampled = remedies[remedies.variant == RESAMPLING]
    resampling = (
        f". Resampling gave new weights to {resampled.resampled_units.mean():.0f} units per model "
        f"over epochs {resample_epochs}; {resampled.resampled_dead_again.mean():.0f} of them were dead "
        "again at the next event"
        if "resampled_units" in remedies
        else ""
    )
    return (
        "Dead fraction on logistic images: "
        + ", ".join(f"{variant} {value:.3f}" for variant, value in dead.items())
        + resampling
        + ". A unit counts as dead when it is below 1e-6 on every test image, so any latent activation without a "
        "flat zero region (the identity, tanh, a leaky ReLU) would also show no dead units under Top-K by absolute "
        "value; this section asks only whether ReLU's dead units can be revived without changing the activation."
    )


def describe_k_table(k_table: pd.DataFrame, ks) -> str:
    """The untrained / trained variance ratio over the K sweep, the gain between its two largest K before and after
    training (the same within 5 points: 'already there in the untrained network'), and our values against the
    draft's."""

    def gain(column):
        return k_table[column].iloc[-1] / k_table[column].iloc[-2] - 1 if len(k_table) >= 2 else np.nan

    ratio = k_table["untrained / trained"]
    return (
        f"Across K = {ks[0]} … {ks[-1]} the untrained V4's variance is "
        f"{ratio.min():.2f}–{ratio.max():.2f} times the trained "
        f"one. From K = {ks[-2] if len(ks) > 1 else ks[0]} to {ks[-1]} the variance grows by "
        f"{gain('trained'):+.1%} after training and {gain('untrained'):+.1%} before any: the flattening the "
        "draft reads as the images' intrinsic dimension is "
        + (
            "already there in the untrained network."
            if abs(gain("untrained") - gain("trained")) < 0.05
            else "not the same before training."
        )
        + " (Each image is a function of one number, its first iterate, so an intrinsic dimension of about 96 "
        "would be surprising in any case.) Our trained values differ from the draft's by "
        + ", ".join(
            f"{(row.trained / row.draft - 1):+.0%} at K = {row.K}"
            for row in k_table.itertuples()
            if np.isfinite(row.draft)
        )
        + "."
    )


def describe_origin_tests(
    origin_variance: pd.DataFrame,
    image_distances: np.ndarray,
    unrelated_images: float,
    lyapunov: float,
    parting: float,
    delta: float,
    n_identical: int,
) -> str:
    """The Section 1.2 tests re-run: unit variances on copies of one image and on distinct images; the chains'
    image distance, the iterates after which orbits ``delta`` apart part (``parting``, from the ``lyapunov``
    exponent), and unrelated images' distance."""
    test_rows = origin_variance[origin_variance.encoded.str.contains("x0 = 0.4")]
    distinct_rows = origin_variance[origin_variance.encoded.str.contains("distinct")]
    n_frames = len(image_distances)
    return (
        f"On copies of one image the largest unit variance is {test_rows['largest unit variance'].max():.1e} "
        f"(the draft lists 1e-12 to 1e-11); on {n_identical} distinct images the smallest unit variance is "
        f"{distinct_rows['smallest unit variance'].min():.3g} and the median "
        f"{distinct_rows['median unit variance'].mean():.3g}. In the divergence test the two chains' images are "
        f"{image_distances[0]:.2f} apart at frame 0 and {image_distances[-1]:.2f} at frame {n_frames - 1} "
        f"(ratio {image_distances[-1] / image_distances[0]:.2f}): with a separation of {delta:g} and a "
        f"Lyapunov exponent of {lyapunov:.3f} per iterate (estimated here) the two orbits part after about "
        f"{parting:.0f} iterates, {_where_orbits_part(parting, unrelated_images)}"
    )


def _where_orbits_part(parting: float, unrelated_images: float) -> str:
    """Where in the chain's frames orbits part after ``parting`` iterates, and what that makes of the frame pairs."""
    unrelated = f"({unrelated_images:.2f} on average between unrelated test images)"
    if parting >= PIXELS:
        frame = int(parting // PIXELS)
        return f"only in frame {frame}, so the frame pairs before it are closer than unrelated images {unrelated}."
    row = int(np.ceil(max(parting, 1) / IMAGE_SIDE))
    where = "inside the first row of frame 0" if row == 1 else f"in row {row} of the {IMAGE_SIDE} rows of frame 0"
    return (
        f"{where}, so every frame pair is already as far apart as unrelated images {unrelated}. A flat latent "
        "trajectory is what any encoder gives on these inputs, chaotic or not."
    )
