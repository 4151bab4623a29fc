# SPDX-License-Identifier: MIT
"""Pair-distance distribution P(r) by Bayesian indirect Fourier transform (BIFT).

The model follows Hansen (2000), J. Appl. Cryst. 33, 1415: P(r) is sampled on ``N`` interior
points ``r_j = j·Δr`` of ``[0, Dmax]`` (P(0) = P(Dmax) = 0), the intensity is

    I(q) = Σ_j 4π Δr · sin(q r_j)/(q r_j) · P(r_j),

and the solution minimises ``χ² + α·S`` with the "average of neighbours" smoothness prior
``S = Σ_j (P_j − (P_{j−1} + P_{j+1})/2)² = ||L P||²`` and P ≥ 0. The sum runs over every grid
point j = 0 … N+1, the two ends included (P = 0 outside the interior): P(r) must reach zero
smoothly at r = 0 and at Dmax, so that the models for different Dmax are one prior restricted
to shorter or longer supports and their evidences compare fairly.

This module checks the data, chooses the q range and assembles the result; the evidence per
Dmax over a grid of α (exact without positivity, Laplace over P ≥ 0 where the unconstrained
solution goes negative, σ known only up to a common factor) and the Dmax search are in
:mod:`halos_analysis.analysis._pr_evidence`.

Dmax is searched coarse to fine. Its posterior (α marginalised, flat prior in Dmax; the log
evidence interpolated between the Dmax evaluated) gives the reported Dmax (posterior mean)
and its spread; P(r) is the solution at that Dmax and its most
probable α, and the P(r), Rg and I0 errors combine the posterior covariance there (σ scaled
by the most probable noise factor, ``(χ² + α·S)/M``) with the spread of the solutions over
the (α, Dmax) posterior.

Lengths are in the unit matching ``curve.q_unit`` (Å for ``A^-1``, nm for ``nm^-1``).
"""

from __future__ import annotations

import math

import numpy as np

from halos_analysis.analysis._pr_evidence import _dmax_moments, _Problem, _search_dmax
from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, GuinierResult, PrResult

#: Data beyond q·Rg = this are not used by default: past it a protein curve carries little
#: information on P(r) and is where buffer-subtraction errors dominate (GNOM's and RAW's
#: usual advice is to stop somewhere between q·Rg 7 and 10; the upper end keeps the most
#: information where the signal lasts).
QRG_MAX = 10.0
#: Smallest number of data points a P(r) is attempted on.
MIN_POINTS = 10
#: Dmax/Rg beyond which no compact or elongated particle lies (a sphere has 2.58, a thin rod
#: 3.46; unfolded chains reach 4–5, where Dmax is not well defined anyway).
DMAX_RG_MAX = 5.0
#: P(r) has ended where it falls below this fraction of its peak (see _main_extent).
_END_LEVEL = 0.01
#: A tail beyond the end holding more than this fraction of the P(r) area casts doubt.
_TAIL_AREA = 0.005
#: Reduced χ² of the P(r) fit above which the fit itself casts doubt.
POOR_FIT_CHI2 = 10.0
#: Curves denser than this (in the q range used) are rebinned to about this many points.
REBIN_TARGET = 300
#: Posterior weights below this fraction of the largest are dropped from the averages.
_WEIGHT_CUT = 1e-6


def _source(curve: Curve) -> str:
    return str(curve.meta.get("source") or curve.meta.get("path") or curve.name or "curve")


