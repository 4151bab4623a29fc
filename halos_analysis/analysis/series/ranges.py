# SPDX-License-Identifier: MIT
"""Automatic buffer and sample ranges of a series, and their validation.

The tests follow BioXTAS RAW's (``validateBuffer``/``validateSample``), with two defects
fixed: the CorMap p-values are judged *after* the multiple-testing correction (RAW computes
the Bonferroni-corrected values and then tests the raw ones), and the number of significant
singular values uses the optimal hard threshold of :mod:`.svd`.

**Buffer range** (unsubtracted frames), valid when

* ``trend``: no monotonic trend of the total intensity with frame number (Spearman,
  p ≥ ``trend_alpha``);
* ``cormap_all`` / ``cormap_low`` / ``cormap_high``: every frame is like the frame of
  median intensity over all q, the lowest third and the highest third of the q points
  (CorMap, Bonferroni over the range's comparisons, adjusted p ≥ ``alpha``);
* ``svd_rank``: exactly one significant singular value.

**Sample range** (subtracted frames), valid when every frame has an Rg and MW
(``parameters``), Rg, MW Vc and MW Vp show no trend (Spearman, p ≥ ``trend_alpha``),
the frames scaled onto the strongest one pass the three CorMap tests, there is one
significant singular value, and averaging the frames in order of decreasing intensity
never lowers the mean signal-to-noise (``snr``: no frame only adds noise).

**Search.** Candidates are tested cheapest test first, vectorised over all candidate
windows (Spearman of every window of a length at once); the expensive tests run only on
the survivors, in order of preference, until one passes. Buffer windows avoid every peak's
footprint and are preferred just before the first peak (nearest first), then after the last
one, then between peaks; each region is searched from long windows (twice the main peak's
FWHM) down to ``min_frames``. Sample windows are centred on a peak, from its FWHM down to
``min_frames``, nearest the apex first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from halos_analysis.analysis.series.results import (
    FrameParameters,
    Peak,
    RangeCheck,
    RangeSearch,
    SeriesTraces,
    Test,
)
from halos_analysis.analysis.series.svd import svd_rank
from halos_analysis.errors import HalosInputError
from halos_analysis.reduce.cormap import cormap_against_reference
from halos_analysis.types import FrameCurves

__all__ = [
    "find_buffer_range",
    "find_sample_range",
    "spearman_windows",
    "validate_buffer_range",
    "validate_sample_range",
]

Range = tuple[int, int]

#: At most this many candidates get the full (CorMap + SVD) validation per search.
_MAX_FULL_CHECKS = 400


def spearman_windows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman correlation with frame order of every row, and its two-sided p-value.

    Rows are windows of equal length L (≥ 3); the p-value uses Student's t with L − 2
    degrees of freedom, as :func:`scipy.stats.spearmanr`. Ties get distinct ranks in
    order (real intensities do not tie).

    Parameters
    ----------
    values : ndarray, shape (K, L)

    Returns
    -------
    rho, p : ndarray, shape (K,)
        A row with NaN has rho NaN and p 0 (it cannot be shown trend-free).
    """
    v = np.asarray(values, dtype=float)
    k, n = v.shape
    if n < 3:
        return np.zeros(k), np.ones(k)
    ranks = np.argsort(np.argsort(v, axis=1, kind="stable"), axis=1).astype(float)
    x = np.arange(n, dtype=float)
    xc = x - x.mean()
    rc = ranks - ranks.mean(axis=1, keepdims=True)
    rho = (rc * xc).sum(axis=1) / np.sqrt((rc * rc).sum(axis=1) * (xc * xc).sum())
    bad = ~np.isfinite(v).all(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt((n - 2) / np.maximum(1.0 - rho * rho, 1e-300))
    p = 2.0 * stats.t.sf(np.abs(t), n - 2)
    rho = np.where(bad, np.nan, rho)
    p = np.where(bad, 0.0, p)
    return rho, p


def _frames_of(ranges: Sequence[Range], n: int, what: str) -> np.ndarray:
    if not ranges:
        raise HalosInputError(f"no {what} range given", field=what)
    idx: list[int] = []
    for r in ranges:
        a, b = int(r[0]), int(r[1])
        if not (0 <= a <= b < n):
            raise HalosInputError(
                f"{what} range {a}-{b} is outside the run (frames 0-{n - 1})", field=f"--{what}"
            )
        idx.extend(range(a, b + 1))
    return np.unique(np.asarray(idx, dtype=np.int64))


def _cormap_tests(intensity: np.ndarray, ref: int, alpha: float, correction: str) -> list[Test]:
    """CorMap of each frame against frame ``ref`` over all q and the low/high thirds."""
    n_f, nq = intensity.shape
    others = np.array([i for i in range(n_f) if i != ref])
    tests = []
    parts = {"cormap_all": slice(0, nq)}
    if nq >= 30:
        third = nq // 3
        parts["cormap_low"] = slice(0, third)
        parts["cormap_high"] = slice(nq - third, nq)
    for name, sl in parts.items():
        if len(others) == 0:
            tests.append(Test(name, True, 1.0, alpha, "one frame"))
            continue
        _, adj, runs = cormap_against_reference(
            intensity[others][:, sl], intensity[ref, sl], correction
        )
        worst = int(np.argmin(adj))
        p_min = float(adj[worst])
        n_bad = int((adj < alpha).sum())
        detail = (
            f"{n_bad} of {len(others)} frames differ from the reference frame "
            f"(longest run {int(runs[worst])} of {sl.stop - sl.start} points)"
        )
        tests.append(Test(name, p_min >= alpha, p_min, alpha, detail))
    return tests


def _check(kind: str, ranges: Sequence[Range], tests: list[Test]) -> RangeCheck:
    failed = tuple(
        f"{t.name}: {t.detail or f'{t.value:.3g} vs {t.threshold:.3g}'}"
        for t in tests
        if not t.passed
    )
    return RangeCheck(
        kind=kind,
        ranges=tuple((int(a), int(b)) for a, b in ranges),
        valid=not failed,
        tests=tuple(tests),
        reasons=failed,
    )


def validate_buffer_range(
    frames: FrameCurves,
    ranges: Sequence[Range],
    *,
    traces: SeriesTraces | None = None,
    alpha: float = 0.01,
    correction: str = "bonferroni",
    trend_alpha: float = 0.05,
) -> RangeCheck:
    """Validate a buffer range of unsubtracted frames (see the module notes for the tests).

    Parameters
    ----------
    frames : FrameCurves
        The unsubtracted series.
    ranges : sequence of (first, last)
        One or several sub-ranges (inclusive frame positions).
    traces : SeriesTraces, optional
        The series' traces (total intensity is recomputed when absent).
    alpha : float
        Level of the corrected CorMap p-values.
    correction : {"bonferroni", "holm", "none"}
        Multiple-testing correction over the range's comparisons.
    trend_alpha : float
        Level of the Spearman trend test.

    Returns
    -------
    RangeCheck

    Raises
    ------
    HalosInputError
        A range outside the run.
    """
    idx = _frames_of(ranges, len(frames), "buffer")
    total = traces.total[idx] if traces is not None else frames.intensity[idx].sum(axis=1)
    tests: list[Test] = []
    if len(idx) >= 3:
        rho, p = spearman_windows(total[None, :])
        tests.append(
            Test(
                "trend",
                bool(p[0] >= trend_alpha),
                float(p[0]),
                trend_alpha,
                f"Spearman ρ = {rho[0]:.3f} of intensity with frame, p = {p[0]:.3g}",
            )
        )
    else:
        tests.append(Test("trend", False, 0.0, trend_alpha, f"only {len(idx)} frames (need ≥ 3)"))
    block = frames.intensity[idx]
    ref = int(np.argmin(np.abs(total - np.median(total))))
    tests.extend(_cormap_tests(block, ref, alpha, correction))
    sv = svd_rank(block, frames.sigma[idx], (int(idx[0]), int(idx[-1])))
    tests.append(
        Test(
            "svd_rank",
            sv.rank == 1,
            float(sv.rank),
            1.0,
            f"{sv.rank} significant singular values (need 1)",
        )
    )
    return _check("buffer", ranges, tests)


def _segments(n: int, peaks: Sequence[Peak]) -> list[tuple[str, int, int]]:
    """Frame segments outside every peak footprint: before, after, between (that order)."""
    if not peaks:
        return [("whole run", 0, n - 1)]
    fp = sorted((p.left, p.right) for p in peaks)
    merged: list[list[int]] = []
    for a, b in fp:
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    segs = [
        ("before the first peak", 0, merged[0][0] - 1),
        ("after the last peak", merged[-1][1] + 1, n - 1),
    ]
    for (_a0, b0), (a1, _b1) in zip(merged[:-1], merged[1:], strict=True):
        segs.append(("between peaks", b0 + 1, a1 - 1))
    return [s for s in segs if s[2] >= s[1]]


def _lengths(l0: int, min_frames: int) -> list[int]:
    out = []
    length = l0
    while length >= min_frames:
        out.append(length)
        nxt = int(round(length / 2))
        if nxt == length:
            break
        length = nxt
    if not out or out[-1] != min_frames and min_frames <= l0:
        out.append(min_frames)
    return sorted(set(out), reverse=True)


def find_buffer_range(
    frames: FrameCurves,
    traces: SeriesTraces,
    peaks: Sequence[Peak],
    *,
    min_frames: int = 10,
    region: str = "auto",
    alpha: float = 0.01,
    correction: str = "bonferroni",
    trend_alpha: float = 0.05,
) -> RangeSearch:
    """Search a valid buffer range of unsubtracted frames away from every peak.

    Parameters
    ----------
    frames : FrameCurves
        The unsubtracted series.
    traces : SeriesTraces
        Its traces.
    peaks : sequence of Peak
        Its peaks (from :func:`.traces.find_peaks`); none: the whole run is searched.
    min_frames : int
        Shortest range accepted.
    region : {"auto", "before", "after"}
        ``"auto"``: before the first peak, then after the last, then between peaks;
        ``"before"`` / ``"after"``: only that side.
    alpha, correction, trend_alpha
        As :func:`validate_buffer_range`.

    Returns
    -------
    RangeSearch
        Falsy with the reason when no window passes.
    """
    n = len(frames)
    main = max(peaks, key=lambda p: p.prominence) if peaks else None
    l0 = n // 2 if main is None else int(round(2 * main.fwhm))
    l0 = max(min(l0, n // 2), min_frames)
    segs = _segments(n, peaks)
    if region == "before":
        segs = [s for s in segs if s[0] == "before the first peak"]
    elif region == "after":
        segs = [s for s in segs if s[0] == "after the last peak"]
    tested = 0
    best_fail: RangeCheck | None = None
    for label, s0, s1 in segs:
        length_seg = s1 - s0 + 1
        for length in _lengths(min(l0, length_seg), min_frames):
            if length > length_seg:
                continue
            starts = np.arange(s0, s1 - length + 2)
            windows = np.lib.stride_tricks.sliding_window_view(traces.total, length)[starts]
            _, p = spearman_windows(windows)
            step = max(1, int(round(length / 4)))
            # Preference: nearest the peak (end of the "before" segment, start of "after").
            order = starts[::-1] if label != "after the last peak" else starts
            order = order[::step]
            for a in order:
                if p[a - s0] < trend_alpha:
                    continue
                if tested >= _MAX_FULL_CHECKS:
                    break
                tested += 1
                chk = validate_buffer_range(
                    frames,
                    [(int(a), int(a + length - 1))],
                    traces=traces,
                    alpha=alpha,
                    correction=correction,
                    trend_alpha=trend_alpha,
                )
                if chk.valid:
                    return RangeSearch("buffer", True, chk.ranges, chk, f"found {label}", tested)
                if best_fail is None or len(chk.reasons) < len(best_fail.reasons):
                    best_fail = chk
    if not segs:
        reason = "the peaks cover the whole run: no frames outside them to use as buffer"
    elif tested == 0:
        reason = (
            f"no window of ≥ {min_frames} frames outside the peaks is free of an intensity "
            "trend (Spearman)"
        )
    else:
        reason = (
            f"none of {tested} candidate windows of ≥ {min_frames} frames outside the peaks "
            "passed validation"
            + (f" (closest: {'; '.join(best_fail.reasons)})" if best_fail else "")
        )
    return RangeSearch("buffer", False, (), best_fail, reason, tested)


def _scaled_to(block: np.ndarray, sigma: np.ndarray, ref: int) -> np.ndarray:
    """Each frame scaled onto frame ``ref`` (weighted least squares), as RAW superimposes."""
    w = 1.0 / np.square(np.where(sigma > 0, sigma, np.inf))
    num = (w * block * block[ref][None, :]).sum(axis=1)
    den = (w * block * block).sum(axis=1)
    scale = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    return block * scale[:, None]


def validate_sample_range(
    subtracted: FrameCurves,
    params: FrameParameters,
    ranges: Sequence[Range],
    *,
    alpha: float = 0.01,
    correction: str = "bonferroni",
    trend_alpha: float = 0.05,
) -> RangeCheck:
    """Validate a sample range of subtracted frames (see the module notes for the tests).

    Parameters
    ----------
    subtracted : FrameCurves
        The subtracted series.
    params : FrameParameters
        Its per-frame Rg and MW.
    ranges : sequence of (first, last)
        Inclusive frame positions.
    alpha, correction, trend_alpha
        As :func:`validate_buffer_range`.

    Returns
    -------
    RangeCheck
    """
    idx = _frames_of(ranges, len(subtracted), "sample")
    tests = _parameter_tests(params, idx, trend_alpha)
    block = subtracted.intensity[idx]
    sig = subtracted.sigma[idx]
    total = block.sum(axis=1)
    ref = int(np.argmax(total))
    tests.extend(_cormap_tests(_scaled_to(block, sig, ref), ref, alpha, correction))
    sv = svd_rank(block, sig, (int(idx[0]), int(idx[-1])))
    tests.append(
        Test(
            "svd_rank",
            sv.rank == 1,
            float(sv.rank),
            1.0,
            f"{sv.rank} significant singular values (need 1)",
        )
    )
    tests.append(_snr_test(block, sig, total))
    return _check("sample", ranges, tests)


def _parameter_tests(params: FrameParameters, idx: np.ndarray, trend_alpha: float) -> list[Test]:
    ok = (
        (params.status[idx] == "ok")
        & np.isfinite(params.mw_vc_kda[idx])
        & np.isfinite(params.mw_vp_kda[idx])
    )
    tests = [
        Test(
            "parameters",
            bool(ok.all()),
            float(ok.sum()),
            float(len(idx)),
            f"{int((~ok).sum())} of {len(idx)} frames have no Rg or MW"
            + (f" ({', '.join(sorted(set(params.status[idx][~ok])))})" if (~ok).any() else ""),
        )
    ]
    for name, values in (
        ("rg_trend", params.rg[idx]),
        ("mw_vc_trend", params.mw_vc_kda[idx]),
        ("mw_vp_trend", params.mw_vp_kda[idx]),
    ):
        if len(idx) < 3:
            tests.append(Test(name, True, 1.0, trend_alpha, "fewer than 3 frames"))
            continue
        rho, p = spearman_windows(values[None, :])
        tests.append(
            Test(
                name,
                bool(p[0] >= trend_alpha),
                float(p[0]),
                trend_alpha,
                f"Spearman ρ = {rho[0]:.3f} with frame, p = {p[0]:.3g}",
            )
        )
    return tests


def _snr_test(block: np.ndarray, sig: np.ndarray, total: np.ndarray) -> Test:
    order = np.argsort(total)[::-1]
    c = np.cumsum(block[order], axis=0)
    v = np.cumsum(np.square(sig[order]), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sn = np.nanmean(np.abs(c) / np.sqrt(v), axis=1)
    drops = np.flatnonzero(np.diff(sn) < 0)
    passed = len(drops) == 0
    detail = (
        "averaging every frame raises the signal-to-noise"
        if passed
        else (
            f"adding frame {int(order[drops[0] + 1])} "
            f"(and {len(order) - drops[0] - 2} weaker ones) lowers"
            " the signal-to-noise of the average"
        )
    )
    return Test("snr", passed, float(len(drops)), 0.0, detail)


def find_sample_range(
    subtracted: FrameCurves,
    params: FrameParameters,
    traces: SeriesTraces,
    peak: Peak,
    *,
    min_frames: int = 5,
    alpha: float = 0.01,
    correction: str = "bonferroni",
    trend_alpha: float = 0.05,
) -> RangeSearch:
    """Search a valid sample range around one peak.

    Parameters
    ----------
    subtracted : FrameCurves
        The subtracted series.
    params : FrameParameters
        Its per-frame parameters.
    traces : SeriesTraces
        The traces (of the subtracted or unsubtracted series: only the shape is used).
    peak : Peak
        The peak to search around.
    min_frames : int
        Shortest range accepted.
    alpha, correction, trend_alpha
        As :func:`validate_sample_range`.

    Returns
    -------
    RangeSearch
    """
    n = len(subtracted)
    apex = peak.position
    half_region = max(int(round(peak.fwhm)), min_frames)
    lo_lim, hi_lim = max(0, apex - half_region), min(n - 1, apex + half_region)
    l0 = max(min(int(round(peak.fwhm)), hi_lim - lo_lim + 1), min_frames)
    ok = (params.status == "ok") & np.isfinite(params.mw_vc_kda) & np.isfinite(params.mw_vp_kda)
    tested = 0
    best_fail: RangeCheck | None = None
    lengths = []
    length = l0
    while length >= min_frames:
        lengths.append(length)
        # Shrink by ~15 %: halving (RAW) skips the best range between two sizes.
        length = min(length - 1, int(round(length * 0.85)))
    for length in lengths:
        starts = np.arange(lo_lim, hi_lim - length + 2)
        if len(starts) == 0:
            continue
        centres = starts + (length - 1) / 2.0
        order = starts[np.argsort(np.abs(centres - apex), kind="stable")]
        step = max(1, int(round(length / 8)))
        order = order[::step] if step > 1 else order
        okw = np.lib.stride_tricks.sliding_window_view(ok, length)
        rgw = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(params.rg), length)
        vcw = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(params.mw_vc_kda), length)
        vpw = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(params.mw_vp_kda), length)
        cheap = okw[order].all(axis=1)
        for arr in (rgw, vcw, vpw):
            cheap &= spearman_windows(arr[order])[1] >= trend_alpha
        for a in order[cheap]:
            if tested >= _MAX_FULL_CHECKS:
                break
            tested += 1
            chk = validate_sample_range(
                subtracted,
                params,
                [(int(a), int(a + length - 1))],
                alpha=alpha,
                correction=correction,
                trend_alpha=trend_alpha,
            )
            if chk.valid:
                return RangeSearch(
                    "sample",
                    True,
                    chk.ranges,
                    chk,
                    f"around the peak at frame {apex}",
                    tested,
                    peak,
                )
            if best_fail is None or len(chk.reasons) < len(best_fail.reasons):
                best_fail = chk
    if tested == 0:
        reason = (
            f"no window of ≥ {min_frames} frames around the peak at frame {apex} has an Rg and "
            "MW in every frame without a trend"
        )
    else:
        reason = (
            f"none of {tested} candidate windows around the peak at frame {apex} passed "
            "validation" + (f" (closest: {'; '.join(best_fail.reasons)})" if best_fail else "")
        )
    return RangeSearch("sample", False, (), best_fail, reason, tested, peak)
