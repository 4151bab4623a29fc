# SPDX-License-Identifier: MIT
"""Subtraction and per-frame Rg, I0, MW of a whole series, vectorised over all frames.

Per-frame values come from sliding-window averages of the subtracted frames (window 5 by
default, as in RAW), all windows at once from cumulative sums over frames.

**Guinier, all frames at once.** Each frame's fit is a weighted line through ln I against q²
over rows ``start``..``end``; with prefix sums over q of w, w·x, w·x², w·y, w·x·y, w·y² (x =
q², y = ln I, w = (I/σ)²) every frame's fit over any window costs O(1). The window starts at
one row for the whole run — the first row of the core's automatic Guinier range
(:func:`halos_analysis.analysis.guinier.auto_guinier`) on the strongest frame, so the
beam-stop edge and whatever else the core excludes at low q are excluded everywhere — and
ends where q·Rg reaches ``qrg_max``. That end depends on Rg, so the fits are iterated as a
fixed point from the strongest frame's Rg (a handful of iterations; after the first few
the end may only move down, which guarantees termination). A frame whose window would hold
fewer than ``min_points`` rows starts earlier (larger particles, aggregates).

**MW, all frames at once.** Volume of correlation (Rambo & Tainer 2013) and Porod volume
with the Piiadov et al. (2019) correction, the same definitions as
:mod:`halos_analysis.analysis.mw`: the Guinier curve is integrated analytically below the
first fitted row, the data (trapezoid, cumulative sums over q) above it; Vc up to
0.3 Å⁻¹, Vp up to 8/Rg (else log10(I0/I) = 2.25) within 0.1–0.5 Å⁻¹; MW Vp with protein
density 0.83 kDa/nm³. The tests check frame by frame against the core functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import erf

from halos_analysis.analysis.series.results import FrameParameters
from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, FrameCurves, q_scale

__all__ = [
    "average_frames",
    "frame_parameters",
    "sliding_average",
    "subtract_buffer",
]

#: A frame's Rg must be known to better than this relative error to count (as the core).
MAX_REL_ERR = 0.1
#: Lowest qmax·Rg of a usable window: below it ln I hardly falls across the window.
MIN_QRG_HI = 0.6
#: Highest qmin·Rg of a usable window.
MAX_QRG_LO = 1.0
#: Signal-to-noise of the low-q quarter of a window's average below which no Rg is fitted:
#: Σ I / √Σσ² over those rows (10 = a 10σ detection of the particle).
MIN_SNR = 10.0
#: Vp and Vc need data to this last-point q·Rg (the core's limit).
MIN_QRG_INTEGRALS = 4.0
_VC_COEFFS = {"protein": (1.0, 0.1231), "rna": (0.808, 0.00934)}


def _ranges_index(ranges: Sequence[tuple[int, int]], n: int, what: str) -> np.ndarray:
    idx = []
    for a, b in ranges:
        if not (0 <= a <= b < n):
            raise HalosInputError(
                f"{what} range {a}-{b} is outside the run (frames 0-{n - 1})", field=what
            )
        idx.extend(range(a, b + 1))
    return np.unique(np.asarray(idx, dtype=np.int64))


def average_frames(
    frames: FrameCurves, ranges: Sequence[tuple[int, int]], name: str = "", what: str = "frames"
) -> Curve:
    """Mean curve of the frames in ``ranges`` (inclusive), σ = √Σσ² / n.

    Raises
    ------
    HalosInputError
        A range outside the run.
    """
    idx = _ranges_index(ranges, len(frames), what)
    n = len(idx)
    intensity = frames.intensity[idx].mean(axis=0)
    sigma = np.sqrt(np.square(frames.sigma[idx]).sum(axis=0)) / n
    meta = {"averaged_frames": [list(map(int, r)) for r in ranges], "n_averaged": n}
    if "intensity_unit" in frames.meta:
        meta["intensity_unit"] = frames.meta["intensity_unit"]
    label = name or f"{frames.name}_" + "_".join(f"{a}-{b}" for a, b in ranges)
    return Curve(frames.q.copy(), intensity, sigma, frames.q_unit, name=label, meta=meta)


def subtract_buffer(frames: FrameCurves, buffer: Curve) -> FrameCurves:
    """Every frame minus the buffer curve; σ added in quadrature.

    Raises
    ------
    HalosInputError
        The buffer is on another q grid.
    """
    if len(buffer.q) != len(frames.q) or not np.allclose(buffer.q, frames.q, rtol=1e-5, atol=0):
        raise HalosInputError(
            "the buffer curve is not on the series' q grid", buffer.meta.get("source"), "q"
        )
    meta = dict(frames.meta, subtracted=True, buffer=buffer.name)
    return FrameCurves(
        frames.q,
        frames.intensity - buffer.intensity[None, :],
        np.sqrt(np.square(frames.sigma) + np.square(buffer.sigma)[None, :]),
        frames.q_unit,
        name=frames.name,
        frame_ids=frames.frame_ids,
        meta=meta,
    )


def sliding_average(
    intensity: np.ndarray, sigma: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means of every ``window`` consecutive frames, from cumulative sums (all at once).

    Returns
    -------
    intensity, sigma : ndarray, shape (n − window + 1, n_q)
        σ = √Σσ² / window.
    centre : ndarray of int
        The frame each average belongs to: its middle frame.
    """
    n = len(intensity)
    window = int(window)
    if window < 1 or window > n:
        raise HalosInputError(
            f"window {window} must be between 1 and the {n} frames", field="window"
        )
    if window == 1:
        return intensity.copy(), sigma.copy(), np.arange(n)
    c = np.zeros((n + 1, intensity.shape[1]))
    np.cumsum(intensity, axis=0, out=c[1:])
    v = np.zeros_like(c)
    np.cumsum(np.square(sigma), axis=0, out=v[1:])
    avg = (c[window:] - c[:-window]) / window
    sig = np.sqrt(np.maximum(v[window:] - v[:-window], 0.0)) / window
    centre = np.arange(n - window + 1) + (window - 1) // 2
    return avg, sig, centre


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros((values.shape[0], values.shape[1] + 1))
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


