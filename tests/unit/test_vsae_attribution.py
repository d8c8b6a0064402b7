"""Chapter 06's attribution of the authors' code path's dead latents: its members, its tables (on hand-made inputs
with known answers, and their shapes at the tiny scale) and the decision rules fixed before its results."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ksc.chapters import vsae as vc
from ksc.chapters import vsae_diagnostics as vd
from ksc.chapters import vsae_training as vt
from ksc.runtime.declarations import declared
from ksc.saes import topk_vsae as sae


def _attribution(living: dict) -> pd.DataFrame:
    """Attribution rows: variant -> living fraction per seed (k = 4, beta = 1)."""
    rows = []
    for variant, values in living.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "variant": variant,
                    "switched": "" if variant == vd.AUTHORS_PATH else variant,
                    "k": 4,
                    "beta": 1.0,
                    "seed": seed,
                    "living": value,
                    "fve": 0.9,
                    "l0": 4.0,
                }
            )
    return pd.DataFrame(rows)


def test_effects_are_paired_by_seed_and_holm_adjusted_over_every_row():
    base = [0.20, 0.30, 0.25, 0.22]
    table = _attribution(
        {
            vd.AUTHORS_PATH: base,
            "a": [0.61, 0.69, 0.68, 0.60],  # a large effect
            "b": [0.24, 0.31, 0.30, 0.25],  # a small one
            "c": base,  # none at all
            "d": [0.32, 0.41, 0.36, 0.33],  # +0.11 on average: named
        }
    )
    effects = vd.attribution_effects(table).set_index("variant")
    assert list(effects.columns) == [c for c in vd.EFFECT_COLUMNS if c != "variant"]
    expected = {v: stats.ttest_rel(table[table.variant == v].living, base).pvalue for v in "abd"}
    for variant, p in expected.items():
        assert effects.loc[variant, "p"] == pytest.approx(p)
    assert effects.loc["c", "p"] == 1.0 and effects.loc["c", "difference"] == 0  # no change in any seed
    assert effects.loc["a", "difference"] == pytest.approx(np.mean(np.subtract([0.61, 0.69, 0.68, 0.60], base)))
    # Holm by hand: the i-th smallest of m = 4 p-values times (4 - i + 1), made non-decreasing
    ordered = sorted(list(expected.values()) + [1.0])
    by_hand, running = [], 0.0
    for i, p in enumerate(ordered):
        running = max(running, min(1.0, (4 - i) * p))
        by_hand.append(running)
    assert sorted(effects.p_holm) == pytest.approx(by_hand)
    smallest = min(expected, key=expected.get)
    assert effects.loc[smallest, "p_holm"] == pytest.approx(4 * expected[smallest])  # the smallest: times m
    assert list(vd.decisive_differences(effects.reset_index()).variant) == ["a", "d"]


def test_a_paired_test_is_undefined_where_every_seed_changes_alike():
    assert vc.paired_p([0.1, 0.1, 0.1]) != vc.paired_p([0.1, 0.1, 0.1])  # NaN: no spread, no t-test
    assert vc.paired_p([0.0, 0.0]) == 1.0 and np.isnan(vc.paired_p([0.3]))
    assert vc.paired_p([0.1, 0.2, 0.15]) == pytest.approx(stats.ttest_1samp([0.1, 0.2, 0.15], 0).pvalue)


def _arms(topk: dict, beta0: dict, chosen: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(authors' form table, chosen betas, design table) from k -> living per seed of the TopK SAE, the authors'
    form at beta 0 and at its chosen beta 1 (at beta 10 it keeps none)."""
    authors, design = [], []
    common = {"dataset": "superposition", "auxk": True, "rms": 1.0}
    for k in topk:
        for seed in range(len(topk[k])):
            row = {**common, "k": k, "seed": seed}
            design.append({**row, "model": "topk_sae", "beta": 0.0, "living": topk[k][seed], "val_fve": 0.9})
            for beta, living in ((0.0, beta0[k][seed]), (1.0, chosen[k][seed]), (10.0, 0.0)):
                fve = 0.88 if beta < 5 else 0.5
                authors.append({**row, "model": "vsae_mean", "beta": beta, "living": living, "val_fve": fve})
    authors, design = pd.DataFrame(authors), pd.DataFrame(design)
    return authors, vd.authors_chosen(authors, design, 1.0), design


