"""The optimizer update compiled by XLA (ksc/models/fused_adam.py) gives Keras's Adam bit for bit, in every trainer."""

import numpy as np
import pytest

from ksc.data import chaos, superposition
from ksc.models import fused_adam, training
from ksc.saes import kinds as sae_variants
from ksc.saes import topk_vsae as sae
from ksc.saes.auxk import HALF_INPUT_WIDTH as HALF

pytestmark = pytest.mark.skipif(not fused_adam.enabled(), reason="the fused update runs on TensorFlow on x86-64 only")


@pytest.fixture(scope="module")
def images():
    return chaos.make_splits("logistic", 256, 64, 64, r=3.99, seed=0)


@pytest.fixture(scope="module")
def planted():
    return superposition.make_superposition(n_train=512, n_test=64, dim=8, n_features=16, n_active=2.0, seed=1)


def both_ways(monkeypatch, train):
    """What ``train()`` returns with Keras's per-op update, then with the fused one."""
    with monkeypatch.context() as patch:
        patch.setattr(fused_adam, "enabled", lambda: False)
        training.forget_compiled()
        per_op = train()
    training.forget_compiled()
    return per_op, train()


def test_member_autoencoders_train_to_the_same_bits(monkeypatch, images):
    run = lambda: training.train_many("v4", images, seeds=[0, 1], epochs=2)
    per_op, fused = both_ways(monkeypatch, run)
    for a, b in zip(per_op, fused):
        assert np.array_equal(a.z_test, b.z_test) and np.array_equal(a.reconstruction, b.reconstruction)
        assert a.history.equals(b.history)
    assert not np.array_equal(per_op[0].z_test, per_op[1].z_test)  # two seeds: the comparison is not of one number


def test_per_member_learning_rates_train_to_the_same_bits(monkeypatch, images):
    run = lambda: training.train_many("v3", images, seeds=[0, 0], epochs=2, learning_rate=[3e-4, 3e-3])
    per_op, fused = both_ways(monkeypatch, run)
    for a, b in zip(per_op, fused):
        assert np.array_equal(a.z_test, b.z_test)


def test_saes_with_clipping_a_schedule_and_variants_train_to_the_same_bits(monkeypatch, planted):
    member = {"model": "vsae_mean", "k": 2, "seed": 4, "noise": 0.0, "beta": 1.0, "auxk_alpha": 1 / 32}
    clipped = lambda: sae.train_members(
        planted.train, planted.test, [member], 32, epochs=2, batch_size=64, form="authors", clip_norm=1.0, k_aux=HALF
    )
    per_op, fused = both_ways(monkeypatch, clipped)
    assert np.array_equal(per_op[0].decoder, fused[0].decoder) and np.array_equal(per_op[0].codes, fused[0].codes)
    data = {"planted": (planted.train, planted.test)}
    jump = lambda: sae_variants.train_sae_kinds(
        "jumprelu", data, [("planted", 3.0, 4), ("planted", 1.0, 5)], 16, epochs=2
    )
    per_op, fused = both_ways(monkeypatch, jump)
    for a, b in zip(per_op, fused):
        assert np.array_equal(a.decoder, b.decoder) and a.metrics["fve"] == b.metrics["fve"]


def test_the_fused_update_is_the_one_that_runs(images):
    training.forget_compiled()
    training.train_many("v4", images, seeds=[0], epochs=1)
    members = next(reversed(training._COMPILED.values()))
    assert isinstance(members.optimizer, fused_adam.FusedUpdate)
    assert getattr(members.optimizer, "_fused_update", None) is not None  # traced: the XLA path ran, not Keras's


def test_the_cap_counts_only_where_xla_reads_it(monkeypatch):
    monkeypatch.setenv(
        "XLA_FLAGS", "--xla_cpu_max_isa=AVX --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    assert fused_adam.enabled()
    monkeypatch.setenv(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1 --xla_cpu_max_isa=AVX"
    )
    assert not fused_adam.enabled()  # XLA stops at the word without "--": the cap would not apply, FMA would
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX2")
    assert not fused_adam.enabled()


@pytest.mark.parametrize("rates", [1e-3, [3e-4, 3e-3]])
def test_a_reused_compiled_model_trains_to_the_bits_of_a_fresh_one(images, rates):
    training.forget_compiled()
    run = lambda: training.train_many("v3", images, seeds=[0, 1], epochs=2, learning_rate=rates)
    fresh, reused = run(), run()  # the second call resets and reuses the first one's model and optimizer
    assert len(training._COMPILED) == 1
    for a, b in zip(fresh, reused):
        assert np.array_equal(a.z_test, b.z_test) and a.history.equals(b.history)
