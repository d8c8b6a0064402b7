"""The sparse coders chapter 13 adds: V4's latent block as a coder, and the fast count of latents that ever fire."""

import numpy as np
import pytest

from ksc.saes.auxk import HALF_INPUT_WIDTH
from ksc.saes.chaos_coder import ChaosCoder
from ksc.saes.living import ever_fire
from ksc.saes.topk_vsae import TopKSAE, firing_counts, train_members


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(0)
    return rng.normal(size=(600, 12)).astype("float32") * rng.uniform(0.2, 2.0, size=12).astype("float32")


@pytest.mark.parametrize("cls", [TopKSAE, ChaosCoder])
def test_ever_fire_is_the_full_top_k_count(samples, cls):
    ks, seeds = [2, 3, 5, 2], [0, 1, 2, 3]
    sae = cls(samples, 40, ks, seeds, topk_by=["value", "abs", "value", "abs"])
    # train a few steps' worth of shift into the encoder so some latents are rare or never fire
    sae.b_enc.assign(np.random.default_rng(1).normal(-1.5, 1.0, size=(4, 1, 40)).astype("float32"))
    few = samples[:12]  # the chaos activation reaches every latent on many samples: few samples leave some silent
    full = firing_counts(sae, few) > 0
    assert 0 < full.sum() < full.size  # some latents silent, some firing: the comparison means something
    assert np.array_equal(ever_fire(sae, few, chunk=5), full)
    full = firing_counts(sae, samples) > 0
    assert np.array_equal(ever_fire(sae, samples, chunk=97), full)
    some = ever_fire(sae, samples[:50], members=[1, 3])
    assert np.array_equal(ever_fire(sae, samples[50:], members=[1, 3], fired_ML=some), full[[1, 3]])


def test_chaos_coder_trains_signed_sparse_codes(samples):
    members = [
        {"model": "v4_coder", "k": 3, "seed": s, "noise": 0.0, "beta": 0.0, "auxk_alpha": 0.0, "topk_by": "abs"}
        for s in (0, 1)
    ]
    fits = train_members(samples, samples[:200], members, 24, epochs=3, batch_size=50, sae_class=ChaosCoder)
    for fit in fits:
        nonzero = (fit.codes != 0).sum(axis=1)
        assert nonzero.max() <= 3 and (fit.codes < 0).any() and (fit.codes > 0).any()
        assert fit.metrics["fve"] > 0.1  # it reconstructs something: far from a dead coder's 0


def test_after_sees_the_trained_model(samples):
    members = [{"model": "topk_sae", "k": 2, "seed": s, "noise": 0.0, "beta": 0.0, "auxk_alpha": 0.03} for s in (0, 1)]
    fits = train_members(
        samples,
        samples[:100],
        members,
        16,
        epochs=1,
        batch_size=50,
        k_aux=HALF_INPUT_WIDTH,
        after=lambda sae: list(ever_fire(sae, samples[:100]).sum(axis=1)),
    )
    assert [f.measured for f in fits] == [int((f.codes != 0).any(axis=0).sum()) for f in fits]
