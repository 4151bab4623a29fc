# SPDX-License-Identifier: MIT
"""Pair-distance distribution P(r) by Bayesian indirect Fourier transform (BIFT).

The model follows Hansen (2000), J. Appl. Cryst. 33, 1415: P(r) is sampled on ``N`` interior
points ``r_j = j·Δr`` of ``[0, Dmax]`` (P(0) = P(Dmax) = 0), the intensity is

    I(q) = Σ_j 4π Δr · sin(q r_j)/(q r_j) · P(r_j),

and the solution minimises ``χ² + α·S`` with the "average of neighbours" smoothness prior
``S = Σ_j (P_j − (P_{j−1} + P_{j+1})/2)² = ||L P||²`` and P ≥ 0. The sum runs over every grid
point j = 0 … N+1, the two ends included (P = 0 outside the interior): P(r) must reach zero
smoothly at r = 0 and at Dmax, so that the models for different Dmax are one prior restricted
to shorter or longer supports and their evidences compare fairly. Per Dmax:

* without positivity everything is linear and Gaussian: whitening the prior (``u = R P`` with
  ``RᵀR = LᵀL``) and one eigendecomposition ``R⁻ᵀ KᵀWK R⁻¹ = V Λ Vᵀ`` give the solution and
  the exact log evidence for a whole grid of α at once (flat prior in log α),

      log Z(α) = −(M/2) log Q(α) − ½ Σ log(λ_k + α) + (N/2) log α,
      Q(α) = yᵀWy − Σ c_k²/(λ_k + α) = min (χ² + α·S),   c = Vᵀ R⁻ᵀ KᵀW y,

  for M data points. The −(M/2) log Q (instead of −Q/2) is the evidence with the σ of the
  data known only up to a common factor (Jeffreys prior on the variance scale, integrated
  out; Hansen's BayesApp corrects the errors the same way): real σ are often off by a
  constant factor (reduced χ² of 2 is common after averaging and subtraction), and
  trusting them as exact would make the Dmax posterior too narrow, or too wide. For a
  curve with correct σ it changes nothing;

* where that solution goes negative (a repulsion dip or subtraction error the data "want"),
  the non-negative solution is found by a warm-started active-set solver and its evidence by
  a Laplace approximation over the orthant P ≥ 0 (Gaussian over the free points, a one-sided
  integral for each point held at zero), on the α points around the unconstrained optimum.

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
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import nnls
from scipy.special import erfcx

from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, GuinierResult, PrResult

#: Data beyond q·Rg = this are not used by default: past it a protein curve carries little
#: information on P(r) and is where buffer-subtraction errors dominate (GNOM's and RAW's
#: usual advice is to stop somewhere between q·Rg 7 and 10; the upper end keeps the most
#: information where the signal lasts).
QRG_MAX = 10.0
#: Smallest number of data points a P(r) is attempted on.
MIN_POINTS = 10
#: Log10 span of the α grid below and above the largest eigenvalue of the whitened matrix,
#: and its step (decades). The evidence peak is a few decades wide, so 0.1 resolves it.
_LOG_ALPHA_SPAN = (-11.0, 2.0)
_LOG_ALPHA_STEP = 0.1
#: The α walk at one Dmax stops where the log evidence is this far below its best.
_ALPHA_DROP = 9.0
#: Posterior weights below this fraction of the largest are dropped from the averages.
_WEIGHT_CUT = 1e-6


@dataclass
class _Eval:
    """The problem at one Dmax: evidence on the α grid and the positive solutions found."""

    dmax: float
    dr: float
    r: np.ndarray  # interior r points
    kernel: np.ndarray  # (M, N), unweighted
    log_z: np.ndarray  # log evidence on the α grid (−inf where not evaluated)
    sols: dict[int, np.ndarray]  # α index -> non-negative P
    a_mat: np.ndarray  # KᵀWK, for the posterior precision KᵀWK + α LᵀL

    @property
    def log_z_marginal(self) -> float:
        m = float(self.log_z.max())
        if not math.isfinite(m):
            return -math.inf
        return m + math.log(float(np.exp(self.log_z - m).sum()))

    @property
    def best(self) -> int:
        return int(np.argmax(self.log_z))


def _source(curve: Curve) -> str:
    return str(curve.meta.get("source") or curve.meta.get("path") or curve.name or "curve")


def _check(curve: Curve) -> None:
    """Raise HalosInputError on data a P(r) cannot be computed from."""
    where = _source(curve)
    q, i, s = curve.q, curve.intensity, curve.sigma
    for name, arr in (("q", q), ("I", i)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise HalosInputError(
                f"{name} is not finite at point {bad[0]} ({bad.size} points)", where, name
            )
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise HalosInputError(
            f"σ is NaN or infinite at point {bad[0]} ({bad.size} points): a P(r) fit needs "
            "the uncertainty of every point",
            where,
            "sigma",
        )
    bad = np.flatnonzero(s <= 0)
    if bad.size:
        raise HalosInputError(f"σ ≤ 0 at point {bad[0]} ({bad.size} points)", where, "sigma")
    bad = np.flatnonzero(np.diff(q) <= 0)
    if bad.size:
        raise HalosInputError(f"q is not strictly increasing at point {bad[0] + 1}", where, "q")
    if len(q) < MIN_POINTS:
        raise HalosInputError(
            f"only {len(q)} points: a P(r) needs at least {MIN_POINTS}", where, "points"
        )


def _quick_guinier(q: np.ndarray, i: np.ndarray, s: np.ndarray) -> tuple[float, int] | None:
    """Rough Rg and first usable point from a scan of low-q Guinier windows.

    Only a starting point for the Dmax search and the q range, not a Guinier analysis: every
    window of at least 8 positive points starting in the first tenth of the curve with
    q_max·Rg ≤ 1.3 is fitted at once (weighted
    least squares from cumulative sums); among those whose reduced χ² is within a factor 2
    of the best, the longest wins.
    """
    m = min(len(q), 400)
    ok = i[:m] > 0
    idx = np.flatnonzero(ok)
    if idx.size < 8:
        return None
    x = q[idx] ** 2
    y = np.log(i[idx])
    w = (i[idx] / s[idx]) ** 2
    # Centre x and y so the cumulative sums do not cancel.
    x = x - x.mean()
    y = y - y.mean()
    terms = (w, w * x, w * y, w * x * x, w * x * y, w * y * y)
    cs = [np.concatenate(([0.0], np.cumsum(v))) for v in terms]
    n = idx.size
    # Windows = points a .. b-1 with at least 8 points, starting in the first tenth.
    a_max = min(max(len(q) // 10, 5), n - 8)
    a, b = np.triu_indices(n + 1, k=8)
    a, b = a[a <= a_max], b[a <= a_max]
    sw, sx, sy, sxx, sxy, syy = (c[b] - c[a] for c in cs)
    det = sw * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (sw * sxy - sx * sy) / det
        icpt = (sy - slope * sx) / sw
        chi2 = syy - 2 * icpt * sy - 2 * slope * sxy + icpt**2 * sw + 2 * icpt * slope * sx
        chi2 += slope**2 * sxx
        rg = np.sqrt(-3.0 * slope)
    npts = b - a
    # (A Guinier region starts at the low-q end, after at most a beamstop's worth of points:
    # else the flat stretch past the first minimum would look like a tiny particle.)
    valid = (slope < 0) & np.isfinite(rg) & (q[idx[b - 1]] * rg <= 1.3) & (det > 0)
    if not valid.any():
        return None
    chi2r = np.where(valid, chi2 / np.maximum(npts - 2, 1), np.inf)
    good = valid & (chi2r <= 2.0 * max(float(chi2r.min()), 1.0))
    best = np.flatnonzero(good)
    best = best[np.lexsort((chi2r[best], -npts[best]))][0]
    return float(rg[best]), int(idx[a[best]])


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


def _nonneg_quadratic(
    h: np.ndarray, b: np.ndarray, free: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Minimise ½ pᵀHp − bᵀp subject to p ≥ 0 (H symmetric positive definite).

    A primal active-set method started from a guess of the free set (the solution at a
    neighbouring α is usually right or one step away). Returns P, the free set and the
    Cholesky factor of H restricted to it (for the log determinant). Falls back to
    scipy's NNLS in the rare case the active set cycles.
    """
    n = len(b)
    free = np.ones(n, dtype=bool) if free is None else free.copy()
    tol = 1e-10 * float(np.abs(b).max() or 1.0)
    for _ in range(3 * n):
        p = np.zeros(n)
        if free.any():
            p[free] = np.linalg.solve(h[np.ix_(free, free)], b[free])
        if (p[free] < 0).any():
            free &= p > 0
            continue
        g = h @ p - b
        g[free] = 0.0
        j = int(np.argmin(g))
        if g[j] >= -tol:
            chol = np.linalg.cholesky(h[np.ix_(free, free)]) if free.any() else None
            return p, free, chol
        free[j] = True
    rmat = cholesky(h, check_finite=False)
    p, _ = nnls(rmat, solve_triangular(rmat, b, trans="T", check_finite=False))
    free = p > 0
    chol = np.linalg.cholesky(h[np.ix_(free, free)]) if free.any() else None
    return p, free, chol


