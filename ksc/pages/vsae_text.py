"""Chapter 06's page text and tables: the data sets, the network, the training summary, and the verdict, every
number computed (from :mod:`ksc.chapters.vsae` and :mod:`ksc.chapters.vsae_training`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ksc.chapters.vsae import paper_count_ratio
from ksc.chapters.vsae_training import Arms, Data
from ksc.evidence import claims


def data_table(data: Data, params: dict, seeds, device: str) -> pd.DataFrame:
    """The three data sets side by side: dimension, sample counts, true features, dictionary size."""
    p, network, width = params, data.network, data.images["train"].shape[1]
    return pd.DataFrame(
        {
            "superposition": [
                p["dim"],
                f"{p['synthetic_train']} / {p['synthetic_val']} / {p['synthetic_test']}",
                p["n_features"],
                float(np.sum(data.synthetic.probabilities)),
                p["synthetic_latents"],
                f"{p['synthetic_latents'] / p['n_features']:g}x",
            ],
            "network": [
                p["network_hidden"],
                f"{len(network.train)} / {len(network.val)} / {len(network.test)}",
                "unknown",
                "—",
                p["network_latents"],
                f"{p['network_latents'] / p['network_hidden']:g}x the width",
            ],
            "logistic": [
                width,
                f"{p['n_train']} / {p['n_val']} / {p['n_test']}",
                "unknown",
                "—",
                p["image_latents"],
                f"{p['image_latents'] / width:.2f}x the width (undercomplete)",
            ],
        },
        index=[
            "dimension",
            "samples (train / val / test)",
            "true features",
            "features firing per sample",
            "SAE latents",
            "dictionary size",
        ],
    ).rename_axis(f"seeds {seeds}; {device}")


def network_sentence(data: Data, hidden: int) -> str:
    """The trained network in one line: its width, test accuracy, silent units and training time."""
    network = data.network
    return (
        f"The network: {hidden} hidden ReLU units, test accuracy {network.accuracy:.3f} on jittered digits it "
        f"never trained on; {network.silent_units:.0%} of its hidden units never fire on them; trained in "
        f"{data.network_seconds:.1f} s."
    )


def trained_sentence(arms: Arms) -> str:
    """How many SAEs trained and in how long, all arms together."""
    n = len(arms.design) + len(arms.wide) + len(arms.authors)
    return f"{n} SAEs trained in {sum(arms.seconds.values()):.1f} s"


def verdict_paragraph(claim_table: pd.DataFrame, facts: dict) -> str:
    """The chapter's verdict from the claims table and :func:`ksc.chapters.vsae.verdict_facts`."""
    lines = [f"**Verdict.** {claims.count_sentence(claim_table, 'registry rows this chapter answers')}."]
    for variant, name in (("vsae_mean", "KL-only vSAE (as run)"), ("vsae", "vSAE with sampling (as described)")):
        met, pairs = facts["margin"][variant]
        lines.append(
            f"The {name} stays within 0.05 of the TopK SAE's validation FVE at some β for "
            f"{met} of {pairs} (data set, k) pairs."
        )
    ratios = facts["living"]
    for variant, name in (("vsae_mean", "KL only"), ("vsae", "with sampling")):
        part = ratios[ratios.variant == variant]
        lines.append(
            f"Living-latent ratio against the TopK SAE ({name}, mean over k and seeds): "
            + ", ".join(f"{r.dataset} {r.mean:.2f}" for r in part.itertuples())
            + f" (the paper: {paper_count_ratio():.2f}, from its two counts in the registry)."
        )
    if facts["effects"] is not None:

        def significant(name):
            hits, total, mean = facts["effects"][name]
            return f"{hits} of {total} values of k (mean {mean:+.3f})"

        lines.append(
            "In the 2 × 2 at each k's chosen β (dead fraction, p < 0.05 over seeds): the KL term without "
            f"sampling raises it at {significant('KL without sampling raises')}, with sampling at "
            f"{significant('KL with sampling raises')}; sampling without the KL term raises it at "
            f"{significant('sampling without KL raises')} and lowers it at "
            f"{significant('sampling without KL lowers')}; "
            f"the interaction is negative at {significant('interaction negative')}."
        )
    if facts["tpp"] is not None:
        lines.append(
            "TPP on the network's activations (mean over k and seeds): "
            + ", ".join(f"{m} {v:.3f}" for m, v in facts["tpp"].items())
            + "."
        )
    off = facts["authors_off"]
    if off is not None:
        parts = [f"{t:.0%} at k = {int(k)} (ours {o:.0%})" for k, t, o in zip(off.k, off.theirs, off.ours)]
        if (off.theirs < off.ours - 0.1).any():
            lines.append(
                "Without any KL term (β = 0) the authors' code path keeps alive "
                + ", ".join(parts)
                + " of its latents: part of its dead latents come from the code path, not from the KL term."
            )
        else:
            lines.append(f"Without any KL term (β = 0) the authors' code path keeps alive {', '.join(parts)}.")
    moving = facts["moving"]
    if moving is not None and len(moving):
        lines.append(
            "Training was still moving: over the last quarter of its epochs the KL-only vSAE's silent fraction "
            "changed by up to "
            + ", ".join(f"{r['largest silent-fraction change']:.2f} ({r.dataset})" for _, r in moving.iterrows())
            + ", so its dead-latent counts are those of this training length (the paper trains 20,000 steps) "
            "and may grow with longer training."
        )
    ratio = facts["count_ratio"]
    lines.append(
        f"The paper's own counts give {ratio:.3f} of the SAE's histogram entries for the vSAE, "
        f"{'below' if ratio < 1 / 6 else 'above'} the one sixth it states."
    )
    return " ".join(lines)
