"""Chapter 04 (Hénon against logistic images): its analysis (ksc.chapters.henon) and its verdict (ksc.pages)."""

import numpy as np
import pandas as pd
import pytest

from ksc.chapters import henon
from ksc.data import chaos
from ksc.evidence import claims
from ksc.measures import stats
from ksc.pages import henon_text


def _per_fit(henon_variance=(0.42, 0.43, 0.41), logistic_variance=(0.40, 0.41, 0.42)):
    rows = [
        {"model": henon.LOGISTIC, "seed": s, "variance": v, "fve": 0.1 + s, "variance_attractor_only": np.nan}
        for s, v in enumerate(logistic_variance)
    ]
    rows += [
        {"model": henon.HENON, "seed": s, "variance": v, "fve": 0.2 + s, "variance_attractor_only": v + 0.01}
        for s, v in enumerate(henon_variance)
    ]
    return pd.DataFrame(rows)


def test_the_two_systems_are_labelled_by_the_model_that_trains_on_them():
    systems = henon.make_systems(8, 4, 6, r=3.99, seed=0)
    assert list(systems) == [henon.LOGISTIC, henon.HENON] == ["v4 logistic", "v4 henon"]
    assert [len(split) for split in systems[henon.HENON]] == [8, 4, 6]
    np.testing.assert_array_equal(systems[henon.HENON].test, chaos.make_splits("henon", 8, 4, 6, seed=0).test)
    assert not np.array_equal(systems[henon.LOGISTIC].test, systems[henon.HENON].test)


def test_the_attractor_only_variance_is_summarised_for_the_henon_models_alone():
    table = henon.attractor_only_summary(_per_fit())
    assert list(table.model) == [henon.HENON] and list(table.quantity) == ["variance_attractor_only"]
    assert table.loc[0, "mean"] == pytest.approx(0.43) and table.loc[0, "n"] == 3


def test_the_shown_test_columns_are_those_of_the_t_tests():
    tests = stats.pairwise(_per_fit(), "variance", [henon.LOGISTIC, henon.HENON])
    assert set(henon.TEST_COLUMNS) <= set(tests.columns) and set(tests.test) == {"Welch", "Student"}


def test_training_adds_the_attractor_only_variance_to_the_henon_fits():
    systems = henon.make_systems(32, 8, 16, r=3.99, seed=0)
    pinned = chaos.escaped_orbits(systems[henon.HENON].test)
    fits = henon.train_on_both_systems(systems, [0], pinned, epochs=1, batch_size=16, latent_dim=8, k=2)
    assert [fit.model_name for fit in fits] == [henon.LOGISTIC, henon.HENON]
    assert "variance_attractor_only" not in fits[0].metrics
    expected = np.var(fits[1].z_test[~pinned], axis=0).mean()
    assert fits[1].metrics["variance_attractor_only"] == pytest.approx(expected, rel=1e-5)


def _verdict(per_fit):
    ratio = stats.ratio_table(per_fit, [(henon.HENON, henon.LOGISTIC)])
    tests = stats.pairwise(per_fit, "variance", [henon.LOGISTIC, henon.HENON])
    summary = claims.summarise(per_fit, ["variance"])
    claim_table = claims.compare(pd.concat([summary, ratio], ignore_index=True), prefixes=["s6.2h-"])
    return henon_text.verdict(claim_table, 3, ratio, tests, per_fit), ratio


def test_the_verdict_says_what_the_numbers_say():
    same, ratio = _verdict(_per_fit())
    assert same.startswith("**Verdict.** ") and "(3 seeds each)" in same
    assert f"{ratio.loc[0, 'mean']:.3f}" in same and "no significant difference at the 5 % level" in same
    assert "the Hénon variance is 0.430" in same
    apart, ratio = _verdict(_per_fit(henon_variance=(0.80, 0.81, 0.82)))
    assert "a significant difference at the 5 % level" in apart and "no significant" not in apart
    assert "the variances differ by more than 5%" in apart
    assert f"{ratio.loc[0, 'mean']:.3f}" in apart and "the Hénon variance is 0.820" in apart
