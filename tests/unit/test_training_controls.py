"""Chapter 10's tools: per-member learning rates, the dead-unit remedies, probes, the untrained and constant-image
diagnostics and the Section 1.2 model."""

import numpy as np
import pandas as pd
import pytest

from ksc.chapters.training_controls import diagnostics, origin, revival
from ksc.data import chaos
from ksc.measures import probes
from ksc.measures.metrics import dead_units
from ksc.models.architectures import build_model
from ksc.models.training import train_many
from ksc.runtime.backend import keras

SMALL = dict(latent_dim=16, k=4, epochs=2, batch_size=32)


@pytest.fixture(scope="module")
def data():
    return chaos.make_splits("logistic", 128, 32, 64, seed=0)


def test_members_with_their_own_learning_rates_train_as_they_would_alone(data):
    both = train_many("dense_relu", data, seeds=[0, 1], learning_rate=[1e-3, 3e-3], **SMALL)
    alone = [
        train_many("dense_relu", data, seeds=[s], learning_rate=rate, **SMALL)[0] for s, rate in ((0, 1e-3), (1, 3e-3))
    ]
    for member, solo in zip(both, alone):
        np.testing.assert_array_equal(member.z_test, solo.z_test)
    with pytest.raises(ValueError, match="one learning rate per seed"):
        train_many("dense_relu", data, seeds=[0, 1], learning_rate=[1e-3], **SMALL)


def test_auxk_with_zero_weight_changes_nothing(data):
    plain = train_many("v3", data, seeds=[0, 1], **SMALL)
    auxk = revival.train_v3("auxk", data, [0, 1], k_aux=8, auxk_alpha=0.0, **SMALL)
    for a, b in zip(plain, auxk):
        np.testing.assert_allclose(a.z_test, b.z_test, atol=1e-6)


def test_auxk_gives_dead_units_a_gradient_and_revives_them(data):
    # every unit but four dead from the start: the latent biases of units 4.. pushed far below zero
    settings = dict(latent_dim=16, k=4, epochs=6, batch_size=32)
    dead = {remedy: _killed_v3(remedy, data, alpha, settings) for remedy, alpha in (("none", 0.0), ("auxk", 1.0))}
    assert dead["none"] >= 10 and dead["auxk"] < dead["none"]


def _killed_v3(remedy, data, alpha, settings):
    original = revival.MemberAutoencoder.restart

    def restart(self, references, images, dropout_seeds=None):
        original(self, references, images, dropout_seeds)
        bias = keras.ops.convert_to_numpy(self.biases["latent"]).copy()
        bias[:, 4:] = -50.0
        self.biases["latent"].assign(bias)

    revival.MemberAutoencoder.restart = restart
    try:
        extra = dict(k_aux=8, auxk_alpha=alpha) if remedy == "auxk" else {}
        fit = revival.train_v3(remedy, data, [0], **extra, **settings)[0]
    finally:
        revival.MemberAutoencoder.restart = original
    return dead_units(fit.z_test)


def test_resampling_reports_the_units_it_gave_new_weights(data):
    fits = revival.train_v3("resample", data, [0, 1], resample_epochs=[1], **SMALL)
    plain = train_many("v3", data, seeds=[0, 1], epochs=1, batch_size=32, latent_dim=16, k=4)
    # after epoch 1 each member had exactly the units that are dead on its training images after one plain epoch
    assert sum(f.metrics["resampled_units"] for f in fits) == sum(
        int(np.sum(np.all(np.abs(keras.ops.convert_to_numpy(b.autoencoder.encoder(data.train))) < 1e-6, axis=0)))
        for b in plain
    )
    with pytest.raises(ValueError, match="remedy must be one of"):
        revival.train_v3("dropout", data, [0], **SMALL)


def test_probes_read_what_a_code_holds_and_nothing_from_noise():
    rng = np.random.default_rng(0)
    x_train, x_test = rng.normal(size=(400, 8)), rng.normal(size=(200, 8))
    frame = lambda x: pd.DataFrame({"held": x[:, 0] * 2 + 1, "absent": rng.normal(size=len(x))})
    for kind in probes.PROBES:
        scores = probes.probe_scores(x_train, frame(x_train), x_test, frame(x_test), kind)
        assert scores["held"] > 0.9 and scores["absent"] < 0.1, (kind, scores)


