# SPDX-License-Identifier: MIT
"""Guinier analysis: ln I(q) = ln I0 − (q Rg)²/3 at low q.

:func:`fit_guinier` fits a given range; :func:`auto_guinier` searches every admissible range
at once (prefix sums make each candidate's weighted linear and quadratic fits O(1)) and
scores them on fit quality, length, residual structure and use of the Guinier range.

What keeps the automatic range from being confidently wrong on real curves:

* it starts at the first usable low-q row (after the beam-stop shadow, judged against a
  robust low-q level) unless the rows it would leave out disagree with its own fit; it may
  start only where the intensity is still at least half that level, and the search stops
  where it has fallen to 5 % of it, so a window far out at high q is never a candidate;
* the score is noisy, so the reported range is not simply the best-scoring one: among the
  windows within the score's own noise of the best, the one reaching furthest into the
  Guinier range is taken (:func:`_pick_window`), which keeps the choice stable;
* the chosen range is checked as an expert would: curvature beyond any single particle's,
  low-q rows above or below its fit beyond a single particle's bend (aggregates, a
  structure factor), long same-sign runs of residuals, data that start past qRg 0.65.
  Each finding is a flag; those that cast doubt make the result not ``valid``
  (:mod:`halos_analysis.flags`). The cross-check with P(r) is in
  :mod:`halos_analysis.analysis.consistency`.

Uncertainties: σ(ln I) = σ/I, weights w = (I/σ)². Rg and I0 errors come from the covariance
of the weighted fit, inflated by √χ²_ν when χ²_ν > 1 (never deflated), so that data whose
error bars are too small do not give over-confident results.
"""

from __future__ import annotations

import math

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, GuinierResult

__all__ = ["auto_guinier", "fit_guinier"]

# Data that start beyond this q·Rg miss half the Guinier range: what acts at the lowest q
# (aggregates, a structure factor) cannot be seen, so the Rg cannot be trusted on its own.
_QRG_START_LATE = 0.65
# A |t| of the q⁴ (curvature) term above this is treated as structure in the residuals.
_T_CURV_SCALE = 3.0
# The curvature κ = c/b² of ln I = a + b·q² + c·q⁴ that single particles show in a Guinier
# range (qRg ≤ 1.3): −0.12 for a thin spherical shell, −0.08 for a solid sphere, ≈ 0 for
# oblate bodies, +0.2 for 5:1 rods and prolate ellipsoids, +0.25 for a Gaussian coil
# (computed from their form factors). Well outside it, the range is bent by something else:
# aggregates (up) or a structure factor (down).
_KAPPA_RANGE = (-0.3, 0.6)
# The most a single particle bends its Guinier plot, down and up (shell and Gaussian coil,
# with a margin): the low-q rows before a range are compared with its fit bent this far.
_KAPPA_SINGLE = (-0.15, 0.3)
# z-score of the mean residual of excluded low-q points that flags aggregation/repulsion.
_Z_FLAG = 4.0
# ... and their median relative deviation from the fit must be at least this.
_REL_FLAG = 0.01
# A low-q deficit beyond this fraction is a strong structure factor. Concentration effects
# that leave Rg within ~2 % of the dilute value give 1–3 % (BSA 4.5 mg/ml, lysozyme 8 mg/ml);
# 4 % and more came with Rg biased by 2–13 % on real curves given a structure factor.
_STRONG_REPULSION = 0.04
# p-value of the longest residual run below which the range has structure.
_RUNS_P = 1e-3
# An admissible window after the chosen one with Rg below this fraction flags aggregation.
_SMALLER_RG = 0.6
# The range search stops where the smoothed intensity falls below this fraction of the
# first usable point: well past qRg 1.3 (I/I0 = 0.57) even when aggregates raise I(start).
_STOP_FRACTION = 0.05
# A Guinier range must reach at least this qmax·Rg. Below it ln I falls by less than
# qRg²/3 ≈ 0.12 across the whole window, so the slope is set by noise and background as much
# as by the particle (flat noise gives "Rg" with qRg ≈ 0.1); autorg and RAW aim the range at
# qRg ≈ 1.3 and a real, resolved particle always lets the window extend past 0.6.
_QRG_HI_MIN = 0.6
# ... and must fix Rg to better than this relative error (slope ≥ 5σ from zero). Real
# curves give 0.2–3 %; a window whose Rg is this uncertain is not evidence of a particle.
_REL_ERR_MAX = 0.1
# A window may start only where the smoothed intensity is at least this fraction of the
# low-q level (I/I0 = 0.5 is qRg 1.44 on a Guinier curve: past any range's start).
_START_FRACTION = 0.5
# |z| of the rows a window leaves out at low q above which starting later is justified.
_Z_START = 3.0
# Weight of the χ²_ν term in the window score, and the sum of all weights (the score's scale).
_W_FIT = 2.0
_W_CURV = 2.0
_W_TOTAL = 7.5