class _GuinierSums:
    """Prefix sums over q of the weighted-fit moments of many curves."""

    def __init__(self, q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray):
        pos = (intensity > 0) & (sigma > 0) & np.isfinite(intensity) & np.isfinite(sigma)
        self.scale = float(q[len(q) // 4] ** 2) or 1.0  # keeps the normal equations conditioned
        x = np.broadcast_to(q * q / self.scale, intensity.shape)
        y = np.log(np.where(pos, intensity, 1.0))
        w = np.where(pos, np.square(intensity / np.where(pos, sigma, 1.0)), 0.0)
        self.n = _prefix(pos.astype(float))
        self.w = _prefix(w)
        self.wx = _prefix(w * x)
        self.wxx = _prefix(w * x * x)
        self.wy = _prefix(w * y)
        self.wxy = _prefix(w * x * y)
        self.wyy = _prefix(w * y * y)

    def fit(self, start: np.ndarray, end: np.ndarray) -> dict[str, np.ndarray]:
        """Weighted line of every row i over columns start[i]..end[i] (inclusive)."""
        rows = np.arange(len(start))
        a, b = start, end + 1

        def s(p):
            return p[rows, b] - p[rows, a]

        sw, swx, swxx, swy, swxy, swyy = (
            s(self.w),
            s(self.wx),
            s(self.wxx),
            s(self.wy),
            s(self.wxy),
            s(self.wyy),
        )
        npts = s(self.n)
        det = sw * swxx - swx * swx
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (sw * swxy - swx * swy) / det
            icpt = (swxx * swy - swx * swxy) / det
            chi = (
                swyy
                - 2 * icpt * swy
                - 2 * slope * swxy
                + icpt * icpt * sw
                + 2 * icpt * slope * swx
                + slope * slope * swxx
            )
            chi2 = np.maximum(chi, 0.0) / np.maximum(npts - 2, 1)
            infl = np.maximum(chi2, 1.0)
            var_slope = infl * sw / det
            var_icpt = infl * swxx / det
        return {
            "slope": slope / self.scale,
            "var_slope": var_slope / self.scale**2,
            "icpt": icpt,
            "var_icpt": var_icpt,
            "chi2": chi2,
            "n": npts,
        }


def _guinier_all(
    q: np.ndarray,
    intensity: np.ndarray,
    sigma: np.ndarray,
    start0: int,
    rg0: float,
    qrg_max: float,
    min_points: int,
    max_iter: int = 12,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, int]:
    """Fixed-point Guinier fits of every row; returns the fit, start, end and iterations."""
    m, nq = intensity.shape
    sums = _GuinierSums(q, intensity, sigma)
    rg = np.full(m, float(rg0))
    end = np.full(m, -1, dtype=np.int64)
    start = np.full(m, start0, dtype=np.int64)
    lo_end = min(start0 + min_points - 1, nq - 1)
    fit: dict[str, np.ndarray] = {}
    it = 0
    for it in range(1, max_iter + 1):
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(np.isfinite(rg) & (rg > 0), qrg_max / rg, q[lo_end])
        new_end = np.searchsorted(q, target, side="right") - 1
        new_end = np.clip(new_end, lo_end, nq - 1)
        if it > 4:
            # After a few free steps the end may only shrink: the iteration then terminates.
            new_end = np.minimum(new_end, end)
        if it > 1 and np.array_equal(new_end, end):
            break
        end = new_end
        # Large particles: move the start down so that the window keeps min_points rows.
        start = np.clip(np.minimum(start0, end - min_points + 1), 0, None)
        fit = sums.fit(start, end)
        with np.errstate(invalid="ignore"):
            rg = np.sqrt(-3.0 * fit["slope"])
    return fit, start, end, it


def _guinier_moment(k: int, q1: np.ndarray, rg: np.ndarray, i0: np.ndarray) -> np.ndarray:
    """∫₀^q1 q^k · I0 exp(−q²Rg²/3) dq for k = 1 or 2, analytically, elementwise."""
    a = rg * rg / 3.0
    if k == 1:
        return i0 * (1.0 - np.exp(-a * q1 * q1)) / (2.0 * a)
    return i0 * (
        math.sqrt(math.pi) * erf(np.sqrt(a) * q1) / (4.0 * a**1.5)
        - q1 * np.exp(-a * q1 * q1) / (2.0 * a)
    )


def _cumtrapz(q: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(y)
    np.cumsum(0.5 * (y[:, 1:] + y[:, :-1]) * np.diff(q)[None, :], axis=1, out=out[:, 1:])
    return out


def _piiadov(qmax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Piiadov et al. (2019) corrected Porod volume V = A + B·Vp, qmax in Å⁻¹, within 0.1–0.5.
    a = np.polyval([-2.114e6, 2.920e6, -1.472e6, 3.349e5, -3.577e4], qmax)
    b = np.polyval([12.09, -9.39, 3.03, 0.29], qmax)
    inside = (qmax >= 0.1) & (qmax <= 0.5)
    return np.where(inside, a, 0.0), np.where(inside, b, 1.0)


def _mw_all(
    q_a: np.ndarray,
    intensity: np.ndarray,
    rg_a: np.ndarray,
    i0: np.ndarray,
    start: np.ndarray,
    ok: np.ndarray,
    macromolecule: str,
    density_kda_per_A3: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vc and Vp MW (kDa) of every row (q in Å⁻¹, Rg in Å); NaN where ``ok`` is False."""
    m = len(intensity)
    rows = np.arange(m)
    rg_s = np.where(ok, rg_a, 1.0)
    i0_s = np.where(ok, i0, 0.0)
    y = np.where(np.isfinite(intensity), intensity, 0.0)
    t1 = _cumtrapz(q_a, q_a[None, :] * y)
    t2 = _cumtrapz(q_a, q_a[None, :] ** 2 * y)
    q1 = q_a[start]
    # Vc up to 0.3 Å⁻¹ (or the last point).
    stop_c = int(np.argmin(np.abs(q_a - min(0.3, q_a[-1]))))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tot = _guinier_moment(1, q1, rg_s, i0_s) + t1[rows, stop_c] - t1[rows, start]
        vc = i0_s / tot
        a_c, b_c = _VC_COEFFS[macromolecule]
        mw_vc = (vc * vc / rg_s / b_c) ** a_c / 1000.0
        mw_vc = np.where(ok & (tot > 0), mw_vc, np.nan)
        # Vp: qmax = 8/Rg if inside 0.1–0.5 Å⁻¹, else where log10(I0/I) is nearest 2.25.
        qmax = 8.0 / rg_s
        outside = (qmax < 0.1) | (qmax > 0.5)
        if outside.any():
            ratio = np.abs(np.log10(i0_s[:, None] / np.where(y > 0, y, np.nan)) - 2.25)
            ratio = np.where(np.isfinite(ratio), ratio, np.inf)
            alt = q_a[np.argmin(ratio, axis=1)]
            qmax = np.where(outside, alt, qmax)
        qmax = np.clip(qmax, 0.1, 0.5)
        stop_p = np.argmin(np.abs(q_a[None, :] - qmax[:, None]), axis=1)
        inv = _guinier_moment(2, q1, rg_s, i0_s) + t2[rows, stop_p] - t2[rows, start]
        vp = 2.0 * math.pi**2 * i0_s / inv
        a_p, b_p = _piiadov(q_a[stop_p])
        mw_vp = (a_p + b_p * vp) * density_kda_per_A3
        mw_vp = np.where(ok & (inv > 0) & (mw_vp > 0), mw_vp, np.nan)
    return mw_vc, mw_vp, vc


def frame_parameters(
    subtracted: FrameCurves,
    *,
    window: int = 5,
    start: int | None = None,
    rg_start: float | None = None,
    qrg_max: float = 1.3,
    min_points: int = 10,
    macromolecule: str = "protein",
    density_kda_per_A3: float = 0.83e-3,
    min_snr: float = MIN_SNR,
) -> FrameParameters:
    """Rg, I0 and MW (Vc, Vp) of every frame's sliding-window average, all frames at once.

    Parameters
    ----------
    subtracted : FrameCurves
        Buffer-subtracted frames.
    window : int
        Frames per sliding average (odd; 1 = frame by frame).
    start : int, optional
        First q row of every Guinier window. Default: the first row of the core's automatic
        Guinier range on the strongest average (see the module notes).
    rg_start : float, optional
        Rg that starts the fixed-point iteration (default: the strongest average's).
    qrg_max : float
        Upper limit of q·Rg of each window (1.3 for globular proteins).
    min_points : int
        Fewest rows in a window.
    macromolecule : {"protein", "rna"}
        Vc coefficients.
    density_kda_per_A3 : float
        Protein density for MW from the Porod volume.
    min_snr : float
        Low-q signal-to-noise below which a window is ``"low_signal"`` (:data:`MIN_SNR`).

    Returns
    -------
    FrameParameters
        One entry per frame of ``subtracted``.
    """
    from halos_analysis.analysis.guinier import auto_guinier

    if macromolecule not in _VC_COEFFS:
        raise HalosInputError(
            f"unknown macromolecule {macromolecule!r} (use 'protein' or 'rna')",
            field="macromolecule",
        )
    n, nq = subtracted.intensity.shape
    window = int(window)
    if window % 2 == 0:
        raise HalosInputError(f"the averaging window must be odd, got {window}", field="window")
    q = subtracted.q
    nan = np.full(n, np.nan)
    status = np.full(n, "edge", dtype=object)
    out = {k: nan.copy() for k in ("rg", "rg_err", "i0", "i0_err", "mw_vc", "mw_vp", "snr")}
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    mw_status = np.full(n, "no_rg", dtype=object)
    iterations = 0
    start_used = -1 if start is None else int(start)
    if n < window:
        return _params(
            out, first, last, status, mw_status, window, subtracted.q_unit, -1, qrg_max, 0
        )
    avg, sig, centre = sliding_average(subtracted.intensity, subtracted.sigma, window)
    # Signal of each average at low q, where a particle scatters most.
    low = slice(0, max(nq // 4, min_points))
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = avg[:, low].sum(axis=1) / np.sqrt(np.square(sig[:, low]).sum(axis=1))
    out["snr"][centre] = snr
    strong = snr >= min_snr
    status[centre] = np.where(strong, "pending", "low_signal")
    if strong.any() and (start is None or rg_start is None):
        best = int(np.argmax(np.where(strong, snr, -np.inf)))
        ref = auto_guinier(Curve(q, avg[best], sig[best], subtracted.q_unit), qrg_max=qrg_max)
        if start is None:
            start_used = int(ref.first) if ref.valid else int(np.argmax(avg[best] > 0))
        if rg_start is None:
            rg_start = ref.Rg if ref.valid else float(qrg_max / q[min(nq - 1, nq // 8)])
    if not strong.any():
        return _params(
            out, first, last, status, mw_status, window, subtracted.q_unit, start_used, qrg_max, 0
        )
    rows = np.flatnonzero(strong)
    fit, s_idx, e_idx, iterations = _guinier_all(
        q, avg[rows], sig[rows], max(start_used, 0), float(rg_start), qrg_max, min_points
    )
    slope = fit["slope"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rg = np.sqrt(-3.0 * slope)
        rg_err = 1.5 * np.sqrt(fit["var_slope"]) / rg
        i0 = np.exp(fit["icpt"])
        i0_err = i0 * np.sqrt(fit["var_icpt"])
    st = np.full(len(rows), "ok", dtype=object)
    has_rg = np.isfinite(rg) & (slope < 0)
    st[~has_rg] = "no_guinier"
    qlo, qhi = q[s_idx] * np.where(has_rg, rg, 0), q[e_idx] * np.where(has_rg, rg, 0)
    st[has_rg & ((qhi < MIN_QRG_HI) | (qlo > MAX_QRG_LO) | (qhi > qrg_max * 1.0001))] = "qrg_range"
    st[has_rg & (st == "ok") & (fit["n"] < min(min_points, 5))] = "few_points"
    st[has_rg & (st == "ok") & ~(rg_err < MAX_REL_ERR * rg)] = "imprecise"
    ok = st == "ok"
    c = centre[rows]
    status[c] = st
    out["rg"][c] = np.where(ok, rg, np.nan)
    out["rg_err"][c] = np.where(ok, rg_err, np.nan)
    out["i0"][c] = np.where(ok, i0, np.nan)
    out["i0_err"][c] = np.where(ok, i0_err, np.nan)
    first[c] = np.where(ok, s_idx, -1)
    last[c] = np.where(ok, e_idx, -1)
    # MW in Å units.
    fq = q_scale(subtracted.q_unit, "A^-1")
    q_a = q * fq
    rg_a = rg / fq
    mw_vc, mw_vp, _ = _mw_all(
        q_a, avg[rows], rg_a, i0, s_idx, ok, macromolecule, density_kda_per_A3
    )
    short = q_a[-1] * np.where(ok, rg_a, 0) < MIN_QRG_INTEGRALS
    mw_ok = ok & ~short
    out["mw_vc"][c] = np.where(mw_ok, mw_vc, np.nan)
    out["mw_vp"][c] = np.where(mw_ok, mw_vp, np.nan)
    mws = np.where(ok, np.where(short, "q_range_too_short", "ok"), "no_rg").astype(object)
    mws[mw_ok & ~(np.isfinite(mw_vc) & np.isfinite(mw_vp))] = "integral_not_positive"
    mw_status[c] = mws
    return _params(
        out,
        first,
        last,
        status,
        mw_status,
        window,
        subtracted.q_unit,
        start_used,
        qrg_max,
        iterations,
    )


def _params(out, first, last, status, mw_status, window, q_unit, start, qrg_max, iterations):
    return FrameParameters(
        rg=out["rg"],
        rg_err=out["rg_err"],
        i0=out["i0"],
        i0_err=out["i0_err"],
        first=first,
        last=last,
        mw_vc_kda=out["mw_vc"],
        mw_vp_kda=out["mw_vp"],
        snr=out["snr"],
        status=np.asarray(status, dtype=str),
        mw_status=np.asarray(mw_status, dtype=str),
        window=int(window),
        q_unit=q_unit,
        guinier_start=int(start),
        qrg_max=float(qrg_max),
        iterations=int(iterations),
    )
