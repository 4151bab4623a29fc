# SPDX-License-Identifier: MIT
"""The batched kernels: per-bin sums of a stack of frames, fast path and exact paths.

Functions of a :class:`~halos_analysis.integrate.binmap.BinMap` and frames. See the package
docstring (:mod:`halos_analysis.integrate`) for the formulas.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate.binmap import CHUNK_PIXELS, BinMap
from halos_analysis.io.frames.source import invalid_values

__all__ = ["COLUMNS", "bins_without", "integrate_batch", "sums_clipped", "sums_fast"]

#: Frames per sparse × dense product (columns of the dense block).
COLUMNS = 16
#: Pixels per step of the cast into the dense block (:func:`_cast_columns`): 8192 × 16
#: float32 = 512 kB, in the L2 cache.
CAST_PIXELS = 8192


def _per_frame(op: np.ufunc, x: np.ndarray) -> np.ndarray:
    """``op.reduce`` of ``x`` (pixels × frames) over the pixels, one value per frame.

    Folded so that numpy's inner loop runs over 64 pixels × frames at once: as fast as one
    reduction over the whole chunk (a plain ``axis=0`` reduction loops over every pixel).
    """
    c, m = x.shape
    head = (c // 64) * 64
    if not x.flags.c_contiguous or head == 0:
        return op.reduce(x, axis=0)
    r = op.reduce(op.reduce(x[:head].reshape(c // 64, 64 * m), axis=0).reshape(64, m), axis=0)
    if head < c:
        r = op(r, op.reduce(x[head:], axis=0))
    return r


def _frame_check(dtype: np.dtype, invalid_value: int | None):
    """A test of one chunk's float32 copy (pixels × frames): which frames may hold bad pixels.

    One reduction over the chunk (min, max or sum, whichever the dtype needs), so its cost
    does not depend on the counts; the pixels of a flagged frame are then looked at one by
    one (:func:`_clear_bad`). Returns a function giving a bool per frame.
    """
    inv = invalid_value
    if np.issubdtype(dtype, np.integer):
        low = np.issubdtype(dtype, np.signedinteger)  # negative counts: Pilatus -1/-2, wrapped
        high = inv is not None and 0 < inv <= np.iinfo(dtype).max
        if low and high:
            return lambda x: (_per_frame(np.minimum, x) < 0) | (_per_frame(np.maximum, x) >= inv)
        if low:
            return lambda x: _per_frame(np.minimum, x) < 0
        if high:
            return lambda x: _per_frame(np.maximum, x) >= inv
        return lambda x: np.zeros(x.shape[1], bool)
    if inv is not None:
        return lambda x: ~np.isfinite(_per_frame(np.add, x)) | (x == inv).any(axis=0)
    # NaN and ±inf make the sum non-finite (a finite sum of finite float32 counts cannot
    # overflow: it stays far below 3e38).
    return lambda x: ~np.isfinite(_per_frame(np.add, x))


def _cast_columns(native: np.ndarray, x: np.ndarray) -> None:
    """``x[:] = native.T`` cast to float32: frames × pixels into pixels × frames.

    :data:`CAST_PIXELS` pixels at a time, through a ufunc: its iterator runs the inner loop
    along a frame's contiguous pixels (strided writes into a block that stays in the L2
    cache), where ``np.copyto(x, native.T)`` runs it over the 16 frames of one pixel (short,
    strided reads), ~2x slower. Same values: one conversion to float32 per count, and
    ``positive`` leaves a number as it is.
    """
    c = x.shape[0]
    for s in range(0, c, CAST_PIXELS):
        np.positive(native[:, s : s + CAST_PIXELS], out=x[s : s + CAST_PIXELS].T,
                    casting="unsafe")  # fmt: skip


def sums_fast(bmap: BinMap, flat: np.ndarray, *, invalid_value: int | None = None,
              error_model: str = "poisson"):  # fmt: skip
    """Σ c·x and Σ c²·(variance) for frames ``flat`` (m, npix), without their bad pixels.

    Returns ``signal``, ``var`` ((m, nbins) each) and ``bad``: ``{frame: pixel indices}``
    of the frames that hold bad pixels outside the static mask. Their values are taken
    out of the sums here; the normalisation (and dark) of the bins they fall in is
    corrected by :func:`bins_without`.
    """
    # Frames still compressed (io.frames.chunks.CompressedFrames): each chunk's pixels are
    # decompressed into a small buffer here, in cache, not whole frames into a large one.
    compressed = hasattr(flat, "decode_pixels")
    m = flat.n if compressed else flat.shape[0]
    pyfai = error_model == "poisson_pyfai"
    rows = bmap.npt * (2 if bmap.split else 1)
    out = np.zeros((rows, m), np.float64)
    buf = np.empty((CHUNK_PIXELS, m), np.float32)
    if pyfai:  # pyFAI's extra variance, in its own contiguous block and product
        out_extra = np.zeros((rows, m), np.float64)
        buf_extra = np.empty((CHUNK_PIXELS, m), np.float32)
    # uint32 -> float32 has no fast conversion; int32 has. Counts >= 2**31 (the 2**32-1
    # "bad pixel" value among them) turn negative: the check below finds them.
    dtype = np.dtype(flat.dtype)
    wide = np.dtype(np.int32) if dtype == np.uint32 else dtype
    scratch = np.empty((m, CHUNK_PIXELS), dtype) if compressed else None
    check = _frame_check(wide, invalid_value)
    bad: dict[int, list[np.ndarray]] = {}
    for a, b, block, unused in bmap.chunks:
        x = buf[: b - a]
        native = flat.decode_pixels(a, b, scratch[:, : b - a]) if compressed else flat[:, a:b]
        _cast_columns(native if wide == dtype else native.view(wide), x)
        if len(unused):
            x[unused] = 0.0  # masked pixels (gaps hold the invalid value) are not checked
        # One pass over the chunk, in cache, says which frames may hold a bad pixel:
        # exact, whatever the counts (pixels are looked at only in the frames it names).
        flagged = np.flatnonzero(check(x))
        hit = None
        if len(flagged):
            hit = _clear_bad(native, native if wide == dtype else native.view(wide), x, a,
                             flagged, bad, invalid_value, unused)  # fmt: skip
        out += block @ x
        if pyfai:
            # pyFAI's Poisson variance is max(x, 1): add max(1 − x, 0) per pixel.
            e = buf_extra[: b - a]
            np.subtract(1.0, x, out=e)
            np.maximum(e, 0.0, out=e)
            if hit is not None:
                e[hit] = 0.0
            out_extra += block @ e
    nb, keep = bmap.npt, bmap.keep
    signal = out[:nb][keep].T
    var = (out[nb:] if bmap.split else out[:nb])[keep].T
    if pyfai:
        var = var + (out_extra[nb:] if bmap.split else out_extra[:nb])[keep].T
    return signal, var, {j: np.concatenate(p) for j, p in bad.items()}


def _clear_bad(native: np.ndarray, wide: np.ndarray, x: np.ndarray, a: int,
               frames: np.ndarray, bad: dict, inv: int | None,
               unused: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """Zero the bad pixels of chunk ``x`` (pixels × frames, float32) and list them.

    ``frames`` are the frames the chunk test flagged; ``native`` is the chunk in the
    frames' own dtype (frames × pixels), ``wide`` the view ``x`` was cast from: badness is
    decided on ``native``, with :func:`invalid_values`. Counts the float32 copy got wrong
    (uint32 ≥ 2**31 through the int32 view) are written back right. Masked pixels
    (``unused``, zeroed in ``x``) are never candidates. Returns the (pixel, frame) indices
    zeroed, or None.
    """
    integer = np.issubdtype(native.dtype, np.integer)
    high = integer and inv is not None and 0 < inv <= np.iinfo(wide.dtype).max
    found_i, found_j = [], []
    for j in frames:
        col = x[:, j]
        if integer:
            # Candidates from the frame's own contiguous row, not the strided float32
            # column (~5x faster): the same pixels, whose values the column holds as float32.
            row = wide[j]
            cand = row < 0
            if high:
                cand |= row >= inv
            cand[unused] = False
        else:
            cand = ~np.isfinite(col)
            if inv is not None:
                cand |= col == inv
        ii = np.flatnonzero(cand)
        values = native[j, ii]
        is_bad = invalid_values(values, inv)
        if not is_bad.all():
            col[ii[~is_bad]] = values[~is_bad]  # a genuine count the int32 view wrapped
        ii = ii[is_bad]
        if len(ii):
            col[ii] = 0.0
            bad.setdefault(int(j), []).append(a + ii)
            found_i.append(ii)
            found_j.append(np.full(len(ii), j))
    if not found_i:
        return None
    return np.concatenate(found_i), np.concatenate(found_j)


def bins_without(bmap: BinMap, pixels: np.ndarray):
    """Bins that ``pixels`` reach, with Σ c·norm (and Σ c·dark) over their other pixels.

    Returns ``rows``, ``norm`` and ``dark`` (None without a dark): the same sums the
    full map gives, restricted to those bins and without ``pixels``.
    """
    pixels = np.unique(pixels)
    rows = np.unique(bmap.csc[:, pixels].indices)
    sub = bmap.matrix[rows]
    keep = ~np.isin(sub.indices, pixels, assume_unique=False)
    weights = sp.csr_matrix((sub.data * keep, sub.indices, sub.indptr), shape=sub.shape)
    norm = weights @ bmap.norm_pixels
    dark = None if bmap.dark is None else weights @ bmap.dark.ravel()
    return rows, norm, dark


def sums_clipped(bmap: BinMap, frame: np.ndarray, bad: np.ndarray | None, *,
                 sigma_clip: float, error_model: str = "poisson"):  # fmt: skip
    """Σ c·(x − dark), Σ c²·var and Σ c·norm of one frame without its ``bad`` pixels,
    rejecting pixels more than ``sigma_clip`` Poisson σ from their bin's mean, until
    nothing changes (at most 5 passes)."""
    k = float(sigma_clip)
    mat = bmap.matrix
    rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
    pix, coef = mat.indices, mat.data
    x = frame.ravel().astype(np.float64)[pix]
    dark = 0.0 if bmap.dark is None else bmap.dark.ravel()[pix]
    nrm = bmap.norm_pixels[pix]
    keep = np.isfinite(x) if bad is None else ~bad.ravel()[pix]
    x = np.where(keep, x, 0.0)
    nb = mat.shape[0]
    for _ in range(5):
        w = coef * keep
        total = np.maximum(np.bincount(rows, w * nrm, nb), 1e-300)
        mean = np.bincount(rows, w * (x - dark), nb) / total
        expected = mean[rows] * nrm + dark
        dev = np.abs(x - expected) / np.sqrt(np.maximum(expected, 1.0))
        new = keep & (dev <= k)
        if np.array_equal(new, keep):
            break
        keep = new
    w = coef * keep
    var = np.maximum(x, 1.0) if error_model == "poisson_pyfai" else x
    return (
        np.bincount(rows, w * (x - dark), nb),
        np.bincount(rows, coef * w * var, nb),
        np.bincount(rows, w * nrm, nb),
    )


def integrate_batch(bmap: BinMap, data, monitor=None, transmission=None, *, settings,
                    invalid_value: int | None = None, first_frame: int = 0):  # fmt: skip
    """Integrate a stack of frames through a bin map.

    Parameters
    ----------
    bmap : BinMap
    data : ndarray or CompressedFrames
        (n, ny, nx) or (ny, nx) frames, any numeric dtype; or at most ``COLUMNS`` frames
        still compressed (:class:`~halos_analysis.io.frames.chunks.CompressedFrames`),
        decompressed chunk by chunk inside the kernel.
    monitor, transmission : array_like, optional
        Per-frame normalisation (scalars or (n,)); the intensity is divided by their
        product.
    settings : IntegrationSettings
        ``scale``, ``error_model``, ``sigma_clip`` (the map's own settings).
    invalid_value : int, optional
        Value a frame writes into a bad pixel.
    first_frame : int
        Index of the first frame in its measurement (for error messages).

    Returns
    -------
    I, sigma : ndarray
        (n, len(q)) intensities and standard uncertainties. A bin left without pixels
        in one frame (all of them bad) is NaN in that frame.
    """
    clip = settings.sigma_clip is not None
    if hasattr(data, "decode_pixels") and (
        clip or data.n > COLUMNS or data.block < 1 or CHUNK_PIXELS % data.block
        or data.npix != bmap.shape[0] * bmap.shape[1]
    ):  # fmt: skip
        data = data.decode_all(np.empty((data.n, *bmap.shape), data.dtype))
    if hasattr(data, "decode_pixels"):
        n, flat = data.n, data
    else:
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[None]
        n = data.shape[0]
        if data.shape[1:] != bmap.shape:
            raise HalosInputError(
                f"frame shape {data.shape[1:]} does not match the geometry {bmap.shape}",
                field="frames",
            )
        flat = data.reshape(n, -1)
    k = np.ones(n)
    for v in (monitor, transmission):
        if v is not None:
            k = k * np.broadcast_to(np.asarray(v, np.float64), (n,))
    wrong = ~np.isfinite(k) | (k <= 0)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise HalosInputError(
            f"monitor × transmission is {k[i]:g}: it must be a positive number",
            field=f"frame {first_frame + i}",
        )
    signal = np.empty((n, bmap.nbins))
    var = np.empty((n, bmap.nbins))
    norm = np.broadcast_to(bmap.sum_norm, (n, bmap.nbins)).copy()
    for a in range(0, n, COLUMNS):
        part = flat if hasattr(flat, "decode_pixels") else flat[a : a + COLUMNS]
        if clip:
            for j, frame in enumerate(part):
                sums = sums_clipped(bmap, frame, invalid_values(frame, invalid_value),
                                    sigma_clip=settings.sigma_clip,
                                    error_model=settings.error_model)  # fmt: skip
                signal[a + j], var[a + j], norm[a + j] = sums
            continue
        s, v, bad = sums_fast(bmap, part, invalid_value=invalid_value,
                              error_model=settings.error_model)  # fmt: skip
        if bmap.dark_sum is not None:
            s = s - bmap.dark_sum
        for j, pixels in bad.items():
            # A few bad pixels cost a few bins' sums, not the frame: fix those bins.
            rows, nrm, drk = bins_without(bmap, pixels)
            norm[a + j, rows] = nrm
            if drk is not None:
                s[j, rows] += bmap.dark_sum[rows] - drk
        signal[a : a + len(part)], var[a : a + len(part)] = s, v
    if settings.error_model == "poisson":
        # A bin with no counts: the variance of one count keeps σ finite and non-zero.
        var = np.where(var > 0, var, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = norm * (k[:, None] / settings.scale)
        intensity = signal / denom
        sigma = np.sqrt(var) / denom
    empty = norm <= 0
    intensity[empty] = np.nan
    sigma[empty] = np.nan
    return intensity, sigma
