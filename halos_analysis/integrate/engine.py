# SPDX-License-Identifier: MIT
"""The :class:`Integrator`: one geometry's bin map, its kernels, and frame sources through Dask.

The integrator owns one :class:`~halos_analysis.integrate.binmap.BinMap` (built or loaded
once) and runs the kernels of :mod:`halos_analysis.integrate.kernels` (functions of the map
and frames) over a frame source, batch by batch.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate import kernels
from halos_analysis.integrate.binmap import BinMap, geometry_key
from halos_analysis.integrate.kernels import COLUMNS
from halos_analysis.integrate.settings import IntegrationSettings, as_array
from halos_analysis.io.frames import FrameBatch, FrameSource
from halos_analysis.io.poni import PoniGeometry
from halos_analysis.types import FrameCurves, IntegrationMethod


class Integrator:
    """Integrate frames of one detector geometry into 1D curves, fast.

    Parameters
    ----------
    ai : pyFAI AzimuthalIntegrator or PoniGeometry
        The geometry (:func:`halos_analysis.io.poni.load_poni`), or its record
        (:func:`halos_analysis.io.poni.load_geometry`): with a cached bin map, then, pyFAI
        is not imported.
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
    binmap : BinMap
        The map the kernels integrate through.
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
        if isinstance(ai, PoniGeometry):
            record, ai = ai, None
            #: The geometry as plain numbers (what the cache key and the metadata use).
            self.geometry, version, make_ai = record.key, record.pyfai_version, record.integrator
        else:
            self.geometry, version, make_ai = geometry_key(ai), None, (lambda: ai)
        self.ai = ai
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
        flat = as_array(self.settings.flat, self.shape, "flat")
        dark = as_array(self.settings.dark, self.shape, "dark")
        t0 = time.perf_counter()
        self.binmap = BinMap.load_or_build(
            make_ai, self.shape, mask, self.settings, geometry=self.geometry, flat=flat,
            dark=dark, cache_dir=cache_dir, pyfai_version=version,
        )  # fmt: skip
        self.q = self.binmap.q
        self.cache_key = self.binmap.cache_key
        self.from_cache, self.cache_path = self.binmap.from_cache, self.binmap.cache_path
        self.setup_seconds = time.perf_counter() - t0

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
        return self.binmap.keep

    def integrate_batch(self, data, monitor=None, transmission=None, *, first_frame: int = 0):
        """Integrate a stack of frames (:func:`halos_analysis.integrate.kernels.integrate_batch`).

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
            (n, len(q)) intensities and standard uncertainties; NaN in a bin left without
            pixels in that frame.
        """
        return kernels.integrate_batch(
            self.binmap, data, monitor, transmission, settings=self.settings,
            invalid_value=self.invalid_value, first_frame=first_frame,
        )  # fmt: skip

    # -- sources and Dask -------------------------------------------------------------------------

    def auto_batch_size(self, source: FrameSource | None = None) -> int:
        """Frames per task: ≳100 ms of work, in whole kernel batches of 16 frames.

        Memory does not grow with it: a task reads its frames 16 at a time.
        """
        npix = self.shape[0] * self.shape[1]
        per_frame_s = npix * 1.5e-9 * (2 if self.binmap.split else 1)
        want = math.ceil(0.1 / max(per_frame_s, 1e-6))
        return int(COLUMNS * max(1, math.ceil(want / COLUMNS)))

    def _integrate_range(self, source: FrameSource, start: int, stop: int,
                         buffers: _FrameBuffers | None = None):  # fmt: skip
        return self._integrate_batches(_batches(source, start, stop, buffers))

    def _integrate_batches(self, batches):
        parts_i, parts_s, mons, trans, expo = [], [], [], [], []
        for batch in batches:
            # Without a beam monitor, normalise by the exposure (counts per second); never
            # both: monitor counts already integrate over the exposure.
            flux = batch.monitor if batch.monitor is not None else batch.exposure_s
            i, s = self.integrate_batch(
                batch.data, flux, batch.transmission, first_frame=batch.start
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
            None and "threads": local threads, as many as Dask's threaded scheduler would
            take (``dask.config`` ``num_workers``, e.g. ``DASK_NUM_WORKERS``, else all
            cores; Dask itself is not needed); "processes": Dask's process scheduler;
            "sync": one thread; a Client: its cluster (the source must be picklable).
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
        reusable = hasattr(source, "read_into") and not hasattr(scheduler, "scatter")
        buffers = _FrameBuffers((COLUMNS, *self.shape), source.dtype) if reusable else None
        try:
            results = self._run(source, ranges, scheduler, buffers)
        except HalosInputError as exc:
            if exc.path is None:  # name the measurement the frame belongs to
                raise HalosInputError(exc.reason, source.path, exc.field) from None
            raise
        intensity, sigma, mon, trans, expo = (np.concatenate(r) for r in zip(*results, strict=True))
        if check_frames:
            self._check_frames(source, intensity)
        md = source.metadata
        settings = self.settings.to_dict()
        normalisation = _normalisation(mon, trans, expo)
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
            "settings": settings,
            "intensity_unit": self.settings.intensity_unit,
            "normalisation": normalisation,
            "bin_map": {"cache_key": self.cache_key, "from_cache": self.from_cache},
            # How the curves were made, in one typed record (as pyFAI's Integrate1dResult).
            "integration": IntegrationMethod.from_settings(
                settings,
                engine="scipy.sparse CSR over pyFAI's bin map",
                normalisation=normalisation,
                intensity_unit=self.settings.intensity_unit,
                n_bins=len(self.q),
                masked_pixels=0 if self.mask is None else int(np.count_nonzero(self.mask)),
            ),
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

    def _run(self, source: FrameSource, ranges: list[tuple[int, int]], scheduler, buffers=None):
        if scheduler == "sync" or len(ranges) == 1:
            return [self._integrate_range(source, a, b, buffers) for a, b in ranges]
        if scheduler is None or scheduler == "threads":
            return self._run_threads(source, ranges, _local_workers(), buffers)
        import dask

        tasks = [dask.delayed(self._integrate_range)(source, a, b, buffers) for a, b in ranges]
        if hasattr(scheduler, "scatter"):  # a dask.distributed Client: ship the map once
            shared = scheduler.scatter(self, broadcast=True)
            futures = [scheduler.submit(_run_range, shared, source, a, b) for a, b in ranges]
            results = scheduler.gather(futures)
        else:
            results = dask.compute(*tasks, scheduler=scheduler)
        return results

    def _run_threads(self, source: FrameSource, ranges: list[tuple[int, int]], workers: int,
                     buffers: _FrameBuffers | None):  # fmt: skip
        """The threaded scheduler's work, without Dask: threads take kernel batches in turn.

        What Dask's threaded scheduler did, minus its import (~0.25 s of CPU per process)
        and with one difference: a source read into reused buffers (HDF5) is read batch
        after batch in frame order, one thread at a time (decompression is parallel
        inside each read), while the other threads integrate the batches read before.
        So the cores stay busy, and a file hashed as it is read (:mod:`~halos_analysis.io
        .digest`) is read once, in order, with nothing kept aside.
        """
        from concurrent.futures import ThreadPoolExecutor
        from contextlib import ExitStack

        batches = [(s, min(s + COLUMNS, b)) for a, b in ranges for s in range(a, b, COLUMNS)]
        results: list = [None] * len(batches)
        turn = iter(range(len(batches)))
        order = threading.Lock()
        failed = threading.Event()
        in_order = buffers is not None and hasattr(source, "read_into")
        # A process's first measurement of bitshuffle frames goes to the kernel still
        # compressed: it decompresses each pixel chunk of a batch into a small buffer
        # (io.frames.chunks.CompressedFrames). Fresh 16-frame buffers would cost as much
        # to fault in and zero as the decompression (1 s of system time for an Eiger 4M
        # run here) and double the peak memory. From the second on (a live session, a
        # benchmark), the frame buffers are allocated once and kept: whole frames
        # decompressed in the decode threads, beside the kernels, then run ~1.3x faster
        # than chunk by chunk in the kernels' threads (about the same CPU; Eiger 4M, 2
        # cores).
        compressed = (in_order and hasattr(source, "read_compressed")
                      and self.settings.sigma_clip is None and not buffers.warm)  # fmt: skip

        def work() -> None:
            with ExitStack() as stack:
                buf = None
                while not failed.is_set():
                    batch = None
                    try:
                        with order:
                            k = next(turn, None)
                            if k is None:
                                return
                            a, b = batches[k]
                            batch = _read_compressed(source, a, b) if compressed else None
                            if batch is None and in_order:
                                if buf is None:
                                    buf = stack.enter_context(buffers.take())
                                batch = _read_batch(source, a, b, buf)
                        if batch is None:
                            batch = next(source.batches(size=b - a, start=a, stop=b))
                        results[k] = self._integrate_batches([batch])
                    except BaseException:
                        failed.set()
                        raise
                    finally:
                        if batch is not None and hasattr(batch.data, "release"):
                            batch.data.release()

        n = max(1, min(int(workers), len(batches)))
        with ThreadPoolExecutor(n, thread_name_prefix="halos-integrate") as pool:
            futures = [pool.submit(work) for _ in range(n)]
            for fut in futures:
                fut.result()
        if in_order:
            buffers.warm = True
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


def _normalisation(mon: np.ndarray, trans: np.ndarray, expo: np.ndarray) -> str:
    """What each frame was divided by: ``monitor``, ``exposure`` or ``none`` (+transmission)."""
    if np.isfinite(mon).all():
        kind = "monitor"
    elif np.isfinite(expo).all():
        kind = "exposure"
    else:
        kind = "none"
    return kind + ("+transmission" if np.isfinite(trans).all() else "")


def _run_range(integ: Integrator, source: FrameSource, start: int, stop: int):
    return integ._integrate_range(source, start, stop)


class _FrameBuffers:
    """Batch buffers of one frame shape and dtype, reused by every worker thread.

    A fresh 18 MB Eiger 4M frame costs more to fault in (first touch of new pages, ~0.3 ms
    per MB here) than to decompress; so a worker thread takes a buffer, reads its batches
    into it and gives it back, and the process keeps the free ones for its next
    measurement (a live session integrates one after the other). At most one buffer per
    thread running at a time, and only the last shape and dtype are kept: memory stays
    bounded (2 × 16 Eiger 4M frames = 0.6 GB on 2 cores). Pickled (process schedulers),
    it arrives empty.
    """

    _kept: dict[tuple, list[np.ndarray]] = {}
    _warm: set[tuple] = set()
    _lock = threading.Lock()

    def __init__(self, shape: tuple[int, ...], dtype) -> None:
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self._key = (self.shape, self.dtype.str)
        with self._lock:
            for key in [k for k in _FrameBuffers._kept if k != self._key]:
                del _FrameBuffers._kept[key]  # another detector now: let those go
            self._free = _FrameBuffers._kept.setdefault(self._key, [])

    @property
    def warm(self) -> bool:
        """Whether this process integrated a measurement of this frame shape and dtype
        before (so it will again: keeping frame buffers pays)."""
        return self._key in _FrameBuffers._warm

    @warm.setter
    def warm(self, value: bool) -> None:
        with self._lock:
            if value:
                _FrameBuffers._warm.add(self._key)
            else:
                _FrameBuffers._warm.discard(self._key)

    def __reduce__(self):
        return (_FrameBuffers, (self.shape, self.dtype))

    @contextmanager
    def take(self) -> Iterator[np.ndarray]:
        with self._lock:
            buf = self._free.pop() if self._free else None
        if buf is None:
            buf = np.empty(self.shape, self.dtype)
        try:
            yield buf
        finally:
            with self._lock:
                if len(self._free) < (os.cpu_count() or 1):
                    self._free.append(buf)


def _batches(source: FrameSource, start: int, stop: int,
             buffers: _FrameBuffers | None) -> Iterator[FrameBatch]:  # fmt: skip
    """Batches of at most ``COLUMNS`` frames, read into a reused buffer where possible."""
    if buffers is None or not hasattr(source, "read_into"):
        yield from source.batches(size=COLUMNS, start=start, stop=stop)
        return
    with buffers.take() as buf:
        for s in range(start, stop, COLUMNS):
            yield _read_batch(source, s, min(s + COLUMNS, stop), buf)


def _read_batch(source: FrameSource, start: int, stop: int, buf: np.ndarray) -> FrameBatch:
    """Frames ``start..stop-1`` read into the first frames of ``buf``, with their counters."""
    per = [
        None if a is None else a[start:stop].copy()
        for a in (source.monitor, source.transmission, source.exposure_s)
    ]
    return FrameBatch(start, source.read_into(start, stop, buf[: stop - start]), *per)


def _read_compressed(source: FrameSource, start: int, stop: int) -> FrameBatch | None:
    """Frames ``start..stop-1`` still compressed (``source.read_compressed``), or None."""
    frames = source.read_compressed(start, stop)
    if frames is None:
        return None
    per = [
        None if a is None else a[start:stop].copy()
        for a in (source.monitor, source.transmission, source.exposure_s)
    ]
    return FrameBatch(start, frames, *per)


def _local_workers() -> int:
    """Threads of the local threaded scheduler: Dask's ``num_workers`` as Dask would read it
    (``dask.config``, where Dask is loaded already; else ``DASK_NUM_WORKERS``), else the
    number of cores."""
    import sys

    if "dask" in sys.modules:
        import dask

        workers = dask.config.get("num_workers", None)
    else:
        workers = os.environ.get("DASK_NUM_WORKERS", "").strip() or None
    try:
        return max(1, int(workers)) if workers else (os.cpu_count() or 1)
    except ValueError:
        return os.cpu_count() or 1
