# SPDX-License-Identifier: MIT
"""SVD of a block of frames and the number of significant components in it.

The matrix is I(q, frame)/σ̄(q) (σ̄ the mean σ of each q bin over the block, as RAW and
BM29 normalise), so that every q bin carries noise of about one unit. A singular value
counts when it lies above the optimal hard threshold of Gavish & Donoho (2014, IEEE Trans.
Inf. Theory 60:5040) for unknown noise, τ = ω(β)·median(s) with the aspect ratio β — the
median of the singular values estimates the noise level, so the rule does not depend on
how well the σ of the files are scaled — *and* its left (q) vector is smooth, lag-1
autocorrelation above :data:`MIN_AUTOCORR` (a scattering profile sampled finely in q is;
noise is not). RAW counts by ratios of consecutive values and autocorrelations; the
threshold is the statistically grounded rule BM29 uses.
"""

from __future__ import annotations

import numpy as np

from halos_analysis.analysis.series.results import SVDResult

__all__ = ["MIN_AUTOCORR", "bin_q", "gavish_donoho_omega", "svd_rank"]

#: A component's q vector must have lag-1 autocorrelation above this (noise ≈ 0 ± 1/√n).
MIN_AUTOCORR = 0.6


def gavish_donoho_omega(beta: float) -> float:
    """ω(β) of the optimal hard threshold τ = ω(β)·median(s) for unknown noise (β ≤ 1)."""
    b = min(max(float(beta), 1e-6), 1.0)
    return 0.56 * b**3 - 0.95 * b**2 + 1.82 * b + 1.43


def _autocorr(vectors: np.ndarray, axis: int) -> np.ndarray:
    v = np.moveaxis(vectors, axis, 0)
    if v.shape[0] < 2:
        return np.zeros(v.shape[1])
    num = (v[1:] * v[:-1]).sum(axis=0)
    den = (v * v).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, 0.0)


def thin_svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD through the eigen-decomposition of the smaller Gram matrix.

    Several times faster than LAPACK's SVD for the tall blocks of a series (hundreds of q
    points × tens of frames); the squared condition number it implies stays far from
    double precision for data whose noise is ≥ 1e-6 of the signal.
    """
    m, n = a.shape
    if m >= n:
        w, v = np.linalg.eigh(a.T @ a)
        order = np.argsort(w)[::-1]
        w, v = np.maximum(w[order], 0.0), v[:, order]
        s = np.sqrt(w)
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(s > 0, (a @ v) / np.where(s > 0, s, 1.0), 0.0)
        return u, s, v.T
    u_t, s, vt_t = thin_svd(a.T)
    return vt_t.T, s, u_t.T


def bin_q(
    intensity: np.ndarray, sigma: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average neighbouring q bins down to about ``n_bins`` (last axis), σ propagated.

    Returns
    -------
    intensity, sigma : ndarray
    edges : ndarray of int
        First original bin of each new bin, and the end.
    """
    nq = intensity.shape[-1]
    factor = max(1, nq // max(int(n_bins), 1))
    if factor == 1:
        return intensity, sigma, np.arange(nq + 1)
    nb = nq // factor
    cut = nb * factor
    shape = intensity.shape[:-1] + (nb, factor)
    i = intensity[..., :cut].reshape(shape).mean(axis=-1)
    s = np.sqrt(np.square(sigma[..., :cut]).reshape(shape).sum(axis=-1)) / factor
    edges = np.append(np.arange(0, cut, factor), cut)
    return i, s, edges


def svd_rank(
    intensity: np.ndarray,
    sigma: np.ndarray,
    frames: tuple[int, int] = (0, -1),
    keep_vectors: int = 0,
) -> SVDResult:
    """Singular values of a block of frames and the number of significant components.

    Parameters
    ----------
    intensity, sigma : ndarray, shape (n_frames, n_q)
        The block (one row per frame).
    frames : (int, int)
        First and last frame of the block in the series (recorded in the result).
    keep_vectors : int
        Keep this many leading left (q) and right (frame) singular vectors.

    Returns
    -------
    SVDResult
    """
    n_f, nq = intensity.shape
    if n_f == 0 or nq == 0:
        empty = np.zeros(0)
        return SVDResult(tuple(frames), empty, empty, empty, 0.0, 0)
    sbar = sigma.mean(axis=0)
    sbar = np.where(sbar > 0, sbar, 1.0)
    a = (intensity / sbar[None, :]).T  # q × frames, as RAW and BM29 lay it out
    if not np.all(np.isfinite(a)):
        a = np.where(np.isfinite(a), a, 0.0)
    u, s, vt = thin_svd(a)
    ua = _autocorr(u, 0)
    va = _autocorr(vt.T, 0)
    beta = min(a.shape) / max(a.shape)
    tau = gavish_donoho_omega(beta) * float(np.median(s)) if len(s) > 1 else 0.0
    above = s > tau
    smooth = ua > MIN_AUTOCORR
    rank = 0
    for k in range(len(s)):
        if above[k] and smooth[k]:
            rank += 1
        else:
            break
    if len(s) == 1:
        rank = 1 if s[0] > 0 else 0
    kv = int(keep_vectors)
    return SVDResult(
        frames=(int(frames[0]), int(frames[1])),
        singular_values=s,
        u_autocorr=ua,
        v_autocorr=va,
        threshold=float(tau),
        rank=int(rank),
        u=u[:, :kv].copy() if kv else np.zeros((0, 0)),
        v=vt[:kv].T.copy() if kv else np.zeros((0, 0)),
    )
