"""Chapter 10's tools: per-member learning rates, the dead-unit remedies, probes, the untrained and constant-image
diagnostics, the Section 1.2 model, and the chapter's analysis steps and page text."""

import warnings

import numpy as np
import pandas as pd
import pytest

from ksc.chapters.training_controls import (
    claimed_values,
    code_probes,
    constant_image,
    diagnostics,
    k_sweep,
    learning_curves,
    origin,
    origin_tests,
    remedy_comparison,
    revival,
    trained_vs_untrained,
)
from ksc.data import chaos
from ksc.measures import probes
from ksc.measures.metrics import dead_units
from ksc.models.architectures import build_model
from ksc.models.training import train_many
from ksc.pages import training_controls_text
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


# --------------------------------------------------------------------------------------------------------------------
# The chapter's analysis steps (ksc.chapters.training_controls.*) and its page text


def test_untrained_and_trained_runs_pair_each_network_with_its_start(data):
    grid = [("logistic", 0), ("noise", 1)]
    splits = {"logistic": data, "noise": chaos.make_splits("noise", 128, 32, 64, seed=0)}
    lines = []
    runs, fits, initial = trained_vs_untrained.train_untrained_and_trained(
        ["v4"], splits, grid, log=lines.append, epochs=1, batch_size=32, learning_rate=1e-3, latent_dim=16, k=4
    )
    assert len(runs) == 4 and list(runs.training) == ["untrained", "trained"] * 2
    assert set(fits) == set(initial) == {("v4", "logistic", 0), ("v4", "noise", 1)}
    assert len(lines) == 1 and lines[0].startswith("v4        : 2 models trained")
    # the untrained row is the network the fit started from, measured on the same test images
    alone, _ = diagnostics.untrained("v4", splits["noise"], 1, latent_dim=16, k=4)
    untrained_noise = runs[(runs.dataset == "noise") & (runs.training == "untrained")].iloc[0]
    assert untrained_noise.variance == alone["variance"]
    table = trained_vs_untrained.before_after_table(runs)
    assert list(table.columns[:2]) == [("variance", "untrained"), ("variance", "trained")]
    trained_fve = trained_vs_untrained.mean_of(runs, "v4", "logistic", "trained", "fve")
    assert trained_fve == table.loc[("v4", "logistic"), ("fve", "trained")] == fits["v4", "logistic", 0].metrics["fve"]


def test_best_learning_rates_keep_each_architectures_lowest_validation_loss():
    ends = pd.DataFrame(
        {"architecture": ["a", "a", "b", "b"], "learning_rate": [1e-3, 3e-3, 1e-3, 3e-3], "best_val_loss": [2, 1, 3, 4]}
    )
    best = learning_curves.best_learning_rates(ends)
    assert dict(zip(best.architecture, best.learning_rate)) == {"a": 3e-3, "b": 1e-3}


def test_constant_image_table_summarises_each_run():
    rows = pd.DataFrame(
        {
            "epoch": [0, 1, 2],
            "mse": [1.0, 0.5, 0.25],
            "feature_change": [np.nan, 0.4, 0.2],
            "topk_change": [np.nan, 0, 1],
        }
    )
    table = constant_image.constant_image_table({constant_image.V4: rows})
    row = table.loc[constant_image.V4]
    assert (row["MSE at start"], row["MSE at end"]) == (1.0, 0.25)
    assert row["feature change per epoch (mean)"] == pytest.approx(0.3) and row["feature change, last epoch"] == 0.2
    assert row["Top-K flips per epoch (mean)"] == 0.5


def _probe_data(seed=0):
    """Two data sets whose 'images' are random: targets x0, x1, x2 and two principal components of each."""
    rng = np.random.default_rng(seed)
    splits = {
        name: chaos.Splits(*(rng.uniform(size=(n, 4, 4)).astype(np.float32) for n in (300, 20, 150)))
        for name in ("logistic", "noise")
    }
    starts = rng.uniform(size=470)
    return splits, code_probes.probe_targets(splits, starts, n_iterates=2, n_components=2), starts


