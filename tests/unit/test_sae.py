"""The TopK SAE, the vSAE and the superposition benchmark they are measured on."""

import numpy as np
import pytest

from ksc.data import superposition
from ksc.measures.metrics import cosine_similarity, firing_frequency, relative_reconstruction_bias
from ksc.models.fused_adam import FusedAdam
from ksc.models.members import member_topk
from ksc.runtime.backend import keras
from ksc.saes import topk_vsae as sae
from ksc.saes.auxk import HALF_INPUT_WIDTH, authors_auxk_loss
from ksc.saes.base import MemberSAE, per_member, train_epochs

ops = keras.ops


def _np(x):
    return ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def small():
    return superposition.make_superposition(n_train=3000, n_test=500, dim=16, n_features=32, n_active=2.0, seed=3)


def test_superposition_is_reproducible_and_follows_its_recipe(small):
    again = superposition.make_superposition(n_train=3000, n_test=500, dim=16, n_features=32, n_active=2.0, seed=3)
    np.testing.assert_array_equal(small.train, again.train)
    assert small.train.shape == (3000, 16) and small.test.shape == (500, 16) and small.train.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(small.features, axis=1), 1.0, rtol=1e-12)
    assert small.probabilities.sum() == pytest.approx(2.0) and np.all(np.diff(small.probabilities) < 0)
    # every sample is a non-negative mix of the features: recover the coefficients by least squares
    coefficients, *_ = np.linalg.lstsq(small.features.T, small.train[:50].T.astype(np.float64), rcond=None)
    assert small.features.shape[0] > small.features.shape[1]  # more features than dimensions: superposition
    assert np.isfinite(coefficients).all()
    other = superposition.make_superposition(n_train=3000, n_test=500, dim=16, n_features=32, n_active=2.0, seed=4)
    assert not np.allclose(other.train, small.train)


def test_mean_number_of_firing_features_matches_n_active():
    rng = np.random.default_rng(0)
    p = superposition.firing_probabilities(64, 4.0, 1.0)
    x = superposition.sample(np.eye(64), p, 20000, rng)  # axis-aligned features: a pixel per feature
    assert (x >= 0).all() and x.max() <= 1.0
    assert (x > 0).sum(axis=1).mean() == pytest.approx(4.0, abs=0.05)
    np.testing.assert_allclose((x > 0).mean(axis=0)[:3], p[:3], atol=0.015)


def test_impossible_firing_probabilities_are_refused():
    assert superposition.max_active(32, 1.0) == pytest.approx(sum(1 / i for i in range(1, 33)))
    with pytest.raises(ValueError, match="probability"):
        superposition.firing_probabilities(32, 5.0, 1.0)


def test_feature_recovery_scores():
    rng = np.random.default_rng(0)
    true = superposition.random_features(20, 10, rng)
    perfect = superposition.feature_recovery(true, true[rng.permutation(20)] * 3.0)
    assert perfect == pytest.approx({"mmcs": 1.0, "matched_cosine": 1.0, "recovered_fraction": 1.0})
    # one direction halfway between two features is the best match of both, but a one-to-one
    # assignment must give the second feature the other (opposite) direction
    shared = superposition.feature_recovery(np.eye(2), np.array([[1.0, 1.0], [-1.0, -1.0]]))
    assert shared["mmcs"] == pytest.approx(np.sqrt(0.5)) and shared["matched_cosine"] == pytest.approx(0.0, abs=1e-12)
    assert shared["recovered_fraction"] == 0.0
    random = superposition.feature_recovery(true, superposition.random_features(20, 10, rng))
    assert random["mmcs"] < 0.9 and random["recovered_fraction"] < 0.2
    dead = superposition.feature_recovery(true, true, alive_L=np.zeros(20, bool))
    assert dead == {"mmcs": 0.0, "matched_cosine": 0.0, "recovered_fraction": 0.0}


def test_reconstruction_metrics_on_hand_made_arrays():
    x = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert cosine_similarity(x, 5 * x) == pytest.approx(1.0)
    assert cosine_similarity(x, np.array([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx(0.0)
    assert relative_reconstruction_bias(x, 0.5 * x) == pytest.approx(0.5)
    assert relative_reconstruction_bias(x, x) == pytest.approx(1.0)
    z = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 3.0]])
    np.testing.assert_allclose(firing_frequency(z), [0.0, 1.0, 0.5])