def _usable(curve: Curve) -> tuple[np.ndarray, tuple[tuple[str, tuple[int, ...]], ...]]:
    """Rows a P(r) can use (finite q, I and σ > 0, q not repeated) and why others are not.

    Raises HalosInputError when q decreases or fewer than :data:`MIN_POINTS` rows are usable.
    """
    where = _source(curve)
    use = curve.rows()
    finite_q = np.flatnonzero(np.isfinite(curve.q))
    bad = np.flatnonzero(np.diff(curve.q[finite_q]) < 0)
    if bad.size:
        raise HalosInputError(f"q decreases at point {finite_q[bad[0] + 1]}", where, "q")
    ok = use.usable & np.isfinite(curve.sigma) & (curve.sigma > 0)
    skipped = use.skipped
    missing = np.flatnonzero(use.usable & ~ok)
    if missing.size:  # a curve without any σ: the IFT needs them
        skipped = (*skipped, ("sigma_not_positive", tuple(int(i) for i in missing)))
    if ok.sum() < MIN_POINTS:
        raise HalosInputError(
            f"only {int(ok.sum())} usable points (finite q, I and σ > 0): a P(r) needs at "
            f"least {MIN_POINTS}",
            where,
            "points",
        )
    return ok, skipped


def _rebin(q, i, s, target: int):
    """Merge runs of neighbouring points into about ``target`` points (σ-weighted means).

    A dense curve (1000–2500 points from a fine radial grid) holds many points per Shannon
    channel; merging neighbours keeps the information the IFT can use (the bins stay far
    narrower than π/Dmax) while making the cost independent of the detector's binning.
    """
    k = int(math.ceil(len(q) / target))
    if k <= 1:
        return q, i, s
    n = len(q) // k * k
    w = 1.0 / s[:n] ** 2
    ws = w.reshape(-1, k).sum(1)
    qb = (w * q[:n]).reshape(-1, k).sum(1) / ws
    ib = (w * i[:n]).reshape(-1, k).sum(1) / ws
    sb = 1.0 / np.sqrt(ws)
    if n < len(q):  # the remainder forms one last, smaller bin
        wr = 1.0 / s[n:] ** 2
        qb = np.append(qb, (wr * q[n:]).sum() / wr.sum())
        ib = np.append(ib, (wr * i[n:]).sum() / wr.sum())
        sb = np.append(sb, 1.0 / math.sqrt(wr.sum()))
    return qb, ib, sb


