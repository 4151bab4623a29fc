# SPDX-License-Identifier: MIT
"""Evolving factor analysis (EFA) of an elution region and its rotation to species.

**Sweeps** (Maeder 1987; Meisburger et al. 2016 for SAXS). The forward sweep holds the top
singular values of frames first..first+k for every k, the backward one those of
last−k..last. Both are computed incrementally: the frames (q binned to ~100, divided by the
mean σ of each bin) are projected once onto the leading left singular vectors of the whole
region, which carry every species above noise; the projected Gram matrices of all prefixes
(suffixes) are cumulative sums of outer products, and their eigenvalues for every k come
from one batched symmetric eigen-solve. A species' values are exact to the projection; the
noise values are lower bounds (they only see the kept subspace).

**Noise level.** The per-element noise ν of the normalised region is estimated from the
median singular value (Gavish & Donoho 2014: median(s) = ν·√(n·μ_β) with μ_β the median of
the Marchenko–Pastur law), so a k-frame block's noise values reach at most
ν·(√n_q + √k); a species is present in a sweep where its value exceeds that edge by
:data:`EDGE_FACTOR`.

**Ranges and rotation.** With n species eluting first-in first-out, species i exists from
the forward onset of value i to the backward onset of value n−1−i. Concentrations are
rotated from the right singular vectors: explicitly first (each species' concentration is
the combination of singular vectors closest to zero outside its range), then by alternating
least squares with the range and non-negativity constraints until the concentrations
change by less than ``tol`` (relative) — RAW's hybrid method. Profiles and their σ follow
from the pseudo-inverse of the constrained concentrations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import integrate, optimize

from halos_analysis.analysis.series.results import EFAResult
from halos_analysis.analysis.series.svd import bin_q, thin_svd

__all__ = ["EDGE_FACTOR", "efa", "efa_ranges", "efa_sweeps", "mp_median", "rotate"]

#: A value counts as a species where it exceeds the noise edge by this factor.
EDGE_FACTOR = 2.5
#: Singular vectors kept for the incremental sweeps (species + the top of the noise).
_KEEP = 10

Range = tuple[int, int]


@lru_cache(maxsize=256)
def _mp_median_cached(beta: float) -> float:
    a, b = (1 - math.sqrt(beta)) ** 2, (1 + math.sqrt(beta)) ** 2

    def density(x: float) -> float:
        return math.sqrt(max((b - x) * (x - a), 0.0)) / (2 * math.pi * beta * x)

    def cdf(m: float) -> float:
        return integrate.quad(density, a, m, limit=200)[0] - 0.5

    return float(optimize.brentq(cdf, a + 1e-12, b))


def mp_median(beta: float) -> float:
    """Median of the Marchenko–Pastur law of aspect ratio β (0 < β ≤ 1), unit variance."""
    beta = min(max(float(beta), 1e-4), 1.0)
    return _mp_median_cached(round(beta, 4))


def _normalised(intensity: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    sbar = sigma.mean(axis=0)
    sbar = np.where(sbar > 0, sbar, 1.0)
    return intensity / sbar[None, :]


def efa_sweeps(
    intensity: np.ndarray, sigma: np.ndarray, n_values: int = 5, q_bins: int = 100
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Forward and backward EFA sweeps of a block of frames.

    Parameters
    ----------
    intensity, sigma : ndarray, shape (n_frames, n_q)
        Subtracted frames of the region, in elution order.
    n_values : int
        Singular values kept per step.
    q_bins : int
        q bins the sweeps work on.

    Returns
    -------
    forward, backward : ndarray, shape (n_frames, n_values)
        ``forward[k]``: values of frames 0..k; ``backward[k]``: of frames n−1−k..n−1.
    noise : float
        Per-element noise ν of the normalised block.
    n_q : int
        q bins used.
    """
    ib, sb, _ = bin_q(intensity, sigma, q_bins)
    a = _normalised(ib, sb)  # frames × q
    n_f, nq = a.shape
    u, s, _vt = thin_svd(a.T)
    beta = min(n_f, nq) / max(n_f, nq)
    noise = float(np.median(s)) / math.sqrt(max(n_f, nq) * mp_median(beta)) if len(s) > 1 else 0.0
    keep = min(_KEEP, len(s))
    c = a @ u[:, :keep]  # frames × keep: projection of each frame
    outer = c[:, :, None] * c[:, None, :]

    def sweep(o: np.ndarray) -> np.ndarray:
        g = np.cumsum(o, axis=0)
        w = np.linalg.eigvalsh(g)[:, ::-1]
        vals = np.sqrt(np.maximum(w, 0.0))
        out = np.zeros((n_f, n_values))
        m = min(n_values, keep)
        out[:, :m] = vals[:, :m]
        # A block of k frames has at most k non-zero values.
        k = np.arange(1, n_f + 1)
        out[np.arange(n_values)[None, :] >= k[:, None]] = 0.0
        return out

    return sweep(outer), sweep(outer[::-1]), noise, nq