def _prior_matrix(n: int) -> np.ndarray:
    """L, the (N + 2, N) "P_j minus the average of its neighbours" operator.

    One row per grid point j = 0 … N+1, the two ends included, with P = 0 outside the N
    interior points: P(r) is smooth across r = 0 and r = Dmax, not only inside. Without the
    two end rows a kink at either end (P dropping to zero with a finite slope) would cost
    nothing while the same kink anywhere inside is penalised; the prior would then favour
    P(r) cut short at Dmax, and the Dmax posterior would sit a few per cent short of the
    true maximum distance (real particles have P(r) → 0 smoothly at both ends: P ∝ r² at
    small r, and e.g. ∝ (Dmax − r)² for a sphere).
    """
    lmat = np.zeros((n + 2, n))
    j = np.arange(n)
    lmat[j + 1, j] = 1.0
    lmat[j, j] = -0.5
    lmat[j + 2, j] = -0.5
    return lmat


class _Problem:
    """Data, weights, prior and α grid shared by all Dmax evaluations."""

    def __init__(self, q: np.ndarray, i: np.ndarray, s: np.ndarray, n: int):
        self.q, self.i, self.s, self.n = q, i, s, n
        self.m = len(q)
        self.yw = i / s
        self.yy = float(self.yw @ self.yw)
        lmat = _prior_matrix(n)
        self.bmat = lmat.T @ lmat
        # Whitening: with B = RᵀR (Cholesky), u = R P has the prior N(0, I/α).
        self.linv = np.linalg.inv(np.linalg.cholesky(self.bmat).T)
        self.logdet_b = float(np.linalg.slogdet(self.bmat)[1])
        self.alphas: np.ndarray | None = None
        self.cache: dict[float, _Eval] = {}

    def kernel(self, dmax: float) -> tuple[np.ndarray, np.ndarray, float]:
        dr = dmax / (self.n + 1)
        r = dr * np.arange(1, self.n + 1)
        x = np.outer(self.q, r)
        with np.errstate(invalid="ignore", divide="ignore"):
            k = np.where(x > 0, np.sin(x) / x, 1.0)
        return 4.0 * math.pi * dr * k, r, dr

    def _positive(
        self, a_mat: np.ndarray, b: np.ndarray, alpha: float, start: np.ndarray | None
    ) -> tuple[np.ndarray, float]:
        """Non-negative solution at one α and its Laplace log evidence.

        The posterior is integrated over the orthant P ≥ 0: a Gaussian over the free points
        and, for each point held at zero, the one-sided integral of its conditional Gaussian
        with the gradient pushing outwards. Holding many points at zero (a Dmax too long, or a
        negative dip the data would like) thus costs evidence, as it should. ``start`` is a
        non-negative solution at a neighbouring α: its free set starts the active-set search.
        """
        h = a_mat + alpha * self.bmat
        try:
            p, free, chol = _nonneg_quadratic(h, b, None if start is None else start > 0)
        except np.linalg.LinAlgError:
            # α so small that H is numerically singular: no evidence there.
            return np.zeros(self.n), -math.inf
        grad = h @ p - b
        q_min = self.yy - 2.0 * float(b @ p) + float(p @ h @ p)
        # The noise scale at its most probable value s = Q/M (see the module docstring):
        # χ²/s + (α/s)·S with the prior and the posterior widths scaled by s.
        scale = max(q_min, 1e-300) / self.m
        log_z = -0.5 * self.m * math.log(scale)
        log_z += 0.5 * (self.n * math.log(alpha / scale) + self.logdet_b)
        if chol is not None:
            log_z -= float(np.log(np.diag(chol)).sum()) - 0.5 * int(free.sum()) * math.log(scale)
        bound = ~free
        if bound.any():
            hj = np.diag(h)[bound] / scale
            t = np.clip(grad[bound] / scale, 0.0, None) / np.sqrt(2.0 * hj)
            log_z += float((0.5 * np.log(math.pi / (2.0 * hj)) + np.log(erfcx(t))).sum())
            log_z -= 0.5 * math.log(2.0 * math.pi) * int(bound.sum())
        return p, log_z

    def evaluate(self, dmax: float) -> _Eval:
        """Evidence at one Dmax: every α of the grid at once without positivity (from one
        eigendecomposition), then the positive solution on every other α around the
        unconstrained optimum (the same α points for every Dmax, so marginals compare)."""
        dmax = float(dmax)
        if dmax in self.cache:
            return self.cache[dmax]
        k, r, dr = self.kernel(dmax)
        kw = k / self.s[:, None]
        a_mat = kw.T @ kw
        b = kw.T @ self.yw
        lam, v = np.linalg.eigh(self.linv.T @ a_mat @ self.linv)
        lam = np.clip(lam, 0.0, None)
        c = v.T @ (self.linv.T @ b)
        if self.alphas is None:
            # One α grid for every Dmax, so the marginal evidences compare.
            top = math.log10(max(float(lam[-1]), 1e-300))
            lo, hi = _LOG_ALPHA_SPAN
            self.alphas = 10.0 ** np.arange(top + lo, top + hi, _LOG_ALPHA_STEP)
        a = self.alphas
        den = lam[:, None] + a[None, :]
        # Q(α) = min χ² + α·S; the noise scale marginalised gives −(M/2)·log Q.
        q_min = np.maximum(self.yy - (c[:, None] ** 2 / den).sum(0), 1e-300)
        log_z0 = -0.5 * self.m * np.log(q_min / self.m)
        log_z0 += -0.5 * np.log(den).sum(0) + 0.5 * self.n * np.log(a)
        # Where the unconstrained solution is already non-negative it is also the positive
        # one, with the same evidence; elsewhere solve with positivity. Walk down and up the α
        # grid (every other point) from the unconstrained optimum until the evidence has
        # dropped far below its best: positivity lowers the α that is needed.
        p_all = (self.linv @ v) @ (c[:, None] / den)
        negative = (p_all < 0).any(0)
        log_z = np.full(len(a), -np.inf)
        sols: dict[int, np.ndarray] = {}

        def at(j: int, start: np.ndarray | None) -> float:
            if not negative[j]:
                sols[j] = p_all[:, j]
                log_z[j] = log_z0[j]
            else:
                sols[j], log_z[j] = self._positive(a_mat, b, float(a[j]), start)
            return float(log_z[j])

        k0 = int(np.argmax(log_z0))
        k0 -= k0 % 2
        best = at(k0, None)
        for direction in (-2, 2):
            j = k0 + direction
            while 0 <= j < len(a):
                lz = at(j, sols[j - direction])
                best = max(best, lz)
                if lz < best - _ALPHA_DROP:
                    break
                j += direction
        ev = _Eval(dmax, dr, r, k, log_z, sols, a_mat)
        self.cache[dmax] = ev
        return ev

    def scan(self, dmaxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.asarray(dmaxes, dtype=float)
        return d, np.array([self.evaluate(x).log_z_marginal for x in d])


def _dmax_moments(d: np.ndarray, lz: np.ndarray) -> tuple[float, float]:
    """Mean and spread of the Dmax posterior from its log density at scattered Dmax.

    The log marginal evidence is a smooth function of Dmax: a monotone cubic (PCHIP) through
    the evaluated points, integrated on a fine grid, gives the moments far more accurately
    than weights on the uneven search grid itself (their spacing can be comparable to the
    posterior width).
    """
    order = np.argsort(d)
    d, lz = d[order], lz[order]
    ok = np.isfinite(lz)
    ok[1:] &= np.diff(d) > 1e-9 * d[-1]  # drop near-duplicates from different search levels
    if not ok.any():  # no solution anywhere: the caller reports it
        return float(np.mean(d)), 0.0
    d, lz = d[ok], lz[ok]
    if len(d) < 3:
        w = np.exp(lz - lz.max())
        w /= w.sum()
    else:
        d_fine = np.linspace(d[0], d[-1], 2001)
        lz = PchipInterpolator(d, lz)(d_fine)
        d = d_fine
        w = np.exp(lz - lz.max())
        w /= w.sum()
    mean = float(w @ d)
    return mean, math.sqrt(max(float(w @ (d - mean) ** 2), 0.0))


def _search_dmax(prob: _Problem, rg0: float, d_floor: float, d_ceil: float) -> list[_Eval]:
    """Coarse-to-fine search of the Dmax posterior; returns every evaluation, by Dmax."""
    lo, hi = max(1.8 * rg0, d_floor), min(6.0 * rg0, d_ceil)
    if hi <= lo * 1.05:
        lo, hi = d_floor, d_ceil
    d, lz = prob.scan(np.geomspace(lo, hi, 8))
    # An elongated or flexible particle can have Dmax beyond 6 Rg: extend while the peak sits
    # at the top edge.
    while int(np.argmax(lz)) == len(d) - 1 and d[-1] < d_ceil * 0.999:
        top = min(d[-1] * 1.6, d_ceil)
        d2, lz2 = prob.scan(np.geomspace(d[-1], top, 6)[1:])
        d, lz = np.concatenate((d, d2)), np.concatenate((lz, lz2))
    # Bracket the region of non-negligible posterior (weight > e^-15 of the peak) by the grid
    # points just outside it, and sample it evenly.
    k = int(np.argmax(lz))
    keep = np.flatnonzero(lz > lz[k] - 15.0)
    a, b = d[max(keep[0] - 1, 0)], d[min(keep[-1] + 1, len(d) - 1)]
    if a == b:
        a, b = d[k] * 0.95, d[k] * 1.05
    prob.scan(np.linspace(a, b, 7))
    # Then refine around the posterior mean until the points within ±2 spreads of it are
    # closer than 0.8 spread: with the interpolated posterior that gives its mean to ~1 % of
    # its spread (checked against dense grids).
    for _ in range(3):
        d, lz = prob.scan(np.array(sorted(prob.cache)))
        mean, std = _dmax_moments(d, lz)
        near = d[np.abs(d - mean) <= 2.0 * std]
        if len(near) >= 4 and np.diff(near).max() < 0.8 * std:
            break
        lo, hi = max(mean - 2.0 * std, a), min(mean + 2.0 * std, b)
        if not hi > lo:
            break
        prob.scan(np.linspace(lo, hi, 5))
    return sorted(prob.cache.values(), key=lambda e: e.dmax)


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
        Buffer-subtracted curve with σ for every point. Negative intensities (normal at high q
        after subtraction) are fine.
    guinier : GuinierResult, optional
        Guinier result of the same curve: its Rg starts the Dmax search and sets the default
        q range; when it flags ``"aggregation"``, the points before its range are not used.
        When absent, a quick internal Guinier scan gives the Rg. Either way the fit starts at
        the first point that follows Guinier behaviour (a beamstop shadow is skipped).
    dmax : float, optional
        Fix Dmax (length unit of the curve) instead of searching it; α is still chosen by the
        evidence. ``Dmax_err`` is then 0.
    n_r : int
        Number of r points of P(r), both zero ends included (at least 10).
    qmax : float, optional
        Use only q ≤ qmax (q unit of the curve). By default the data stop at q·Rg = 10 or
        where I/σ collapses into noise, whichever comes first.

    Returns
    -------
    PrResult
        Dmax ± its posterior spread, Rg and I0 from P(r) with errors, reduced χ² of the fit
        (χ² / (points − effective number of parameters)), the chosen α, the log evidence,
        P(r) with errors on ``r`` from 0 to Dmax, and the fit ``i_fit`` on the q points used
        (``q_fit``). ``flags`` may hold ``"no_guinier_estimate"``, ``"few_points"``,
        ``"dmax_at_search_limit"``, ``"poor_fit"`` (reduced χ² > 3).

    Raises
    ------
    HalosInputError
        For non-finite q or I, NaN or non-positive σ, q not increasing, too few points.

    Examples
    --------
    >>> res = bift(curve)                                        # doctest: +SKIP
    >>> print(res)                                               # doctest: +SKIP
    P(r): Dmax = 101.3 ± 2.1 A, Rg = 33.2 ± 0.1 A, I0 = 0.06107, chi2 = 1.3
    """
    _check(curve)
    if n_r < 10:
        raise HalosInputError(f"n_r = {n_r}: use at least 10 r points", _source(curve), "n_r")
    q, i, s = curve.q, curve.intensity, curve.sigma
    flags: list[str] = []

    # The fit starts at the first point that follows Guinier behaviour (skipping a beamstop
    # shadow), not at the start of the chosen Guinier range: the lowest q carry the
    # long-distance information. Points a Guinier analysis found aggregated are left out.
    est = _quick_guinier(q, i, s)
    first = est[1] if est is not None else 0
    if guinier is not None and guinier.valid:
        rg0 = float(guinier.Rg)
        if "aggregation" in guinier.flags:
            first = max(first, int(guinier.first))
    elif est is not None:
        rg0 = est[0]
    else:
        rg0 = math.nan
        flags.append("no_guinier_estimate")

    if qmax is not None:
        last = int(np.searchsorted(q, qmax, side="right"))
    else:
        last = _qmax_by_signal(i, s)
        if math.isfinite(rg0):
            last = min(last, int(np.searchsorted(q, QRG_MAX / rg0, side="right")))
    sel = slice(first, last)
    qs, is_, ss = q[sel], i[sel], s[sel]
    if len(qs) < MIN_POINTS:
        raise HalosInputError(
            f"only {len(qs)} points between q = {q[first]:.4g} and the q max used "
            f"({q[max(last - 1, 0)]:.4g} {curve.q_unit}): too few for P(r)",
            _source(curve),
            "points",
        )

    n = n_r - 2
    prob = _Problem(qs, is_, ss, n)
    # Dmax bounds: at least ~2 Shannon channels, at most what the lowest q resolves (×2).
    d_floor = 2.0 * math.pi / qs[-1]
    d_ceil = max(2.0 * math.pi / qs[0], 4.0 * d_floor)
    if not math.isfinite(rg0):
        rg0 = math.sqrt(d_floor * d_ceil) / 3.0
    if dmax is not None:
        if not dmax > 0:
            raise HalosInputError(f"Dmax = {dmax} must be positive", _source(curve), "dmax")
        grid = [prob.evaluate(dmax)]
    else:
        grid = _search_dmax(prob, rg0, d_floor, d_ceil)
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
    wd = w.sum(1)
    if dmax is None:
        d_mean, d_std = _dmax_moments(d_grid, np.array([e.log_z_marginal for e in grid]))
    else:
        d_mean, d_std = float(dmax), 0.0
    # The most probable Dmax at an end of everything searched: the data do not bound it
    # (aggregates or a power-law curve at the top end, no resolvable size at the bottom).
    if dmax is None and int(np.argmax(wd)) in (0, len(d_grid) - 1):
        flags.append("dmax_at_search_limit")

    # The reported solution: Dmax at its posterior mean, α at its posterior mode there.
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
    if len(qs) < max(20, 2 * channels):
        flags.append("few_points")
    if chi2r > 3.0:
        flags.append("poor_fit")

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
    )
