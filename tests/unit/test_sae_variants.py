"""The four SAEs of chapter 09 checked before they judge the draft: their pseudo-gradients, their shared weights,
feature recovery on planted features, and the reading at a common L0."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from ksc.chapters.sota_saes import at_l0
from ksc.data.superposition import feature_recovery, make_superposition
from ksc.saes.auxk import TWICE_K
from ksc.saes.kinds import VariantSAE, jump_relu, step_with_pseudo_gradient, train_sae_kinds


def test_jumprelu_pseudo_gradients_follow_the_rectangle_kernel_formula():
    pre = tf.constant([[0.5, 0.96, 1.0, 1.04, 1.2, 2.0]])
    theta = tf.Variable(tf.fill((1, 6), 1.0))
    eps = 0.1
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(pre)
        out = jump_relu(pre, theta, eps)
        step = step_with_pseudo_gradient(pre, theta, eps)
        out_sum, step_sum = tf.reduce_sum(out), tf.reduce_sum(step)
    inside = np.abs((pre.numpy() - 1.0) / eps) < 0.5  # the rectangle kernel's window
    np.testing.assert_allclose(out.numpy(), pre.numpy() * (pre.numpy() > 1.0))
    np.testing.assert_allclose(step.numpy(), (pre.numpy() > 1.0).astype(float))
    # d/dtheta [pre H(pre - theta)] = -(theta/eps) K((pre - theta)/eps);  d/dtheta H(pre - theta) = -(1/eps) K(...)
    np.testing.assert_allclose(tape.gradient(out_sum, theta).numpy(), -(1.0 / eps) * inside)
    np.testing.assert_allclose(tape.gradient(step_sum, theta).numpy(), -(1.0 / eps) * inside)
    # pre gets H from the JumpReLU and nothing from the L0 term
    np.testing.assert_allclose(tape.gradient(out_sum, pre).numpy(), (pre.numpy() > 1.0).astype(float))
    assert tape.gradient(step_sum, pre) is None or not np.any(tape.gradient(step_sum, pre).numpy())
    theta2 = tf.Variable(tf.fill((1, 6), 2.0))  # the JumpReLU's theta-derivative scales with theta
    with tf.GradientTape() as tape2:
        total = tf.reduce_sum(jump_relu(pre + 1.0, theta2, eps))
    np.testing.assert_allclose(tape2.gradient(total, theta2).numpy(), -(2.0 / eps) * inside)


def test_gated_magnitude_path_shares_the_gate_directions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 8)).astype("float32")
    sae = VariantSAE(x, np.zeros((1, 8)), "gated", [1.0], [0], n_latents=6)
    names = sorted(w.name for w in sae.trainable_weights)
    assert names == ["W_dec", "W_enc", "b_dec", "b_enc", "b_mag", "r_mag"]  # no separate magnitude matrix
    sae.r_mag.assign(np.full((1, 1, 6), np.log(3.0), "float32"))
    sae.b_enc.assign(np.full((1, 1, 6), 0.2, "float32"))
    f, pi, _ = sae.encode(tf.constant(x[None]))
    pi, f = pi.numpy(), f.numpy()
    # magnitude = 3 (pi - b_gate) + b_mag with b_mag 0; the gate keeps it where pi > 0
    np.testing.assert_allclose(f, np.where(pi > 0, np.maximum(3.0 * (pi - 0.2), 0.0), 0.0), rtol=1e-5, atol=1e-6)


DEFAULTS = {"relu_l1": 1.0, "topk_auxk": 3, "jumprelu": 10.0, "gated": 4.0}


@pytest.fixture(scope="module")
def planted():
    return make_superposition(n_train=8000, n_test=2000, dim=32, n_features=48, n_active=3.0, decay=0.0, seed=0)


@pytest.mark.parametrize("kind", list(DEFAULTS))
def test_each_sae_recovers_planted_features_and_an_untrained_one_does_not(planted, kind):
    data = {"planted": (planted.train, planted.test)}
    settings = dict(learning_rate=0.003, theta0=0.1, batch_size=64, k_aux=TWICE_K)
    trained = train_sae_kinds(kind, data, [("planted", DEFAULTS[kind], 0)], 48, epochs=10, **settings)[0]
    untrained = train_sae_kinds(kind, data, [("planted", DEFAULTS[kind], 0)], 48, epochs=0, **settings)[0]
    found = feature_recovery(planted.features, trained.decoder, trained.codes.any(axis=0))
    assert trained.metrics["fve"] > 0.85 and found["matched_cosine"] > 0.85
    assert trained.metrics["l0"] < 8  # sparse: about 3 features fire per sample
    assert feature_recovery(planted.features, untrained.decoder)["matched_cosine"] < 0.5


def test_a_member_trains_the_same_alone_and_beside_others(planted):
    data = {"planted": (planted.train[:1024], planted.test[:256])}
    alone = train_sae_kinds("jumprelu", data, [("planted", 1.0, 5)], 16, epochs=2, theta0=0.1)[0]
    group = train_sae_kinds("jumprelu", data, [("planted", 3.0, 4), ("planted", 1.0, 5)], 16, epochs=2, theta0=0.1)[1]
    np.testing.assert_allclose(alone.codes, group.codes, rtol=1e-5, atol=1e-6)


def test_reading_at_a_common_l0_interpolates_linearly_in_l0_and_refuses_what_it_cannot_read():
    runs = pd.DataFrame(
        {
            "model": ["a"] * 3 + ["b"] * 2 + ["c"] * 3,
            "dataset": ["d"] * 8,
            "n_latents": [8] * 8,
            "seed": [0] * 8,
            "coefficient": [4.0, 1.0, 0.25, 1.0, 2.0, 1.0, 2.0, 4.0],
            "l0": [10.0, 40.0, 80.0, 60.0, 50.0, 40.0, 10.0, 30.0],
            "fve": [0.0, 3.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        }
    )
    table = at_l0(runs, 15.0, quantities=["fve"]).set_index("model")
    # a: between L0 10 (coefficient 4, FVE 0) and 40 (coefficient 1, FVE 3), one sixth of the way up
    assert table.loc["a", "read"] and table.loc["a", "fve"] == pytest.approx(0.5)
    assert table.loc["a", "coefficient"] == pytest.approx(4 ** (5 / 6))
    # b: the grid never goes below L0 50, so 15 is not read (never extrapolated)
    assert not table.loc["b", "read"] and np.isnan(table.loc["b", "fve"]) and table.loc["b", "l0_range"] == "50-60"
    # c: L0 falls then rises with the coefficient; no single coefficient gives L0 15
    assert not table.loc["c", "read"] and not table.loc["c", "monotone"]
    exact = at_l0(runs[runs.model == "a"], 40.0, quantities=["fve"]).iloc[0]
    assert exact.fve == pytest.approx(3.0) and exact.coefficient == pytest.approx(1.0)
    assert not at_l0(runs[runs.model == "a"], 90.0, quantities=["fve"]).iloc[0].read


def test_gated_auxiliary_reconstruction_does_not_train_the_decoder():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 8)).astype("float32")
    sae = VariantSAE(x, np.zeros((1, 8)), "gated", [1.0], [0], n_latents=6)
    with tf.GradientTape() as tape:
        _, pi, _ = sae.encode(tf.constant(x[None]))
        loss = tf.reduce_sum(tf.square(x[None] - sae.frozen_reconstruction(pi)))
    grads = dict(zip([w.name for w in sae.trainable_weights], tape.gradient(loss, sae.trainable_weights)))
    assert grads["W_enc"] is not None and np.abs(grads["W_enc"].numpy()).sum() > 0  # the gate learns from it
    for frozen in ("W_dec", "r_mag", "b_mag"):
        assert grads[frozen] is None or not np.any(grads[frozen].numpy())


def test_every_kind_shares_the_base_start_forward_pass_and_losses():
    """The TopK SAE, the vSAE's authors' form and the four Section 7.3 kinds all start, run and score on one base."""
    from ksc.saes.base import MemberSAE, decoder_start
    from ksc.saes.topk_vsae import TopKSAE

    x = np.random.default_rng(2).standard_normal((64, 8)).astype("float32")
    seeds, ks, means = [3, 7], [2, 3], np.stack([x.mean(axis=0)] * 2)
    models = {"topk_sae": TopKSAE(x, 12, ks, seeds), "authors": TopKSAE(x, 12, ks, seeds, form="authors")}
    coefficients = {"relu_l1": [1.0, 2.0], "topk_auxk": ks, "jumprelu": [1.0, 2.0], "gated": [1.0, 2.0]}
    models |= {kind: VariantSAE(x, means, kind, c, seeds, 12, k_aux=TWICE_K) for kind, c in coefficients.items()}
    for name, model in models.items():  # the same decoder draw for the same seeds, the encoder its transpose
        W = model.W_dec.numpy()
        length = 0.1 if name in ("relu_l1", "authors") else 1.0
        np.testing.assert_array_equal(W, decoder_start(seeds, 12, 8, length).astype("float32"), err_msg=name)
        np.testing.assert_array_equal(model.W_enc.numpy(), np.swapaxes(W, 1, 2), err_msg=name)
        assert not model.b_enc.numpy().any()
    np.testing.assert_allclose(10 * decoder_start(seeds, 12, 8, 0.1), decoder_start(seeds, 12, 8), rtol=1e-12)
    for cls in (TopKSAE, VariantSAE):  # one forward pass and loss, one decode, one warm-up, one AuxK wiring
        for shared in ("call", "decode", "warmup_ramp", "_auxk", "unit_decoders"):
            assert getattr(cls, shared) is getattr(MemberSAE, shared), (cls.__name__, shared)
    # a TopK SAE and chapter 09's TopK + AuxK with the same seeds, k, start and k_aux rule: the same losses, bit for bit
    auxk = dict(auxk_alpha=1 / 32, k_aux=TWICE_K, dead_after=0)
    topk = TopKSAE(x, 12, ks, seeds, **auxk)
    kind = VariantSAE(x, means, "topk_auxk", ks, seeds, 12, **auxk)
    rows = np.stack([np.arange(16), np.arange(16, 32)], axis=1)
    losses = []
    for model in (topk, kind):
        model(rows, training=True)
        losses.append([float(loss.numpy()) for loss in model.losses])
    assert len(losses[0]) == 2 and losses[0][1] > 0  # reconstruction and AuxK (dead after 0 samples: it acts)
    assert losses[0] == losses[1]


def test_chapter_09_trains_topk_auxk_with_k_aux_twice_k_as_its_page_states(monkeypatch):
    from ksc.chapters import sota_saes
    from ksc.data import chaos
    from ksc.pages.sae_text import k_aux_sentence
    from ksc.saes import kinds

    built = []

    class Recording(kinds.VariantSAE):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(kinds, "VariantSAE", Recording)
    data = {"logistic": chaos.make_splits("logistic", 64, 16, 32, r=3.99, seed=0)}
    sota_saes.train_grid("topk_auxk", data, [2, 40], [0], 48, epochs=1, batch_size=32)
    (model,) = built
    assert model.auxk_M.all() and sota_saes.K_AUX is TWICE_K
    assert model.k_aux_M == [min(2 * k, 48) for k in (2, 40)] == [4, 48]
    page = k_aux_sentence(sota_saes.K_AUX, sota_saes.auxk_shapes(data, ["topk_auxk"], [2, 40], 48, 64, 5))
    assert "k_aux = min(2k, L)" in page and ": 4 at k = 2, 48 at k = 40 (d = 784, L = 48)" in page
