"""SAEBench's probing evaluations (ksc.measures.saebench): chapter 06's digit versions reproduced exactly, and each
evaluation high on planted structure and at chance without it."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from ksc.measures import saebench as sb

# ---- a literal copy of the digit-only algorithm as it stood in ksc.data.network_activations (git 5c1a941) ----


def _old_specific_latents(codes_NL, y_N, label, n):
    inside = y_N == label
    difference = codes_NL[inside].mean(axis=0) - codes_NL[~inside].mean(axis=0)
    return np.argsort(-difference, kind="stable")[:n]


def _old_probe(x_train, y_train, seed=0):
    return LogisticRegression(max_iter=500, class_weight="balanced", random_state=seed).fit(x_train, y_train)


def _old_sparse_probing(codes_train, y_train, codes_test, y_test, sizes=(1, 5), fit_on=2048):
    codes_fit, y_fit = codes_train[:fit_on], y_train[:fit_on]
    out = {}
    for size in sizes:
        scores = []
        for label in range(10):
            chosen = _old_specific_latents(codes_fit, y_fit, label, size)
            probe = _old_probe(codes_fit[:, chosen], y_fit == label)
            scores.append(balanced_accuracy_score(y_test == label, probe.predict(codes_test[:, chosen])))
        out[f"sparse_probe_{size}"] = float(np.mean(scores))
    return out


def _old_activation_probes(x_train, y_train, fit_on=4096):
    return [_old_probe(x_train[:fit_on], y_train[:fit_on] == label) for label in range(10)]


def _old_tpp(probes, x_test, y_test, codes_train, y_train, codes_test, decoder_LD, n_ablate):
    base = np.array([balanced_accuracy_score(y_test == j, p.predict(x_test)) for j, p in enumerate(probes)])
    drops = np.zeros((10, 10))
    for i in range(10):
        chosen = _old_specific_latents(codes_train, y_train, i, n_ablate)
        ablated = x_test - codes_test[:, chosen] @ decoder_LD[chosen]
        drops[i] = base - [balanced_accuracy_score(y_test == j, p.predict(ablated)) for j, p in enumerate(probes)]
    targeted, others = float(np.mean(np.diag(drops))), float(np.mean(drops[~np.eye(10, dtype=bool)]))
    return {"tpp_targeted": targeted, "tpp_others": others, "tpp": targeted - others}


# ---- inputs ----


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _digit_like(seed=7, n=600, classes=10, L=64, d=16) -> dict:
    """Codes with class-dependent offsets, activations made from them: fixed random inputs, ten classes."""
    rng = np.random.default_rng(seed)
    y_tr, y_sel, y_te = (rng.integers(classes, size=n) for _ in range(3))
    offsets = rng.standard_normal((classes, L))

    def codes(y):
        return np.maximum(0.0, rng.standard_normal((n, L)) + 0.8 * offsets[y])

    D = _unit(rng.standard_normal((L, d)))
    Z_tr, Z_sel, Z_te = codes(y_tr), codes(y_sel), codes(y_te)
    means = rng.standard_normal((classes, d))
    X_tr = Z_tr @ D + 0.5 * means[y_tr] + 0.3 * rng.standard_normal((n, d))
    X_te = Z_te @ D + 0.5 * means[y_te] + 0.3 * rng.standard_normal((n, d))
    return dict(X_tr=X_tr, y_tr=y_tr, Z_tr=Z_tr, X_te=X_te, y_te=y_te, Z_sel=Z_sel, y_sel=y_sel, Z_te=Z_te, D=D)


def _planted_classes(seed, n=1200, classes=4, L=24, d=12, related=True):
    """Activations along one direction per class; with ``related``, latent c fires exactly on class c along
    direction c (the rest fire at random along random directions); else every latent is random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(classes, size=n)
    X = np.eye(d)[y] + 0.1 * rng.standard_normal((n, d))
    Z = 0.2 * np.maximum(0.0, rng.standard_normal((n, L)))
    D = _unit(rng.standard_normal((L, d)))
    if related:
        Z[:, :classes] = np.eye(classes)[y]
        D[:classes] = np.eye(d)[:classes]
    return X, Z, D, y


# ---- chapter 06's algorithm, unchanged ----


def test_sparse_probing_and_tpp_give_exactly_the_old_digit_values():
    a = _digit_like()
    new = sb.sparse_probing(a["Z_sel"], a["y_sel"], a["Z_te"], a["y_te"], sizes=(1, 2, 5))
    assert new == _old_sparse_probing(a["Z_sel"], a["y_sel"], a["Z_te"], a["y_te"], sizes=(1, 2, 5))
    short = sb.sparse_probing(a["Z_sel"], a["y_sel"], a["Z_te"], a["y_te"], classes=range(10), fit_on=300)
    assert short == _old_sparse_probing(a["Z_sel"], a["y_sel"], a["Z_te"], a["y_te"], fit_on=300)
    probes = sb.activation_probes(a["X_tr"], a["y_tr"], classes=range(10), fit_on=4096)
    old_probes = _old_activation_probes(a["X_tr"], a["y_tr"])
    for n_ablate in (1, 3):
        args = (a["X_te"], a["y_te"], a["Z_sel"], a["y_sel"], a["Z_te"], a["D"], n_ablate)
        old = _old_tpp(old_probes, *args)
        assert sb.tpp_with_probes(probes, *args) == old
        assert old["tpp"] > 0.01  # the inputs are not trivial: the class latents matter
    # the one-call form: probes and latents from the same training samples
    whole = sb.targeted_probe_perturbation(
        a["X_tr"], a["y_tr"], a["X_te"], a["y_te"], a["Z_tr"], a["Z_te"], a["D"], n_ablate=3
    )
    assert whole == _old_tpp(old_probes, a["X_te"], a["y_te"], a["Z_tr"], a["y_tr"], a["Z_te"], a["D"], 3)


