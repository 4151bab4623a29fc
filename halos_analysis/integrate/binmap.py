# SPDX-License-Identifier: MIT
"""The sparse bin map: built by pyFAI, cached on disk, prepared for the kernels.

The map of a geometry, mask and set of settings is pyFAI's CSR matrix (``data``, ``indices``,
``indptr``), the bin centres and the per-pixel normalisation; it is saved as
``binmap_<key>.npz`` in the cache folder, the key a hash of everything the map depends on.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from halos_analysis.io.poni import default_cache_dir, geometry_key

__all__ = ["CHUNK_PIXELS", "BinMap", "cache_key", "default_cache_dir", "geometry_key"]

#: Version of the on-disk bin-map format (part of the cache key).
_MAP_FORMAT = 3
#: Pixels per chunk: the float32 block of one chunk (pixels × columns) stays in cache.
CHUNK_PIXELS = 32768


def _digest(arr: np.ndarray | None) -> str | None:
    if arr is None:
        return None
    a = np.ascontiguousarray(arr)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()


def _build_map(ai, shape, mask, settings, flat) -> dict[str, np.ndarray]:
    """pyFAI's CSR bin map and per-pixel normalisation for this geometry and mask."""
    from pyFAI import units

    unit = units.to_unit(settings.unit)
    engine = ai.setup_sparse_integrator(
        tuple(shape),
        int(settings.npt),
        mask=None if mask is None else np.ascontiguousarray(mask, np.int8),
        pos0_range=settings.radial_range,
        unit=unit,
        split=settings.method,
        algo="CSR",
        scale=True,
    )
    data, indices, indptr = engine.lut
    norm = np.ones(shape, np.float64)
    if settings.solid_angle:
        norm *= ai.solidAngleArray(shape, True)
    if settings.polarization_factor is not None:
        norm *= ai.polarization(shape, float(settings.polarization_factor))
    if flat is not None:
        norm *= flat
    data = np.asarray(data, np.float32)
    indices = np.asarray(indices, np.int32)
    indptr = np.asarray(indptr, np.int64)
    # pyFAI's preprocessing holds the normalisation in float32: do the same.
    norm = norm.astype(np.float32).ravel()
    matrix = sp.csr_matrix((data.astype(np.float64), indices, indptr), shape=(len(indptr) - 1,
                           norm.size))  # fmt: skip
    return {
        "data": data,
        "indices": indices,
        "indptr": indptr,
        "q": np.asarray(engine.bin_centers, np.float64) * unit.scale,
        "norm": norm,
        "sum_norm": matrix @ norm.astype(np.float64),
    }


def _chunk_blocks(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, npix: int,
                  split: bool) -> list:  # fmt: skip
    """The map cut into float32 CSR blocks of :data:`CHUNK_PIXELS` pixels (columns).

    Rows are pyFAI's bins, then (splitting) the bins again with squared coefficients for the
    variance. Each block comes with its pixel range and the pixels of that range no bin
    reaches (masked).
    """
    return _blocks_from_arrays(_block_arrays(data, indices, indptr, npix, split), npix)


#: The arrays of :func:`_block_arrays`, saved in the cache file beside the map.
_BLOCK_KEYS = ("blocks_data", "blocks_indices", "blocks_ptr", "blocks_chunk", "blocks_start",
               "blocks_unused", "blocks_unused_ptr")  # fmt: skip