def test_probe_targets_fold_the_start_on_logistic_images_only():
    splits, targets, starts = _probe_data()
    train, test = targets["logistic"]
    assert list(train.columns) == ["x0", "x1", "x2", "pc1", "pc2"] and len(test) == 150
    np.testing.assert_allclose(test.x0, np.minimum(starts[320:], 1 - starts[320:]))
    np.testing.assert_allclose(train.x1, splits["logistic"].train[:, 0, 0])
    assert "x0" not in targets["noise"][0]


def test_a_code_that_carries_the_targets_scores_one_and_noise_scores_zero():
    splits, targets, _ = _probe_data()
    rng = np.random.default_rng(5)
    mixing = rng.normal(size=(5, 8))
    perfect = [t.to_numpy() @ mixing for t in targets["logistic"]]  # the five targets, mixed linearly into 8 columns
    codes = [
        code_probes.Code("perfect", "logistic", 0, *perfect),
        code_probes.Code("noise", "logistic", 0, rng.normal(size=(300, 8)), rng.normal(size=(150, 8))),
        code_probes.Code("perfect, seed 1", "logistic", 1, *perfect),
    ]
    runs = code_probes.probe_codes(codes, targets, mlp_seed=0)
    # the MLP reads only the codes labelled with its seed
    assert list(zip(runs.code, runs.probe)) == [
        ("perfect", "ridge"),
        ("perfect", "mlp"),
        ("noise", "ridge"),
        ("noise", "mlp"),
        ("perfect, seed 1", "ridge"),
    ]
    names = code_probes.target_names(runs)
    assert names == ["x0", "x1", "x2", "pcs"]
    ridge = runs[runs.probe == "ridge"].set_index("code")
    assert (ridge.loc["perfect", names] > 0.999).all()
    assert (ridge.loc["noise", names].abs() < 0.1).all()
    assert ridge.loc["perfect", "effective_rank"] <= 5.0 + 1e-9  # eight columns spanned by five targets


def test_scores_of_one_data_set_and_probe_keep_the_order_without_a_performance_warning():
    runs = pd.DataFrame(
        {
            "dataset": ["logistic", "logistic", "noise", "logistic", "logistic"],
            "probe": ["ridge", "mlp", "ridge", "ridge", "ridge"],
            "code": ["pixels", "pixels", "pixels", "v4 trained", "v4 trained"],
            "seed": [0, 0, 0, 0, 1],
            "x1": [1.0, 0.9, 0.5, 0.2, 0.4],
            "pcs": [1.0, 0.8, 0.6, 0.1, 0.3],
            "effective_rank": [5.0, 5.0, 4.0, 3.0, 2.0],
        }
    )
    summary = code_probes.probe_summary(runs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a PerformanceWarning would fail the test
        ridge = code_probes.scores_of(summary, "logistic", "ridge")
    assert list(ridge.index) == ["pixels", "v4 trained"]
    assert ridge.loc["v4 trained", "x1"] == pytest.approx(0.3) and ridge.loc["pixels", "pcs"] == 1.0


def test_remedy_table_gives_mean_and_sd_per_variant_and_data_set_in_order():
    remedies = pd.DataFrame(
        {
            "variant": ["v3", "v3", "v4", "v4"],
            "dataset": ["logistic"] * 4,
            "dead_fraction": [0.5, 0.7, 0.0, 0.0],
            "variance": [1, 2, 3, 4],
            "scale_free_variance": [0, 0, 1, 1],
            "fve": [0.1, 0.2, 0.3, 0.4],
        }
    )
    table = remedy_comparison.remedy_table(remedies)
    assert list(table.index) == [("v3", "logistic"), ("v4", "logistic")]
    assert table.loc[("v3", "logistic"), ("dead_fraction", "mean")] == pytest.approx(0.6)
    assert table.loc[("v3", "logistic"), ("dead_fraction", "std")] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert remedy_comparison.auxk_label(0.03125) == "v3 + AuxK (α=0.03125)"


def test_the_chaos_activation_bound_is_its_largest_value():
    from ksc.models.layers import chaos_activation

    m = k_sweep.largest_activation_value()
    assert np.all(np.abs(chaos_activation(np.linspace(-4, 4, 1001))) <= m + 1e-12)
    assert 1.0 < m < 1.5 + 1e-9  # |sin| + 0.5 |tanh| is at most 1.5


def test_unrelated_image_distance_pairs_the_two_halves():
    images = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 4.0], [1.0, 1.0], [9.0, 9.0]])
    assert origin_tests.unrelated_image_distance(images) == pytest.approx((5.0 + 0.0) / 2)


