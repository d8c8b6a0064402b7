"""Chapter 13's own steps: the activations' cache, the rule for beta, the null references and the loss scale."""

import numpy as np
import pandas as pd
import pytest

from ksc.chapters import lm_data, lm_saes, lm_tables


@pytest.fixture(scope="module")
def tiny():
    lm = lm_data.load_model("tiny-random", 0, log=lambda *a: None)
    return lm, lm_data.load_text(lm, 16, 0.3, 0, log=lambda *a: None)


def test_activations_are_cached_under_their_settings_and_reused(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(lm_data, "cache_folder", lambda: tmp_path)
    lm, text = tiny
    sizes = {"train": 100, "val": 30, "test": 40, "count": 90, "loss_windows": 2}
    first = lm_data.token_sets(lm, text, 0, sizes, 16, log=lambda *a: None)
    second = lm_data.token_sets(lm, text, 0, sizes, 16, log=lambda *a: None)
    assert not first.cached and second.cached
    for name in ("train", "val", "test", "count"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
        assert getattr(first, name).shape == (sizes[name], lm.model.config.d_model)
    assert [p.name for p in (tmp_path / "activations").iterdir() if "partial" in p.name] == []
    other = lm_data.token_sets(lm, text, 0, {**sizes, "train": 120}, 16, log=lambda *a: None)
    assert not other.cached  # other settings, another file


def test_a_window_starts_with_the_beginning_token_and_holds_one_play(tiny):
    lm, text = tiny
    windows = text.windows["train"]
    assert (windows[:, 0] == lm.bos).all() and windows.shape[1] == 16
    assert set(text.train_plays).isdisjoint(text.held_out_plays)


def test_beta_is_the_largest_within_the_margin_of_the_topk_sae():
    rows = [{"model": "topk_sae", "k": 8, "beta": 0.0, "fve": 0.80}]
    rows += [{"model": "vsae_mean", "k": 8, "beta": b, "fve": f} for b, f in ((0.1, 0.79), (1.0, 0.76), (10.0, 0.5))]
    rows += [{"model": "vsae_authors", "k": 8, "beta": b, "fve": f} for b, f in ((0.1, 0.6), (1.0, 0.5))]
    rows += [{"model": "vsae", "k": 8, "beta": 1.0, "fve": 0.79}]  # the sampling vSAE takes the KL-only one's beta
    chosen = lm_saes.choose_betas(pd.DataFrame(rows)).set_index("model")
    assert chosen.loc["vsae_mean", "beta"] == 1.0 and chosen.loc["vsae_mean", "meets_margin"]
    assert chosen.loc["vsae_authors", "beta"] == 0.1 and not chosen.loc["vsae_authors", "meets_margin"]
    assert "vsae" not in chosen.index


def test_shuffled_activations_keep_each_dimension_and_lose_the_joint_structure():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 1))
    x = np.hstack([base, base + 0.01 * rng.normal(size=(2000, 1))])
    shuffled = lm_saes.shuffle_dimensions(x, 0)
    assert np.allclose(np.sort(shuffled, axis=0), np.sort(x, axis=0))
    assert np.corrcoef(x.T)[0, 1] > 0.99 and abs(np.corrcoef(shuffled.T)[0, 1]) < 0.1


def test_loss_recovered_is_one_at_the_clean_loss_and_zero_at_the_zeroed_one():
    runs = pd.DataFrame({"ce_loss": [3.0, 5.0, 4.0]})
    recovered = lm_tables.with_loss_scale(runs, {"clean": 3.0, "zero": 5.0}).ce_recovered.tolist()
    assert recovered == [1.0, 0.0, 0.5]


def test_the_topk_sae_in_the_vsaes_place_meets_no_gap_claim_by_chance():
    runs = pd.DataFrame(
        [
            {"model": m, "k": k, "seed": s, "living": lv, "fve": f, "cosine": c, "ce_loss": 4.0, "tpp": 0.1, "scr": 0.2}
            for k in (4, 8)
            for s in (0, 1)
            for m, lv, f, c in (("topk_sae", 1.0, 0.8, 0.9), ("untrained topk_sae", 0.5, 0.1, 0.5))
        ]
    )
    nulls = lm_tables.null_references(runs).set_index(["reference", "quantity"]).value
    assert nulls[("vSAE = TopK SAE", "living_ratio")] == 1.0 and nulls[("vSAE = TopK SAE", "fve_gap")] == 0.0
    assert nulls[("untrained topk_sae", "living_ratio")] == pytest.approx(0.5)
    assert nulls[("untrained topk_sae", "fve_gap")] == pytest.approx(0.7)