def _block_arrays(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, npix: int,
                  split: bool) -> dict[str, np.ndarray]:  # fmt: skip
    """The blocks of :func:`_chunk_blocks` as flat arrays (what the cache file keeps).

    Built with one stable sort of the coefficients by chunk: no sparse format conversions,
    whose copies and page faults cost more than the sort. Still ~0.3 s for an Eiger 4M map,
    more than loading the map: so it is done once, when the map is built, and cached.
    """
    nrows = len(indptr) - 1
    rows = np.repeat(np.arange(nrows, dtype=np.int32), np.diff(indptr))
    if split:
        data = np.concatenate([data, data * data])
        indices = np.concatenate([indices, indices])
        rows = np.concatenate([rows, rows + nrows])
        nrows *= 2
    nchunks = -(-npix // CHUNK_PIXELS)
    chunk = indices // CHUNK_PIXELS
    key = chunk.astype(np.uint8 if nchunks <= 256 else np.uint16 if nchunks <= 65536 else np.int64)
    order = np.argsort(key, kind="stable")  # radix sort; keeps each block's rows in order
    per_chunk = np.bincount(chunk, minlength=nchunks)
    starts = np.concatenate([[0], np.cumsum(per_chunk)])
    row_counts = np.bincount(chunk.astype(np.int64) * nrows + rows, minlength=nchunks * nrows)
    row_counts = row_counts.reshape(nchunks, nrows)
    block_data = np.asarray(data[order], np.float32)
    block_indices = (indices[order] - chunk[order] * CHUNK_PIXELS).astype(np.int32)
    used = np.zeros(npix, bool)
    used[indices] = True
    nonempty = np.flatnonzero(per_chunk)
    ptr = np.zeros((len(nonempty), nrows + 1), np.int32)
    np.cumsum(row_counts[nonempty], axis=1, out=ptr[:, 1:])
    unused, unused_ptr = [], [0]
    for k in nonempty:
        a, b = int(k) * CHUNK_PIXELS, min((int(k) + 1) * CHUNK_PIXELS, npix)
        # Pixels of the chunk outside the map (masked): ignored by the bad-pixel check.
        unused.append(np.flatnonzero(~used[a:b]))
        unused_ptr.append(unused_ptr[-1] + len(unused[-1]))
    return {
        "blocks_data": block_data,
        "blocks_indices": block_indices,
        "blocks_ptr": ptr,
        "blocks_chunk": nonempty.astype(np.int64),
        "blocks_start": starts[nonempty].astype(np.int64),
        "blocks_unused": np.concatenate(unused).astype(np.int64) if unused else np.zeros(0, int),
        "blocks_unused_ptr": np.asarray(unused_ptr, np.int64),
    }


def _blocks_from_arrays(arrays: dict[str, np.ndarray], npix: int) -> list:
    """``(a, b, block, unused)`` per non-empty chunk, from :func:`_block_arrays`."""
    data, indices, ptr = arrays["blocks_data"], arrays["blocks_indices"], arrays["blocks_ptr"]
    unused, unused_ptr = arrays["blocks_unused"], arrays["blocks_unused_ptr"]
    nrows = ptr.shape[1] - 1
    blocks = []
    for j, (k, start) in enumerate(zip(arrays["blocks_chunk"], arrays["blocks_start"],
                                       strict=True)):  # fmt: skip
        a, b = int(k) * CHUNK_PIXELS, min((int(k) + 1) * CHUNK_PIXELS, npix)
        part = slice(int(start), int(start) + int(ptr[j, -1]))
        block = sp.csr_matrix((data[part], indices[part], ptr[j]), shape=(nrows, b - a))
        blocks.append((a, b, block, unused[unused_ptr[j] : unused_ptr[j + 1]]))
    return blocks


def cache_key(geometry: dict[str, Any], shape: tuple[int, int], settings, mask, flat,
              pyfai_version: str | None = None) -> str:  # fmt: skip
    """Hash of everything a bin map depends on: the name of its cache file.

    ``pyfai_version`` is ``pyFAI.version`` (imported for it when not given).
    """
    if pyfai_version is None:
        import pyFAI

        pyfai_version = pyFAI.version
    s = settings
    key = {
        "format": _MAP_FORMAT,
        "pyFAI": pyfai_version,
        "geometry": geometry,
        "shape": shape,
        "npt": int(s.npt),
        "unit": s.unit,
        "method": s.method,
        "radial_range": None if s.radial_range is None else [float(v) for v in s.radial_range],
        "solid_angle": bool(s.solid_angle),
        "polarization": None if s.polarization_factor is None else float(s.polarization_factor),
        "mask": _digest(None if mask is None else np.packbits(mask)),
        "flat": _digest(flat),
    }
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_or_build(ai, shape, mask, settings, flat, key: str, cache_dir):
    # ``ai``: pyFAI's integrator, or a function that returns it (called only to build).
    path, arrays, from_cache = None, None, False
    if cache_dir is not False:
        path = Path(cache_dir or default_cache_dir()) / f"binmap_{key}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    arrays, from_cache = {k: z[k] for k in z.files}, True
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is rebuilt below
    if arrays is not None and all(k in arrays for k in _BLOCK_KEYS):
        return arrays, True, path
    if arrays is None:
        arrays = _build_map(ai() if callable(ai) else ai, shape, mask, settings, flat)
    # The kernels' blocks, kept in the same file (a file written before they were is
    # completed once).
    npix = int(shape[0]) * int(shape[1])
    data = np.asarray(arrays["data"], np.float32)
    arrays.update(_block_arrays(data, np.asarray(arrays["indices"], np.int32),
                                arrays["indptr"], npix, settings.method != "no"))  # fmt: skip
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, path)  # atomic: parallel jobs never read half a file
        except OSError:
            if not from_cache:
                path = None  # a read-only cache only costs speed
    return arrays, from_cache, path