def efa_ranges(
    forward: np.ndarray, backward: np.ndarray, noise: float, n_q: int, n_components: int
) -> tuple[Range, ...] | None:
    """Existence range of each species (0-based within the block), first-in first-out.

    Returns None when a species never rises above the noise edge in one of the sweeps.
    """
    n_f = len(forward)
    k = np.arange(1, n_f + 1)
    edge = EDGE_FACTOR * noise * (math.sqrt(n_q) + np.sqrt(k))
    starts, ends = [], []
    for i in range(n_components):
        above_f = np.flatnonzero(forward[:, i] > edge)
        j = n_components - 1 - i
        above_b = np.flatnonzero(backward[:, j] > edge)
        if len(above_f) == 0 or len(above_b) == 0:
            return None
        starts.append(int(above_f[0]))
        ends.append(int(n_f - 1 - above_b[0]))
    ranges = []
    for s, e in zip(starts, ends, strict=True):
        if e <= s:
            return None
        ranges.append((s, e))
    return tuple(ranges)


def rotate(
    intensity: np.ndarray,
    sigma: np.ndarray,
    ranges: Sequence[Range],
    *,
    force_positive: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, int]:
    """Rotate a block's singular vectors into concentrations zero outside each range.

    Parameters
    ----------
    intensity, sigma : ndarray, shape (n_frames, n_q)
        The block (subtracted frames).
    ranges : sequence of (first, last)
        Each species' existence range, 0-based within the block.
    force_positive : bool
        Clip negative concentrations at each step.
    max_iter, tol : int, float
        Iteration limit and relative change of the concentrations that ends it.

    Returns
    -------
    concentrations : ndarray (n_frames, n_species)
        Normalised to unit sum within the range.
    profiles, profile_sigma : ndarray (n_q, n_species)
        Profile of each species for unit concentration, and its σ.
    converged : bool
    iterations : int
    """
    n_f, _nq = intensity.shape
    k = len(ranges)
    _u, s, vt = thin_svd(_normalised(intensity, sigma).T)
    vbar = vt[:k].T  # frames × k
    # The rotation works in the space of the k leading vectors (the data truncated to rank
    # k, as EFA does): k × frames instead of q × frames, same solution, no noise outside.
    d = s[:k, None] * vt[:k]
    mask = np.zeros((n_f, k), dtype=bool)
    for i, (a, b) in enumerate(ranges):
        mask[a : b + 1, i] = True
    # Explicit rotation: the combination of singular vectors nearest zero outside the range.
    c = np.zeros((n_f, k))
    for i in range(k):
        out = vbar[~mask[:, i]]
        t = np.linalg.svd(out, full_matrices=True)[2][-1] if len(out) else np.eye(k)[0]
        ci = vbar @ t
        if ci[mask[:, i]].sum() < 0:
            ci = -ci
        c[:, i] = ci
    c = _norm_columns(c, mask)
    converged = False
    it = 0
    while it < max_iter:
        it += 1
        mc = np.where(mask, c, 0.0)
        s_mat = d @ np.linalg.pinv(mc.T)  # q × k
        new = (np.linalg.pinv(s_mat) @ d).T  # frames × k
        if force_positive:
            new = np.maximum(new, 0.0)
        new = _norm_columns(new, mask)
        change = float(np.abs(new - c).sum() / max(np.abs(new).sum(), 1e-300))
        c = new
        if not np.all(np.isfinite(c)):
            break
        if change < tol:
            converged = True
            break
    mc = np.where(mask, c, 0.0)
    mult = np.linalg.pinv(mc.T)  # frames × k
    profiles = intensity.T @ mult
    profile_sigma = np.sqrt(np.square(sigma).T @ np.square(mult))
    return mc, profiles, profile_sigma, converged, it


