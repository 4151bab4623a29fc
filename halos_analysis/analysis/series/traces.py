# SPDX-License-Identifier: MIT
"""Intensity traces of a series and the elution peaks in them.

The trace used to find peaks and buffer is the total intensity Σ_q I of each frame. It is
smoothed with a Savitzky–Golay filter (window ≤ 51 frames, order 5, as RAW does), and its
baseline is the straight line fitted to the frames outside every peak, iterated (a peak
found against a first, low-percentile baseline is masked, the line refitted). A peak is
significant when its prominence exceeds :data:`PEAK_SIGNIFICANCE` times the smoothed
trace's noise; its footprint runs to where the smoothed trace comes back within
:data:`EDGE_SIGMA` noise of the baseline. Noise comes from the frame-to-frame scatter of
the raw trace (median absolute first difference), scaled through the filter's
coefficients, so the thresholds carry over between runs of any brightness.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from halos_analysis.analysis.series.results import Peak, SeriesTraces
from halos_analysis.types import FrameCurves

__all__ = ["EDGE_SIGMA", "PEAK_SIGNIFICANCE", "find_peaks", "intensity_traces", "smooth_trace"]

#: A peak's prominence must exceed this many noise σ of the smoothed trace.
PEAK_SIGNIFICANCE = 10.0
#: A peak's footprint ends where the smoothed trace is within this many σ of the baseline.
EDGE_SIGMA = 3.0
#: Peaks lower than this fraction of the most prominent one are merged into its shoulders
#: for range searches (a tiny bump on a tail is not a separate species to look for).
MIN_RELATIVE_PROMINENCE = 0.05


def _noise(trace: np.ndarray) -> float:
    # Frame-to-frame scatter: MAD of first differences / (0.6745·√2); robust to the peak.
    d = np.diff(trace)
    if d.size < 2:
        return 0.0
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / math.sqrt(2.0))


def smooth_trace(trace: np.ndarray, window: int | None = None) -> tuple[np.ndarray, int]:
    """Savitzky–Golay smoothing (order ≤ 5, window ≤ 51 frames, odd, ≤ half the run).

    Returns
    -------
    smoothed : ndarray
    window : int
        The window used (1 when the run is too short to smooth).
    """
    n = len(trace)
    if window is None:
        window = min(51, n // 2)
    window = int(window) | 1  # odd
    if window < 5 or n < window:
        return np.asarray(trace, dtype=float).copy(), 1
    order = min(5, window - 2)
    return signal.savgol_filter(trace, window, order), window


def intensity_traces(
    frames: FrameCurves,
    q_range: tuple[float, float] | None = None,
    q_ref: float | None = None,
    smooth_window: int | None = None,
) -> SeriesTraces:
    """Total, mean, q-range and single-q intensity of every frame, smoothed, with baseline.

    Parameters
    ----------
    frames : FrameCurves
        The series (unsubtracted or subtracted).
    q_range : (float, float), optional
        q range of ``q_range_sum`` in the frames' q unit (default: the lowest fifth of the
        q range, where a protein's signal is).
    q_ref : float, optional
        q of ``q_ref_value`` (default: the middle of ``q_range``).
    smooth_window : int, optional
        Savitzky–Golay window in frames (default ≤ 51, see :func:`smooth_trace`).

    Returns
    -------
    SeriesTraces
    """
    q, inten = frames.q, frames.intensity
    if q_range is None:
        q_range = (float(q[0]), float(q[max(len(q) // 5, 1)]))
    lo, hi = q_range
    sel = (q >= lo) & (q <= hi)
    if not sel.any():
        sel[np.argmin(np.abs(q - lo))] = True
    if q_ref is None:
        q_ref = 0.5 * (lo + hi)
    k = int(np.argmin(np.abs(q - q_ref)))
    total = inten.sum(axis=1)
    smoothed, window = smooth_trace(total, smooth_window)
    noise = _noise(total)
    if window > 1:
        order = min(5, window - 2)
        coeffs = signal.savgol_coeffs(window, order)
        s_noise = noise * float(np.sqrt(np.sum(coeffs**2)))
    else:
        s_noise = noise
    baseline = _baseline(smoothed, s_noise)
    return SeriesTraces(
        total=total,
        mean=inten.mean(axis=1),
        q_range_sum=inten[:, sel].sum(axis=1),
        q_ref_value=inten[:, k].copy(),
        smoothed=smoothed,
        baseline=baseline,
        q_range=(float(lo), float(hi)),
        q_ref=float(q[k]),
        q_unit=frames.q_unit,
        noise=noise,
        smoothed_noise=s_noise,
        smooth_window=window,
    )


def _baseline(smoothed: np.ndarray, noise: float, n_iter: int = 4) -> np.ndarray:
    """Straight line through the frames outside the peaks, found by masking and refitting."""
    n = len(smoothed)
    x = np.arange(n, dtype=float)
    if n < 3:
        return np.full(n, float(np.median(smoothed)) if n else 0.0)
    # Start from the quieter part of the run: most SEC frames are buffer.
    keep = smoothed <= np.percentile(smoothed, 30)
    line = np.full(n, float(np.median(smoothed[keep])))
    for _ in range(n_iter):
        if keep.sum() < 2:
            break
        b, a = np.polyfit(x[keep], smoothed[keep], 1)
        line = a + b * x
        new = smoothed - line <= EDGE_SIGMA * max(noise, 1e-300)
        # Also drop the frames next to a rise: the flanks of a peak pull the line up.
        if new.sum() < max(3, n // 10) or np.array_equal(new, keep):
            break
        keep = new
    return line


def find_peaks(traces: SeriesTraces) -> list[Peak]:
    """Significant elution peaks of the smoothed trace above its baseline, by prominence.

    Parameters
    ----------
    traces : SeriesTraces

    Returns
    -------
    list of Peak
        Sorted by position; empty when nothing rises :data:`PEAK_SIGNIFICANCE` σ above the
        baseline (a run with no peak).
    """
    y = traces.smoothed - traces.baseline
    noise = max(traces.smoothed_noise, 1e-300)
    n = len(y)
    if n < 5:
        return []
    idx, props = signal.find_peaks(y, prominence=PEAK_SIGNIFICANCE * noise)
    if len(idx) == 0:
        return []
    prom = props["prominences"]
    big = prom >= MIN_RELATIVE_PROMINENCE * prom.max()
    idx, prom = idx[big], prom[big]
    widths = signal.peak_widths(y, idx, rel_height=0.5)[0]
    above = y > EDGE_SIGMA * noise
    peaks = []
    for p, pr, w in zip(idx, prom, widths, strict=True):
        left = p
        while left > 0 and above[left - 1]:
            left -= 1
        right = p
        while right < n - 1 and above[right + 1]:
            right += 1
        peaks.append(
            Peak(
                position=int(p),
                left=int(left),
                right=int(right),
                height=float(y[p]),
                prominence=float(pr),
                fwhm=float(w),
                significance=float(pr / noise),
            )
        )
    return peaks