def test_the_claims_read_v4s_fourth_epoch_and_the_origin_tests_distances():
    divergence = pd.DataFrame({"first_latent_distance": [1.0, 3.0], "distance_ratio": [2.0, 2.0]})
    histories = [pd.DataFrame({"val_loss": [5, 4, 3, v]}) for v in (0.1, 0.3)] + [pd.DataFrame({"val_loss": [1.0]})]
    measured = claimed_values.measured_for_claims(divergence, histories, 0.5).set_index("quantity")
    assert measured.loc["first_latent_distance", "mean"] == 2.0
    assert measured.loc["val_loss", "mean"] == pytest.approx(0.2) and measured.loc["val_loss", "n"] == 2
    assert measured.loc["mean_predictor_mse", "mean"] == 0.5
    none = claimed_values.measured_for_claims(divergence, [], 0.5).set_index("quantity")
    assert np.isnan(none.loc["val_loss", "mean"]) and none.loc["val_loss", "n"] == 0


def test_the_k_table_paragraph_states_the_verdict_the_gains_give():
    table = pd.DataFrame(
        {"K": [8, 16], "draft": [np.nan, 0.5], "trained": [0.4, 0.44], "untrained": [0.2, 0.22]}
    ).assign(**{"untrained / trained": lambda t: t.untrained / t.trained})
    same = training_controls_text.describe_k_table(table, [8, 16])
    assert "already there in the untrained network" in same and "-12% at K = 16" in same
    table.loc[1, "untrained"] = 0.4
    assert "not the same before training" in training_controls_text.describe_k_table(table, [8, 16])


def test_the_mlp_probe_ends_by_early_stopping_and_its_epoch_cap_only_cuts_off_unconverged_fits(monkeypatch):
    from sklearn.exceptions import ConvergenceWarning

    images = chaos.logistic_images(300, seed=4)
    targets = probes.orbit_targets(images, 2, images, chaos.logistic_starts(300, seed=4), n_components=4)
    code = images.reshape(300, -1)[:, :64]  # the first 64 pixels: they hold x1 and x2
    train, test = slice(0, 200), slice(200, 300)

    def read():
        return probes.probe_scores(code[train], targets[train], code[test], targets[test], "mlp")

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the probe converges: its held-out score settles
        assert set(read()) == {"x0", "x1", "x2", "pcs"}
    monkeypatch.setattr(probes, "MLP_MAX_EPOCHS", 3)  # a cap below where early stopping ends the fit: reported
    with pytest.warns(ConvergenceWarning):
        read()


def test_the_origin_paragraph_says_where_the_orbits_part_from_the_computed_iterates():
    from ksc.data.chaos import IMAGE_SIDE, PIXELS
    from ksc.pages.training_controls_text import _where_orbits_part

    assert _where_orbits_part(20.0, 9.5).startswith("inside the first row of frame 0, so every frame pair")
    assert _where_orbits_part(3.5 * IMAGE_SIDE, 9.5).startswith(f"in row 4 of the {IMAGE_SIDE} rows of frame 0")
    later = _where_orbits_part(2.5 * PIXELS, 9.5)
    assert later.startswith("only in frame 2") and "already as far apart" not in later and "9.50" in later
