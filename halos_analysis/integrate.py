# SPDX-License-Identifier: MIT
"""Azimuthal integration: a cached sparse bin map, batched kernels and Dask glue.

The geometry part is pyFAI's: the bin map is the CSR matrix pyFAI's own sparse integrator
builds (``ai.setup_sparse_integrator``: same radial range, same bin centres, same pixel
splitting), and the per-pixel normalisation is pyFAI's solid angle × polarisation (× flat).
What differs is how frames go through it. For a photon-counting detector the only per-frame
work is the signal sum Σ c·x per bin: the normalisation Σ c·norm does not depend on the frame
(the monitor and transmission are one scalar per frame) and under Poisson statistics the
variance sum equals the signal sum (Σ c²·x with pixel splitting). So each batch of frames
goes through one sparse × dense product, done pixel-chunk by pixel-chunk so that the
transposed, float32 copy of the frames stays in the CPU cache; chunk sums are accumulated in
float64. Per bin::

    I = scale · (Σ c·x − Σ c·dark) / (k · Σ c·norm)        k = monitor × transmission
    σ = scale · sqrt(Σ c²·x) / (k · Σ c·norm)

which is pyFAI's ``integrate1d`` (``normalization_factor = k / scale``). Frames with bad pixels
that the static mask does not cover (Eiger ``2**bits − 1``, negative Pilatus counts, NaN) are
found per batch and integrated again with those pixels left out: correct, not fast.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames import FrameSource
from halos_analysis.types import FrameCurves, FrameMetadata, normalise_q_unit

#: Version of the on-disk bin-map format (part of the cache key).
_MAP_FORMAT = 2
#: Frames per sparse × dense product (columns of the dense block).
_COLUMNS = 16
#: Pixels per chunk: the float32 block of one chunk (pixels × columns) stays in cache.
_CHUNK_PIXELS = 32768
_ERROR_MODELS = ("poisson", "poisson_pyfai")


@dataclass(frozen=True)
class IntegrationSettings:
    """How frames are integrated.

    Parameters
    ----------
    npt : int
        Number of radial bins (pyFAI's ``npt``).
    unit : str
        ``"q_nm^-1"`` or ``"q_A^-1"`` (``"nm^-1"``, ``"A^-1"`` also accepted).
    method : str
        Pixel splitting: ``"no"`` (default; keeps neighbouring bins independent), ``"bbox"``
        or ``"full"``.
    polarization_factor : float or None
        pyFAI's polarisation factor (−1..1); None for no polarisation correction.
    solid_angle : bool
        Correct for the solid angle of each pixel.
    error_model : str
        ``"poisson"``: variance = counts (σ = sqrt(Σ c²x)/Σ c·norm); a bin whose counts sum
        to zero gets the variance of one count so that σ is never 0. ``"poisson_pyfai"``:
        pyFAI's variant, variance = max(counts, 1) per pixel, identical to
        ``integrate1d(error_model="poisson")`` but biased high where pixels hold < ~3 counts.
    dark, flat : str, Path, ndarray or None
        Dark image subtracted from each frame; flat field the normalisation is multiplied by.
    scale : float
        Absolute scale factor the intensities are multiplied by (from water or glassy carbon).
    sigma_clip : float or None
        Reject pixels further than this many Poisson σ from their bin's mean (zingers),
        iterating until nothing changes (at most 5 times). Slower.
    batch_size : int or None
        Frames per parallel task (None: chosen so that each task takes ≳100 ms).
    radial_range : (float, float) or None
        q range of the bins in ``unit`` (None: pyFAI's default, the range of the pixels).
    """

    npt: int = 1000
    unit: str = "q_nm^-1"
    method: str = "no"
    polarization_factor: float | None = None
    solid_angle: bool = True
    error_model: str = "poisson"
    dark: Any = None
    flat: Any = None
    scale: float = 1.0
    sigma_clip: float | None = None
    batch_size: int | None = None
    radial_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        unit = "q_" + normalise_q_unit(self.unit)
        object.__setattr__(self, "unit", unit)
        if self.method not in ("no", "bbox", "full"):
            raise ValueError(f"pixel splitting {self.method!r}: use 'no', 'bbox' or 'full'")
        if self.error_model not in _ERROR_MODELS:
            raise ValueError(f"error model {self.error_model!r}: use one of {_ERROR_MODELS}")
        if int(self.npt) < 2:
            raise ValueError("npt must be at least 2")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError("scale must be a positive number")

    @property
    def q_unit(self) -> str:
        """``"nm^-1"`` or ``"A^-1"``."""
        return self.unit[2:]

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain JSON (dark/flat given as arrays become ``"<array>"``)."""
        d = dataclasses.asdict(self)
        for key in ("dark", "flat"):
            if isinstance(d[key], np.ndarray):
                d[key] = "<array>"
            elif d[key] is not None:
                d[key] = str(d[key])
        return d


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/halos`` or ``~/.cache/halos``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "halos"


def _as_array(value: Any, shape: tuple[int, int], what: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        arr = value
    else:
        from halos_analysis.io.poni import read_image

        arr = read_image(value)
    if arr.shape != tuple(shape):
        raise HalosInputError(
            f"{what} shape {arr.shape} does not match the frames {tuple(shape)}",
            None if isinstance(value, np.ndarray) else value,
            what,
        )
    return np.asarray(arr, np.float64)


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


class ArrayFrames(FrameSource):
    """Frames already in memory, as a :class:`~halos_analysis.io.frames.FrameSource`.

    Parameters
    ----------
    data : ndarray
        (n, ny, nx) frames in any numeric dtype.
    monitor, transmission, exposure_s : array_like, optional
        Per-frame counters.
    invalid_value : int, optional
        Value marking a bad pixel in a frame.
    """

    def __init__(self, data, monitor=None, transmission=None, exposure_s=None, *,
                 invalid_value=None, pixel_mask=None, name="memory"):  # fmt: skip
        super().__init__()
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[None]
        self._data = data
        self.path = name
        self.n_frames, ny, nx = data.shape
        self.shape = (ny, nx)
        self.dtype = data.dtype
        self.metadata = FrameMetadata(shape=self.shape, n_frames=self.n_frames, source=name)
        self.invalid_value = invalid_value
        self.pixel_mask = pixel_mask
        self._set_per_frame(
            {"monitor": monitor, "transmission": transmission, "exposure_s": exposure_s}
        )

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        return self._data[start:stop]


class Integrator:
    """Integrate frames of one detector geometry into 1D curves, fast.

    Parameters
    ----------
    ai : pyFAI AzimuthalIntegrator
        The geometry (see :func:`halos_analysis.io.poni.load_poni`).
    shape : (int, int)
        (ny, nx) of the frames.
    mask : ndarray of bool, optional
        True (non-zero) = masked; combine the detector's and the user's masks before.
    settings : IntegrationSettings
    cache_dir : str or Path, optional
        Where bin maps are cached (default :func:`default_cache_dir`); ``False`` disables it.
    invalid_value : int, optional
        Value a frame writes into a bad pixel (Eiger ``2**bits − 1``); such pixels, negative
        values in signed integer frames and non-finite values are left out of that frame.

    Attributes
    ----------
    q : ndarray
        Bin centres in ``settings.unit`` of the bins that hold at least one unmasked pixel
        (pyFAI reports bins no pixel reaches as 0; they are left out here).
    from_cache : bool
        Whether the bin map was loaded from the cache.
    setup_seconds : float
        Time spent building or loading the map.
    """

    def __init__(self, ai, shape, mask=None, settings: IntegrationSettings | None = None,
                 cache_dir: str | Path | None | bool = None, *, invalid_value=None):  # fmt: skip
        self.ai = ai
        #: The geometry as plain numbers (what the cache key and the metadata use).
        self.geometry = _geometry_key(ai)
        self.shape = (int(shape[0]), int(shape[1]))
        self.settings = settings or IntegrationSettings()
        self.invalid_value = invalid_value
        if mask is not None:
            mask = np.asarray(mask) != 0
            if mask.shape != self.shape:
                raise HalosInputError(
                    f"mask shape {mask.shape} does not match the frames {self.shape}",
                    field="mask",
                )
        self.mask = mask
        self._flat = _as_array(self.settings.flat, self.shape, "flat")
        dark = _as_array(self.settings.dark, self.shape, "dark")
        t0 = time.perf_counter()
        self.cache_key = self._cache_key()
        arrays, self.from_cache, self.cache_path = self._load_or_build(cache_dir)
        self._setup(arrays, dark)
        self.setup_seconds = time.perf_counter() - t0

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

    @property
    def q_unit(self) -> str:
        """``"nm^-1"`` or ``"A^-1"``."""
        return self.settings.q_unit

    def __getstate__(self) -> dict:
        # pyFAI's integrator holds locks and caches: workers only need the map.
        state = self.__dict__.copy()
        state["ai"] = None
        return state

    @property
    def kept_bins(self) -> np.ndarray:
        """Indices, among pyFAI's ``npt`` bins, of the bins in :attr:`q`."""
        return self._keep

    # -- kernels -------------------------------------------------------------------------------

    def _sums_fast(self, flat: np.ndarray):
        """Σ c·x and Σ c²·(variance) for frames ``flat`` (m, npix): the fast path."""
        m = flat.shape[0]
        pyfai = self.settings.error_model == "poisson_pyfai"
        cols = 2 * m if pyfai else m
        rows = self._nbins * (2 if self._split else 1)
        out = np.zeros((rows, cols), np.float64)
        buf = np.empty((_CHUNK_PIXELS, cols), np.float32)
        lows = None
        if flat.dtype == np.uint32:
            # uint32 -> float32 has no fast conversion; int32 has. Counts >= 2**31 (the
            # 2**32-1 "bad pixel" value among them) turn negative and flag their frame.
            flat = flat.view(np.int32)
        signed = np.issubdtype(flat.dtype, np.signedinteger)
        if signed:
            lows = np.zeros(m, bool)
        for a, b, block, unused in self._chunks:
            blk = buf[: b - a]
            np.copyto(blk[:, :m], flat[:, a:b].T, casting="unsafe")
            if signed and len(unused):
                blk[unused, :m] = 0.0
            if pyfai:
                # pyFAI's Poisson variance is max(x, 1): add max(1 − x, 0) per pixel.
                np.subtract(1.0, blk[:, :m], out=blk[:, m:])
                np.maximum(blk[:, m:], 0.0, out=blk[:, m:])
            # Negative counts are rare: one contiguous min per chunk, per-frame only if needed.
            if signed and blk.min() < 0:
                lows |= blk[:, :m].min(axis=0) < 0
            out += block @ blk
        nb = self._nbins
        signal = out[:nb, :m].T
        var = (out[nb:, :m] if self._split else out[:nb, :m]).T
        if pyfai:
            var = var + (out[nb:, m:] if self._split else out[:nb, m:]).T
        return signal, var, lows

    def _frame_bad_pixels(self, frame: np.ndarray) -> np.ndarray:
        bad = np.zeros(frame.shape, bool)
        if self.invalid_value is not None:
            bad |= frame == self.invalid_value
        if np.issubdtype(frame.dtype, np.signedinteger):
            bad |= frame < 0
        elif np.issubdtype(frame.dtype, np.floating):
            bad |= ~np.isfinite(frame)
        return bad

    def _sums_exact(self, frame: np.ndarray, bad: np.ndarray | None):
        """Σ c·(x − dark), Σ c²·var and Σ c·norm of one frame (1D) without its ``bad`` pixels.

        The slow path, for frames with bad pixels outside the static mask.
        """
        x = frame.astype(np.float64)
        good = None if bad is None or not bad.any() else ~bad
        var = np.maximum(x, 1.0) if self.settings.error_model == "poisson_pyfai" else x
        signal = x if self._dark is None else x - self._dark.ravel()
        norm = self._norm_pixels
        if good is not None:
            signal, var, norm = signal * good, var * good, norm * good
            signal[bad] = var[bad] = 0.0  # inf·0 and NaN·0 are NaN: clear them explicitly
        return self._matrix @ signal, self._matrix2 @ var, self._matrix @ norm

    def _sums_clipped(self, frame: np.ndarray, bad: np.ndarray | None):
        """Like :meth:`_sums_exact`, rejecting pixels more than ``sigma_clip`` Poisson σ from
        their bin's mean, until nothing changes (at most 5 passes)."""
        k = float(self.settings.sigma_clip)
        mat = self._matrix
        rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
        pix, coef = mat.indices, mat.data
        x = frame.ravel().astype(np.float64)[pix]
        dark = 0.0 if self._dark is None else self._dark.ravel()[pix]
        nrm = self._norm_pixels[pix]
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
        var = np.maximum(x, 1.0) if self.settings.error_model == "poisson_pyfai" else x
        return (
            np.bincount(rows, w * (x - dark), nb),
            np.bincount(rows, coef * w * var, nb),
            np.bincount(rows, w * nrm, nb),
        )

    def integrate_batch(self, data, monitor=None, transmission=None, *, first_frame: int = 0):
        """Integrate a stack of frames.

        Parameters
        ----------
        data : ndarray
            (n, ny, nx) or (ny, nx) frames, any numeric dtype.
        monitor, transmission : array_like, optional
            Per-frame normalisation (scalars or (n,)); the intensity is divided by their
            product.
        first_frame : int
            Index of the first frame in its measurement (for error messages).

        Returns
        -------
        I, sigma : ndarray
            (n, len(q)) intensities and standard uncertainties. A bin left without pixels
            in one frame (all of them bad) is NaN in that frame.
        """
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[None]
        n = data.shape[0]
        if data.shape[1:] != self.shape:
            raise HalosInputError(
                f"frame shape {data.shape[1:]} does not match the geometry {self.shape}",
                field="frames",
            )
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
        flat = data.reshape(n, -1)
        signal = np.empty((n, self._nbins))
        var = np.empty((n, self._nbins))
        norm = np.broadcast_to(self._sum_norm, (n, self._nbins)).copy()
        clip = self.settings.sigma_clip is not None
        for a in range(0, n, _COLUMNS):
            part = flat[a : a + _COLUMNS]
            if clip:
                todo = range(len(part))
            else:
                s, v, lows = self._sums_fast(part)
                if self._dark_sum is not None:
                    s = s - self._dark_sum
                signal[a : a + len(part)], var[a : a + len(part)] = s, v
                todo = self._suspects(part, s, lows)
            for j in todo:
                frame = part[j]
                bad = self._frame_bad_pixels(frame)
                sums = self._sums_clipped(frame, bad) if clip else self._sums_exact(frame, bad)
                signal[a + j], var[a + j], norm[a + j] = sums
        if self.settings.error_model == "poisson":
            # A bin with no counts: the variance of one count keeps σ finite and non-zero.
            var = np.where(var > 0, var, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = norm * (k[:, None] / self.settings.scale)
            intensity = signal / denom
            sigma = np.sqrt(var) / denom
        empty = norm <= 0
        intensity[empty] = np.nan
        sigma[empty] = np.nan
        return intensity, sigma

    def _suspects(self, part: np.ndarray, signal: np.ndarray, lows) -> list[int]:
        """Frames of a batch that may hold bad pixels outside the static mask."""
        flags = ~np.all(np.isfinite(signal), axis=1)
        if lows is not None:
            flags |= lows
        inv = self.invalid_value
        if inv is not None and inv > 0:
            # One bad pixel adds ≥ inv·c to its bins and exactly inv to the frame's total
            # (pyFAI's coefficients of a pixel sum to 1), far above any real count sum.
            total = signal.sum(axis=1)
            flags |= (signal.max(axis=1, initial=0) >= inv / 2) | (total >= inv / 2)
        # Negative invalid values (Pilatus -1, -2) are caught by ``lows`` for integer frames.
        return [int(j) for j in np.flatnonzero(flags)]

    # -- sources and Dask -------------------------------------------------------------------------

    def auto_batch_size(self, source: FrameSource | None = None) -> int:
        """Frames per task: ≳100 ms of work, at most ~128 MB of raw frames."""
        npix = self.shape[0] * self.shape[1]
        itemsize = np.dtype(source.dtype).itemsize if source is not None else 4
        per_frame_s = npix * 1.5e-9 * (2 if self._split else 1)
        want = math.ceil(0.1 / max(per_frame_s, 1e-6))
        cap = max(1, (128 << 20) // max(1, npix * itemsize))
        return int(max(1, min(want, cap)))

    def _integrate_range(self, source: FrameSource, start: int, stop: int):
        parts_i, parts_s, mons, trans, expo = [], [], [], [], []
        for batch in source.batches(size=_COLUMNS, start=start, stop=stop):
            i, s = self.integrate_batch(
                batch.data, batch.monitor, batch.transmission, first_frame=batch.start
            )
            parts_i.append(i)
            parts_s.append(s)
            n = len(batch.data)
            mons.append(batch.monitor if batch.monitor is not None else np.full(n, np.nan))
            trans.append(
                batch.transmission if batch.transmission is not None else np.full(n, np.nan)
            )
            expo.append(batch.exposure_s if batch.exposure_s is not None else np.full(n, np.nan))
        cat = np.concatenate
        return cat(parts_i), cat(parts_s), cat(mons), cat(trans), cat(expo)

    def integrate_source(self, source: FrameSource, scheduler=None, *, name: str | None = None,
                         batch_size: int | None = None, check_frames: bool = True):  # fmt: skip
        """Integrate every frame of a source, frame-parallel over batches with Dask.

        Parameters
        ----------
        source : FrameSource
            From :func:`halos_analysis.io.frames.open_frames` (or :class:`ArrayFrames`).
        scheduler : None, "threads", "sync" or dask.distributed.Client
            None and "threads": Dask's threaded scheduler (``dask.config`` ``num_workers``,
            e.g. ``DASK_NUM_WORKERS``, else all cores); "sync": one thread; a Client: its
            cluster (the source must be picklable).
        name : str, optional
            Measurement name (default: the source path).
        batch_size : int, optional
            Frames per task (default: ``settings.batch_size`` or :meth:`auto_batch_size`).
        check_frames : bool
            Raise on a frame whose pixels are all zero or NaN.

        Returns
        -------
        FrameCurves
        """

        if tuple(source.shape) != self.shape:
            raise HalosInputError(
                f"frame shape {tuple(source.shape)} does not match mask/detector {self.shape}",
                source.path,
            )
        n = source.n_frames
        size = batch_size or self.settings.batch_size or self.auto_batch_size(source)
        n_tasks = max(1, math.ceil(n / size))
        edges = np.linspace(0, n, n_tasks + 1).round().astype(int)  # even split
        ranges = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
        try:
            results = self._run(source, ranges, scheduler)
        except HalosInputError as exc:
            if exc.path is None:  # name the measurement the frame belongs to
                raise HalosInputError(exc.reason, source.path, exc.field) from None
            raise
        intensity, sigma, mon, trans, expo = (np.concatenate(r) for r in zip(*results, strict=True))
        if check_frames:
            self._check_frames(source, intensity)
        md = source.metadata
        meta = {
            "source": str(source.path),
            "wavelength_m": self.geometry["wavelength"],
            "distance_m": self.geometry["dist"],
            "poni1_m": self.geometry["poni1"],
            "poni2_m": self.geometry["poni2"],
            "rot_rad": [self.geometry[k] for k in ("rot1", "rot2", "rot3")],
            "detector": getattr(md, "detector", None) or self.geometry["detector"],
            "monitor": mon,
            "transmission": trans,
            "exposure_s": expo,
            "settings": self.settings.to_dict(),
            "bin_map": {"cache_key": self.cache_key, "from_cache": self.from_cache},
        }
        return FrameCurves(
            self.q.copy(),
            intensity,
            sigma,
            self.q_unit,
            name=name or Path(str(source.path)).stem,
            frame_ids=tuple(range(n)),
            meta=meta,
        )

    def _run(self, source: FrameSource, ranges: list[tuple[int, int]], scheduler):
        import dask

        if scheduler == "sync" or len(ranges) == 1:
            return [self._integrate_range(source, a, b) for a, b in ranges]
        tasks = [dask.delayed(self._integrate_range)(source, a, b) for a, b in ranges]
        if scheduler is None or scheduler == "threads":
            workers = dask.config.get("num_workers", None) or os.cpu_count() or 1
            results = dask.compute(*tasks, scheduler="threads", num_workers=int(workers))
        elif hasattr(scheduler, "scatter"):  # a dask.distributed Client: ship the map once
            shared = scheduler.scatter(self, broadcast=True)
            futures = [scheduler.submit(_run_range, shared, source, a, b) for a, b in ranges]
            results = scheduler.gather(futures)
        else:
            results = dask.compute(*tasks, scheduler=scheduler)
        return results

    @staticmethod
    def _check_frames(source: FrameSource, intensity: np.ndarray) -> None:
        finite = np.isfinite(intensity)
        dead = ~finite.any(axis=1) | np.all(np.where(finite, intensity, 0.0) == 0.0, axis=1)
        if dead.any():
            i = int(np.flatnonzero(dead)[0])
            files = getattr(source, "files", None)
            files = files() if callable(files) else files
            where = files[i] if files and len(files) == source.n_frames else source.path
            raise HalosInputError(
                "frame has no counts (all pixels zero, NaN or bad)", where, f"frame {i}"
            )


def _run_range(integ: Integrator, source: FrameSource, start: int, stop: int):
    return integ._integrate_range(source, start, stop)


def _instrument_meta(ai, shape: tuple[int, int], source) -> dict[str, Any]:
    """Geometry in detector terms (pixels, beam centre) for ``SASinstrument``."""
    fit2d = ai.getFit2D()
    md = source.metadata
    return {
        "shape": tuple(int(n) for n in shape),
        "n_frames": int(source.n_frames),
        "pixel1_m": float(ai.detector.pixel1),
        "pixel2_m": float(ai.detector.pixel2),
        "beam_center_x_px": float(fit2d["centerX"]),
        "beam_center_y_px": float(fit2d["centerY"]),
        "count_time_s": getattr(md, "count_time_s", None),
        "sample_name": getattr(md, "sample_name", None),
    }


def integrate_files(spec, poni_path, mask_path=None, settings: IntegrationSettings | None = None,
                    side_table=None, cache_dir=None, name: str | None = None,
                    profile: str | None = None, scheduler=None) -> FrameCurves:  # fmt: skip
    """Open frames, load the geometry and mask, and integrate every frame.

    Parameters
    ----------
    spec : str, Path or list
        Frames as :func:`halos_analysis.io.frames.open_frames` takes them.
    poni_path : str or Path
        pyFAI PONI file.
    mask_path : str or Path, optional
        Mask file (non-zero = masked), combined with the detector's own mask (pyFAI's and
        the file's pixel mask).
    settings : IntegrationSettings, optional
    side_table : str or Path, optional
        Per-frame monitor / transmission / exposure table.
    cache_dir : str or Path, optional
        Bin-map cache folder.
    name : str, optional
        Measurement name.
    profile : str, optional
        Facility profile for the reader.
    scheduler : optional
        See :meth:`Integrator.integrate_source`.

    Returns
    -------
    FrameCurves

    Raises
    ------
    HalosInputError
        Unreadable frames, PONI or mask; a frame shape that does not match the detector
        or mask; a frame without counts.
    """
    from halos_analysis.io.frames import open_frames
    from halos_analysis.io.poni import detector_mask, detector_shape, load_mask, load_poni

    settings = settings or IntegrationSettings()
    source = open_frames(spec, side_table=side_table, profile=profile)
    try:
        ai = load_poni(poni_path)
        shape = tuple(source.shape)
        det_shape = detector_shape(ai)
        if det_shape is not None and det_shape != shape:
            raise HalosInputError(
                f"frame shape {shape} does not match mask/detector {det_shape} "
                f"(detector of {poni_path})",
                source.path,
            )
        mask = np.zeros(shape, bool)
        if mask_path is not None:
            user = load_mask(mask_path)
            if user.shape != shape:
                raise HalosInputError(
                    f"frame shape {shape} does not match mask/detector {user.shape} "
                    f"(mask {mask_path})",
                    source.path,
                )
            mask |= user
        for extra in (detector_mask(ai, shape), source.pixel_mask):
            if extra is not None and extra.shape == shape:
                mask |= extra
        integ = Integrator(ai, shape, mask, settings, cache_dir, invalid_value=source.invalid_value)
        curves = integ.integrate_source(source, scheduler, name=name)
        curves.meta["poni"] = str(poni_path)
        curves.meta["mask"] = None if mask_path is None else str(mask_path)
        curves.meta.update(_instrument_meta(ai, shape, source))
        return curves
    finally:
        source.close()