def test_the_authors_beta_is_chosen_by_the_chapters_rule_among_the_grid():
    authors, chosen, design = _arms({4: [1.0, 1.0]}, {4: [0.3, 0.3]}, {4: [0.2, 0.2]})
    row = chosen.iloc[0]
    assert list(chosen.columns) == ["k", "beta", "val_fve_gap", "within_margin"]
    assert row.beta == 1.0 and row.within_margin and row.val_fve_gap == pytest.approx(0.02)  # beta 10: 0.4 below
    nothing = vd.authors_chosen(authors.assign(val_fve=0.1), design, 1.0).iloc[0]
    assert nothing.beta == 1.0 and not nothing.within_margin  # none within the margin: the smallest beta above 0


def test_living_ratios_and_the_kl_share_on_known_numbers():
    topk = {4: [1.0, 1.0, 0.8], 16: [1.0, 1.0, 1.0]}
    beta0 = {4: [0.3, 0.4, 0.4], 16: [0.9, 0.9, 0.9]}
    chosen = {4: [0.2, 0.2, 0.2], 16: [0.5, 0.6, 0.4]}
    authors, picked, design = _arms(topk, beta0, chosen)
    primary = vd.living_primary(authors, picked, design, 1.0).set_index("k")
    assert list(primary.reset_index().columns) == vd.LIVING_PRIMARY_COLUMNS and list(primary.index) == [4, 16, "pooled"]
    ratios = {k: np.divide(chosen[k], topk[k]) for k in topk}
    assert primary.loc[4, "ratio"] == pytest.approx(ratios[4].mean())
    assert primary.loc["pooled", "ratio"] == pytest.approx(np.concatenate(list(ratios.values())).mean())
    assert primary.loc["pooled", "n"] == 6 and primary.loc[16, "ratio_beta0"] == pytest.approx(0.9)
    low, high = stats.t.interval(0.95, 2, loc=ratios[4].mean(), scale=stats.sem(ratios[4]))
    assert (primary.loc[4, "ci_low"], primary.loc[4, "ci_high"]) == pytest.approx((low, high))
    share = vd.kl_share(authors, picked, design, 1.0).set_index("k")
    assert list(share.reset_index().columns) == vd.KL_SHARE_COLUMNS
    fractions = [(b - c) / (t - c) for t, b, c in zip(topk[4], beta0[4], chosen[4])]
    assert share.loc[4, "kl_fraction"] == pytest.approx(np.mean(fractions))
    assert share.loc[4, "gap"] == pytest.approx(share.loc[4, "kl_share"] + share.loc[4, "code_share"])
    assert share.loc[16, "kl_fraction"] == pytest.approx(np.mean([0.8, 0.75, 5 / 6]))


def _effects(raise_p: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"dataset": "superposition", "k": k, "beta": 1.0, "sampling without KL": 0.2, "sampling without KL p": p}
            for k, p in ((4, raise_p), (16, 0.5))
        ]
    )


def _tpp(intervals) -> pd.DataFrame:
    return pd.DataFrame([{"k": k, "gap": (a + b) / 2, "ci_low": a, "ci_high": b, "n": 3} for k, (a, b) in intervals])