def _weights(curve: Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """x = q², y = ln I, w = (I/σ)², point usability, and whether weights are real.

    Rows the curve marks unusable (σ ≤ 0 or NaN while others have σ, NaN I, a repeated q;
    :meth:`Curve.rows`) and rows with I ≤ 0 (no logarithm) get no weight.
    """
    q, inten, sig = curve.q, curve.intensity, curve.sigma
    use = curve.rows().usable
    x = q * q
    pos = use & (inten > 0)
    y = np.full_like(inten, np.nan)
    y[pos] = np.log(inten[pos])
    has_sigma = np.isfinite(sig) & (sig > 0)
    weighted = bool(has_sigma.any())
    if weighted:
        ok = pos & has_sigma
        w = np.where(ok, (inten / np.where(has_sigma, sig, 1.0)) ** 2, 0.0)
    else:
        # No usable σ at all: unweighted fit, errors then come from the residual scatter.
        ok = pos
        w = np.where(ok, 1.0, 0.0)
    return x, y, w, ok, weighted


def fit_guinier(curve: Curve, first: int, last: int) -> GuinierResult:
    """Weighted Guinier fit over rows ``first``..``last`` (inclusive, 0-based).

    Parameters
    ----------
    curve : Curve
        The (buffer-subtracted) curve; any q unit (Rg comes out in the matching length).
    first, last : int
        Inclusive row range. Points with I ≤ 0 or without a usable σ are left out of the fit.

    Returns
    -------
    GuinierResult
        Rg, I0 with errors from the covariance (inflated by √χ²_ν when χ²_ν > 1), qRg range,
        r² (unweighted, of ln I), reduced χ². ``valid`` is False when the slope is not
        negative (no real Rg), flagged ``"no_guinier_region"``.

    Raises
    ------
    HalosInputError
        When the range is outside the curve or holds fewer than 3 usable points.

    Examples
    --------
    >>> import numpy as np
    >>> from halos_analysis.types import Curve
    >>> q = np.linspace(0.01, 0.1, 40)
    >>> i = 2.0 * np.exp(-((q * 25.0) ** 2) / 3.0)
    >>> print(fit_guinier(Curve(q, i, 0.01 * i, "A^-1"), 0, 20))
    Guinier: Rg = 25 ± 0.14 A, I0 = 2 ± 0.0074, points 0–20, qRg 0.25–1.40
    """
    n = len(curve)
    if not (0 <= first < last < n):
        raise HalosInputError(
            f"Guinier range {first}–{last} is not inside rows 0–{n - 1}",
            curve.meta.get("source"),
            "guinier range",
        )
    x, y, w, ok, weighted = _weights(curve)
    sl = slice(first, last + 1)
    m = ok[sl]
    if m.sum() < 3:
        raise HalosInputError(
            f"Guinier range {first}–{last} has {int(m.sum())} usable points (I > 0), need ≥ 3",
            curve.meta.get("source"),
            "guinier range",
        )
    xs, ys, ws = x[sl][m], y[sl][m], w[sl][m]
    sw, swx, swy = ws.sum(), (ws * xs).sum(), (ws * ys).sum()
    swxx, swxy = (ws * xs * xs).sum(), (ws * xs * ys).sum()
    det = sw * swxx - swx * swx
    slope = (sw * swxy - swx * swy) / det
    icpt = (swxx * swy - swx * swxy) / det
    resid = ys - (icpt + slope * xs)
    dof = max(len(xs) - 2, 1)
    chi2 = float((ws * resid**2).sum() / dof)
    # Unweighted: covariance scale comes from the scatter; weighted: inflate only.
    infl = chi2 if not weighted else max(1.0, chi2)
    var_slope, var_icpt = infl * sw / det, infl * swxx / det
    r2 = float(1.0 - (resid**2).sum() / ((ys - ys.mean()) ** 2).sum())
    flags: list[str] = []
    if slope >= 0:
        flags.append("no_guinier_region")
        nan = math.nan
        return GuinierResult(
            nan,
            nan,
            math.exp(icpt),
            nan,
            first,
            last,
            nan,
            nan,
            curve.q_unit,
            r2,
            chi2,
            flags=tuple(flags),
            reason=f"ln I does not fall with q² over rows {first}–{last}: no Guinier decay",
        )
    rg = math.sqrt(-3.0 * slope)
    i0 = math.exp(icpt)
    if not weighted:
        flags.append("unweighted")
    return GuinierResult(
        Rg=rg,
        Rg_err=1.5 * math.sqrt(var_slope) / rg,
        I0=i0,
        I0_err=i0 * math.sqrt(var_icpt),
        first=int(first),
        last=int(last),
        qRg_min=float(curve.q[first] * rg),
        qRg_max=float(curve.q[last] * rg),
        q_unit=curve.q_unit,
        r2=r2,
        chi2=chi2,
        flags=tuple(flags),
    )


def _data_start(inten: np.ndarray, sig: np.ndarray, ok: np.ndarray) -> tuple[int, np.ndarray]:
    """First row worth fitting, and the leading usable rows skipped before it.

    A leading point is skipped while it lies clearly below the median of the next five usable
    points (intensity still rising: beam-stop shadow or edge; "clearly" is 3σ plus 2 %, or
    20 % whatever its σ: a point that far below its neighbours carries no information on a
    decreasing curve), far above it (a spike), or has σ above half its intensity (a shadowed
    pixel ring with almost no counts). At most the first fifth of the usable rows can be
    skipped so: a curve that rises over more than that is not in a beam-stop shadow.
    """
    idx = np.flatnonzero(ok)
    limit = min(max(3, len(idx) // 5), max(len(idx) - 6, 0))
    for k in range(limit):
        i = idx[k]
        ahead = float(np.median(inten[idx[k + 1 : k + 6]]))
        s = float(sig[i]) if np.isfinite(sig[i]) and sig[i] > 0 else 0.0
        low = inten[i] < ahead - 3.0 * s - 0.02 * ahead or inten[i] < 0.8 * ahead
        if low or inten[i] > 3.0 * ahead or s > 0.5 * inten[i]:
            continue
        return int(i), idx[:k]
    return (int(idx[0]) if len(idx) else 0), idx[:0]


def _running_mean(values: np.ndarray, ok: np.ndarray, k: int = 5) -> np.ndarray:
    """Mean of ``values`` over the k usable rows centred on each row (NaN where none)."""
    num = np.convolve(np.where(ok, values, 0.0), np.ones(k), mode="same")
    den = np.convolve(ok.astype(float), np.ones(k), mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def _window_fits(x, y, w, ok, starts, ends):
    """Weighted linear and quadratic fits of every (start, end) window, vectorised."""
    scale = x[ends.max()] if x[ends.max()] > 0 else 1.0
    xs = np.where(ok, x / scale, 0.0)  # scaled so the 3×3 normal equations stay conditioned
    ys = np.where(ok, y, 0.0)
    ww = np.where(ok, w, 0.0)

    def cum(v):
        return np.concatenate(([0.0], np.cumsum(v)))

    sums = {
        "n": cum(ok.astype(float)),
        "w": cum(ww),
        "wx": cum(ww * xs),
        "wxx": cum(ww * xs**2),
        "wx3": cum(ww * xs**3),
        "wx4": cum(ww * xs**4),
        "wy": cum(ww * ys),
        "wxy": cum(ww * xs * ys),
        "wxxy": cum(ww * xs**2 * ys),
        "wyy": cum(ww * ys**2),
    }
    s = {k: v[ends + 1] - v[starts] for k, v in sums.items()}
    det = s["w"] * s["wxx"] - s["wx"] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (s["w"] * s["wxy"] - s["wx"] * s["wy"]) / det
        a = (s["wxx"] * s["wy"] - s["wx"] * s["wxy"]) / det
        chi = (
            s["wyy"]
            - 2 * a * s["wy"]
            - 2 * b * s["wxy"]
            + a * a * s["w"]
            + 2 * a * b * s["wx"]
            + b * b * s["wxx"]
        )
        dof = s["n"] - 2
        chi2 = np.maximum(chi, 0.0) / dof
        var_b = s["w"] / det
        var_a = s["wxx"] / det
        # Quadratic term c of y = a + b x + c x²: Cramer's rule on the 3×3 normal equations.
        m00, m01, m02, m11, m12, m22 = s["w"], s["wx"], s["wxx"], s["wxx"], s["wx3"], s["wx4"]
        r0, r1, r2 = s["wy"], s["wxy"], s["wxxy"]
        c00 = m11 * m22 - m12 * m12
        c01 = m01 * m22 - m12 * m02
        c02 = m01 * m12 - m11 * m02
        det3 = m00 * c00 - m01 * c01 + m02 * c02
        num_c = m00 * (m11 * r2 - r1 * m12) - m01 * (m01 * r2 - r1 * m02) + r0 * c02
        c = num_c / det3
        var_c = (m00 * m11 - m01 * m01) / det3
        t_curv = c / np.sqrt(var_c)
        # Curvature in units of the slope, independent of q scale and Rg: see _KAPPA_RANGE.
        kappa = c / b**2
    return a, b / scale, var_a, var_b / scale**2, chi2, t_curv, s["n"], kappa


def _pre_window_z(x, y, w, ok, start0, starts, icpt, slope):
    """Mean normalised residual (×√n) of the usable rows between ``start0`` and each start.

    For a window (a, b) with fit ln I = icpt + slope·q², the rows start0 … a−1 that the
    window leaves out give z = Σ √w (y − icpt − slope·x) / √n: about N(0, 1) when those rows
    follow the same Guinier law, large when they do not (beam-stop edge, aggregation upturn,
    structure-factor dip). From prefix sums, O(1) per window.
    """
    sw = np.sqrt(np.where(ok, w, 0.0))

    def cum(v):
        return np.concatenate(([0.0], np.cumsum(np.where(ok, v, 0.0))))

    c_n, c_y, c_1, c_x = cum(np.ones_like(x)), cum(sw * np.nan_to_num(y)), cum(sw), cum(sw * x)
    n = c_n[starts] - c_n[start0]
    with np.errstate(invalid="ignore", divide="ignore"):
        num = (c_y[starts] - c_y[start0]) - icpt * (c_1[starts] - c_1[start0])
        num -= slope * (c_x[starts] - c_x[start0])
        return np.where(n > 0, num / np.sqrt(np.maximum(n, 1.0)), 0.0), n


def _search(curve, x, y, w, ok, weighted, start0, i_ref, min_points, qrg_max, qrg_min_max):
    q = curve.q
    smooth = _running_mean(curve.intensity, ok)
    # The search stops where the intensity has fallen well past any Guinier region, judged
    # against a robust low-q level (a single beam-stop or noisy first point cannot open the
    # whole curve to the search).
    beyond = np.flatnonzero(
        (np.arange(len(q)) > start0 + min_points) & ~(smooth >= _STOP_FRACTION * i_ref)
    )
    stop = int(beyond[0]) if len(beyond) else len(q) - 1
    cand = np.arange(start0, stop + 1)
    cand = cand[ok[cand]]
    # Keep the pair count bounded on very fine grids (vectorised cost ~ pairs).
    stride = max(1, len(cand) // 300)
    sel = cand[::stride]
    if sel[0] != start0:
        sel = np.concatenate(([start0], sel))
    starts, ends = np.meshgrid(sel, sel, indexing="ij")
    starts, ends = starts.ravel(), ends.ravel()
    # A Guinier range starts where the curve is still near its low-q level (I ≥ half of
    # it): a window far out at high q, where a tiny "Rg" fits the flattening tail, is never
    # a candidate.
    keep = (ends - starts + 1 >= min_points) & (smooth[starts] >= _START_FRACTION * i_ref)
    starts, ends = starts[keep], ends[keep]
    if len(starts) == 0:
        return None
    a, b, var_a, var_b, chi2, t_curv, npts, kappa = _window_fits(x, y, w, ok, starts, ends)
    good = (npts >= min_points) & (b < 0) & np.isfinite(chi2)
    rg = np.sqrt(np.where(good, -3.0 * b, np.nan))
    infl = np.maximum(chi2, 1.0) if weighted else chi2
    rg_err = 1.5 * np.sqrt(var_b * infl) / rg
    qrg_lo, qrg_hi = q[starts] * rg, q[ends] * rg
    good &= (qrg_hi <= qrg_max) & (qrg_lo <= qrg_min_max)
    good &= (qrg_hi >= min(_QRG_HI_MIN, qrg_max)) & (rg_err < _REL_ERR_MAX * rg)
    # The range starts at the first usable row unless the rows it leaves out disagree with
    # its own fit (|z| > _Z_START): starting later needs evidence.
    z_pre, n_pre = _pre_window_z(x, y, w, ok, start0, starts, a, b)
    scale = np.sqrt(np.maximum(chi2, 1.0)) if weighted else np.sqrt(np.maximum(chi2, 1e-300))
    good &= (n_pre == 0) | (np.abs(z_pre / scale) > _Z_START)
    if not good.any():
        return None
    idx = np.flatnonzero(good)
    rg, rg_err, chi2, t_curv = rg[idx], rg_err[idx], chi2[idx], t_curv[idx]
    n = npts[idx]
    # Scores, each in [0, 1]: length, use of the Guinier range, low start, precision,
    # fit quality relative to the best window, and absence of curvature in the residuals.
    s_len = n / n.max()
    s_qmax = 1.0 - np.abs(qrg_hi[idx] - qrg_max) / qrg_max
    s_qmin = 1.0 - qrg_lo[idx] / max(qrg_min_max, 1e-9)
    s_prec = 1.0 - np.clip(rg_err / rg, 0.0, 1.0)
    chi_ref = np.percentile(chi2, 10)
    # χ²_ν below 1 (or below the best windows') is no evidence of a better fit.
    s_fit = np.clip(max(chi_ref, 1.0) / np.maximum(chi2, 1e-12), 0.0, 1.0) if weighted else 1.0
    # Error bars are often mis-scaled by a constant factor: judge curvature against the
    # scatter of the best windows, not the nominal σ.
    t_curv = t_curv / math.sqrt(max(chi_ref, 1.0)) if weighted else t_curv / np.sqrt(chi2)
    # |t| up to 2 is noise; a real Guinier curve also bends slightly near qRg 1.3.
    s_curv = _curv_score(t_curv)
    score = (s_len + s_qmax + 0.5 * s_qmin + s_prec + _W_FIT * s_fit + _W_CURV * s_curv) / _W_TOTAL
    best = _pick_window(score, n, ends[idx], t_curv, weighted)
    b_first, b_last = int(starts[idx[best]]), int(ends[idx[best]])
    # A second, clearly smaller particle fitting well *after* the chosen range means the
    # low-q range belongs to aggregates (a single particle bends down past qRg 1.3, so its
    # later windows give larger, not smaller, apparent Rg).
    later = (starts[idx] > b_last) & (rg < _SMALLER_RG * rg[best]) & (score > 0.8 * score[best])
    return (
        b_first,
        b_last,
        float(score[best]),
        float(t_curv[best]),
        float(kappa[idx[best]]),
        bool(later.any()),
    )


def _curv_score(t):
    """|t| of the q⁴ term up to 2 is noise; a real Guinier curve also bends near qRg 1.3."""
    return 1.0 / (1.0 + (np.maximum(np.abs(t) - 2.0, 0.0) / 2.0) ** 2)


def _pick_window(
    score: np.ndarray, n: np.ndarray, ends: np.ndarray, t_curv: np.ndarray, weighted: bool
) -> int:
    """Index of the window to report among those the data cannot tell apart from the best.

    The score is itself a noisy statistic, and a plain argmax is unstable wherever several
    windows score alike: on a slightly curved Guinier plot (a weak structure-factor downturn
    or a trace of aggregates at low q, or just the bend of a real particle near qRg 1.3)
    near-ties lie in different parts of the curve with Rg a few % apart, and the argmax flips
    between them from one noise draw to the next.

    The score's noise comes from its two data-driven terms. χ²_ν of the best window scatters
    by √(2/ν) between draws (only with real weights; unweighted, s_fit is constant), and the
    curvature t has unit noise, which moves s_curv by |s_curv(t ± 1) − s_curv(t)|. Their
    weighted quadrature sum, times √2 because two windows' scores are compared (the noise of
    a difference of two largely independent statistics), is the band within which windows
    are equally supported by the data. Among them we prefer, as Guinier practice does, the
    range that reaches furthest into the Guinier region (largest q_max; the qmax·Rg limit is
    already enforced): its longer q² lever arm makes Rg least sensitive to the lowest-q
    points, where beam-stop, aggregation and inter-particle effects act. Where the range can
    end is set by the curve and the qRg limit, and so varies far less between draws than
    which of the near-tied windows happens to score highest. The start is then the
    best-scoring one among the windows ending there.
    """
    best = int(np.argmax(score))
    dof = max(float(n[best]) - 2.0, 1.0)
    fit_noise = _W_FIT * math.sqrt(2.0 / dof) if weighted else 0.0
    t = abs(float(t_curv[best]))
    curv_noise = _W_CURV * float(
        np.max(np.abs(_curv_score(np.array([t - 1.0, t + 1.0])) - _curv_score(t)))
    )
    band = math.sqrt(2.0) * math.hypot(fit_noise, curv_noise) / _W_TOTAL
    near = np.flatnonzero(score >= score[best] - band)
    furthest = near[ends[near] == ends[near].max()]
    return int(furthest[np.argmax(score[furthest])])


def auto_guinier(
    curve: Curve,
    min_points: int = 10,
    qrg_max: float = 1.3,
    qrg_min_max: float = 1.0,
) -> GuinierResult:
    """Find the Guinier range automatically and fit it.

    Windows are fitted that start at the first usable row (rows the curve marks unusable,
    I ≤ 0 and the beam-stop shadow are skipped; see :meth:`Curve.rows`), or later where the
    rows left out disagree with the window's own fit (|z| > 3) and the intensity is still
    at least half its low-q level; that have at least ``min_points`` points,
    qmin·Rg ≤ ``qrg_min_max``, 0.6 ≤ qmax·Rg ≤ ``qrg_max`` and Rg to better than 10 %.
    They are scored on (weights in brackets): length (1), qmax·Rg close to ``qrg_max`` (1),
    low qmin·Rg (0.5), relative Rg precision (1), χ²_ν relative to the best windows (2) and
    the significance of a q⁴ term in a quadratic fit (2). Among the windows within the
    score's own noise of the best, the one reaching the highest q is reported. If no window
    qualifies, the search is repeated with 5 points (flag ``"few_points"``).

    Flags (meanings and which cast doubt: :data:`halos_analysis.flags.FLAGS`):
    ``"aggregation"`` (low-q rows above the fit beyond a single particle's bend, curvature
    upwards beyond any single particle's, or a well-fitting smaller particle after the
    range), ``"strong_repulsion"`` / ``"repulsion"`` (low-q rows below; strong when 4 % or
    more, or curvature downwards beyond any single particle's), ``"residual_structure"``,
    ``"data_start_late"``, ``"beamstop_shadow"``, ``"low_start"``, ``"few_points"``,
    ``"unweighted"`` (no σ: unweighted fit, errors from the scatter) and
    ``"no_guinier_region"`` (Rg and I0 NaN, ``found`` False; no exception).

    Parameters
    ----------
    curve : Curve
        Buffer-subtracted curve, any q unit.
    min_points : int
        Minimum number of points in the range.
    qrg_max : float
        Upper limit of qmax·Rg (1.3 for globular proteins).
    qrg_min_max : float
        Upper limit of qmin·Rg.

    Returns
    -------
    GuinierResult
        ``quality`` is the window's score in [0, 1]; ``skipped`` names the rows left out
        and why.

    Examples
    --------
    A Guinier curve of Rg 30 Å with 1 % noise whose first point sits in the beam-stop shadow:

    >>> import numpy as np
    >>> from halos_analysis.types import Curve
    >>> q = np.linspace(0.005, 0.3, 300)
    >>> sigma = 0.1 * np.exp(-((q * 30.0) ** 2) / 3.0) + 1e-3
    >>> i = 10.0 * np.exp(-((q * 30.0) ** 2) / 3.0) + np.random.default_rng(0).normal(0, sigma)
    >>> i[0] = 0.05
    >>> res = auto_guinier(Curve(q, i, sigma, "A^-1"))
    >>> bool(abs(res.Rg - 30.0) < 3 * res.Rg_err), res.first, res.valid
    (True, 1, True)
    >>> res.skipped
    (('beamstop_shadow', (0,)),)
    """
    if len(curve) < 5:
        return _invalid_flagged(
            curve, ("no_guinier_region", "few_points"),
            reason=f"the curve has {len(curve)} rows; a Guinier fit needs at least 5",
        )  # fmt: skip
    x, y, w, ok, weighted = _weights(curve)
    if ok.sum() < 5:
        return _invalid_flagged(
            curve, ("no_guinier_region",),
            reason=f"{int(ok.sum())} rows have a finite q and a positive I (and σ); a Guinier "
            "fit needs at least 5",
        )  # fmt: skip
    start0, shadow = _data_start(curve.intensity, curve.sigma, ok)
    head = np.flatnonzero(ok[start0:])[:5] + start0
    i_ref = float(np.median(curve.intensity[head]))
    skipped = curve.rows().skipped
    if shadow.size:
        skipped = (*skipped, ("beamstop_shadow", tuple(int(i) for i in shadow)))
    flags: list[str] = ["beamstop_shadow"] if shadow.size else []
    args = (curve, x, y, w, ok, weighted, start0, i_ref)
    found = _search(*args, min_points, qrg_max, qrg_min_max)
    if found is None and min_points > 5:
        found = _search(*args, 5, qrg_max, qrg_min_max)
        flags.append("few_points")
    if found is None:
        return _invalid_flagged(
            curve, ("no_guinier_region",), skipped,
            reason=f"no range of the curve follows Guinier's law up to q·Rg = {qrg_max:g}",
        )  # fmt: skip
    first, last, score, t_curv, kappa, smaller_later = found
    res = fit_guinier(curve, first, last)
    flags.extend(res.flags)
    # Low-q behaviour: the usable points skipped before the range, against the fit.
    pre = np.flatnonzero(ok[start0:first]) + start0
    # Aggregates lift, a structure factor lowers them; a single particle bends them too
    # (elongated ones up, compact ones down), so each is judged beyond the most a single
    # particle's curvature (_KAPPA_SINGLE) can account for.
    z_up, rel_up = _low_q_excess(curve, res, pre, first, last, _KAPPA_SINGLE[1], weighted)
    z_dn, rel_dn = _low_q_excess(curve, res, pre, first, last, _KAPPA_SINGLE[0], weighted)
    # Curvature inside the range beyond what any single particle shows (significant, and
    # outside _KAPPA_RANGE): upwards means aggregates, downwards a structure factor.
    bent_up = t_curv > _T_CURV_SCALE and kappa > _KAPPA_RANGE[1]
    bent_down = t_curv < -_T_CURV_SCALE and kappa < _KAPPA_RANGE[0]
    if z_up > _Z_FLAG or bent_up or smaller_later:
        flags.append("aggregation")
    elif bent_down or (z_dn < -_Z_FLAG and rel_dn < -_STRONG_REPULSION):
        flags.append("strong_repulsion")
    elif z_dn < -_Z_FLAG:
        flags.append("repulsion")
    if first > start0:
        flags.append("low_start")
    if curve.q[start0] * res.Rg > _QRG_START_LATE:
        flags.append("data_start_late")
    # (Residuals far below σ, as of noise-free model curves, have no sign pattern to judge.)
    if res.chi2 > 0.01 and _residual_runs_p(curve, res, first, last, ok) < _RUNS_P:
        flags.append("residual_structure")
    return GuinierResult(
        Rg=res.Rg,
        Rg_err=res.Rg_err,
        I0=res.I0,
        I0_err=res.I0_err,
        first=first,
        last=last,
        qRg_min=res.qRg_min,
        qRg_max=res.qRg_max,
        q_unit=curve.q_unit,
        r2=res.r2,
        chi2=res.chi2,
        quality=score,
        flags=tuple(dict.fromkeys(flags)),
        skipped=skipped,
    )


def _low_q_excess(curve, res, pre, first, last, kappa, weighted) -> tuple[float, float]:
    """How far the rows before the range lie above (+) or below (−) its extrapolated fit.

    The line ln I = ln I0 − (qRg)²/3 of the range is bent by ``kappa`` (curvature in units
    of the slope, see ``_KAPPA_RANGE``) the way a quadratic through the range's ends would
    be: c·(x_a − x)(x_b − x) with c = κ·b², x = q². What remains is returned as z (mean
    normalised residual × √n, σ scaled by √χ²_ν when above 1) and the median relative
    deviation; (0, 0) when fewer than 2 rows or no σ, or when the deviation is below 1 %
    (with very precise data even a slight bend is "significant").
    """
    if len(pre) < 2 or not weighted:
        return 0.0, 0.0
    x = curve.q[pre] ** 2
    xa, xb = curve.q[first] ** 2, curve.q[last] ** 2
    b = -(res.Rg**2) / 3.0
    allowed = kappa * b * b * (xa - x) * (xb - x)
    fit = res.I0 * np.exp(b * x + allowed)
    scale = math.sqrt(max(res.chi2, 1.0))
    r = (curve.intensity[pre] - fit) / curve.sigma[pre] / scale
    rel = float(np.median(curve.intensity[pre] / fit - 1.0))
    if abs(rel) < _REL_FLAG:
        return 0.0, rel
    return float(r.mean() * math.sqrt(len(r))), rel


def _residual_runs_p(curve: Curve, res: GuinierResult, first: int, last: int, ok) -> float:
    """p-value of the longest same-sign run of the fit residuals in the range (CorMap test).

    Residuals of a straight Guinier range change sign like coin flips; a long run means the
    range bends (it reaches past the Guinier region, or aggregates/repulsion act inside it).
    """
    from halos_analysis.reduce import cormap_pvalue, longest_run

    rows = np.flatnonzero(ok[first : last + 1]) + first
    fit = res.I0 * np.exp(-((curve.q[rows] * res.Rg) ** 2) / 3.0)
    diff = curve.intensity[rows] - fit
    return float(cormap_pvalue(len(rows), longest_run(diff))) if len(rows) > 1 else 1.0


def _invalid_flagged(
    curve: Curve, flags: tuple[str, ...], skipped=(), *, reason: str
) -> GuinierResult:
    """The falsy result of a search that found no Guinier range, with its reason."""
    return GuinierResult.not_found(curve.q_unit, reason, flags=flags, skipped=skipped)