# ---- sparse probing ----


def test_sparse_probing_finds_a_latent_that_carries_the_class_and_is_at_chance_without_one():
    X, Z, D, y = _planted_classes(0)
    half = len(y) // 2
    planted = sb.sparse_probing(Z[:half], y[:half], Z[half:], y[half:], sizes=(1, 5))
    assert planted["sparse_probe_1"] > 0.98 and planted["sparse_probe_5"] > 0.98
    _, Z, _, y = _planted_classes(1, related=False)
    chance = sb.sparse_probing(Z[:half], y[:half], Z[half:], y[half:], sizes=(1, 5))
    assert abs(chance["sparse_probe_1"] - 0.5) < 0.05 and abs(chance["sparse_probe_5"] - 0.5) < 0.06


def test_two_labels_make_one_task_symmetric_in_the_labels():
    rng = np.random.default_rng(2)
    verse = rng.random(800) < 0.5
    Z = 0.2 * np.maximum(0.0, rng.standard_normal((800, 10)))
    Z[:, 7] += ~verse  # a latent only for prose
    named = np.where(verse, "verse", "prose")
    scores = sb.sparse_probing(Z[:400], named[:400], Z[400:], named[400:], sizes=(1,))
    assert scores["sparse_probe_1"] > 0.98  # found although it fires for the *first* label
    flipped = sb.sparse_probing(Z[:400], ~verse[:400], Z[400:], ~verse[400:], sizes=(1,))
    assert flipped == scores


# ---- targeted probe perturbation ----


def test_tpp_is_high_for_latents_aligned_with_the_classes_and_zero_for_random_ones():
    X, Z, D, y = _planted_classes(3)
    half = len(y) // 2
    planted = sb.targeted_probe_perturbation(X[:half], y[:half], X[half:], y[half:], Z[:half], Z[half:], D, 1)
    assert planted["tpp"] > 0.3 and planted["tpp_targeted"] > 0.3 and planted["tpp_others"] < 0.05
    X, Z, D, y = _planted_classes(4, related=False)
    random = sb.targeted_probe_perturbation(X[:half], y[:half], X[half:], y[half:], Z[:half], Z[half:], D, 1)
    assert abs(random["tpp"]) < 0.05


def test_tpp_refuses_two_classes():
    X, Z, D, y = _planted_classes(5, classes=2)
    with pytest.raises(ValueError, match="three classes"):
        sb.targeted_probe_perturbation(X, y, X, y, Z, Z, D, 1)


# ---- spurious correlation removal ----


def _confounded(seed, n=1200, d=64, spurious_scale=2.0, agree=0.8):
    """Target along direction 0, a stronger spurious label along direction 1, the two agreeing on ``agree``
    of the samples."""
    rng = np.random.default_rng(seed)
    target = rng.random(n) < 0.5
    spurious = np.where(rng.random(n) < agree, target, ~target)
    X = np.outer(2 * target - 1.0, np.eye(d)[0]) + spurious_scale * np.outer(2 * spurious - 1.0, np.eye(d)[1])
    X += 0.5 * rng.standard_normal((n, d))
    random_directions = _unit(rng.standard_normal((64, d)))
    return X, target, spurious, random_directions


def test_scr_removes_a_spurious_latent_and_not_random_ones():
    X, target, spurious, D = _confounded(0)
    random = sb.spurious_correlation_removal(X, X @ D.T, D, target, spurious, n_ablate=1)
    D[5] = np.eye(64)[1]  # one latent exactly on the spurious direction (its code: the projection on it)
    planted = sb.spurious_correlation_removal(X, X @ D.T, D, target, spurious, n_ablate=1)
    assert planted["scr_defined"] and planted["scr"] > 0.5
    assert planted["scr_oracle"] - planted["scr_base"] > 0.3  # the biased probe leaned on the spurious label
    assert random["scr_defined"] and abs(random["scr"]) < 0.2
    counts = planted["scr_n_biased"], planted["scr_n_balanced"], planted["scr_n_test"]
    assert all(c > 0 and c % 2 == 0 for c in counts) and planted["scr_n_test"] % 4 == 0
    again = sb.spurious_correlation_removal(X, X @ D.T, D, target, spurious, n_ablate=1)
    assert again == planted  # deterministic given the seed


def test_scr_is_undefined_without_a_spurious_gap():
    X, target, spurious, D = _confounded(1, spurious_scale=0.0)
    D[5] = np.eye(64)[1]
    result = sb.spurious_correlation_removal(X, X @ D.T, D, target, spurious, n_ablate=1)
    assert not result["scr_defined"] and np.isnan(result["scr"])


def test_scr_refuses_cells_that_are_too_small():
    X, target, spurious, D = _confounded(2, n=400, agree=0.97)  # about 6 samples in each disagreeing cell
    counts = [int(np.sum((target == a) & (spurious == b))) for a in (True, False) for b in (True, False)]
    assert min(counts) < sb.SCR_MIN_CELL
    with pytest.raises(ValueError, match="cell counts") as refused:
        sb.spurious_correlation_removal(X, X @ D.T, D, target, spurious, n_ablate=1)
    assert all(f": {c}" in str(refused.value) for c in counts)
