"""Page text both SAE chapters (06 and 09) share: the sentence that states AuxK's k_aux rule and its values."""

from __future__ import annotations

from ksc.saes.auxk import KAuxRule


def k_aux_sentence(rule: KAuxRule, shapes: dict) -> str:
    """Markdown: the k_aux ``rule`` (formula and source, as the code holds them) and the value it gives in every arm.

    ``shapes`` maps an arm's name to (input width d, latents L, the ks trained); an arm whose ks all give the same
    k_aux shows it once, otherwise one value per k."""
    parts = []
    for name, (dim, n_latents, ks) in shapes.items():
        values = {int(k): rule(dim, n_latents, k) for k in ks}
        if len(set(values.values())) == 1:
            shown = str(next(iter(values.values())))
        else:
            shown = ", ".join(f"{v} at k = {k}" for k, v in values.items())
        parts.append(f"{name}: {shown} (d = {dim}, L = {n_latents})")
    here = "; ".join(parts) if parts else "no SAE with AuxK is trained in this run"
    return (
        f"**AuxK's k_aux**, the number of dead latents it lets in: k_aux = {rule.formula}, with d the input width and "
        f"L the number of latents. Where the rule comes from: {rule.source}. Here: {here}."
    )
