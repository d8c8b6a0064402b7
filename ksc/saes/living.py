"""Which latents ever fire on many samples, without a Top-K per sample (chapter 13 counts on 10^5 tokens).

A latent fires on a sample when its score (its latent before Top-K, or that latent's absolute value for a member
ranked by |z|) is at least the k-th largest score of the sample and its code is not 0 — what
:func:`ksc.saes.topk_vsae.firing_counts` counts through a full Top-K. Once most latents have fired, only the few
still silent (the candidates) matter: a sample where at least k latents score strictly above the best candidate
cannot let any candidate in, and only the other samples need their k-th score. The answer is the same, at the cost
of the encoder's matrix product and two comparisons per sample.
"""

from __future__ import annotations

import numpy as np
from keras import ops


def ever_fire(sae, x_ND: np.ndarray, members=None, fired_ML: np.ndarray | None = None, chunk: int = 512) -> np.ndarray:
    """(members, latents) booleans: whether each latent of each given member (indices into ``sae``'s members, all by
    default) fires on at least one sample of ``x_ND`` (original units), or was already marked in ``fired_ML``."""
    members = np.arange(len(sae.ks)) if members is None else np.asarray(members, int)
    fired = np.zeros((len(members), sae.n_latents), bool) if fired_ML is None else np.array(fired_ML, bool)
    for start in range(0, len(x_ND), chunk):
        open_members = [j for j in range(len(members)) if not fired[j].all()]
        if not open_members:
            break
        latents = ops.convert_to_numpy(sae.member_latents(x_ND[start : start + chunk], members[open_members]))
        for latent, j in zip(latents, open_members):
            m = members[j]
            candidates = np.flatnonzero(~fired[j])
            score = np.abs(latent) if sae.by_abs_M[m] else latent
            best = score[:, candidates].max(axis=1)
            rows = np.flatnonzero((score > best[:, None]).sum(axis=1) < sae.ks[m])
            if not len(rows):
                continue
            k, width = sae.ks[m], score.shape[1]
            kth = np.partition(score[rows], width - k, axis=1)[:, width - k]
            picked = (score[rows][:, candidates] >= kth[:, None]) & (latent[rows][:, candidates] != 0)
            fired[j, candidates[picked.any(axis=0)]] = True
    return fired
