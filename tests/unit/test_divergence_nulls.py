"""Chapter 05's null encoders, Top-K switch counting and the between-switch growth rate."""

import numpy as np
import pandas as pd
import pytest

from ksc.chapters import divergence
from ksc.data import chaos
from ksc.pages import divergence_plots, divergence_text

LAMBDA = chaos.logistic_lyapunov(3.99)


def _window(encoders, topk=(), n_runs=2):
    return divergence.window_protocol(
        encoders, r=3.99, deltas=[1e-9, 1e-6], n_steps=30, n_runs=n_runs, seed=0, topk=topk
    )


def test_the_identity_encoder_gives_a_rate_ratio_of_one_and_a_random_projection_about_one():
    frames = chaos.logistic_orbit(np.array([0.3, 0.6]), 3.99, 784).reshape(2, 28, 28).astype(np.float32)
    np.testing.assert_array_equal(divergence.identity_encoder(frames), frames.reshape(2, -1).astype(np.float64))
    encoders = {
        divergence.IDENTITY: divergence.identity_encoder,
        divergence.PROJECTION: divergence.random_projection(64, 0),
    }
    table = _window(encoders)
    assert not table.support_changed.any()  # neither ends in Top-K
    nulls = divergence.null_encoder_table(table, {divergence.IDENTITY: "null", divergence.PROJECTION: "null"})
    identity, projection = nulls.set_index("encoder").loc[[divergence.IDENTITY, divergence.PROJECTION]].itertuples()
    assert identity.rate_ratio == pytest.approx(1.0, abs=1e-9)
    assert identity.rate_ratio_between_switches == pytest.approx(1.0, abs=1e-9)
    assert projection.rate_ratio == pytest.approx(1.0, abs=0.1) and projection.rate_ratio != identity.rate_ratio
    # no Top-K: the plain rate (another least-squares formula: equal to rounding)
    assert projection.rate_ratio_between_switches == pytest.approx(projection.rate_ratio, rel=1e-12)
    assert identity.support_changes_per_step == projection.support_changes_per_step == 0
    assert identity.transmits and projection.transmits
    # the input rate itself is the map's exponent
    rates = divergence.growth_rates(table)
    assert rates.loc[divergence.IDENTITY, "input growth rate"] == pytest.approx(LAMBDA, abs=0.15)


def test_the_random_projection_is_fixed_by_its_seed_and_scaled_by_one_over_sqrt_784():
    x = np.random.default_rng(1).normal(size=(200, 28, 28))
    a, b, other = (divergence.random_projection(128, s)(x) for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, other)
    ratio = np.linalg.norm(a, axis=1) / np.linalg.norm(x.reshape(200, -1), axis=1)
    assert a.shape == (200, 128) and np.mean(ratio**2) == pytest.approx(128 / 784, rel=0.1)


def test_support_changes_count_every_change_of_the_support_difference():
    # codes of 4 units over 7 steps; kept = non-zero. Support difference D_t (units kept in one code only):
    # t=0 {}, t=1 {} (values change, support does not), t=2 {1, 2}, t=3 {1, 2}, t=4 {}, t=5 {3}, t=6 {1}
    a = np.array(
        [
            [1.0, 2.0, 0.0, 0.0],
            [3.0, 1.0, 0.0, 0.0],
            [1.0, 2.0, 0.0, 0.0],
            [5.0, 2.0, 0.0, 0.0],
            [1.0, 0.0, 2.0, 0.0],
            [1.0, 0.0, 2.0, 0.0],
            [1.0, 2.0, 0.0, 0.0],
        ]
    )
    b = np.array(
        [
            [1.5, 2.5, 0.0, 0.0],
            [3.5, 1.5, 0.0, 0.0],
            [1.0, 0.0, 2.0, 0.0],
            [5.0, 0.0, 7.0, 0.0],
            [1.0, 0.0, 9.0, 0.0],
            [1.0, 0.0, 2.0, 4.0],
            [1.0, 0.0, 0.0, 0.0],
        ]
    )
    changed = divergence.support_changes(a, b)
    assert changed.tolist() == [False, False, True, False, True, True, True]
    assert changed.sum() == 4
    # the switches a plain fit over steps 1..4 would see: changes at t = 2 and 4 of the steps t = 2, 3, 4
    in_band = np.array([False, True, True, True, True, False, False])
    assert divergence.switch_fraction(changed, in_band) == pytest.approx(2 / 3)
    assert np.isnan(divergence.switch_fraction(changed, np.zeros(7, bool)))
    assert not divergence.support_changes(a, a).any()


