# SPDX-License-Identifier: MIT
"""Numerical core of the BIFT P(r): evidence of the models over (Dmax, α), and the Dmax posterior.

Used by :func:`halos_analysis.analysis.pr.bift`, which prepares the data and assembles the
result; the model and its notation are described there. Per Dmax:

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

Dmax is searched coarse to fine (:func:`_search_dmax`); the mean and spread of its posterior
(α marginalised, flat prior in Dmax) come from the log evidence interpolated between the Dmax
evaluated (:func:`_dmax_moments`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.linalg import cholesky, solve_triangular
from scipy.optimize import nnls
from scipy.special import erfcx

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


def _search_dmax(
    prob: _Problem, rg0: float, d_floor: float, d_ceil: float, d_min: float | None = None
) -> list[_Eval]:
    """Coarse-to-fine search of the Dmax posterior; returns every evaluation, by Dmax.

    The search starts on [max(2.5 Rg, d_floor), min(6 Rg, d_ceil)] (a solid sphere has
    Dmax = 2.58 Rg, the most compact shape), extends upwards to
    ``d_ceil`` while the posterior peaks at the top, and downwards to ``d_min`` (default
    ``d_floor``) while it is not negligible at the bottom.
    """
    d_min = d_floor if d_min is None else min(d_min, d_floor)
    lo, hi = max(2.5 * rg0, d_floor), min(6.0 * rg0, d_ceil)
    if hi <= lo * 1.05:
        lo, hi = d_floor, d_ceil
    d, lz = prob.scan(np.geomspace(lo, hi, 8))
    # An elongated or flexible particle can have Dmax beyond 6 Rg: extend while the peak sits
    # at the top edge.
    while int(np.argmax(lz)) == len(d) - 1 and d[-1] < d_ceil * 0.999:
        top = min(d[-1] * 1.6, d_ceil)
        d2, lz2 = prob.scan(np.geomspace(d[-1], top, 6)[1:])
        d, lz = np.concatenate((d, d2)), np.concatenate((lz, lz2))
    # Downwards while the lowest Dmax still holds non-negligible posterior (> e^-15 of the
    # peak): a curve with no resolvable size (flat, or noise only) piles the posterior there,
    # and stopping at the first floor would report that floor as a precise Dmax.
    while np.isfinite(lz).any() and lz[0] > np.nanmax(lz) - 15.0 and d[0] > d_min * 1.001:
        bottom = max(d[0] / 1.6, d_min)
        d2, lz2 = prob.scan(np.geomspace(bottom, d[0], 6)[:-1])
        d, lz = np.concatenate((d2, d)), np.concatenate((lz2, lz))
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
