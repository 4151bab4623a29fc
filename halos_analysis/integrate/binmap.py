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

#: Version of the on-disk bin-map format (part of the cache key).
_MAP_FORMAT = 2
#: Pixels per chunk: the float32 block of one chunk (pixels × columns) stays in cache.
_CHUNK_PIXELS = 32768


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/halos`` or ``~/.cache/halos``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "halos"


def _digest(arr: np.ndarray | None) -> str | None:
    if arr is None:
        return None
    a = np.ascontiguousarray(arr)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()


def _geometry_key(ai) -> dict[str, Any]:
    det = ai.detector
    try:
        det_config = det.get_config()
    except Exception:  # older/odd detectors: fall back to what matters for q
        det_config = {"pixel1": det.pixel1, "pixel2": det.pixel2}
    names = ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")
    return {
        **{n: float(getattr(ai, n) or 0.0) for n in names},  # 0 and 0.0 hash alike
        "detector": type(det).__name__,
        "detector_config": json.loads(json.dumps(det_config, default=str)),
    }


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
    return {
        "data": np.asarray(data, np.float32),
        "indices": np.asarray(indices, np.int32),
        "indptr": np.asarray(indptr, np.int64),
        "q": np.asarray(engine.bin_centers, np.float64) * unit.scale,
        # pyFAI's preprocessing holds the normalisation in float32: do the same.
        "norm": norm.astype(np.float32).ravel(),
    }


class _MapMixin:
    """The bin-map part of :class:`~halos_analysis.integrate.engine.Integrator`.

    Uses ``ai``, ``geometry``, ``shape``, ``settings``, ``mask``, ``_flat`` and ``cache_key``,
    set by ``Integrator.__init__``; sets the matrices and chunks the kernels use.
    """

    # -- map: build, cache, prepare -------------------------------------------------------------

    def _cache_key(self) -> str:
        import pyFAI

        s = self.settings
        key = {
            "format": _MAP_FORMAT,
            "pyFAI": pyFAI.version,
            "geometry": self.geometry,
            "shape": self.shape,
            "npt": int(s.npt),
            "unit": s.unit,
            "method": s.method,
            "radial_range": None if s.radial_range is None else [float(v) for v in s.radial_range],
            "solid_angle": bool(s.solid_angle),
            "polarization": None if s.polarization_factor is None else float(s.polarization_factor),
            "mask": _digest(None if self.mask is None else np.packbits(self.mask)),
            "flat": _digest(self._flat),
        }
        text = json.dumps(key, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _load_or_build(self, cache_dir):
        path = None
        if cache_dir is not False:
            path = Path(cache_dir or default_cache_dir()) / f"binmap_{self.cache_key}.npz"
            if path.is_file():
                try:
                    with np.load(path) as z:
                        return {k: z[k] for k in z.files}, True, path
                except (OSError, ValueError, KeyError):
                    pass  # a damaged cache file is rebuilt below
        arrays = _build_map(self.ai, self.shape, self.mask, self.settings, self._flat)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
                np.savez(tmp, **arrays)
                os.replace(tmp, path)  # atomic: parallel jobs never read half a file
            except OSError:
                path = None  # a read-only cache only costs speed
        return arrays, False, path

    def _setup(self, arrays: dict[str, np.ndarray], dark: np.ndarray | None) -> None:
        s = self.settings
        npix = self.shape[0] * self.shape[1]
        npt = len(arrays["indptr"]) - 1
        coef = arrays["data"].astype(np.float64)
        matrix = sp.csr_matrix((coef, arrays["indices"], arrays["indptr"]), shape=(npt, npix))
        norm = arrays["norm"].astype(np.float64)
        self._norm_pixels = norm
        sum_norm = matrix @ norm
        count = np.diff(arrays["indptr"])
        # Bins that no unmasked pixel reaches carry no data.
        keep = (count > 0) & (sum_norm > 0)
        self._keep = np.flatnonzero(keep)
        self.q = arrays["q"][self._keep]
        self._matrix = matrix[self._keep]
        self._split = s.method != "no"
        # Without splitting every coefficient is 1: the squared matrix is the same one.
        self._matrix2 = self._matrix.multiply(self._matrix).tocsr() if self._split else self._matrix
        self._sum_norm = sum_norm[self._keep]
        # The dark is taken as known exactly (an average of many frames), as pyFAI does:
        # it shifts the signal but adds no variance.
        self._dark_sum = None if dark is None else self._matrix @ dark.ravel()
        self._dark = dark
        # Chunked float32 matrices for the fast path: rows = bins, then (splitting) bins
        # again with the squared coefficients for the variance.
        stacked = sp.vstack([self._matrix, self._matrix2]) if self._split else self._matrix
        stacked = stacked.astype(np.float32).tocsc()
        self._chunks = []
        for a in range(0, npix, _CHUNK_PIXELS):
            b = min(a + _CHUNK_PIXELS, npix)
            block = stacked[:, a:b]
            if block.nnz:
                # Pixels of the chunk outside the map (masked): ignored by the bad-pixel check.
                unused = np.flatnonzero(np.diff(block.indptr) == 0)
                self._chunks.append((a, b, block.tocsr(), unused))
        self._nbins = len(self._keep)
        self._csc = None  # the map by pixel, built when a frame has bad pixels