def test_the_between_switch_fit_removes_a_planted_jump():
    t = np.arange(30)
    rate = 0.6
    distance = 1e-6 * np.exp(rate * t) * np.where(t >= 12, 400.0, 1.0) * np.where(t >= 21, 30.0, 1.0)
    changed = np.isin(t, [12, 21])
    everything = np.ones(30, bool)
    plain = divergence.growth_rate(t, distance, 0, np.inf)
    assert plain > rate + 0.1  # the jumps bias the plain slope upwards
    assert divergence.between_switch_rate(t, distance, changed, everything) == pytest.approx(rate, abs=1e-9)
    # without switches it is the plain fit
    assert divergence.between_switch_rate(t, distance, np.zeros(30, bool), everything) == pytest.approx(plain)
    # a jump not marked as a switch is not removed
    assert divergence.between_switch_rate(t, distance, np.isin(t, [12]), everything) != pytest.approx(rate, abs=0.01)
    # segments are counted over the whole curve; one-point segments carry no slope; too few points give nan
    band = (t >= 10) & (t <= 13)  # segment 0: t = 10, 11; segment 1: t = 12, 13
    assert divergence.between_switch_rate(t, distance, changed, band) == pytest.approx(rate, abs=1e-9)
    assert np.isnan(divergence.between_switch_rate(t, distance, changed, (t >= 11) & (t <= 12)))


def _topk_pixels(frames, training=False):
    """A Top-K "encoder": the last 12 pixels of the frame, keeping the 3 of largest absolute value."""
    last = np.asarray(frames, np.float64).reshape(len(frames), -1)[:, -12:]
    kth = np.sort(np.abs(last), axis=1)[:, -3:-2]
    return np.where(np.abs(last) >= kth, last, 0.0)


def test_the_window_protocol_marks_the_support_changes_of_top_k_encoders_only():
    seen = []

    def recording(frames, training=False):  # the Top-K "encoder", keeping every batch of frames it is given
        seen.append(np.array(frames))
        return _topk_pixels(frames)

    table = _window({"topk": recording, "plain": divergence.identity_encoder}, topk={"topk"})
    assert set(table.columns) >= {"support_changed", "latent_distance", "input_distance"}
    assert not table[table.encoder == "plain"].support_changed.any()
    curves = list(table[table.encoder == "topk"].groupby(["run", "delta"], sort=False))
    assert len(seen) == 2 * len(curves)  # reference frames, then nudged frames, per curve
    for (_, curve), a, b in zip(curves, seen[0::2], seen[1::2]):
        expected = divergence.support_changes(_topk_pixels(a), _topk_pixels(b))
        np.testing.assert_array_equal(curve.support_changed.to_numpy(), expected)
    assert table[table.encoder == "topk"].support_changed.any()  # the nudged pixels do enter and leave the top 3


def _null_table(v4=0.9, nulls=(1.0, 1.0, 1.0, 1.0), dense="dense_relu_8"):
    names = [divergence.V4, dense, divergence.IDENTITY, divergence.PROJECTION, divergence.UNTRAINED, divergence.TANH]
    between = [v4, 1.0, *nulls]
    return pd.DataFrame(
        {
            "encoder": names,
            "role": ["model", "model", "null", "null", "null", "null"],
            "rate_ratio": [1.2, 1.0, 1.0, 1.0, 1.3, 1.0],
            "rate_ratio_between_switches": between,
            "support_changes_per_step": [0.2, 0, 0, 0, 0.2, 0.1],
            "transmits": [b >= 0.5 for b in between],
        }
    )


def test_the_null_encoder_table_from_a_window_table_with_a_planted_switch():
    t = np.arange(25)
    input_distance = 1e-7 * np.exp(0.6 * t)
    rows = []
    for name, latent, changed in (
        ("jumping", 2 * input_distance * np.where(t >= 14, 50.0, 1.0), t == 14),
        ("linear", 3 * input_distance, np.zeros(25, bool)),
    ):
        for run in range(2):
            rows += [
                dict(
                    encoder=name,
                    run=run,
                    delta=1e-7,
                    t=i,
                    input_distance=input_distance[i],
                    latent_distance=latent[i],
                    support_changed=bool(changed[i]),
                )
                for i in t
            ]
    table = divergence.null_encoder_table(pd.DataFrame(rows), {"jumping": "model", "linear": "null"})
    assert table.columns.tolist() == divergence.NULL_COLUMNS
    jumping, linear = table.set_index("encoder").loc[["jumping", "linear"]].itertuples()
    assert jumping.rate_ratio > 1.2 and jumping.rate_ratio_between_switches == pytest.approx(1.0, abs=1e-9)
    # band 1e-5 < d < 1e-2: t = 8..19 (12 points, 11 steps), one change at t = 14
    assert jumping.support_changes_per_step == pytest.approx(1 / 11)
    assert linear.rate_ratio == pytest.approx(1.0) and linear.rate_ratio_between_switches == pytest.approx(1.0)
    assert linear.support_changes_per_step == 0 and jumping.transmits and linear.transmits