def _qmax_by_signal(i: np.ndarray, s: np.ndarray) -> int:
    """Number of leading points before I/σ collapses into noise.

    The mean of I/σ over a running window of ~4 % of the points (at least 5) is about 0 ± 1/√w
    where the curve is only noise; the data are cut after the last window whose mean is ≥ 1,
    i.e. where the window as a whole still holds a clear signal.
    """
    w = max(5, len(i) // 25)
    if len(i) <= w:
        return len(i)
    run = np.convolve(i / s, np.ones(w) / w, mode="valid")
    above = np.flatnonzero(run >= 1.0)
    return len(i) if above.size == 0 else min(len(i), int(above[-1]) + w)


def _rg_i0(p: np.ndarray, r: np.ndarray, dr: float) -> tuple[np.ndarray, np.ndarray]:
    """Rg and I0 of P(r) columns (trapezoid rule; the end points are zero)."""
    s0 = p.sum(0)
    s2 = (r[:, None] ** 2 * p).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rg = np.sqrt(s2 / (2.0 * s0))
    return rg, 4.0 * math.pi * dr * s0


def bift(
    curve: Curve,
    guinier: GuinierResult | None = None,
    *,
    dmax: float | None = None,
    n_r: int = 50,
    qmax: float | None = None,
) -> PrResult:
    """P(r) by Bayesian indirect Fourier transform with automatic Dmax and regularisation.

    Parameters
    ----------
    curve : Curve
        Buffer-subtracted curve. Rows without a usable σ (σ ≤ 0, NaN), NaN intensities and
        repeated q are left out and listed in ``skipped``; negative intensities (normal at
        high q after subtraction) are used.
    guinier : GuinierResult, optional
        Guinier result of the same curve (:func:`~halos_analysis.analysis.guinier.auto_guinier`
        is run when absent): its Rg starts the Dmax search (from 2.5 Rg) and limits q to
        q·Rg ≤ 10; the fit starts after the rows it found in the beam-stop shadow, and after
        its range when it flags ``"aggregation"``.
    dmax : float, optional
        Fix Dmax (length unit of the curve) instead of searching it; α is still chosen by the
        evidence. ``Dmax_err`` is then 0.
    n_r : int
        Number of r points of P(r), both zero ends included (at least 10).
    qmax : float, optional
        Use only q ≤ qmax (q unit of the curve). By default the data stop at q·Rg = 10 or
        where I/σ collapses into noise, whichever comes first. Curves denser than
        :data:`REBIN_TARGET` points in that range are rebinned to about that many.

    Returns
    -------
    PrResult
        Dmax ± its posterior spread, Rg and I0 from P(r) with errors, reduced χ² of the fit
        (χ² / (points − effective number of parameters)), the chosen α, the log evidence,
        P(r) with errors on ``r`` from 0 to Dmax, and the fit ``i_fit`` on the (rebinned)
        q points used (``q_fit``). ``flags`` are described in :mod:`halos_analysis.flags`;
        ``valid`` is False when one of them casts doubt.

    Raises
    ------
    HalosInputError
        When q decreases, or fewer than :data:`MIN_POINTS` usable points are left.

    Examples
    --------
    A solid sphere of radius 20 Å (Dmax 40 Å) with 0.5 % noise:

    >>> import numpy as np
    >>> from halos_analysis.types import Curve
    >>> q = np.linspace(0.01, 0.4, 200)
    >>> x = 20.0 * q
    >>> i = 100 * (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2
    >>> s = 0.005 * i + 0.01
    >>> res = bift(Curve(q, i + np.random.default_rng(0).normal(0, s), s, "A^-1"))
    >>> bool(abs(res.Dmax - 40.0) < 2.0), bool(abs(res.Rg - 20 * np.sqrt(3 / 5)) < 0.3)
    (True, True)
    >>> res.valid
    True
    """
    if n_r < 10:
        raise HalosInputError(f"n_r = {n_r}: use at least 10 r points", _source(curve), "n_r")
    ok, skipped = _usable(curve)
    q, i, s = curve.q, curve.intensity, curve.sigma
    flags: list[str] = []

    # The Guinier analysis gives the Rg that guides the q range and the Dmax search, and the
    # first row that follows Guinier behaviour (a beam-stop shadow is skipped). The fit
    # starts there, not at the start of the Guinier range: the lowest q carry the
    # long-distance information. Rows a Guinier analysis found aggregated are left out.
    if guinier is None:
        from halos_analysis.analysis.guinier import auto_guinier

        guinier = auto_guinier(curve)
    shadow = [r for reason, rows in guinier.skipped if reason == "beamstop_shadow" for r in rows]
    first = max(shadow) + 1 if shadow else 0
    if guinier.found:
        rg0 = float(guinier.Rg)
        if "aggregation" in guinier.flags:
            # Aggregates scatter past the Guinier range too: their long distances can set
            # Dmax even with the lowest q left out, so the P(r) shares the doubt.
            first = max(first, int(guinier.first))
            flags.append("aggregation")
        if "strong_repulsion" in guinier.flags:
            # A strong structure factor shapes the whole low-q curve the P(r) is fitted to.
            flags.append("strong_repulsion")
    else:
        rg0 = math.nan
        flags.append("no_guinier_estimate")
    if first:
        ok = ok.copy()
        ok[:first] = False

    if qmax is not None:
        ok &= q <= qmax
    else:
        idx = np.flatnonzero(ok)
        last = idx[: _qmax_by_signal(i[idx], s[idx])]
        ok &= q <= q[last[-1]] if last.size else False
        if math.isfinite(rg0):
            ok &= q <= QRG_MAX / rg0
    qs, is_, ss = q[ok], i[ok], s[ok]
    if len(qs) < MIN_POINTS:
        raise HalosInputError(
            f"only {len(qs)} usable points in the q range of the P(r) (q max "
            f"{q[np.flatnonzero(ok)[-1]] if ok.any() else math.nan:.4g} {curve.q_unit}): "
            "too few",
            _source(curve),
            "points",
        )
    n_measured = len(qs)
    qs, is_, ss = _rebin(qs, is_, ss, REBIN_TARGET)
    if len(qs) < n_measured:
        flags.append("pr_rebinned")

    n = n_r - 2
    prob = _Problem(qs, is_, ss, n)
    # Dmax bounds: at least ~2 Shannon channels, at most what the lowest q resolves (×2).
    d_floor = 2.0 * math.pi / qs[-1]
    d_ceil = max(2.0 * math.pi / qs[0], 4.0 * d_floor)
    if not math.isfinite(rg0):
        rg0 = math.sqrt(d_floor * d_ceil) / 3.0
    # Lowest Dmax the search may extend down to: one Shannon channel (a smaller particle
    # scatters flat over the whole q range used, so the data cannot tell its size) and,
    # with a real Guinier Rg, the geometric bound Dmax ≥ √(8/3)·Rg (Jung's theorem: any
    # body of diameter D fits in a sphere of radius D·√(3/8), which bounds its Rg).
    d_min = math.pi / qs[-1]
    if guinier.found:
        d_min = min(max(d_min, math.sqrt(8.0 / 3.0) * float(guinier.Rg)), d_floor)
    if dmax is not None:
        if not dmax > 0:
            raise HalosInputError(f"Dmax = {dmax} must be positive", _source(curve), "dmax")
        grid = [prob.evaluate(dmax)]
    else:
        grid = _search_dmax(prob, rg0, d_floor, d_ceil, d_min)
    d_grid = np.array([e.dmax for e in grid])
    lz = np.array([e.log_z for e in grid])  # (n_dmax, n_alpha)
    alphas = prob.alphas
    assert alphas is not None
    # Posterior over the (Dmax, α) points evaluated: every level of the search is used, each
    # Dmax weighted by the width of grid it stands for (trapezoid rule on the uneven grid).
    width = np.ones(1) if len(d_grid) == 1 else np.gradient(d_grid)
    if not np.isfinite(lz).any():
        raise HalosInputError(
            "no P(r) solution: the data do not constrain a distance distribution "
            f"(q {qs[0]:.4g}–{qs[-1]:.4g} {curve.q_unit})",
            _source(curve),
            "intensity",
        )
    w = np.exp(lz - lz.max()) * width[:, None]
    w /= w.sum()
    if dmax is None:
        d_mean, d_std = _dmax_moments(d_grid, np.array([e.log_z_marginal for e in grid]))
    else:
        d_mean, d_std = float(dmax), 0.0
    # The Dmax posterior reaching an end of everything searched (mean within 2 spreads of
    # it): the data do not bound Dmax (aggregates or a power-law curve at the top end, no
    # resolvable size at the bottom), so its mean and spread describe the search, not the data.
    if dmax is None and (d_mean - 2.0 * d_std <= d_grid[0] or d_mean + 2.0 * d_std >= d_grid[-1]):
        flags.append("dmax_at_search_limit")

    # The reported solution: Dmax at its posterior mean, α at its posterior mode there.
    final = prob.evaluate(d_mean)
    if dmax is None:
        # A P(r) that has ended well before that Dmax (a faint tail or zeros beyond): the
        # particle's Dmax is where its distribution ends; what lies beyond is a trace of
        # larger species or a systematic error of the curve, not the particle.
        p_full = np.concatenate(([0.0], final.sols[final.best], [0.0]))
        r_full = np.linspace(0.0, final.dmax, n + 2)
        cut = _main_extent(p_full, r_full)
        if cut is not None:
            d_end, tail_area = cut
            flags.append("pr_tail_not_smooth" if tail_area > _TAIL_AREA else "pr_dmax_trimmed")
            d_std = max(d_std, 0.5 * (d_mean - d_end))
            d_mean = d_end
            beyond = d_grid > d_end * 1.1
            if beyond.all():  # keep the evaluated Dmax nearest the end
                beyond[int(np.argmin(np.abs(d_grid - d_end)))] = False
            w[beyond, :] = 0.0
            w /= w.sum()
            final = prob.evaluate(d_mean)
    ka = final.best
    alpha = float(alphas[ka])
    p_int = final.sols[ka]
    h = final.a_mat + alpha * prob.bmat
    r_out = np.linspace(0.0, final.dmax, n + 2)

    # Spread of P(r), Rg, I0 over the (Dmax, α) posterior, on the reported r grid.
    p_sum = np.zeros(n + 2)
    p_sq = np.zeros(n + 2)
    mom = np.zeros(5)  # weight, Rg, Rg², I0, I0²
    wmax = w.max()
    for j, ev in enumerate(grid):
        for ja, pj in ev.sols.items():
            wj = w[j, ja]
            if not wj > _WEIGHT_CUT * wmax:
                continue
            rgj, i0j = _rg_i0(pj[:, None], ev.r, ev.dr)
            mom += wj * np.array([1.0, rgj[0], rgj[0] ** 2, i0j[0], i0j[0] ** 2])
            r_full = np.concatenate(([0.0], ev.r, [ev.dmax]))
            pint = np.interp(r_out, r_full, np.concatenate(([0.0], pj, [0.0])), right=0.0)
            p_sum += wj * pint
            p_sq += wj * pint**2
    wk = mom[0]
    rg_var = max(mom[2] / wk - (mom[1] / wk) ** 2, 0.0)
    i0_var = max(mom[4] / wk - (mom[3] / wk) ** 2, 0.0)
    p_var = np.clip(p_sq / wk - (p_sum / wk) ** 2, 0.0, None)

    rg_arr, i0_arr = _rg_i0(p_int[:, None], final.r, final.dr)
    rg, i0 = float(rg_arr[0]), float(i0_arr[0])
    s0 = float(p_int.sum())
    g_rg = (final.r**2 - 2.0 * rg**2) / (4.0 * rg * s0)
    g_i0 = np.full(n, 4.0 * math.pi * final.dr)
    # Linear error propagation with the posterior covariance over the free (non-zero) points.
    free = p_int > 0
    cov = np.linalg.inv(h[np.ix_(free, free)]) if free.any() else np.zeros((0, 0))
    # Effective number of parameters the data determine (free points only).
    hf = h[np.ix_(free, free)]
    n_good = float(np.trace(cov @ (hf - alpha * prob.bmat[np.ix_(free, free)])))
    # σ scaled by the most probable noise scale (χ² + α·S)/M, as in the evidence.
    i_fit = final.kernel @ p_int
    chi2 = float((((is_ - i_fit) / ss) ** 2).sum())
    noise_scale = (chi2 + alpha * float(p_int @ prob.bmat @ p_int)) / len(qs)
    cov = cov * noise_scale
    cov_diag = noise_scale / np.diag(h)  # points held at zero: their conditional variance
    cov_diag[free] = np.diag(cov)
    rg_err = math.sqrt(float(g_rg[free] @ cov @ g_rg[free]) + rg_var)
    i0_err = math.sqrt(float(g_i0[free] @ cov @ g_i0[free]) + i0_var)

    pr = np.concatenate(([0.0], p_int, [0.0]))
    pr_err = np.sqrt(np.concatenate(([0.0], cov_diag, [0.0])) + p_var)
    chi2r = chi2 / max(len(qs) - n_good, 1.0)

    channels = qs[-1] * d_mean / math.pi
    if n_measured < max(20, 2 * channels):
        flags.append("pr_few_points")
    # Reduced χ² of 2–5 is common with correct results (σ a constant factor off, neighbouring
    # points correlated by the radial binning); far above that the model cannot describe the
    # curve at all (a wrong q range, unsubtracted buffer).
    if chi2r > POOR_FIT_CHI2:
        flags.append("poor_fit")
    elif chi2r > 3.0:
        flags.append("pr_chi2_high")
    if not _tail_is_smooth(pr) and "pr_tail_not_smooth" not in flags:
        flags.append("pr_tail_not_smooth")
    if not _shape_is_physical(pr):
        flags.append("pr_unphysical")
    if rg > 0 and d_mean / rg > DMAX_RG_MAX:
        flags.append("dmax_rg_ratio_high")

    return PrResult(
        Dmax=d_mean,
        Dmax_err=d_std if dmax is None else 0.0,
        Rg=rg,
        Rg_err=rg_err,
        I0=i0,
        I0_err=i0_err,
        chi2=chi2r,
        alpha=alpha,
        q_unit=curve.q_unit,
        r=r_out,
        pr=pr,
        pr_err=pr_err,
        q_fit=qs.copy(),
        i_fit=i_fit,
        evidence=float(final.log_z_marginal),
        flags=tuple(flags),
        skipped=skipped,
    )


def _main_extent(pr: np.ndarray, r: np.ndarray) -> tuple[float, float] | None:
    """Where a P(r) ends, if well before its last r, and the area fraction beyond.

    The distribution ends at the first point after its peak where it falls below 1 % of the
    peak (a sphere's P(r) does so in the last 2.3 % of its range, an elongated particle's
    later), or where it reaches a local minimum below 3 % of the peak (a faint tail or bump
    follows). When that is before 85 % of the range, returns (that r, the 1 % crossing
    interpolated; the fraction of the area beyond it); else None.
    """
    top = float(pr.max())
    if not top > 0:
        return None
    k = int(np.argmax(pr))
    y = pr / top
    after = np.arange(k + 1, len(pr) - 1)
    ends = after[(y[after] < _END_LEVEL) | ((y[after] <= y[after + 1]) & (y[after] < 0.03))]
    if ends.size == 0:
        return None
    j = int(ends[0])
    r_end = float(r[j])
    if y[j] < _END_LEVEL:  # interpolate the 1 % crossing between the points j−1 and j
        r_end = float(r[j - 1] + (r[j] - r[j - 1]) * (y[j - 1] - _END_LEVEL) / (y[j - 1] - y[j]))
    if r_end > 0.85 * r[-1]:
        return None
    return r_end, float(pr[j:].sum() / pr.sum())


def _shape_is_physical(pr: np.ndarray) -> bool:
    """Whether P(r) has a shape a particle can have.

    P(r) rises from zero like r² (it is the distribution of distances inside a body), so it
    cannot hold a quarter of its peak in the first 4 % of the r range: such a spike comes
    from a constant background left in the curve. And it has at most two clear maxima (two
    domains or subunits); more, each at least a fifth of the peak with dips between them,
    are ripples of a transform that does not describe the data.
    """
    top = float(pr.max())
    if not top > 0:
        return False
    y = pr / top
    head = max(1, int(math.ceil(0.04 * (len(y) - 1))))
    if (y[1 : head + 1] > 0.25).any():
        return False
    peaks = [
        i for i in range(1, len(y) - 1) if y[i] >= 0.2 and y[i] >= y[i - 1] and y[i] > y[i + 1]
    ]
    clear = 0
    for a, b in zip(peaks, peaks[1:], strict=False):
        if y[a : b + 1].min() < 0.7 * min(y[a], y[b]):
            clear += 1
    return clear + 1 <= 2


def _tail_is_smooth(pr: np.ndarray) -> bool:
    """Whether P(r), after its peak, falls once to zero without a second bump.

    A bump after P(r) had fallen below 2 % of its peak (an aggregate, or a ripple of the
    transform) means the tail is not the particle's.
    """
    top = float(pr.max())
    if not top > 0:
        return False
    k = int(np.argmax(pr))
    low = np.flatnonzero(pr[k:] < 0.02 * top)
    return not (low.size and (pr[k + low[0] :] > 0.05 * top).any())
