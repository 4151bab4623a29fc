# SPDX-License-Identifier: MIT
"""CorMap at series scale: run lengths of many curve pairs at once, p-values tabulated per n.

:func:`halos_analysis.reduce.cormap_test` compares every pair of a handful of frames; a
SEC run holds thousands. Here the longest run of equal signs is found for every row of a
2-D difference matrix in one pass (run starts from a cumulative maximum over the sign
changes), the p-values of every possible run length for a given number of points are
tabulated once (Schilling's recursion in floating point, vectorised over the run length),
and the full pair matrix is built blockwise only when asked for.

The p-values equal those of :func:`halos_analysis.reduce.cormap_pvalue` (exact rational
arithmetic) to better than 1e-12 absolute; the test suite checks every run length.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "adjust_pvalues",
    "cormap_against_reference",
    "cormap_pairs",
    "longest_runs",
    "pvalue_table",
]


def longest_runs(diff: np.ndarray) -> np.ndarray:
    """Longest run of strictly positive or strictly negative values along the last axis.

    Zeros belong to neither sign and end any run (the convention of
    :func:`halos_analysis.reduce.longest_run`).

    All rows are laid end to end: the run starts are the points whose sign differs from the
    previous point's (every row's first point is one), the run lengths are the gaps
    between consecutive starts, and each row's longest is a ``maximum.reduceat`` over its
    runs — linear in the number of points, with one int8 and one boolean copy of the data.

    Parameters
    ----------
    diff : ndarray, shape (..., n)
        Differences, one comparison per row.

    Returns
    -------
    ndarray of int64, shape (...)
        The longest run of each row (0 for an all-zero row).
    """
    d = np.asarray(diff)
    shape = d.shape[:-1]
    n = d.shape[-1] if d.ndim else 0
    if n == 0 or d.size == 0:
        return np.zeros(shape, dtype=np.int64)
    s = np.sign(d).astype(np.int8).reshape(-1, n)
    m = s.shape[0]
    new = np.empty(s.shape, dtype=bool)
    new[:, 0] = True
    np.not_equal(s[:, 1:], s[:, :-1], out=new[:, 1:])
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, m * n))
    lengths[s.ravel()[starts] == 0] = 0
    first = np.searchsorted(starts, np.arange(m, dtype=np.int64) * n)
    return np.maximum.reduceat(lengths, first).astype(np.int64).reshape(shape)


@lru_cache(maxsize=64)
def _table(n: int) -> np.ndarray:
    # a_m(k) = A_m(k)/2^m: probability that m fair flips have no run of heads longer than
    # k, advanced in m for every k at once with Schilling's window sum
    # W_m(k) = Σ_{j=0..k} a_{m-1-j}(k)·2^-(j+1), so that a_m = W_m for m > k (1 for m ≤ k)
    # and W_{m+1} = (a_m + W_m − a_{m-1-k}·2^-(k+1)) / 2. O(n²) instead of exact big
    # integers per run length.
    m_max = n - 1
    ks = np.arange(max(n, 1), dtype=np.int64)
    tail = np.ldexp(1.0, -(ks + 1).astype(np.int32) if len(ks) else 0)  # 2^-(k+1)
    hist = np.empty((m_max + 1, len(ks)))
    hist[0] = 1.0
    window = np.full(len(ks), 0.5)  # W_1 = a_0/2
    for m in range(1, m_max + 1):
        a = np.where(ks >= m, 1.0, window)
        hist[m] = a
        back = m - 1 - ks
        old = np.where(back >= 0, hist[np.clip(back, 0, None), ks], 0.0)
        window = 0.5 * (a + window - old * tail)
    p = np.empty(n + 2)
    p[:2] = 1.0  # c = 0 or 1: certain
    c = np.arange(2, n + 1)
    p[2 : n + 1] = 1.0 - hist[m_max, c - 2]
    p[n + 1] = 0.0
    np.clip(p, 0.0, 1.0, out=p)
    p.setflags(write=False)
    return p


def pvalue_table(n: int) -> np.ndarray:
    """CorMap p-value of every longest run c = 0..n+1 for curves of n points.

    ``table[c]`` is the probability that the longest run of either sign in n fair coin flips
    is at least c: 1 for c ≤ 1, 0 for c > n. Computed once per n (cached).

    Parameters
    ----------
    n : int
        Number of compared points (≥ 1).

    Returns
    -------
    ndarray, shape (n + 2,)
        Read-only table indexed by the run length.
    """
    if n < 1:
        raise ValueError(f"CorMap needs at least one point, got n = {n}")
    return _table(int(n))


def adjust_pvalues(p: np.ndarray, correction: str = "bonferroni", axis: int = -1) -> np.ndarray:
    """Bonferroni or Holm correction of p-values along an axis (the tests of one family).

    Parameters
    ----------
    p : ndarray
        Raw p-values.
    correction : {"bonferroni", "holm", "none"}
        Multiple-testing correction.
    axis : int
        The axis holding one family of tests.

    Returns
    -------
    ndarray
        Adjusted p-values, capped at 1.
    """
    p = np.asarray(p, dtype=np.float64)
    m = p.shape[axis] if p.ndim else 1
    if correction == "none" or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(1.0, p * m)
    if correction != "holm":
        raise ValueError(f"unknown correction {correction!r}")
    pm = np.moveaxis(p, axis, -1)
    order = np.argsort(pm, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(pm, order, axis=-1)
    scaled = np.minimum(1.0, np.maximum.accumulate(sorted_p * (m - np.arange(m)), axis=-1))
    out = np.empty_like(pm)
    np.put_along_axis(out, order, scaled, axis=-1)
    return np.moveaxis(out, -1, axis)


def cormap_against_reference(
    intensity: np.ndarray, reference: np.ndarray, correction: str = "bonferroni"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CorMap test of many curves against one reference curve, all at once.

    Parameters
    ----------
    intensity : ndarray, shape (..., m, n)
        The curves; the second-last axis is one family of m comparisons (corrected together).
    reference : ndarray, shape (..., n)
        The reference curve of each family (broadcast against ``intensity``).
    correction : {"bonferroni", "holm", "none"}
        Correction over the m comparisons of each family.

    Returns
    -------
    pvalues, adjusted : ndarray, shape (..., m)
        Raw and adjusted p-values.
    runs : ndarray of int, shape (..., m)
        Longest runs.
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)[..., None, :]
    runs = longest_runs(intensity - ref)
    table = pvalue_table(intensity.shape[-1])
    p = table[runs]
    return p, adjust_pvalues(p, correction, axis=-1), runs


def cormap_pairs(intensity: np.ndarray, block: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Longest runs and raw p-values of every pair of curves, built blockwise.

    Parameters
    ----------
    intensity : ndarray, shape (m, n)
        The curves on one q grid.
    block : int
        Rows per block (memory ~ 10 × block² × n bytes).

    Returns
    -------
    runs : ndarray of int64, shape (m, m)
        Symmetric, diagonal 0.
    pvalues : ndarray, shape (m, m)
        Symmetric, diagonal 1.
    """
    data = np.asarray(intensity, dtype=np.float64)
    m, n = data.shape
    runs = np.zeros((m, m), dtype=np.int64)
    for a in range(0, m, block):
        rows = data[a : a + block]
        for b in range(a, m, block):
            cols = data[b : b + block]
            r = longest_runs(cols[None, :, :] - rows[:, None, :])
            runs[a : a + block, b : b + block] = r
            runs[b : b + block, a : a + block] = r.T
    np.fill_diagonal(runs, 0)
    p = pvalue_table(n)[runs] if m else np.ones((0, 0))
    if m:
        np.fill_diagonal(p, 1.0)
    return runs, p
