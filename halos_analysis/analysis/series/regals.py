# SPDX-License-Identifier: MIT
"""REGALS-class deconvolution: regularised alternating least squares with smooth concentrations.

After Meisburger, Xu & Ando (2021, IUCrJ 8:225). The data block D (q × frames) is
modelled as Σ_k P_k c_kᵀ. Each concentration c_k lives on its range [x_min, x_max] only,
as a piecewise-linear curve on ``n_control`` control points (zero at a range boundary that
lies inside the block), with a second-difference smoothness penalty λ_k‖L u_k‖²; profiles
are free ("simple"). Each iteration solves the profiles given the concentrations (weighted
least squares, per q) and then all concentrations jointly given the profiles (one dense
linear solve with the penalties).

**Automatic λ.** As REGALS: λ_k is the value at which the effective number of parameters of
c_k, n_eff(λ) = n_∞ + Σ d_i/(d_i + λ) (d_i the generalised eigenvalues of the data and
penalty Gram matrices, n_∞ those the penalty does not touch), equals
``info_fraction`` × min(frames in range, control points); estimated on the starting
profiles, then once more after one step.

**Convergence** is tested on χ² (reduced, against the frames' σ): the iteration stops when
χ² has varied by less than ``tol`` (relative) over the last ``min_iter`` iterations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import linalg

from halos_analysis.analysis.series.results import Deconvolution

__all__ = ["regals"]

Range = tuple[int, int]


def _basis(n_f: int, a: int, b: int, n_control: int, zero_lo: bool, zero_hi: bool):
    """Hat-function basis (n_f × k) of a concentration on [a, b] and its penalty (m × k)."""
    nw = max(3, min(int(n_control), b - a + 1))
    w = np.linspace(a, b, nw)
    dw = (b - a) / (nw - 1)
    f = np.zeros((n_f, nw))
    x = np.arange(a, b + 1, dtype=float)
    ix = np.clip(np.floor((x - a) / dw).astype(int), 0, nw - 2)
    u = (x - w[ix]) / dw
    rows = np.arange(a, b + 1)
    f[rows, ix] += 1.0 - u
    f[rows, ix + 1] += u
    lap = np.zeros((nw - 2, nw))
    i = np.arange(nw - 2)
    lap[i, i], lap[i, i + 1], lap[i, i + 2] = -0.5, 1.0, -0.5
    keep = np.ones(nw, dtype=bool)
    if zero_lo:
        keep[0] = False
    if zero_hi:
        keep[-1] = False
    return f[:, keep], lap[:, keep], b - a + 1


def _ng_to_lambda(d: np.ndarray, n_inf: int, target: float) -> float:
    d = d[np.isfinite(d) & (d > 0)]
    if len(d) == 0:
        return 0.0
    grid = np.logspace(np.log10(d.max()) + 2, np.log10(d.min()) - 2, 101)
    ng = n_inf + (d[None, :] / (d[None, :] + grid[:, None])).sum(axis=1)
    if target <= ng[0]:
        return float(grid[0])
    if target >= ng[-1]:
        return 0.0
    return float(10 ** np.interp(target, ng, np.log10(grid)))


def regals(
    intensity: np.ndarray,
    sigma: np.ndarray,
    frames: Range,
    ranges: Sequence[Range],
    *,
    n_control: int = 50,
    lambdas: Sequence[float] | None = None,
    info_fraction: float = 0.8,
    init: np.ndarray | None = None,
    min_iter: int = 10,
    max_iter: int = 1000,
    tol: float = 1e-4,
) -> Deconvolution:
    """Separate overlapping species of a block of frames (see the module notes).

    Parameters
    ----------
    intensity, sigma : ndarray, shape (n_frames, n_q)
        Subtracted frames of the block, in frame order.
    frames : (first, last)
        Series positions of the block.
    ranges : sequence of (first, last)
        Each species' range in series positions (e.g. from EFA).
    n_control : int
        Control points per concentration.
    lambdas : sequence of float, optional
        Smoothness weights; automatic when None.
    info_fraction : float
        Fraction of the available parameters the automatic λ leaves effective.
    init : ndarray (n_frames, n_species), optional
        Starting concentrations (e.g. EFA's); default: REGALS' ramps and parabolas.
    min_iter, max_iter, tol
        Iteration window and limit, and the relative χ² spread over the window that ends it.

    Returns
    -------
    Deconvolution
        Concentrations (n_frames × species; profile × concentration = the species'
        intensity), profiles (n_q × species) normalised to unit RMS with their σ, χ².
    """
    a0, b0 = int(frames[0]), int(frames[1])
    n_f, nq = intensity.shape
    k = len(ranges)
    d = intensity.T  # q × frames
    err = sigma.T
    wq = 1.0 / np.where(err.mean(axis=1) > 0, err.mean(axis=1), 1.0)
    bases, laps, n_in = [], [], []
    for a, b in ranges:
        la, lb = int(a) - a0, int(b) - a0
        if not (0 <= la < lb < n_f):
            raise ValueError(f"range {a}-{b} is not inside frames {a0}-{b0}")
        f, lap, nd = _basis(n_f, la, lb, n_control, la > 0, lb < n_f - 1)
        bases.append(f)
        laps.append(lap)
        n_in.append(nd)
    sizes = [f.shape[1] for f in bases]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    # Starting coefficients: least-squares fit of the initial concentrations.
    u = []
    for j, f in enumerate(bases):
        if init is not None:
            target = init[:, j]
        else:
            # REGALS' shapes: a parabola between two zero ends, a ramp down to a zero end,
            # a ramp up from one; flat when neither end is zero.
            la, lb = int(ranges[j][0]) - a0, int(ranges[j][1]) - a0
            x = np.arange(n_f, dtype=float)
            t = np.clip((x - la) / max(lb - la, 1), 0, 1)
            zlo, zhi = la > 0, lb < n_f - 1
            shape = (
                1 - (2 * t - 1) ** 2 if zlo and zhi else 1 - t if zhi else t if zlo else 1 + 0 * t
            )
            target = np.where((x >= la) & (x <= lb), shape, 0.0)
        u.append(np.linalg.lstsq(f, target, rcond=None)[0])

    def conc(us):
        return np.column_stack([f @ uj for f, uj in zip(bases, us, strict=True)])

    def fit_profiles(c):
        p = d @ c @ np.linalg.pinv(c.T @ c)
        norm = np.sqrt(np.mean(p * p, axis=0))
        return p / np.where(norm > 0, norm, 1.0)

    # Constant parts of the concentration problem, computed once: the basis Gram blocks
    # and the data weighted by w_q² (the fit's weights are per q).
    btb = [[bases[i].T @ bases[j] for j in range(k)] for i in range(k)]
    dt_w2 = (d * (wq * wq)[:, None]).T  # frames × q

    def normal_eq(p):
        yw = p * wq[:, None]
        gram = yw.T @ yw
        proj = dt_w2 @ p  # frames × species: Dᵀ W² P
        n = offsets[-1]
        aa = np.zeros((n, n))
        rhs = np.zeros(n)
        for i in range(k):
            si = slice(offsets[i], offsets[i + 1])
            rhs[si] = bases[i].T @ proj[:, i]
            for j in range(k):
                sj = slice(offsets[j], offsets[j + 1])
                aa[si, sj] = gram[i, j] * btb[i][j]
        return aa, rhs

    def auto_lambdas(p):
        aa, _ = normal_eq(p)
        out = []
        for i in range(k):
            si = slice(offsets[i], offsets[i + 1])
            a_kk = aa[si, si]
            ltl = laps[i].T @ laps[i]
            ridge = 1e-12 * np.trace(a_kk) / max(len(a_kk), 1)
            mu = linalg.eigh(ltl, a_kk + ridge * np.eye(len(a_kk)), eigvals_only=True)
            n_inf = int((mu <= 1e-12 * max(mu.max(), 1e-300)).sum())
            dvals = 1.0 / mu[mu > 1e-12 * max(mu.max(), 1e-300)]
            target = info_fraction * min(n_in[i], sizes[i])
            out.append(_ng_to_lambda(dvals, n_inf, target))
        return out

    def fit_conc(p, lam):
        aa, rhs = normal_eq(p)
        h = np.zeros_like(aa)
        for i in range(k):
            si = slice(offsets[i], offsets[i + 1])
            h[si, si] = lam[i] * (laps[i].T @ laps[i])
        sol = np.linalg.solve(aa + h, rhs)
        return [sol[offsets[i] : offsets[i + 1]] for i in range(k)]

    def chi2_of(p, us):
        model = p @ conc(us).T
        return float(np.mean(np.square((d - model) / err)))

    p = fit_profiles(conc(u))
    lam = list(lambdas) if lambdas is not None else auto_lambdas(p)
    if lambdas is None:
        u1 = fit_conc(p, lam)
        lam = auto_lambdas(fit_profiles(conc(u1)))
    history: list[float] = []
    converged = False
    it = 0
    chi2 = math.nan
    while it < max_iter:
        it += 1
        p = fit_profiles(conc(u))
        u = fit_conc(p, lam)
        chi2 = chi2_of(p, u)
        if not math.isfinite(chi2):
            break
        history.append(chi2)
        # Converged when χ² has stopped moving over the last min_iter iterations (spread
        # below tol of its value; RAW tests the standard deviation against 1e-3).
        last = history[-min_iter:]
        if it >= min_iter and max(last) - min(last) <= tol * float(np.median(last)):
            converged = True
            break
    c = conc(u)
    # Profiles in intensity units of unit concentration, with σ, from the final concentrations.
    mult = c @ np.linalg.pinv(c.T @ c)
    profiles = d @ mult
    profile_sigma = np.sqrt(np.square(err) @ np.square(mult))
    flags = [] if converged else ["not_converged"]
    if (c < -0.05 * np.abs(c).max(axis=0, keepdims=True)).any():
        flags.append("negative_concentration")
    return Deconvolution(
        frames=(a0, b0),
        ranges=tuple((int(a), int(b)) for a, b in ranges),
        lambdas=tuple(float(x) for x in lam),
        concentrations=c,
        profiles=profiles,
        profile_sigma=profile_sigma,
        chi2=chi2,
        iterations=it,
        converged=converged,
        flags=tuple(flags),
    )
