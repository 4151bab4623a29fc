# SPDX-License-Identifier: MIT
"""Frame similarity (CorMap) and frame selection.

The CorMap test (Franke, Jeffries & Svergun 2015, Nat. Methods 12:419) asks whether two
curves measured on the same q grid differ by more than noise: if they do not, the signs of
the point-by-point differences behave like fair coin flips, and the longest run of equal
signs follows Schilling's (1990) distribution. A long run means a systematic difference.

Conventions (the same as BioXTAS RAW and ATSAS ``datcmp`` for frames of one measurement):
the raw intensities are compared without scaling, over every point of the common q grid;
a difference of exactly zero ends a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.reduce._grid import check_same_grid
from halos_analysis.reduce.cormap import cormap_pairs
from halos_analysis.types import Curve, SimilarityResult

__all__ = ["cormap_pvalue", "cormap_test", "longest_run", "select_frames"]

_CORRECTIONS = ("bonferroni", "holm", "none")


def longest_run(diff: np.ndarray) -> int:
    """Length of the longest run of strictly positive or strictly negative values.

    Zeros belong to neither sign and end any run.
    """
    s = np.sign(np.asarray(diff, dtype=np.float64))
    if s.size == 0 or not s.any():
        return 0
    # Boundaries where the sign changes (a zero differs from both signs).
    change = np.flatnonzero(np.diff(s) != 0) + 1
    edges = np.concatenate(([0], change, [s.size]))
    lengths = np.diff(edges)
    signs = s[edges[:-1]]
    lengths = lengths[signs != 0]
    return int(lengths.max()) if lengths.size else 0


@lru_cache(maxsize=4096)
def _count_no_run_longer(n: int, k: int) -> int:
    """Number of head/tail sequences of length n whose longest run of heads is ≤ k.

    Schilling's recursion A_n(k) = Σ_{j=0..k} A_{n-1-j}(k) with A_m(k) = 2^m for m ≤ k,
    kept in exact integers with a running window sum (O(n)).
    """
    if n <= k:
        return 2**n
    a = [2**m for m in range(k + 1)]  # A_0 .. A_k
    window = sum(a)  # A_{m-1} + ... + A_{m-1-k} for m = k+1
    for m in range(k + 1, n + 1):
        a.append(window)
        window += a[m] - a[m - 1 - k]
    return a[n]


def cormap_pvalue(n: int, c: int) -> float:
    """Probability that the longest run of either sign in n fair coin flips is ≥ c.

    Sequences with no run of either sign longer than c − 1 correspond one-to-one (through the
    sequence of "same as previous" flags) to 2 × sequences of n − 1 flips without a run of
    heads of length c − 1, hence P = 1 − 2·A_{n−1}(c − 2) / 2ⁿ.

    Parameters
    ----------
    n : int
        Number of compared points.
    c : int
        Observed longest run.
    """
    if c <= 0 or n <= 0:
        return 1.0
    if c == 1:
        return 1.0
    if c > n:
        return 0.0
    fits = 2 * _count_no_run_longer(n - 1, c - 2)
    return float(Fraction(2**n - fits, 2**n))


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Multiple-testing correction of a 1D array of p-values."""
    m = p.size
    if correction == "none" or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(1.0, p * m)
    # Holm step-down: sorted p_(i) times (m − i), made monotone, capped at 1.
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adj_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty_like(p)
    out[order] = adj_sorted
    return out


def _check_correction(correction: str) -> str:
    key = correction.strip().lower()
    if key not in _CORRECTIONS:
        raise HalosInputError(
            f"unknown multiple-testing correction {correction!r} (use one of {_CORRECTIONS})",
            field="correction",
        )
    return key


def cormap_test(
    curves: Sequence[Curve], correction: str = "bonferroni", alpha: float = 0.01
) -> SimilarityResult:
    """Pairwise CorMap test of curves on one q grid.

    Parameters
    ----------
    curves : sequence of Curve
        At least two curves with the same q unit and q grid (frames of one measurement).
    correction : {"bonferroni", "holm", "none"}
        Multiple-testing correction over the n(n−1)/2 pairs.
    alpha : float
        Level an adjusted p-value is judged against (recorded in the result; this function
        rejects nothing, :func:`select_frames` does).

    Returns
    -------
    SimilarityResult
        ``pvalues`` (symmetric, diagonal 1), ``adjusted``, ``longest_run`` (diagonal 0);
        ``selected`` holds every frame and ``rejected`` is empty (see :func:`select_frames`).

    Raises
    ------
    HalosInputError
        Fewer than two curves, different q grids or units, or an unknown correction.

    Examples
    --------
    >>> import numpy as np
    >>> from halos_analysis.types import Curve
    >>> q = np.linspace(0.1, 2.0, 50)
    >>> rng = np.random.default_rng(0)
    >>> frames = [
    ...     Curve(q, 1 + rng.normal(0, 0.01, 50), np.full(50, 0.01), "nm^-1") for _ in range(3)
    ... ]
    >>> res = cormap_test(frames)
    >>> res.pvalues.shape
    (3, 3)
    >>> bool(res.pvalues[0, 1] > 0.01)  # frames of one measurement: no difference
    True
    """
    correction = _check_correction(correction)
    if not 0 < alpha < 1:
        raise HalosInputError(f"alpha must be between 0 and 1, got {alpha}", field="alpha")
    if len(curves) < 2:
        raise HalosInputError("CorMap needs at least two curves", field="curves")
    check_same_grid(curves, "compare")
    n = len(curves)
    data = np.vstack([c.intensity for c in curves])
    npts = data.shape[1]
    # Run lengths of all pairs at once (blockwise); the exact p-value of each distinct run.
    runs, _ = cormap_pairs(data)
    iu, ju = np.triu_indices(n, 1)
    exact = {int(c): cormap_pvalue(npts, int(c)) for c in np.unique(runs[iu, ju])}
    pvals = np.ones((n, n))
    pvals[iu, ju] = pvals[ju, iu] = [exact[int(c)] for c in runs[iu, ju]]
    adjusted = np.ones((n, n))
    adj = _adjust(pvals[iu, ju], correction)
    adjusted[iu, ju] = adjusted[ju, iu] = adj
    return SimilarityResult(
        pvalues=pvals,
        adjusted=adjusted,
        longest_run=runs,
        alpha=float(alpha),
        correction=correction,
        selected=tuple(range(n)),
        rejected={},
    )