class BinMap:
    """The sparse bin map of one geometry, mask and set of settings, prepared for the kernels.

    Built (by pyFAI) or loaded from the cache once, by :meth:`load_or_build`; the kernels
    (:mod:`halos_analysis.integrate.kernels`) are functions of a ``BinMap`` and frames.

    Attributes
    ----------
    shape : (int, int)
        (ny, nx) of the frames.
    q : ndarray
        Centres of the kept bins (those at least one unmasked pixel reaches).
    keep : ndarray of int
        Indices of the kept bins among pyFAI's ``npt``.
    npt, nbins : int
        pyFAI's number of bins; the number kept.
    split : bool
        Pixel splitting: the variance needs the squared coefficients.
    sum_norm : ndarray
        Σ c·norm per kept bin.
    dark, dark_sum : ndarray or None
        The dark frame and Σ c·dark per kept bin.
    chunks : list
        The map cut into float32 CSR blocks of :data:`CHUNK_PIXELS` pixels (the fast path).
    cache_key : str
        Hash of what the map depends on; ``from_cache`` and ``cache_path`` say where it
        came from.
    """

    def __init__(self, arrays: dict[str, np.ndarray], shape: tuple[int, int], split: bool,
                 dark: np.ndarray | None = None, *, cache_key: str = "",
                 from_cache: bool = False, cache_path: Path | None = None) -> None:  # fmt: skip
        self.shape = (int(shape[0]), int(shape[1]))
        self.cache_key, self.from_cache, self.cache_path = cache_key, from_cache, cache_path
        npix = self.shape[0] * self.shape[1]
        indptr = arrays["indptr"]
        npt = len(indptr) - 1
        data = np.asarray(arrays["data"], np.float32)
        indices = np.asarray(arrays["indices"], np.int32)
        self.csr = (data, indices, indptr, (npt, npix))
        self.norm32 = np.asarray(arrays["norm"], np.float32)
        sum_norm = arrays["sum_norm"]
        count = np.diff(indptr)
        # Bins that no unmasked pixel reaches carry no data.
        keep = (count > 0) & (sum_norm > 0)
        self.keep = np.flatnonzero(keep)
        self.q = arrays["q"][self.keep]
        self.split = bool(split)
        self.sum_norm = sum_norm[self.keep]
        self.npt = npt
        self.nbins = len(self.keep)
        self._lazy: dict[str, object] = {}
        # The dark is taken as known exactly (an average of many frames), as pyFAI does:
        # it shifts the signal but adds no variance.
        self.dark = dark
        self.dark_sum = None if dark is None else self.matrix @ dark.ravel()
        # Chunked float32 matrices for the fast path (all of pyFAI's bins: the kernels keep
        # the kept ones).
        if all(k in arrays for k in _BLOCK_KEYS):
            self.chunks = _blocks_from_arrays(arrays, npix)
        else:
            self.chunks = _chunk_blocks(data, indices, indptr, npix, self.split)

    @classmethod
    def load_or_build(cls, ai, shape: tuple[int, int], mask: np.ndarray | None, settings, *,
                      geometry: dict[str, Any] | None = None, flat: np.ndarray | None = None,
                      dark: np.ndarray | None = None,
                      cache_dir: str | Path | None | bool = None,
                      pyfai_version: str | None = None) -> BinMap:  # fmt: skip
        """The map of this geometry, mask and settings: from the cache, else built by pyFAI
        (and cached; ``cache_dir=False`` disables the cache).

        ``ai`` is pyFAI's integrator or a function returning it, called only when the map
        is built (then ``geometry`` and ``pyfai_version`` must be given).
        """
        shape = (int(shape[0]), int(shape[1]))
        key = cache_key(geometry or geometry_key(ai), shape, settings, mask, flat, pyfai_version)
        arrays, from_cache, path = _load_or_build(ai, shape, mask, settings, flat, key, cache_dir)
        return cls(arrays, shape, settings.method != "no", dark, cache_key=key,
                   from_cache=from_cache, cache_path=path)  # fmt: skip

    # The full float64 map by bin and by pixel, and the float64 normalisation: only the
    # paths for bad pixels, darks and sigma clipping need them, so they are built then.

    def _lazy_get(self, name: str, build):
        value = self._lazy.get(name)
        if value is None:
            value = self._lazy[name] = build()
        return value

    @property
    def matrix(self) -> sp.csr_matrix:
        """Σ c over pixels, float64, kept bins only (bins × pixels)."""

        def build():
            data, indices, indptr, shape = self.csr
            full = sp.csr_matrix((data.astype(np.float64), indices, indptr), shape=shape)
            return full[self.keep]

        return self._lazy_get("matrix", build)

    @property
    def matrix2(self) -> sp.csr_matrix:
        """Σ c² (the variance's coefficients); without splitting every c is 1: the same."""
        if not self.split:
            return self.matrix
        return self._lazy_get("matrix2", lambda: self.matrix.multiply(self.matrix).tocsr())

    @property
    def csc(self) -> sp.csc_matrix:
        """:attr:`matrix` by pixel (column)."""
        return self._lazy_get("csc", lambda: self.matrix.tocsc())

    @property
    def norm_pixels(self) -> np.ndarray:
        """Per-pixel normalisation (solid angle × polarisation × flat), float64."""
        return self._lazy_get("norm", lambda: self.norm32.astype(np.float64))