def test_the_pre_registered_reading_and_its_page_text():
    every = _null_table()
    reading = divergence.pre_registered_reading(every)
    assert reading == {"v4_ratio": 0.9, "v4_transmits": True, "nulls_below": [], "informative": False}
    text = divergence_text.null_paragraph(every)
    assert "**uninformative**" in text and "V4 transmits divergence by the rule (0.9 ≥ 0.5)" in text
    assert "the smallest null ratio is 1" in text
    assert "untrained v4 1.3 (between switches 1, the kept set changing at 0.20 of the in-band steps)" in text

    one_below = _null_table(nulls=(1.0, 1.0, 0.3, 1.0))
    reading = divergence.pre_registered_reading(one_below)
    assert reading["informative"] and reading["nulls_below"] == [divergence.UNTRAINED]
    text = divergence_text.null_paragraph(one_below)
    assert "**uninformative**" not in text
    assert text.endswith("the verdict is informative: untrained v4 stay below 0.5.")

    v4_below = _null_table(v4=0.2)
    assert not divergence.pre_registered_reading(v4_below)["v4_transmits"]
    assert "V4 does not transmit divergence by the rule (0.2 < 0.5)" in divergence_text.null_paragraph(v4_below)
    summary = divergence_text.summary(v4_below)
    assert summary.startswith("- The draft's test") and "4 of the 4 null encoders" in summary
    assert "and at 0.2 times between the steps" in summary


def test_the_dense_label_is_a_model_and_every_top_k_encoder_is_named():
    roles = divergence.roles(8)
    assert roles == {
        "v4": "model",
        "dense_relu_8": "model",
        "identity": "null",
        "random projection": "null",
        "untrained v4": "null",
        "tanh + top-k": "null",
    }
    assert divergence.TOPK == {"v4", "untrained v4", "tanh + top-k"}


def test_the_null_encoders_at_a_tiny_scale():
    data = chaos.make_splits("logistic", 64, 16, 32, r=3.99, seed=0)
    encoders, fits = divergence.null_encoders(data, 0, 16, 4, epochs=1, batch_size=32, learning_rate=1e-3)
    assert list(encoders) == [divergence.IDENTITY, divergence.PROJECTION, divergence.UNTRAINED, divergence.TANH]
    assert list(fits) == [divergence.TANH] and fits[divergence.TANH].metrics["model"] == divergence.TANH
    images = data.test[:10]
    tanh = divergence._encode(encoders[divergence.TANH], images)
    untrained = divergence._encode(encoders[divergence.UNTRAINED], images)
    for code in (tanh, untrained):
        assert code.shape == (10, 16) and np.all((code != 0).sum(axis=1) == 4)  # Top-K keeps 4
    assert np.abs(tanh).max() <= 1.0  # tanh's range; the chaos activation reaches beyond 1
    np.testing.assert_allclose(tanh, fits[divergence.TANH].z_test[:10], rtol=1e-5, atol=1e-6)
    assert divergence._encode(encoders[divergence.PROJECTION], images).shape == (10, 16)
    table = _window(encoders, topk=divergence.TOPK, n_runs=1)
    assert set(table.encoder) == set(encoders)
    assert not table[table.encoder.isin([divergence.IDENTITY, divergence.PROJECTION])].support_changed.any()


def test_the_latent_vs_input_figure_has_one_panel_per_encoder_at_most_three_a_row():
    table = _window({"topk": _topk_pixels, "plain": divergence.identity_encoder}, topk={"topk"})
    roles = {"topk": "model", "plain": "null", "again": "null"}
    table = pd.concat([table, table[table.encoder == "plain"].assign(encoder="again")])
    fig = divergence_plots.latent_vs_input_figure(table, roles, divergence.BAND)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and fig.axes[0].get_subplotspec().get_gridspec().ncols == 3
    marked = table[(table.encoder == "topk") & table.support_changed]
    assert visible[0].get_title() == f"topk (model): {len(marked)} support changes (all steps)"
