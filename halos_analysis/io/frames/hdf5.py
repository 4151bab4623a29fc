# SPDX-License-Identifier: MIT
"""Frames in HDF5: a DECTRIS (Eiger) NeXus master file with its linked data files, or one
dataset of a plain HDF5 file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle/LZ4 filters with HDF5)
import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames.chunks import chunk_reader
from halos_analysis.io.frames.layout import H5Layout, detect_layout
from halos_analysis.io.frames.layout import open_h5 as _h5open
from halos_analysis.io.frames.source import (
    FrameSource,
    frame_metadata,
    lookup_profile,
)
from halos_analysis.io.profiles import default_profile


class HDF5FrameSource(FrameSource):
    """Frames in HDF5: one dataset, a DECTRIS master file's ``data_00000N`` links, or any
    facility layout of :mod:`halos_analysis.io.profiles` (links, virtual datasets, sidecars).

    Without a profile the layout is recognised (:func:`~.layout.detect_layout`), falling back
    to the generic DECTRIS one. ``fields_read`` records where each field was found,
    ``needs_poni`` the fields that only a PONI file gives, ``notes`` what the reader noticed.
    """

    def __init__(
        self,
        path: str | Path,
        dataset: str | None = None,
        profile: str | None = None,
        side_table: str | Path | None = None,
        poni: str | Path | None = None,
    ):
        super().__init__()
        self.path = str(path)
        self._handles: dict[str, h5py.File] = {}
        self._readers: dict[tuple[str, str], Any] = {}
        if not os.path.exists(path):
            raise HalosInputError("file not found", path)
        self.detection = None
        if profile is None:
            self.detection = detect_layout(path)
            profile = self.detection.profile or default_profile("hdf5")
        prof = lookup_profile(profile, path, "hdf5")
        self.profile = prof["name"]
        fields = prof["fields"]
        entry = None
        if dataset and prof.get("entry"):
            with _h5open(path) as f:
                if isinstance(f.get(dataset), h5py.Group):
                    entry, dataset = dataset, None  # FILE::/2.1 chooses a scan entry
        with H5Layout(path, prof, entry=entry, poni=poni) as lay:
            locs = (f"h5:{dataset}",) if dataset else fields.get("data", ())
            self._segments = lay.frame_segments(locs)
            offset = 0
            for seg in self._segments:  # frame index of each segment's first frame
                seg[2], offset = offset, offset + seg[3]
            lay.n_frames = offset
            reads = {k: lay.read(k) for k in fields if k != "data"}
            self.fields_read = {k: r for k, r in reads.items() if r is not None}
            self.needs_poni = set(lay.needs_poni) - set(self.fields_read)
            self.empty_fields = set(lay.empty) - set(self.fields_read)
            self.notes = list(lay.notes)
            self.entry = lay.entry
        meta = {k: r.value for k, r in self.fields_read.items()}
        first = self._segments[0]
        self.shape, self.dtype = first[4], first[5]
        self.n_frames = sum(s[3] for s in self._segments)
        if not dataset:
            _check_announced_frames(path, self.n_frames)
        mask = meta.get("pixel_mask")
        if mask is not None and np.shape(mask) == self.shape:
            self.pixel_mask = np.asarray(mask) != 0
        bits = meta.get("bit_depth")
        if bits is not None and np.issubdtype(self.dtype, np.unsignedinteger):
            self.invalid_value = int(2 ** int(np.asarray(bits).ravel()[0]) - 1)
        elif np.issubdtype(self.dtype, np.unsignedinteger):
            self.invalid_value = int(np.iinfo(self.dtype).max)
        exposure = _scalar_or_array(meta.get("exposure"), self.n_frames, path, "exposure")
        monitor = _scalar_or_array(meta.get("monitor"), self.n_frames, path, "monitor")
        rate = _scalar_or_array(meta.get("monitor_rate"), self.n_frames, path, "monitor_rate")
        if monitor is None and rate is not None and exposure is not None:
            monitor = rate * exposure
        transmission = _scalar_or_array(
            meta.get("transmission"), self.n_frames, path, "transmission"
        )
        transmitted = _scalar_or_array(meta.get("transmitted"), self.n_frames, path, "transmitted")
        self.counter_units = {
            k: self.fields_read[k].unit for k in ("monitor", "transmitted") if k in self.fields_read
        }
        if transmission is None and transmitted is not None:
            # No transmission stored: normalise by the transmitted beam, as the beamline does.
            if monitor is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    transmission = transmitted / monitor
                t_from = self.fields_read["transmitted"].where
                m_from = self.fields_read["monitor"].where if "monitor" in self.fields_read else ""
                self.notes.append(
                    "transmission not stored: relative transmission = transmitted / monitor "
                    f"({t_from} / {m_from or 'side table'}), not calibrated against the empty beam"
                )
            else:
                monitor = transmitted
                self.notes.append("no incident monitor: frames normalised by the transmitted beam")
        if prof.get("monitor_includes_transmission") and monitor is not None:
            self.notes.append("the monitor (beam-stop diode) includes the sample's transmission")
        self._set_per_frame(
            {"monitor": monitor, "transmission": transmission, "exposure_s": exposure}
        )
        if side_table is not None:
            self._apply_side_table(side_table, None)
        self.metadata = frame_metadata(
            meta,
            self.shape,
            self.n_frames,
            self.path,
            None if self.exposure_s is None else self.exposure_s[0],
        )

    def read_into(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Frames ``start..stop-1`` into ``out`` ((stop-start, ny, nx), the source's dtype).

        For callers that reuse one buffer across batches: a fresh 18 MB frame costs more to
        fault in than to decompress.
        """
        self._check_index(start, stop)
        if out.shape != (stop - start, *self.shape) or out.dtype != self.dtype:
            raise ValueError(f"out must be {(stop - start, *self.shape)} {self.dtype}")
        return self._read_range(start, stop, out)

    def read_compressed(self, start: int, stop: int):
        """Frames ``start..stop-1`` as their stored bitshuffle chunks, or None.

        A :class:`~halos_analysis.io.frames.chunks.CompressedFrames` the caller
        decompresses a pixel range at a time (and then releases), when the frames lie in
        one dataset that :func:`~halos_analysis.io.frames.chunks.chunk_reader` reads;
        else None (read them with :meth:`read_into`).
        """
        self._check_index(start, stop)
        for fname, dset, offset, n, _, _ in self._segments:
            if not offset <= start < offset + n:
                continue
            if stop > offset + n:
                return None  # across two data files
            f = self._handles.get(fname)
            if f is None:
                f = self._handles[fname] = _h5open(fname)
            ds = f[dset]
            if ds.ndim != 3:
                return None
            key = (fname, dset)
            if key not in self._readers:
                self._readers[key] = chunk_reader(ds, fname)
            reader = self._readers[key]
            return None if reader is None else reader.read_compressed(ds, start - offset,
                                                                      stop - offset)  # fmt: skip
        return None

    def _read_range(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty((stop - start,) + self.shape, self.dtype)
        for fname, dset, offset, n, _, _ in self._segments:
            lo, hi = max(start, offset), min(stop, offset + n)
            if lo >= hi:
                continue
            f = self._handles.get(fname)
            if f is None:
                f = self._handles[fname] = _h5open(fname)
            ds = f[dset]
            try:
                if ds.ndim == 2:
                    out[lo - start] = ds[()]
                    continue
                key = (fname, dset)
                if key not in self._readers:
                    self._readers[key] = chunk_reader(ds, fname)
                reader = self._readers[key]
                if reader is not None:
                    # Raw chunks, decompressed in parallel outside h5py's lock (io.frames.chunks).
                    reader.read(ds, lo - offset, hi - offset, out[lo - start : hi - start])
                else:
                    # Straight into the batch buffer: no intermediate copy of the frames.
                    ds.read_direct(
                        out, np.s_[lo - offset : hi - offset], np.s_[lo - start : hi - start]
                    )
            except (OSError, RuntimeError, ValueError) as exc:
                raise HalosInputError(
                    f"cannot read frames {lo}..{hi - 1}: {exc}", fname, f"{dset} frame {lo}"
                ) from None
        return out

    def close(self) -> None:
        for f in self._handles.values():
            f.close()
        self._handles.clear()
        for reader in self._readers.values():
            if reader is not None:
                reader.close()  # the files it mapped

    def __getstate__(self) -> dict:
        # Open HDF5 handles cannot travel to another process: reopen there on demand.
        state = self.__dict__.copy()
        state["_handles"] = {}
        state["_readers"] = {}
        return state


def _check_announced_frames(path: str | Path, n_found: int) -> None:
    """Refuse a DECTRIS master whose data files hold fewer frames than it announces
    (``nimages × ntrigger``): a data file cut short or one still being written."""
    with _h5open(path) as f:
        spec = f.get("entry/instrument/detector/detectorSpecific")
        if not isinstance(spec, h5py.Group) or "nimages" not in spec:
            return
        try:
            nimages = int(np.asarray(spec["nimages"][()]).ravel()[0])
            ntrigger = int(np.asarray(spec["ntrigger"][()]).ravel()[0]) if "ntrigger" in spec else 1
        except (TypeError, ValueError, IndexError):
            return
    expected = nimages * max(ntrigger, 1)
    if 0 < n_found < expected:
        raise HalosInputError(
            f"the data files hold {n_found} frames, the master announces {expected} "
            "(nimages x ntrigger): a data file is short or still being written",
            path,
            "detectorSpecific/nimages",
        )


def _scalar_or_array(value: Any, n: int, path: Any = None, field: str = "") -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, np.float64).ravel()
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    if arr.size != n:
        raise HalosInputError(f"{arr.size} values for {n} frames", path, field)
    return arr
