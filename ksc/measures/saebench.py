"""SAEBench's probing evaluations of a sparse autoencoder, for any labelled set of samples.

SAEBench (Karvonen et al. 2025) scores an SAE by what its latents say about labelled texts: each text's
activations and SAE codes are mean-pooled over its tokens, and the pooled vectors are probed. The functions
here take the pooled vectors as plain arrays, whatever made them:

- ``X`` (n, d): the model's pooled activations;
- ``Z`` (n, L): the pooled SAE codes along unit-length decoder directions ``D`` (L, d), in the activations'
  units, so that removing latents ``S`` from the activations is ``X - Z[:, S] @ D[S]`` (for an SAE with a
  linear decoder this is exactly SAEBench's "zero the latents, decode, add back the SAE's error", and it
  commutes with the pooling);
- labels: 1-D arrays of ints, booleans or strings.

Three evaluations:

- :func:`sparse_probing` (SAEBench's *sparse probing*): a logistic probe on the ``size`` latents most specific
  to a class, scored on held-out samples; high when single latents carry the class;
- :func:`targeted_probe_perturbation` (*TPP*): removing the latents specific to class i should hurt a probe
  for class i on the activations and spare the probes for the other classes; high when the classes live in
  separate latents;
- :func:`spurious_correlation_removal` (*SCR*, after SHIFT, Marks et al. 2024): a probe trained where a spurious
  label agrees perfectly with the target leans on the spurious label; removing the latents of the spurious
  label should recover the accuracy of a probe trained without the bias.

Where we differ from SAEBench (each function says more): SAEBench averages over several data sets, class
subsets and latent counts (thresholds); these functions evaluate one labelling at one latent count, and the
caller chooses the counts. SAEBench chooses sparse-probing latents by the absolute mean difference and TPP's
latents by their attribution to each class's probe; we choose both by the signed mean difference
(:func:`specific_latents`), as chapter 06 always has. SAEBench fits unweighted probes on class-balanced
subsamples and reports accuracy; we fit class-weighted probes on all samples and report balanced accuracy.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

SCR_MIN_CELL = 20  # fewest samples in each (target, spurious) cell for SCR's biased, balanced and test sets
SCR_MIN_GAP = 0.02  # SCR is undefined where the unbiased probe beats the biased one by less: no gap to close


def specific_latents(Z: np.ndarray, y: np.ndarray, label, n: int, absolute: bool = False) -> np.ndarray:
    """The n latents whose mean code is most larger on samples of ``label`` than on the others (ties in index
    order); with ``absolute``, most different either way (SAEBench's rule). Signed, a one-against-rest task
    keeps the latents that fire *for* its class."""
    inside = y == label
    difference = Z[inside].mean(axis=0) - Z[~inside].mean(axis=0)
    return np.argsort(-(np.abs(difference) if absolute else difference), kind="stable")[:n]


def _probe(x_train, y_train, seed: int = 0) -> LogisticRegression:
    return LogisticRegression(max_iter=500, class_weight="balanced", random_state=seed).fit(x_train, y_train)


def sparse_probing(
    Z_train: np.ndarray,
    y_train: np.ndarray,
    Z_test: np.ndarray,
    y_test: np.ndarray,
    sizes=(1, 5),
    classes=None,
    fit_on: int | None = None,
) -> dict:
    """Sparse probing: for each class against the rest, the ``size`` latents most specific to the class
    (:func:`specific_latents`, chosen on the first ``fit_on`` training samples, all by default) and a logistic
    probe on their codes fitted on the same samples, scored by balanced accuracy on the test samples.

    ``classes``: the classes to score (by default every label of ``y_train``, sorted). Where the training
    labels take only two values the two one-against-rest tasks are one task, scored once, with the latents
    ranked by the *absolute* mean difference (SAEBench's rule), so that the score does not depend on which
    label is called positive; with more labels, by the signed difference (the latents that fire for the
    class, as chapter 06 always has). Returns ``{"sparse_probe_<size>": mean over the tasks}`` per size.
    SAEBench uses k in 1, 2, 5 (up to 50); chapter 06 uses 1 and 5."""
    Z_fit, y_fit = Z_train[:fit_on], y_train[:fit_on]
    labels = np.unique(y_fit)
    binary = len(labels) == 2
    tasks = labels[1:] if binary else list(labels if classes is None else classes)
    out = {}
    for size in sizes:
        scores = []
        for label in tasks:
            chosen = specific_latents(Z_fit, y_fit, label, size, absolute=binary)
            probe = _probe(Z_fit[:, chosen], y_fit == label)
            scores.append(balanced_accuracy_score(y_test == label, probe.predict(Z_test[:, chosen])))
        out[f"sparse_probe_{size}"] = float(np.mean(scores))
    return out


def activation_probes(X: np.ndarray, y: np.ndarray, classes=None, fit_on: int | None = None) -> dict:
    """TPP's probes: one logistic probe per class (against the rest) on the activations, fitted on the first
    ``fit_on`` samples (all by default); ``{label: probe}`` in the order of ``classes`` (every label, sorted,
    by default)."""
    tasks = list(np.unique(y[:fit_on]) if classes is None else classes)
    return {label: _probe(X[:fit_on], y[:fit_on] == label) for label in tasks}


def tpp_with_probes(
    probes: dict,
    X_test: np.ndarray,
    y_test: np.ndarray,
    Z_select: np.ndarray,
    y_select: np.ndarray,
    Z_test: np.ndarray,
    D: np.ndarray,
    n_ablate: int,
) -> dict:
    """TPP with given probes (:func:`activation_probes`, fitted once and shared by many SAEs): for each class i
    the ``n_ablate`` latents most specific to i on ``(Z_select, y_select)`` are removed from the test
    activations; ``drops[i, j]`` is probe j's loss of balanced accuracy. Returns ``tpp_targeted`` (mean of
    ``drops[i, i]``), ``tpp_others`` (mean of ``drops[i, j]``, i != j) and ``tpp`` (their difference).

    SAEBench chooses class i's latents by their attribution to probe i (mean difference times probe weight
    times decoder row, the difference clipped at 0), over several latent counts; we choose by mean difference,
    at one count. Needs three classes or more: with two, the two probes mirror each other and TPP is 0 by
    construction."""
    if len(probes) < 3:
        raise ValueError(f"TPP needs at least three classes (got {len(probes)}: {list(probes)})")
    labels = list(probes)
    base = np.array([balanced_accuracy_score(y_test == j, probes[j].predict(X_test)) for j in labels])
    drops = np.zeros((len(labels), len(labels)))
    for row, i in enumerate(labels):
        chosen = specific_latents(Z_select, y_select, i, n_ablate)
        ablated = X_test - Z_test[:, chosen] @ D[chosen]
        drops[row] = base - [balanced_accuracy_score(y_test == j, probes[j].predict(ablated)) for j in labels]
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    targeted, others = float(np.mean(np.diag(drops))), float(np.mean(drops[off_diagonal]))
    return {"tpp_targeted": targeted, "tpp_others": others, "tpp": targeted - others}


def targeted_probe_perturbation(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    Z_train: np.ndarray,
    Z_test: np.ndarray,
    D: np.ndarray,
    n_ablate: int,
    classes=None,
    fit_on: int | None = None,
) -> dict:
    """TPP: probes per class on the training activations (:func:`activation_probes`), latents chosen on the
    training codes (the codes of the same samples), the drops measured on the test samples
    (:func:`tpp_with_probes`, which says what is returned and how we differ from SAEBench)."""
    probes = activation_probes(X_train, y_train, classes, fit_on)
    return tpp_with_probes(probes, X_test, y_test, Z_train, y_train, Z_test, D, n_ablate)


def _binary(labels: np.ndarray, name: str) -> np.ndarray:
    """True where ``labels`` takes the larger of its two values (True, 1, or the later string)."""
    values = np.unique(labels)
    if len(values) != 2:
        raise ValueError(f"SCR's {name} label must take exactly two values (got {list(values)})")
    return np.asarray(labels) == values[1]


def spurious_correlation_removal(
    X: np.ndarray,
    Z: np.ndarray,
    D: np.ndarray,
    target: np.ndarray,
    spurious: np.ndarray,
    n_ablate: int,
    seed: int = 0,
    test_fraction: float = 0.5,
) -> dict:
    """SCR (SAEBench's spurious correlation removal, after SHIFT): can removing an SAE's latents for a spurious
    label debias a probe that learned to lean on it?

    ``target`` and ``spurious`` are binary labels (booleans, or two values each: the larger value of one is
    paired with the larger of the other, so pass booleans to say which pairs). Samples fall in four cells
    (target, spurious). From each cell, ``test_fraction`` of the smallest cell's count, drawn at random
    (``seed``), are held out as the *balanced test set* (equal counts per cell); of the rest:

    - the *biased training set*: (1, 1) and (0, 0) samples only, as many of each (the smaller cell's count), so
      that target and spurious agree perfectly;
    - the *balanced training set*: as many samples from each of the four cells (the smallest cell's count).

    A logistic probe for the target fitted on the biased set scores ``A_base`` (balanced accuracy for the
    target label on the balanced test set); one fitted on the balanced set, the *oracle*, scores ``A_oracle``.
    The latents to remove: on the biased set target and spurious are confounded, so (as SAEBench) latents are
    chosen by their attribution to a probe for the spurious label. A spurious-label probe (weights w) is fitted
    on the balanced training set, and each latent l is scored by |mean code difference between the spurious
    classes, on the balanced training set| x |w . D[l]|; the ``n_ablate`` highest (ties in index order) are
    removed from the test activations (``X - Z[:, S] @ D[S]``), and the biased probe, unchanged and not
    retrained, scores ``A_abl`` for the target. SCR = (A_abl - A_base) / (A_oracle - A_base): 1 when removing
    the latents closes the whole gap, 0 when it does nothing. Where the gap is below ``SCR_MIN_GAP`` (the
    biased probe did not lean on the spurious label) SCR is NaN and ``scr_defined`` False.

    Probes are fitted on the activations divided by their root-mean-square entry (one number, the codes
    likewise), so that the probes' L2 penalty (sklearn's default C = 1) means the same whatever the
    activations' units. Where we differ from SAEBench: it uses two fixed data sets (Bias in Bios:
    profession and gender; Amazon reviews: category and rating), both directions of each pair (keeping the
    one whose biased probe leans more on the spurious label), and several latent counts; its spurious probe's
    attribution data is the paired classes' samples. Here: one labelling, one direction, one count.

    Returns ``scr``, ``scr_base``, ``scr_ablated``, ``scr_oracle``, ``scr_defined`` and the sample counts
    ``scr_n_biased`` (biased training set), ``scr_n_balanced`` (balanced training set), ``scr_n_test``.
    Raises ValueError where a cell has fewer than ``SCR_MIN_CELL`` samples."""
    t, s = _binary(target, "target"), _binary(spurious, "spurious")
    cells = {(a, b): np.flatnonzero((t == a) & (s == b)) for a in (True, False) for b in (True, False)}
    counts = ", ".join(f"(target={int(a)}, spurious={int(b)}): {len(i)}" for (a, b), i in cells.items())
    if min(len(i) for i in cells.values()) < SCR_MIN_CELL:
        raise ValueError(f"SCR needs at least {SCR_MIN_CELL} samples in each cell; cell counts {counts}")
    rng = np.random.default_rng(seed)
    cells = {cell: rng.permutation(index) for cell, index in cells.items()}
    n_test = int(test_fraction * min(len(i) for i in cells.values()))
    test = np.concatenate([index[:n_test] for index in cells.values()])
    rest = {cell: index[n_test:] for cell, index in cells.items()}
    n_biased = min(len(rest[True, True]), len(rest[False, False]))
    biased = np.concatenate([rest[True, True][:n_biased], rest[False, False][:n_biased]])
    n_balanced = min(len(i) for i in rest.values())
    balanced = np.concatenate([index[:n_balanced] for index in rest.values()])

    scale = float(np.sqrt(np.mean(np.square(X))))
    scale = scale if scale > 0 else 1.0
    Xs, Zs = X / scale, Z / scale
    biased_probe = _probe(Xs[biased], t[biased], seed)
    oracle = _probe(Xs[balanced], t[balanced], seed)
    spurious_probe = _probe(Xs[balanced], s[balanced], seed)
    on_balanced, s_balanced = Zs[balanced], s[balanced]
    difference = on_balanced[s_balanced].mean(axis=0) - on_balanced[~s_balanced].mean(axis=0)
    attribution = np.abs(difference) * np.abs(D @ spurious_probe.coef_[0])
    chosen = np.argsort(-attribution, kind="stable")[:n_ablate]
    ablated = Xs[test] - Zs[test][:, chosen] @ D[chosen]

    def accuracy(probe, x):
        return float(balanced_accuracy_score(t[test], probe.predict(x)))

    base, oracle_score = accuracy(biased_probe, Xs[test]), accuracy(oracle, Xs[test])
    ablated_score = accuracy(biased_probe, ablated)
    gap = oracle_score - base
    defined = bool(gap >= SCR_MIN_GAP)
    return {
        "scr": (ablated_score - base) / gap if defined else float("nan"),
        "scr_base": base,
        "scr_ablated": ablated_score,
        "scr_oracle": oracle_score,
        "scr_defined": defined,
        "scr_n_biased": int(len(biased)),
        "scr_n_balanced": int(len(balanced)),
        "scr_n_test": int(len(test)),
    }
