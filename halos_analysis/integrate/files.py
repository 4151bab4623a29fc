# SPDX-License-Identifier: MIT
"""Integrator inputs: frames already in memory (:class:`ArrayFrames`) and files on disk
(:func:`integrate_files`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate.engine import Integrator
from halos_analysis.integrate.settings import IntegrationSettings
from halos_analysis.io.frames import FrameSource
from halos_analysis.types import FrameCurves, FrameMetadata


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


def _instrument_meta(geo, shape: tuple[int, int], source) -> dict[str, Any]:
    """Geometry in detector terms (pixels, beam centre) for ``SASinstrument``."""
    md = source.metadata
    return {
        "shape": tuple(int(n) for n in shape),
        "n_frames": int(source.n_frames),
        "pixel1_m": geo.pixel1,
        "pixel2_m": geo.pixel2,
        "beam_center_x_px": geo.beam_center_x_px,
        "beam_center_y_px": geo.beam_center_y_px,
        "count_time_s": getattr(md, "count_time_s", None),
        "sample_name": getattr(md, "sample_name", None),
    }


# Batch systems that dask-jobqueue starts Dask workers on; "jobqueue-local" is its stand-in
# that runs the same job scripts as local processes (for tests and machines without one).
JOBQUEUE_CLUSTERS = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
    "htcondor": "HTCondorCluster",
    "jobqueue-local": "local.LocalCluster",
}
_INT_OPTIONS = ("cores", "processes", "jobs", "timeout")


def _jobqueue_options(spec: str) -> tuple[str, dict[str, Any]]:
    kind, _, query = spec.partition("?")
    options: dict[str, Any] = {}
    for item in filter(None, query.split("&")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HalosInputError(
                f"scheduler {spec!r}: {item!r} is not key=value", field="integration.scheduler"
            )
        try:
            options[key] = int(value) if key in _INT_OPTIONS else value
        except ValueError:
            raise HalosInputError(
                f"scheduler {spec!r}: {key} must be a whole number",
                field="integration.scheduler",
            ) from None
    return kind, options


def _jobqueue_client(spec: str):
    """A Client of Dask workers started as batch jobs by dask-jobqueue."""
    kind, options = _jobqueue_options(spec)
    try:
        import dask_jobqueue
        from dask.distributed import Client
    except ImportError:
        raise HalosInputError(
            f"scheduler {kind} needs dask-jobqueue (pip install 'halos-analysis[cluster]')",
            field="integration.scheduler",
        ) from None
    cls: Any = dask_jobqueue
    for part in JOBQUEUE_CLUSTERS[kind].split("."):
        if part == "local":
            import dask_jobqueue.local
        cls = getattr(cls, part)
    jobs = options.pop("jobs", 1)
    timeout = options.pop("timeout", 600)
    # The rest (cores, memory, processes, queue, account, walltime, ...) goes to the cluster;
    # what is not given comes from Dask's config (jobqueue.<kind> in ~/.config/dask).
    try:
        cluster = cls(**options)
    except (TypeError, ValueError) as exc:
        raise HalosInputError(
            f"scheduler {spec!r}: {exc}", field="integration.scheduler"
        ) from None
    cluster.scale(jobs=jobs)
    client = Client(cluster)
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        client.close()
        cluster.close()
        raise HalosInputError(
            f"scheduler {kind}: no Dask worker came up within {timeout} s "
            f"(job script: {cluster.job_script().splitlines()[-1].strip()[:80]}...)",
            field="integration.scheduler",
        ) from None
    client.halos_cluster = cluster  # closed with the client by close_scheduler()
    return client


def resolve_scheduler(spec: str | None):
    """Scheduler for :meth:`Integrator.integrate_source` from a config or CLI string.

    ``"threads"`` (default), ``"processes"`` and ``"sync"`` are Dask's local schedulers; an
    address such as ``tcp://host:8786`` connects to a running ``dask.distributed`` scheduler
    (a cluster's workers integrate the frames; the bin map is sent to them once);
    ``"slurm"`` (or ``pbs``, ``sge``, ``lsf``, ``htcondor``) starts Dask workers as batch
    jobs through dask-jobqueue, with options after a ``?``:
    ``slurm?jobs=2&cores=8&memory=16GB&queue=all&account=p12&walltime=01:00:00``
    (``jobs``: how many; ``timeout``: seconds to wait for the first worker, 600; the rest
    as dask-jobqueue takes them, else from Dask's config ``jobqueue.slurm``).
    ``"jobqueue-local?..."`` runs the same through dask-jobqueue's local stand-in.
    Close what this returns with :func:`close_scheduler`.
    """
    if spec in (None, "", "threads", "processes", "sync"):
        return spec or None
    if spec.partition("?")[0] in JOBQUEUE_CLUSTERS:
        return _jobqueue_client(spec)
    if "://" not in spec:
        raise HalosInputError(
            f"unknown scheduler {spec!r} (threads, processes, sync, tcp://host:port, "
            f"or {', '.join(JOBQUEUE_CLUSTERS)})",
            field="integration.scheduler",
        )
    try:
        from dask.distributed import Client
    except ImportError:
        raise HalosInputError(
            f"scheduler {spec} needs dask.distributed (pip install distributed)",
            field="integration.scheduler",
        ) from None
    try:
        return Client(spec, timeout="10s")
    except OSError as exc:
        raise HalosInputError(
            f"cannot reach the Dask scheduler at {spec}: {exc}", field="integration.scheduler"
        ) from None


def close_scheduler(scheduler) -> None:
    """Close a Client of :func:`resolve_scheduler` and the batch jobs it started, if any."""
    if hasattr(scheduler, "close"):
        cluster = getattr(scheduler, "halos_cluster", None)
        scheduler.close()
        if cluster is not None:
            cluster.close()


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
    from halos_analysis.io.poni import load_geometry, load_mask

    settings = settings or IntegrationSettings()
    source = open_frames(spec, side_table=side_table, profile=profile)
    try:
        # The geometry's record: with it and the bin map cached, pyFAI is not imported.
        geo = load_geometry(poni_path, cache_dir)
        shape = tuple(source.shape)
        det_shape = geo.shape
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
        for extra in (geo.detector_mask(shape), source.pixel_mask):
            if extra is not None and extra.shape == shape:
                mask |= extra
        integ = Integrator(
            geo, shape, mask, settings, cache_dir, invalid_value=source.invalid_value
        )
        curves = integ.integrate_source(source, scheduler, name=name)
        meta = {
            **curves.meta,
            "poni": str(poni_path),
            "mask": None if mask_path is None else str(mask_path),
            **_instrument_meta(geo, shape, source),
        }
        return dataclasses.replace(curves, meta=meta)
    finally:
        source.close()