def _norm_columns(c: np.ndarray, mask: np.ndarray) -> np.ndarray:
    s = np.where(mask, c, 0.0).sum(axis=0)
    s = np.where(np.abs(s) > 0, s, 1.0)
    return c / s[None, :]


def efa(
    intensity: np.ndarray,
    sigma: np.ndarray,
    frames: Range,
    *,
    n_components: int | None = None,
    ranges: Sequence[Range] | None = None,
    q_bins: int = 100,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> EFAResult:
    """EFA of a block of subtracted frames: sweeps, species ranges and rotation.

    Parameters
    ----------
    intensity, sigma : ndarray, shape (n_frames, n_q)
        The block (e.g. the elution region), in frame order.
    frames : (first, last)
        Frame positions of the block in the series (ranges are reported in them).
    n_components : int, optional
        Number of species (default: the number of ranges given, else counted in the sweeps
        as the values above the noise edge in the whole block).
    ranges : sequence of (first, last), optional
        Species ranges in series frame positions (default: from the sweeps).
    q_bins : int
        q bins of the sweeps.
    max_iter, tol
        Rotation limits, see :func:`rotate`.

    Returns
    -------
    EFAResult
        Falsy (``converged`` False or no species) with ``flags`` saying why when the ranges
        cannot be found or the rotation fails.
    """
    a0, b0 = int(frames[0]), int(frames[1])
    n_f = b0 - a0 + 1
    if intensity.shape[0] != n_f:
        raise ValueError(f"block of {intensity.shape[0]} frames for frames {a0}-{b0}")
    fwd, bwd, noise, nqb = efa_sweeps(intensity, sigma, 5, q_bins)
    flags: list[str] = []
    edge_all = EDGE_FACTOR * noise * (math.sqrt(nqb) + math.sqrt(n_f))
    if ranges is not None:
        local = tuple((int(a) - a0, int(b) - a0) for a, b in ranges)
        n_components = len(local)
    else:
        if n_components is None:
            n_components = int((fwd[-1] > edge_all).sum())
        local = efa_ranges(fwd, bwd, noise, nqb, n_components) if n_components else None
    empty = np.zeros((0, 0))
    if not n_components or local is None:
        flags.append("no_species_ranges" if n_components else "no_species_above_noise")
        return EFAResult(
            (a0, b0),
            int(n_components or 0),
            fwd,
            bwd,
            noise,
            (),
            empty,
            empty,
            empty,
            False,
            0,
            math.nan,
            tuple(flags),
        )
    if any(not (0 <= a <= b < n_f) for a, b in local):
        raise ValueError(f"EFA ranges {ranges} are not inside frames {a0}-{b0}")
    conc, prof, psig, converged, it = rotate(intensity, sigma, local, max_iter=max_iter, tol=tol)
    fit = conc @ prof.T
    chi2 = float(np.mean(np.square((intensity - fit) / sigma)))
    if not converged:
        flags.append("rotation_not_converged")
    if (prof[: max(3, prof.shape[0] // 20)] <= 0).any():
        flags.append("negative_low_q_profile")
    return EFAResult(
        frames=(a0, b0),
        n_components=int(n_components),
        forward=fwd,
        backward=bwd,
        noise_level=noise,
        ranges=tuple((a + a0, b + a0) for a, b in local),
        concentrations=conc,
        profiles=prof,
        profile_sigma=psig,
        converged=converged,
        iterations=it,
        chi2=chi2,
        flags=tuple(flags),
    )