def test_the_decision_rules():
    def primary(pooled, by_k, half_width=0.01):
        """living_primary: ratios per k with 95 % intervals of +-``half_width``, and the pooled row (shown only)."""
        rows = [{"k": k, "ratio": r, "ci_low": r - half_width, "ci_high": r + half_width} for k, r in by_k.items()]
        return pd.DataFrame(rows + [{"k": "pooled", "ratio": pooled, "ci_low": 0.0, "ci_high": 1.0}])

    share_above = pd.DataFrame([{"k": 4, "ci_low": 0.6, "ci_high": 0.9}, {"k": 16, "ci_low": 0.55, "ci_high": 1.0}])
    share_below = share_above.assign(ci_low=[0.1, 0.6], ci_high=[0.4, 0.9])
    tpp_up, tpp_down = _tpp([(4, (0.01, 0.02)), (16, (0.001, 0.05))]), _tpp([(4, (-0.2, -0.1)), (16, (-0.1, 0.1))])
    outcome = vd.preregistered(primary(0.2, {4: 0.2, 16: 0.3}), share_above, _effects(0.5), tpp_up)
    assert {name: verdict for name, (verdict, _) in outcome.items()} == {
        "vsae-living": "supported",
        "vsae-kl-cause": "supported",
        "vsae-independence": "supported",
    }
    outcome = vd.preregistered(primary(0.9, {4: 0.9, 16: 1.0}), share_below, _effects(0.5), tpp_down)
    assert [verdict for verdict, _ in outcome.values()] == ["not supported"] * 3
    raised = vd.preregistered(primary(0.6, {4: 0.4, 16: 0.8}), share_above, _effects(0.01), _tpp([(4, (-1, 1))]))
    assert raised["vsae-living"][0] == "cannot tell" and raised["vsae-independence"][0] == "cannot tell"
    # k is a setting, not a replicate: an interval at one k that reaches above 0.5 leaves the verdict open, whatever
    # the pooled ratio; at the bound itself the point value does not decide
    assert vd.living_verdict(primary(0.2, {4: 0.2, 16: 0.5}, 0.02))[0] == "cannot tell"
    assert vd.living_verdict(primary(0.2, {4: 0.2, 16: 0.48}, 0.02))[0] == "supported"
    assert vd.living_verdict(primary(0.9, {4: 0.9, 16: 0.45}))[0] == "cannot tell"  # it depends on k
    assert raised["vsae-kl-cause"][0] == "not supported" and raised["vsae-kl-cause"][1]["sampling_raises_at"] == [4]
    # p = 0.04 is below 0.05 alone but not after Holm's adjustment over the two k tested (0.08): the rule holds
    adjusted = vd.preregistered(primary(0.6, {4: 0.4}), share_above, _effects(0.04), tpp_up)
    assert adjusted["vsae-kl-cause"][0] == "supported" and adjusted["vsae-kl-cause"][1]["sampling_raises_at"] == []
    straddles = share_above.assign(ci_low=[0.3, 0.6])
    assert vd.preregistered(primary(0.6, {4: 0.4}), straddles, _effects(0.5), tpp_up)["vsae-kl-cause"][0] == (
        "cannot tell"
    )
    both_ways = _tpp([(4, (-0.2, -0.1)), (16, (0.1, 0.2))])
    assert vd.preregistered(primary(0.6, {4: 0.4}), share_above, _effects(0.5), both_ways)["vsae-independence"][0] == (
        "cannot tell"
    )


def test_tpp_gap_per_k_is_paired_by_seed():
    rows = []
    for k in (4, 8):
        for seed in range(3):
            for model, tpp in (("topk_sae", 0.10), ("vsae_mean", 0.10 + 0.01 * k + 0.001 * seed), ("vsae", 0.5)):
                rows.append({"dataset": "network", "k": k, "seed": seed, "model": model, "tpp": tpp})
    rows.append({"dataset": "superposition", "k": 4, "seed": 0, "model": "vsae_mean", "tpp": np.nan})
    table = vc.tpp_by_k(pd.DataFrame(rows)).set_index("k")
    assert list(table.reset_index().columns) == ["k", "gap", "ci_low", "ci_high", "n"]
    assert table.loc[4, "gap"] == pytest.approx(0.041) and table.loc[8, "gap"] == pytest.approx(0.081)
    assert table.loc[4, "n"] == 3 and table.loc[4, "ci_low"] < 0.041 < table.loc[4, "ci_high"]


def test_the_attribution_design_switches_one_difference_at_a_time():
    params = {"auxk_dead_after": 1000, "learning_rate": 1e-3}
    variants = vt.attribution_variants(params)
    assert len(variants) == 8 and list(variants)[-1] == vd.ALL_OURS
    members = vt.attribution_design([4, 16], [0, 1, 2], {4: 0.1, 16: 1.0}, 1 / 32, variants)
    assert len(members) == (7 * 2 - 1 + 2) * 3 * 2  # the KL clip only at the chosen beta
    for variant, (switched, keys) in variants.items():
        own = [m for m in members if m["variant"] == variant]
        assert {(m["k"], m["beta"]) for m in own} >= {(4, 0.1), (16, 1.0)}
        form = sae.member_form(own[0], "authors")
        assert form == ("ours" if variant == vd.ALL_OURS else "mixed"), variant
        assert all(m["noise"] == 0 and m["auxk_alpha"] > 0 and m["switched"] == switched for m in own)
        assert all(m[key] == value for m in own for key, value in keys.items())
    assert {m["beta"] for m in members if m["variant"] in vt.KL_ONLY} == {0.1, 1.0}


