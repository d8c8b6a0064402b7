"""Chapter 13's page text: the setup, the model check, and the sentences its summary is made of (all from results)."""

from __future__ import annotations

import pandas as pd


def setup_table(lm, text, sets, params: dict) -> pd.DataFrame:
    """What the chapter ran on, one row per fact."""
    config = lm.model.config
    rows = [
        ("language model", f"{config.name or lm.name} ({params['lm_model']})"),
        ("blocks, width, vocabulary", f"{config.n_layers}, {config.d_model}, {config.vocab:,}"),
        ("site", f"residual stream after block {params['site_block']}"),
        ("plays (training / held out)", f"{len(text.train_plays)} / {len(text.held_out_plays)}"),
        ("tokens: training, validation, test, counting", ", ".join(f"{len(getattr(sets, n)):,}"
                                                                  for n in ("train", "val", "test", "count"))),
        ("windows of the spliced loss", f"{len(sets.loss_windows)} of {params['context']} tokens"),
        ("weights read in", f"{lm.seconds:.1f} s"),
        ("activations", "read from the cache" if sets.cached else f"computed in {sets.seconds:.1f} s and cached"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["", "value"]).set_index("")


def check_sentence(check: dict, name: str) -> str:
    """The model check in words: the held-out loss beside what a model that learned nothing scores."""
    tiny = name == "tiny-random"
    works = check["loss"] < check["uniform_loss"] - 2.0
    return (
        f"Held-out next-token loss: **{check['loss']:.2f} nats** per token over {check['tokens']:,} predictions; "
        f"a model that learned nothing scores about ln V = {check['uniform_loss']:.2f}. "
        + (
            "This run uses a tiny model with random weights (the smoke scale), so neither the loss nor the "
            "continuations below mean anything about language."
            if tiny
            else ("The forward pass works: the loss is far below that of a model that learned nothing."
                  if works else "**The loss is not far below ln V: the forward pass is not trustworthy.**")
        )
    )  # fmt: skip


def verdict_lines(claim_table: pd.DataFrame) -> str:
    """One bullet per registry row judged here: its claim, the measured mean over k and the verdict."""
    lines = []
    for row in claim_table.itertuples():
        measured = "not measured" if pd.isna(row.measured) else f"{row.measured:+.3g}"
        lines.append(f"- `{row.id}` ({row.quantity}, claimed {row.claimed:g}): {measured} → **{row.verdict}**")
    return "\n".join(lines)


def v4_sentence(gaps: pd.DataFrame) -> str:
    """Where V4's coder stands against the TopK SAE, per k, on FVE and the spliced loss (intervals over seeds)."""
    parts = []
    for k, group in gaps.groupby("k"):
        fve, loss = group.set_index("quantity").loc["fve"], group.set_index("quantity").loc["ce_loss"]
        parts.append(
            f"k = {k}: FVE {fve.difference:+.3f} [{fve.ci_low:+.3f}, {fve.ci_high:+.3f}], spliced loss "
            f"{loss.difference:+.3f} nats [{loss.ci_low:+.3f}, {loss.ci_high:+.3f}]"
        )
    return (
        "V4's latent block minus the TopK SAE at the same k (paired by seed, 95 % intervals): " + "; ".join(parts) + "."
    )