def select_frames(
    curves: Sequence[Curve],
    alpha: float = 0.01,
    correction: str = "bonferroni",
    reference: str = "first",
) -> SimilarityResult:
    """Choose the largest set of mutually consistent frames by the CorMap test.

    Two frames are *consistent* when their adjusted CorMap p-value is ≥ ``alpha``.

    ``reference="first"`` (the usual rule for static measurements, as in ATSAS/BM29 and RAW):
    radiation damage shows as later frames drifting away from the first one, so every frame
    is compared with a reference frame and kept when consistent with it. The reference is
    the first frame unless that frame is itself an outlier (inconsistent with more than half
    of the other frames, e.g. a bubble in the first exposure); then it is the earliest frame
    that is not. The correction covers the n − 1 comparisons with the reference.

    ``reference="all"``: every pair is tested (correction over n(n−1)/2 pairs) and frames are
    dropped one at a time, always the one inconsistent with the most remaining frames (ties:
    the later frame, since damage grows with dose), until all remaining pairs are consistent.
    This catches single outliers anywhere in the series.

    Parameters
    ----------
    curves : sequence of Curve
        Frames of one measurement on one q grid.
    alpha : float
        Significance level for the adjusted p-values.
    correction : {"bonferroni", "holm", "none"}
        Multiple-testing correction.
    reference : {"first", "all"}
        Selection rule, see above.

    Returns
    -------
    SimilarityResult
        ``selected`` (indices into ``curves``), ``rejected`` (index → reason). ``adjusted``
        holds the all-pairs correction, except the reference's row and column in
        ``"first"`` mode, which hold the p-values adjusted over the n − 1 reference tests.
    """
    correction = _check_correction(correction)
    if reference not in ("first", "all"):
        raise HalosInputError(
            f"unknown frame reference {reference!r} (use 'first' or 'all')", field="reference"
        )
    if not 0.0 < alpha < 1.0:
        raise HalosInputError(f"alpha must be between 0 and 1, got {alpha}", field="alpha")
    if len(curves) == 1:
        one = np.ones((1, 1))
        return SimilarityResult(one, one, np.zeros((1, 1), int), alpha, correction, (0,), {})
    res = cormap_test(curves, correction)
    n = len(curves)
    adjusted = res.adjusted.copy()
    rejected: dict[int, str] = {}

    if reference == "first":
        ok_all = res.adjusted >= alpha
        n_bad = (~ok_all).sum(axis=1)
        ref = next((i for i in range(n) if n_bad[i] <= (n - 1) / 2), 0)
        others = np.array([i for i in range(n) if i != ref])
        adj = _adjust(res.pvalues[ref, others], correction)
        adjusted[ref, others] = adjusted[others, ref] = adj
        for i, p in zip(others, adj, strict=True):
            if p >= alpha:
                continue
            why = (
                f"differs from reference frame {ref} (CorMap adjusted p = {p:.3g} < {alpha}, "
                f"longest run {res.longest_run[ref, i]} of {len(curves[0])} points)"
            )
            if i < ref:
                # Earlier frames were passed over as reference because they are outliers.
                why = f"outlier: inconsistent with {n_bad[i]} of {n - 1} other frames; {why}"
            rejected[int(i)] = why
    else:
        keep = list(range(n))
        ok = res.adjusted >= alpha
        while True:
            sub = ok[np.ix_(keep, keep)]
            bad = (~sub).sum(axis=1)
            if bad.max() == 0:
                break
            worst_pos = max(range(len(keep)), key=lambda k: (bad[k], keep[k]))
            worst = keep.pop(worst_pos)
            rejected[worst] = (
                f"inconsistent with {bad[worst_pos]} of {len(keep)} remaining frames "
                f"(CorMap adjusted p < {alpha})"
            )
    selected = tuple(i for i in range(n) if i not in rejected)
    return dataclasses.replace(
        res, adjusted=adjusted, alpha=float(alpha), selected=selected, rejected=rejected
    )