@pytest.fixture(scope="module")
def tiny():
    from ksc.book.notebooks import defaults

    tiny = dict(ks=[2, 4], betas=[0.1, 1.0], scale_rms=[], scale_k=2, authors_ks=[2, 4], image_ks=[2], k_map=2, dim=8)
    tiny |= dict(n_features=16, n_active=2.0, synthetic_train=256, synthetic_val=32, synthetic_test=64)
    tiny |= dict(count_samples=64, synthetic_latents=16, overcomplete_latents=32, synthetic_epochs=1)
    tiny |= dict(synthetic_batch_size=32, network_hidden=8, network_train=256, network_latents=16, network_epochs=1)
    tiny |= dict(n_train=64, n_val=16, n_test=32, epochs=1, batch_size=32, image_latents=8, tpp_latents=2)
    params = defaults(Path(__file__).parents[2] / "notebooks" / "06_vsae.ipynb") | tiny
    data = vt.make_data(params)
    seeds = [0, 1]
    return vt.train_arms(data, seeds, params, report=lambda line: None), data, params, seeds


def test_the_attribution_tables_at_the_tiny_scale(tiny):
    arms, data, params, seeds = tiny
    design = arms.design
    chosen = arms.authors_chosen
    attribution = vd.attribution_table(arms.authors, chosen, arms.attribution)
    effects = vd.attribution_effects(attribution)
    primary = vd.living_primary(arms.authors, chosen, design, params["input_rms"])
    share = vd.kl_share(arms.authors, chosen, design, params["input_rms"])
    picked = vc.selected_betas(design, params["input_rms"])
    runs = vc.scored_headline(design, picked, params["input_rms"], arms.fits["network"], data.network, 2)
    tpp = vc.tpp_by_k(runs)
    ks, n_seeds = params["authors_ks"], len(seeds)
    variants = vt.attribution_variants(params)
    pairs = len(variants) * 2 - len(vt.KL_ONLY)  # (variant, beta) pairs trained at each k
    assert len(arms.attribution) == pairs * len(ks) * n_seeds
    assert len(attribution) == (pairs + 2) * len(ks) * n_seeds  # with the authors' path at its two betas
    assert len(effects) == pairs * len(ks) and len(chosen) == len(ks)
    assert list(primary.k) == ks + ["pooled"] and list(share.k) == ks and list(tpp.k) == params["ks"]
    tables = {"authors_chosen": chosen, "attribution": attribution, "attribution_effects": effects}
    tables |= {"living_primary": primary, "kl_share": share, "tpp_by_k": tpp}
    for name, table in tables.items():
        assert list(table.columns) == list(declared("06_vsae", name).columns), name
    assert (effects.n == n_seeds).all() and attribution.living.between(0, 1).all()
    assert set(chosen.beta) <= set(params["betas"])
    # the authors' path in the attribution is the authors' form's own members at beta 0 and the chosen beta
    own = attribution[attribution.variant == vd.AUTHORS_PATH].sort_values(["k", "beta", "seed"])
    at_chosen = arms.authors.beta == arms.authors.k.map(dict(zip(chosen.k, chosen.beta)))
    expected = arms.authors[(arms.authors.beta == 0) | at_chosen].sort_values(["k", "beta", "seed"])
    np.testing.assert_array_equal(own.living, expected.living)
    # Top-K by value cannot differ from by |z| where nothing is sampled (latents are ReLU outputs): no change at all
    topk = effects[effects.variant == "Top-K by value"]
    assert (topk.difference == 0).all() and (topk.p == 1).all()
    outcomes = vd.preregistered(primary, share, vc.at_chosen_beta(vc.factorial_effects(design, 1.0), picked), tpp)
    assert {verdict for verdict, _ in outcomes.values()} <= {"supported", "not supported", "cannot tell"}
