# SPDX-License-Identifier: MIT
"""Baseline correction of a subtracted series between a buffer before and one after the peaks.

* **linear**: for every q, a straight line in frame number fitted (weighted by 1/σ²) to the
  frames of both ranges, subtracted from every frame (slow drift of beam or detector);
* **integral**: for capillary fouling, where what sticks to the capillary grows with the
  protein that has passed — the baseline at frame j is the offset Δ(q) between the end and
  start ranges times the fraction of the protein eluted before j (zero before the peaks,
  Δ after them). The eluted amount is measured with the baseline removed, so it is found by
  fixed-point iteration (see :func:`integral_baseline`).

The integral iteration stops when the eluted fraction changes by less than ``rtol`` between
two iterations — an actual convergence test (RAW compares b with a copy of itself, so its
test always runs to the iteration limit); ``converged`` says whether it was met.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from halos_analysis.analysis.series.results import Baseline
from halos_analysis.errors import HalosInputError
from halos_analysis.types import FrameCurves

__all__ = ["correct_baseline", "integral_baseline", "linear_baseline"]

Range = tuple[int, int]


def _check(n: int, start: Range, end: Range) -> None:
    for name, (a, b) in (("start", start), ("end", end)):
        if not (0 <= a <= b < n):
            raise HalosInputError(
                f"baseline {name} range {a}-{b} is outside the run (frames 0-{n - 1})",
                field="baseline",
            )
    if start[1] >= end[0]:
        raise HalosInputError(
            f"baseline start range {start[0]}-{start[1]} must end before the end range "
            f"{end[0]}-{end[1]} begins",
            field="baseline",
        )


def linear_baseline(subtracted: FrameCurves, start: Range, end: Range) -> Baseline:
    """Weighted straight line per q through the frames of both ranges (see module notes)."""
    n = len(subtracted)
    _check(n, start, end)
    idx = np.r_[start[0] : start[1] + 1, end[0] : end[1] + 1]
    x = idx.astype(float)
    y = subtracted.intensity[idx]
    w = 1.0 / np.square(np.where(subtracted.sigma[idx] > 0, subtracted.sigma[idx], np.inf))
    sw, sx, sxx = w.sum(0), (w * x[:, None]).sum(0), (w * x[:, None] ** 2).sum(0)
    sy, sxy = (w * y).sum(0), (w * x[:, None] * y).sum(0)
    det = sw * sxx - sx * sx
    slope = (sw * sxy - sx * sy) / det
    icpt = (sxx * sy - sx * sxy) / det
    corr = icpt[None, :] + slope[None, :] * np.arange(n, dtype=float)[:, None]
    return Baseline("linear", tuple(start), tuple(end), corr, True, 0, 0.0)


def integral_baseline(
    subtracted: FrameCurves,
    start: Range,
    end: Range,
    *,
    max_iter: int = 100,
    rtol: float = 1e-8,
    smooth_window: int = 51,
) -> Baseline:
    """Integral (fouling) baseline by fixed-point iteration with a real convergence test.

    The deposit's profile is the offset Δ(q) between the end and start ranges; its amount
    at frame j is proportional to the protein eluted before j, measured on the q-summed
    intensity with the baseline removed, m_j = T_j − Δ_T·M_j/M_N (M the running sum of m,
    T the smoothed total intensity, Δ_T the offset of T). That scalar fixed point is
    iterated until the fraction M_j/M_N changes by less than ``rtol``; then
    b_j(q) = Δ(q)·M_j/M_N. Working on the summed trace rather than q by q (as RAW does)
    keeps the iteration stable where a q bin holds almost no protein signal, whose sum
    would otherwise be divided by.

    Parameters
    ----------
    subtracted : FrameCurves
        Frames subtracted with the buffer of the start range.
    start, end : (first, last)
        Buffer ranges before and after the peaks.
    max_iter : int
        Iteration limit.
    rtol : float
        Convergence: the largest change of the eluted fraction between iterations.
    smooth_window : int
        Savitzky–Golay window (frames, order ≤ 5) of the total intensity between the ranges.

    Returns
    -------
    Baseline
        Flagged ``"no_eluted_signal"`` (and not converged) when nothing elutes between the
        ranges.
    """
    n = len(subtracted)
    _check(n, start, end)
    inten = subtracted.intensity
    delta = inten[end[0] : end[1] + 1].mean(axis=0) - inten[start[0] : start[1] + 1].mean(axis=0)
    lo, hi = start[1], end[0]
    total = inten[lo : hi + 1].sum(axis=1)
    m = len(total)
    win = min(smooth_window, m // 2) | 1
    if win >= 5:
        total = signal.savgol_filter(total, win, min(5, win - 2))
    d_total = float(delta.sum())
    frac = np.zeros(m)
    converged = False
    change = np.inf
    it = 0
    flags: list[str] = []
    while it < max_iter:
        it += 1
        eluted = total - d_total * frac
        cum = np.zeros(m)
        np.cumsum(eluted[:-1], out=cum[1:])
        if not cum[-1] > 0:
            flags.append("no_eluted_signal")
            break
        new = cum / cum[-1]
        change = float(np.abs(new - frac).max())
        frac = new
        if change <= rtol:
            converged = True
            break
    corr = np.zeros_like(inten)
    corr[lo : hi + 1] = frac[:, None] * delta[None, :]
    corr[hi + 1 :] = delta[None, :]
    if not converged and "no_eluted_signal" not in flags:
        flags.append("not_converged")
    return Baseline("integral", tuple(start), tuple(end), corr, converged, it, change, tuple(flags))


def correct_baseline(
    subtracted: FrameCurves, start: Range, end: Range, method: str = "integral"
) -> Baseline:
    """The baseline of ``method`` (``"linear"`` or ``"integral"``) between two buffer ranges."""
    if method == "linear":
        return linear_baseline(subtracted, start, end)
    if method == "integral":
        return integral_baseline(subtracted, start, end)
    raise HalosInputError(
        f"unknown baseline method {method!r} (linear, integral)", field="baseline"
    )