def test_orbit_targets_are_the_folded_start_the_first_pixels_and_the_main_components():
    images = chaos.logistic_images(50, seed=3)
    targets = probes.orbit_targets(images, 3, images, chaos.logistic_starts(50, seed=3), n_components=2)
    assert list(targets.columns) == ["x0", "x1", "x2", "x3", "pc1", "pc2"]
    x0 = chaos.logistic_starts(50, seed=3)
    np.testing.assert_allclose(targets.x0, np.minimum(x0, 1 - x0))
    np.testing.assert_allclose(targets.x1, 3.99 * x0 * (1 - x0), rtol=1e-6)
    np.testing.assert_allclose(targets.x2, images[:, 0, 1], rtol=1e-6)
    # the principal subspace is read back whole from the pixels, and scored as one target
    scores = probes.probe_scores(images, targets, images, targets)
    assert set(scores) == {"x0", "x1", "x2", "x3", "pcs"} and scores["pcs"] > 0.99


def test_effective_rank_counts_the_directions_a_code_spreads_over():
    rng = np.random.default_rng(1)
    assert probes.effective_rank(rng.normal(size=(5000, 10))) == pytest.approx(10, rel=0.05)
    line = np.outer(rng.normal(size=500), rng.normal(size=10))
    assert probes.effective_rank(line) == pytest.approx(1.0, abs=0.01)
    assert probes.effective_rank(np.ones((20, 4))) == 0.0


def test_untrained_is_the_network_training_starts_from(data):
    before, ae = diagnostics.untrained("v4", data, seed=7, latent_dim=16, k=4)
    keras.utils.set_random_seed(7)
    start = build_model("v4", latent_dim=16, k=4)  # what train(seed=7) and train_many(seeds=[7]) start from
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(ae.encoder(data.test)), keras.ops.convert_to_numpy(start.encoder(data.test))
    )
    assert before["active_per_sample"] == 4 and before["seed"] == 7
    fit = train_many("v4", data, seeds=[7], latent_dim=16, k=4, epochs=1, batch_size=32)[0]
    assert not np.allclose(fit.z_test, keras.ops.convert_to_numpy(ae.encoder(data.test)))


def test_topk_variance_is_the_kept_share_times_the_kept_values_square():
    rng = np.random.default_rng(2)
    z = np.zeros((20000, 8))
    for row in z:
        row[rng.choice(8, 2, replace=False)] = rng.choice([-1.3, 1.3], 2)
    kept = diagnostics.kept_values(z)
    assert kept["kept_second_moment"] == pytest.approx(1.69)
    predicted = diagnostics.topk_variance_prediction(2, 8, kept["kept_second_moment"])
    assert np.var(z, axis=0).mean() == pytest.approx(predicted - kept["unit_mean_square"], rel=1e-9)


def test_convergence_finds_the_best_epoch_and_the_tail():
    history = pd.DataFrame({"epoch": range(1, 11), "val_loss": [5, 4, 3, 2, 1.5, 1.2, 1.1, 1.05, 1.02, 1.0]})
    summary = diagnostics.convergence(history)
    assert summary["best_epoch"] == 10 and summary["best_val_loss"] == 1.0
    assert summary["tail_improvement"] == pytest.approx((1.05 - 1.0) / 1.05)


def test_a_frozen_network_learns_its_output_layer_only():
    copies = chaos.identical_images(64, seed=1)
    rows = diagnostics.constant_image_run("v4", copies, 0, 3, 32, output_layer_only=True, latent_dim=16, k=4)
    assert list(rows.epoch) == [0, 1, 2, 3]
    assert (rows.feature_change.iloc[1:] == 0).all() and (rows.topk_change.iloc[1:] == 0).all()
    assert rows.mse.iloc[-1] < rows.mse.iloc[0]


def test_the_origin_model_and_its_tests_follow_the_repository():
    model, encoder = origin.build_origin()
    assert encoder.output.shape[-1] == 64 and model.output.shape[1:] == (28, 28)
    fixed = origin.training_images(3, fixed=True, seed=0)
    assert np.array_equal(fixed[0], fixed[2])
    np.testing.assert_allclose(fixed[0].ravel()[0], 3.99 * 0.4 * 0.6, rtol=1e-6)
    a, b = origin.divergence_chains(0.4, 1e-5, 4)
    np.testing.assert_array_equal(a[0], fixed[0])
    np.testing.assert_allclose(a[1].ravel()[:-1], a[0].ravel()[1:], rtol=1e-6)  # frame t+1 starts one iterate later
    assert origin.frame_distances(a, b)[0] > 1.0  # the chains part within the first frame
    z = keras.ops.convert_to_numpy(encoder(fixed))
    model.compile(optimizer="adam", loss="mse")
    loss = model.evaluate(fixed, fixed, verbose=0)
    recon = keras.ops.convert_to_numpy(model(fixed))
    mse = float(np.mean((recon - fixed) ** 2))
    # the variance reward is the only other loss term: -0.01 * mean unit variance (0 on identical images)
    assert loss == pytest.approx(mse - 0.01 * np.var(z, axis=0).mean(), abs=1e-5)