def _sae(kind="topk_sae", dim=12, n_latents=40, ks=(5,), seeds=(0,), beta=1.0, **kwargs):
    samples = np.random.default_rng(0).standard_normal((64, dim)).astype("float32")
    model = sae.TopKSAE(samples, n_latents, list(ks), list(seeds), **sae.kind_switches(kind, beta), **kwargs)
    return model, samples


def test_topk_sae_structure():
    model, x = _sae(ks=(5, 2), seeds=(0, 1))
    W_dec, W_enc = _np(model.W_dec), _np(model.W_enc)
    assert W_dec.shape == (2, 40, 12) and W_enc.shape == (2, 12, 40)
    np.testing.assert_allclose(np.linalg.norm(W_dec, axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(W_enc, np.swapaxes(W_dec, 1, 2))
    assert not np.allclose(W_dec[0], W_dec[1])  # each member starts from its own seed
    z, _, _ = model.encode(np.stack([x, x]))
    z = _np(z)
    assert (z >= 0).all() and ((z[0] > 0).sum(axis=1) <= 5).all() and ((z[1] > 0).sum(axis=1) <= 2).all()
    rows = np.stack([np.arange(8), np.arange(8)[::-1]], axis=1)
    assert _np(model(rows)).shape == (2, 8, 12)  # each member reads its own rows


def test_a_member_starts_the_same_in_any_group():
    alone, _ = _sae(ks=(3,), seeds=(7,))
    grouped, _ = _sae(ks=(5, 3), seeds=(1, 7))
    np.testing.assert_array_equal(_np(alone.W_dec)[0], _np(grouped.W_dec)[1])


def test_vsae_samples_only_in_training_and_ramps_its_kl_term():
    vsae, x = _sae("vsae", dim=8, n_latents=24, ks=(4,), beta=2.0, warmup_steps=10)
    x_M = x[None]
    evaluated = [_np(vsae.encode(x_M)[0]) for _ in range(2)]
    np.testing.assert_array_equal(*evaluated)  # evaluation: z = TopK(mu), deterministic
    sampled = [_np(vsae.encode(x_M, training=True)[0]) for _ in range(2)]
    assert not np.allclose(*sampled)
    vsae(np.arange(32)[:, None], training=True)  # first training step: beta is 1/10 of its final value
    mu = _np(vsae.encode(x_M[:, :32])[2])
    expected = 2.0 * 0.1 * 0.5 * np.mean(np.sum(mu**2, axis=-1))
    assert len(vsae.losses) == 2 and float(_np(vsae.losses[1])) == pytest.approx(expected, rel=1e-5)
    mean_only, _ = _sae("vsae_mean", dim=8, n_latents=24, ks=(4,))
    np.testing.assert_array_equal(*[_np(mean_only.encode(x_M, training=True)[0]) for _ in range(2)])


def test_trained_sae_finds_features_and_repeats_exactly(small):
    kwargs = dict(k=2, n_latents=32, epochs=8, batch_size=64)
    runs = [sae.train_sae("topk_sae", small.train, small.test, seed=5, **kwargs) for _ in range(2)]
    assert runs[0].metrics == {**runs[1].metrics, "wall_seconds": runs[0].metrics["wall_seconds"]}
    run = runs[0]
    np.testing.assert_allclose(np.linalg.norm(run.decoder, axis=1), 1.0, rtol=1e-4)  # renormalised every step
    assert run.metrics["fve"] > 0.3 and run.metrics["l0"] <= 2
    untrained = superposition.feature_recovery(
        small.features, superposition.random_features(32, 16, np.random.default_rng(5))
    )
    trained = superposition.feature_recovery(small.features, run.decoder, run.codes.any(axis=0))
    assert trained["mmcs"] > untrained["mmcs"] + 0.1


def test_members_trained_together_match_members_trained_alone(small):
    """Same seed, k, initialisation and data order: a member's result does not depend on its group."""
    kwargs = dict(n_latents=32, epochs=3, batch_size=64)
    group = sae.train_saes("topk_sae", small.train, small.test, [2, 4, 2], [5, 5, 6], **kwargs)
    alone = [
        sae.train_sae("topk_sae", small.train, small.test, k=k, seed=s, **kwargs) for k, s in ((2, 5), (4, 5), (2, 6))
    ]
    for together, single in zip(group, alone):
        for q in ("fve", "cosine", "l0", "dead_fraction"):
            assert together.metrics[q] == pytest.approx(single.metrics[q], abs=2e-3), q
    assert group[0].metrics["fve"] != pytest.approx(group[2].metrics["fve"], abs=1e-6)  # seeds differ


def test_auxk_loss_is_finite_and_counts_samples_since_a_latent_fired():
    model, x = _sae(dim=6, n_latents=30, ks=(2,), auxk_alpha=1 / 32, k_aux=HALF_INPUT_WIDTH)
    model(np.arange(16)[:, None], training=True)
    since = _np(model.since_fired)[0]
    fired = _np(model.encode(x[None, :16])[0])[0].any(axis=0)
    assert set(np.unique(since[fired])) <= {0.0} and (since[~fired] == 16).all()
    assert np.isfinite(float(_np(model.losses[-1])))


def test_member_topk_by_groups_of_k_matches_numpy():
    from ksc.models.members import member_topk

    z = np.random.default_rng(3).standard_normal((4, 5, 12)).astype("float32")
    ks = [2, 5, 2, 7]
    kept = _np(member_topk(z, ks, by="abs"))
    for m, k in enumerate(ks):
        kth = -np.sort(-np.abs(z[m]), axis=-1)[:, k - 1 : k]
        np.testing.assert_array_equal(kept[m], np.where(np.abs(z[m]) >= kth, z[m], 0.0))
        assert ((kept[m] != 0).sum(axis=-1) == k).all()


def test_switches_are_per_member_noise_and_kl():
    samples = np.random.default_rng(0).standard_normal((64, 8)).astype("float32")
    model = sae.TopKSAE(samples, 24, [4, 4, 4], [0, 1, 2], noise=[0, 1, 0], beta=[0.0, 0.0, 2.0], warmup_steps=1)
    x = np.stack([samples[:16]] * 3)
    twice = [_np(model.encode(x, training=True)[0]) for _ in range(2)]
    np.testing.assert_array_equal(twice[0][[0, 2]], twice[1][[0, 2]])  # members without noise: deterministic
    assert not np.allclose(twice[0][1], twice[1][1])  # the sampling member draws new noise every time
    model(np.tile(np.arange(16)[:, None], (1, 3)), training=True)
    mu = _np(model.encode(np.stack([samples[:16]] * 3))[2])
    expected = 2.0 * 0.5 * np.mean(np.sum(mu[2] ** 2, axis=-1))  # only member 2 has a KL term (ramp 1 after 1 step)
    assert float(_np(model.losses[1])) == pytest.approx(expected, rel=1e-5)


def test_authors_form_starts_short_uncentred_and_is_never_renormalised():
    small = superposition.make_superposition(n_train=512, n_test=64, dim=8, n_features=16, n_active=2.0, seed=1)
    member = {"model": "vsae_mean", "k": 2, "seed": 4, "noise": 0.0, "beta": 1.0, "auxk_alpha": 1 / 32}
    model = sae.TopKSAE(small.train, 32, [2], [4], beta=1.0, form="authors")
    np.testing.assert_allclose(np.linalg.norm(_np(model.W_dec), axis=-1), sae.AUTHORS_INIT_NORM, rtol=1e-5)
    assert np.all(_np(model.b_dec) == 0)
    settings = dict(epochs=2, batch_size=64, k_aux=HALF_INPUT_WIDTH)
    fit = sae.train_members(small.train, small.test, [member], 32, form="authors", clip_norm=1.0, **settings)
    assert fit[0].metrics["form"] == "authors" and np.isfinite(fit[0].metrics["fve"])
    ours = sae.train_members(small.train, small.test, [member], 32, **settings)
    assert ours[0].metrics["fve"] != pytest.approx(fit[0].metrics["fve"], abs=1e-6)


def test_per_member_clipping_scales_each_member_alone():
    optimizer = FusedAdam(1e-3, member_clip_norm=1.0)
    grads = [np.array([[3.0, 4.0], [0.3, 0.4]], "float32"), np.array([[0.0], [0.0]], "float32")]
    clipped = [_np(g) for g in optimizer._clip_gradients([sae.ops.convert_to_tensor(g) for g in grads])]
    np.testing.assert_allclose(clipped[0], [[0.6, 0.8], [0.3, 0.4]], rtol=1e-5)  # member 0 had norm 5, member 1 0.5


def test_authors_schedule_warms_up_and_decays():
    schedule = sae.authors_schedule(1.0, 20_000)
    rates = [float(_np(schedule(step))) for step in (0, 200, 400, 16_000, 18_000, 20_000)]
    assert rates[0] == 0.0 and rates[2] == 1.0 and rates[3] == 1.0
    assert rates[1] == pytest.approx(0.5) and rates[4] == pytest.approx(0.5) and rates[5] == 0.0


def test_firing_counts_and_extra_codes_agree_with_the_codes(small):
    members = [{"model": "topk_sae", "k": k, "seed": 1, "noise": 0.0, "beta": 0.0, "auxk_alpha": 0.0} for k in (2, 4)]
    fits = sae.train_members(
        small.train,
        small.test,
        members,
        32,
        epochs=1,
        batch_size=64,
        count_ND=small.test,
        extra_ND=small.test,
        probe_ND=small.test[:100],
    )
    for fit in fits:
        np.testing.assert_allclose(fit.extra_codes, fit.codes, rtol=1e-6)
        assert fit.metrics["dead_counted"] == pytest.approx(fit.metrics["dead_fraction"])
        assert len(fit.history) == 1 and -1 <= fit.history[0]["probe_fve"] <= 1


def test_counting_a_subset_of_members_matches_encoding_all_of_them():
    model, x = _sae(ks=(3, 6, 3), seeds=(0, 1, 2), dim=12, n_latents=40)
    full = _np(model.encode(sae._member_inputs(model, x))[0])
    np.testing.assert_array_equal(sae.firing_counts(model, x), (full != 0).sum(axis=1))
    np.testing.assert_array_equal(sae.firing_counts(model, x, [2, 0]), (full[[2, 0]] != 0).sum(axis=1))


def test_chapter_06_trains_every_auxk_member_with_k_aux_half_the_input_width_as_its_page_states(monkeypatch):
    from pathlib import Path

    from ksc.book.notebooks import defaults
    from ksc.chapters import vsae_training
    from ksc.pages.sae_text import k_aux_sentence

    built = []

    class Recording(sae.TopKSAE):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(sae, "TopKSAE", Recording)
    tiny = dict(ks=[2], betas=[1.0], scale_rms=[], scale_k=2, authors_ks=[2], image_ks=[2], k_map=2, dim=8)
    tiny |= dict(n_features=16, n_active=2.0, synthetic_train=128, synthetic_val=32, synthetic_test=32)
    tiny |= dict(count_samples=64, synthetic_latents=16, overcomplete_latents=32, synthetic_epochs=1)
    tiny |= dict(synthetic_batch_size=32, network_hidden=8, network_train=256, network_latents=16, network_epochs=1)
    tiny |= dict(n_train=64, n_val=16, n_test=32, epochs=1, batch_size=32, image_latents=8)
    params = defaults(Path(__file__).parents[2] / "notebooks" / "06_vsae.ipynb") | tiny
    arms = vsae_training.train_arms(vsae_training.make_data(params), [0], params, report=lambda line: None)
    assert vsae_training.K_AUX is HALF_INPUT_WIDTH and len(built) == len(arms.shapes) == 6
    page = k_aux_sentence(vsae_training.K_AUX, arms.shapes)
    assert "k_aux = min(d // 2, L)" in page
    for (name, (dim, n_latents, ks)), model in zip(arms.shapes.items(), built):
        assert model.auxk_M.any() and (model.dim, model.n_latents, sorted(set(model.ks))) == (dim, n_latents, ks)
        assert model.k_aux_M == [min(dim // 2, n_latents)] * len(model.ks), name
        assert f"{name}: {model.k_aux_M[0]} (d = {dim}, L = {n_latents})" in page


class BeforeTheSwitches(MemberSAE):
    """TopKSAE as it was before its switches, all-or-nothing ``form`` (commit 222e1a2's encode, KL term and AuxK, copied
    as they were), to hold the presets to it."""

    def __init__(self, samples_ND, n_latents, ks, seeds, noise, beta, auxk_alpha, k_aux, dead_after, form):
        M = len(seeds)
        self.form = form
        self.noise_M, self.beta_M = per_member(noise, M), per_member(beta, M)
        scale_M = per_member(1.0, M)
        authors = form == "authors"
        mean = np.mean(samples_ND, axis=0)[None, :] * scale_M[:, None]
        super().__init__(
            samples_ND,
            n_latents,
            seeds,
            np.zeros((M, samples_ND.shape[1])) if authors else mean,
            init_length=sae.AUTHORS_INIT_NORM if authors else 1.0,
            unit_norm=not authors,
            scales=scale_M,
            ks=ks,
            auxk_alpha=per_member(auxk_alpha, M),
            k_aux=k_aux,
            warmup_steps=5,
            dead_after=dead_after,
        )
        if self.beta_M.any():
            self.penalty_M = ops.convert_to_tensor(self.beta_M)
        self.noise = keras.random.SeedGenerator(int(np.random.default_rng(list(seeds)).integers(2**31)))

    def encode(self, x_MBD, training: bool = False):
        centred = x_MBD if self.form == "authors" else x_MBD - self.b_dec
        pre_MBL = ops.matmul(centred, self.W_enc) + self.b_enc
        latent_MBL = ops.relu(pre_MBL)
        if training and self.noise_M.any():
            noisy = np.flatnonzero(self.noise_M)
            shape = ops.shape(latent_MBL)
            eps = keras.random.normal((len(noisy), shape[1], shape[2]), seed=self.noise)
            eps = eps * ops.reshape(ops.convert_to_tensor(self.noise_M[noisy]), (-1, 1, 1))
            place = np.zeros(len(self.ks), "int32")
            place[noisy] = np.arange(1, len(noisy) + 1)
            padded = ops.concatenate([ops.zeros_like(eps[:1]), eps], axis=0)
            latent_MBL = latent_MBL + ops.take(padded, ops.convert_to_tensor(place), axis=0)
        if self.form == "authors":
            return member_topk(latent_MBL, self.ks, by="abs"), pre_MBL, latent_MBL
        return ops.relu(member_topk(latent_MBL, self.ks, by="value")), pre_MBL, latent_MBL

    def penalty_MB(self, z_MBL, pre_MBL, latent_MBL):
        if self.form == "authors":
            return 0.5 * ops.sum(ops.square(ops.clip(latent_MBL, -sae.AUTHORS_KL_CLIP, sae.AUTHORS_KL_CLIP)), -1)
        return 0.5 * ops.sum(ops.square(ops.relu(pre_MBL)), axis=-1)

    def auxk_terms(self, pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux):
        if self.form != "authors":
            return super().auxk_terms(pick, x_MBD, x_hat_MBD, z_MBL, pre_MBL, latent_MBL, k_aux)
        x, x_hat, z, latent, W_dec, b_dec = (
            pick(t) for t in (x_MBD, x_hat_MBD, z_MBL, latent_MBL, self.W_dec, self.b_dec)
        )
        return authors_auxk_loss(x, x_hat, z, latent, W_dec, b_dec, pick(self.since_fired), self.dead_after, k_aux)


def _four_members():
    """Members that use every part: sampling, the KL term (values above the authors' clip), AuxK that acts, two ks."""
    x = 6.0 * np.random.default_rng(5).standard_normal((256, 8)).astype("float32")
    switches = dict(noise=[0.0, 1.0, 0.0, 0.0], beta=[0.0, 1.0, 1.0, 0.5], auxk_alpha=[0.0, 1 / 32, 1 / 32, 1 / 32])
    return x, dict(n_latents=24, ks=[2, 3, 2, 3], seeds=[0, 1, 2, 3], k_aux=HALF_INPUT_WIDTH, dead_after=40, **switches)


@pytest.mark.parametrize("form", sae.FORMS)
def test_each_preset_trains_to_the_same_bits_as_the_form_before_the_switches(form):
    x, settings = _four_members()
    epochs, batch, rate, clip = 2, 32, 1e-3, 1.0 if form == "authors" else None
    weights = []
    for build in (BeforeTheSwitches, sae.TopKSAE):
        keras.utils.set_random_seed(0)
        if build is sae.TopKSAE:
            model = build(x, **settings, form=form, warmup_steps=5)
            members = [{} for _ in settings["seeds"]]
            optimizer = sae.member_optimiser(members, form, rate, clip, epochs * len(x) // batch)
        else:
            model = build(x, **settings, form=form)
            schedule = sae.authors_schedule(rate, epochs * len(x) // batch) if form == "authors" else rate
            optimizer = FusedAdam(schedule, member_clip_norm=clip)
        train_epochs(model, optimizer, settings["seeds"], len(x), batch, epochs)
        weights.append({w.name: _np(w) for w in model.weights})
    assert weights[0].keys() == weights[1].keys()
    assert weights[0]["since_fired"].max() > settings["dead_after"]  # AuxK had dead latents to act on
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name], err_msg=name)


ONE_SWITCH = {
    "centre_input": {"centre_input": True},
    "init_length": {"init_length": 1.0},
    "unit_norm": {"unit_norm": True},
    "auxk_form": {"auxk_form": "gao", "dead_after": 40},
    "topk_by": {"topk_by": "value"},
    "kl_clip": {"kl_clip": False},
    "optimiser": {"schedule": "constant", "learning_rate": 1e-3, "clip_norm": None},
}


def test_members_with_their_own_switches_train_as_they_would_alone():
    """One computation of the authors' path and the path with each difference switched: every member ends where it
    would trained alone, where the other members of its computation follow a preset throughout."""
    x = 6.0 * np.random.default_rng(5).standard_normal((256, 8)).astype("float32")
    base = {"model": "vsae_mean", "k": 2, "seed": 3, "noise": 0.0, "beta": 1.0, "auxk_alpha": 1 / 32}
    settings = dict(epochs=2, batch_size=32, k_aux=HALF_INPUT_WIDTH, form="authors", clip_norm=1.0)
    settings |= dict(dead_after=10**7, learning_rate=8e-4)
    members = [base] + [{**base, **keys} for keys in ONE_SWITCH.values()]
    together = sae.train_members(x, x[:64], members, 24, **settings)
    assert [f.metrics["form"] for f in together] == ["authors"] + ["mixed"] * len(ONE_SWITCH)
    for member, fit in zip(members, together):
        alone = sae.train_members(x, x[:64], [member], 24, **settings)[0]
        np.testing.assert_allclose(fit.decoder, alone.decoder, rtol=0, atol=1e-5)
        np.testing.assert_allclose(fit.codes, alone.codes, rtol=0, atol=1e-4)
    moved = [not np.allclose(fit.decoder, together[0].decoder, atol=1e-3) for fit in together[1:]]
    assert sum(moved) >= 4  # most switches change the result (some need what this data lacks, e.g. |z| > 10)


def _two(x, **switches):
    return sae.TopKSAE(x, 12, [3, 3], [4, 4], form="authors", **switches)


def test_the_centring_switch_changes_only_the_encoder_input_and_the_decoder_bias_start():
    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32") + 2.0
    model = _two(x, centre_input=[True, False])
    W_dec, W_enc, b_dec = _np(model.W_dec), _np(model.W_enc), _np(model.b_dec)
    np.testing.assert_array_equal(W_dec[0], W_dec[1])
    np.testing.assert_array_equal(W_enc[0], W_enc[1])
    np.testing.assert_allclose(b_dec[0, 0], x.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(b_dec[1], 0)
    model.b_dec.assign(np.stack([b_dec[0], b_dec[0]]))  # the same bias: only the encoder's input differs
    _, pre, _ = model.encode(np.stack([x, x]))
    pre = _np(pre)
    np.testing.assert_allclose(pre[0], (x - b_dec[0]) @ W_enc[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pre[1], x @ W_enc[1], rtol=1e-5, atol=1e-5)
    z = np.abs(np.random.default_rng(1).standard_normal((2, 5, 12))).astype("float32")
    decoded = _np(model.decode(z[:1].repeat(2, axis=0)))
    np.testing.assert_array_equal(decoded[0], decoded[1])  # the decoder is the same


def test_the_length_and_norm_switches_change_only_the_decoder_rows_length():
    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
    lengths = _two(x, init_length=[1.0, sae.AUTHORS_INIT_NORM])
    W = _np(lengths.W_dec)
    np.testing.assert_allclose(W[0], W[1] / sae.AUTHORS_INIT_NORM, rtol=1e-5)  # the same directions
    np.testing.assert_allclose(np.linalg.norm(W, axis=-1), [[1.0] * 12, [sae.AUTHORS_INIT_NORM] * 12], rtol=1e-5)
    np.testing.assert_array_equal(_np(lengths.b_dec), 0)
    norms = _two(x, unit_norm=[True, False])
    grown = 3.0 * _np(norms.W_dec)
    after = _np(norms.W_dec.constraint(grown))
    np.testing.assert_allclose(np.linalg.norm(after[0], axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(after[1], grown[1])  # the member without the constraint keeps its rows
    assert _two(x).W_dec.constraint is None and _two(x, unit_norm=True).W_dec.constraint is not None


def test_the_topk_and_kl_switches_change_only_the_ranking_and_the_penalty():
    x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
    latent = np.random.default_rng(2).standard_normal((2, 5, 12)).astype("float32") * 8.0  # signs, and |z| > 10
    ranking = _two(x, topk_by=["value", "abs"])
    z = _np(ranking._top_k(ops.convert_to_tensor(latent), ranking.ks, ranking.by_abs_M))
    np.testing.assert_array_equal(z[0], np.maximum(_np(member_topk(latent[:1], [3], by="value"))[0], 0))
    np.testing.assert_array_equal(z[1], _np(member_topk(latent[1:], [3], by="abs"))[0])
    assert (z[1] < 0).any() and (z[0] >= 0).all()
    clipped = _two(x, kl_clip=[False, True], beta=1.0)
    pre = latent - 1.0
    kl = _np(clipped.penalty_MB(None, ops.convert_to_tensor(pre), ops.convert_to_tensor(latent)))
    np.testing.assert_allclose(kl[0], 0.5 * np.sum(np.maximum(pre[0], 0) ** 2, axis=-1), rtol=1e-5)
    np.testing.assert_allclose(kl[1], 0.5 * np.sum(np.clip(latent[1], -10, 10) ** 2, axis=-1), rtol=1e-5)
    assert (np.abs(latent[1]) > 10).any()


def test_each_member_gets_its_own_optimiser():
    plan = [("constant", 1e-2, None), ("warmup_decay", 1e-2, None), ("constant", 1e-2, 0.1)]
    optimizer = sae.MemberAdam(plan, total_steps=1000)
    weight = keras.Variable(np.zeros((3, 2), "float32"))
    optimizer.build([weight])
    gradient = ops.convert_to_tensor(np.array([[3.0, 4.0], [3.0, 4.0], [3.0, 4.0]], "float32"))
    clipped = _np(optimizer._clip_gradients([gradient])[0])
    np.testing.assert_allclose(clipped, [[3.0, 4.0], [3.0, 4.0], [0.06, 0.08]], rtol=1e-5)  # only member 2 clipped
    optimizer.apply([gradient], [weight])
    moved = _np(weight)
    np.testing.assert_allclose(moved[0], [-1e-2, -1e-2], rtol=1e-3)  # Adam's first step: the rate times the sign
    np.testing.assert_array_equal(moved[1], 0.0)  # the warm-up starts at 0
    uniform = sae.member_optimiser([{}, {}], "authors", 1e-3, 1.0, 100)
    assert type(uniform) is FusedAdam and uniform.member_clip_norm == 1.0
    assert isinstance(sae.member_optimiser([{}, {"schedule": "constant"}], "authors", 1e-3, 1.0, 100), sae.MemberAdam)
    with pytest.raises(ValueError, match="schedule"):
        sae.member_optimiser([{"schedule": "cosine"}], "ours", 1e-3, None, 100)


def test_a_member_is_labelled_with_the_preset_it_follows():
    assert sae.member_form({}, "authors") == "authors" and sae.member_form({}, "ours") == "ours"
    everything = {**sae.PRESETS["ours"], "schedule": sae.SCHEDULES["ours"]}
    assert sae.member_form(everything, "authors") == "ours"
    assert sae.member_form({"centre_input": True}, "authors") == "mixed"
    with pytest.raises(ValueError, match="topk_by"):
        sae.TopKSAE(np.zeros((8, 4), "float32"), 6, [2], [0], topk_by="signed")
