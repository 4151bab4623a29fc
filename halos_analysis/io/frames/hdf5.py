# SPDX-License-Identifier: MIT
"""Frames in HDF5: a DECTRIS (Eiger) NeXus master file with its linked data files, or one
dataset of a plain HDF5 file."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle/LZ4 filters with HDF5)
import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames.source import (
    FrameSource,
    _metadata,
    _profile,
    _unit_factor,
)
from halos_analysis.io.profiles import default_profile, parse_location


class HDF5FrameSource(FrameSource):
    """Frames in HDF5: one dataset, or a DECTRIS master file's ``data_00000N`` links."""

    def __init__(
        self,
        path: str | Path,
        dataset: str | None = None,
        profile: str | None = None,
        side_table: str | Path | None = None,
    ):
        super().__init__()
        self.path = str(path)
        self._handles: dict[str, h5py.File] = {}
        prof = _profile(profile or default_profile("hdf5"), path, "hdf5")
        fields = prof["fields"]
        if not os.path.exists(path):
            raise HalosInputError("file not found", path)
        with _h5open(path) as f:
            locs = (f"h5:{dataset}",) if dataset else fields.get("data", ())
            self._segments = self._find_segments(f, path, locs)
            offset = 0
            for seg in self._segments:  # frame index of each segment's first frame
                seg[2], offset = offset, offset + seg[3]
            meta = {k: self._field(f, fields, k) for k in fields if k != "data"}
        first = self._segments[0]
        self.shape, self.dtype = first[4], first[5]
        self.n_frames = sum(s[3] for s in self._segments)
        mask = meta.get("pixel_mask")
        if mask is not None and np.shape(mask) == self.shape:
            self.pixel_mask = np.asarray(mask) != 0
        bits = meta.get("bit_depth")
        if bits is not None and np.issubdtype(self.dtype, np.unsignedinteger):
            self.invalid_value = int(2 ** int(bits) - 1)
        elif np.issubdtype(self.dtype, np.unsignedinteger):
            self.invalid_value = int(np.iinfo(self.dtype).max)
        exposure = _scalar_or_array(meta.get("exposure"), self.n_frames)
        monitor = _scalar_or_array(meta.get("monitor"), self.n_frames, path, "monitor")
        rate = _scalar_or_array(meta.get("monitor_rate"), self.n_frames, path, "monitor_rate")
        if monitor is None and rate is not None and exposure is not None:
            monitor = rate * exposure
        transmission = _scalar_or_array(
            meta.get("transmission"), self.n_frames, path, "transmission"
        )
        self._set_per_frame(
            {"monitor": monitor, "transmission": transmission, "exposure_s": exposure}
        )
        if side_table is not None:
            self._apply_side_table(side_table, None)
        self.metadata = _metadata(
            meta,
            self.shape,
            self.n_frames,
            self.path,
            None if self.exposure_s is None else self.exposure_s[0],
        )

    @staticmethod
    def _find_segments(f: h5py.File, path: str | Path, locations: Sequence[str]) -> list:
        base = os.path.dirname(os.path.abspath(path))
        tried = []
        for loc in locations:
            _, key, _ = parse_location(loc)
            tried.append(key)
            obj = f.get(key)
            if isinstance(obj, h5py.Dataset):
                return [_segment(f.filename, key, obj)]
            if not isinstance(obj, h5py.Group):
                continue
            names = sorted(n for n in obj if re.fullmatch(r"data_\d+", n))
            segs = []
            for name in names:
                link = obj.get(name, getlink=True)
                where = f"{key.rstrip('/')}/{name}"
                if isinstance(link, h5py.ExternalLink):
                    target = os.path.join(base, link.filename)
                    if not os.path.exists(target):
                        raise HalosInputError(
                            f"data file {link.filename} linked from {where} is missing", path, where
                        )
                    with _h5open(target) as g:
                        ds = g.get(link.path)
                        if not isinstance(ds, h5py.Dataset):
                            raise HalosInputError(
                                "no dataset at the linked path", target, link.path
                            )
                        segs.append(_segment(target, link.path, ds))
                else:
                    ds = obj[name]
                    if isinstance(ds, h5py.Dataset):
                        segs.append(_segment(f.filename, where, ds))
            if segs:
                for s in segs[1:]:
                    if s[4:] != segs[0][4:]:
                        raise HalosInputError(
                            f"frames of shape {s[4]} {s[5]} differ from {segs[0][4]} {segs[0][5]}",
                            s[0],
                            s[1],
                        )
                return segs
        raise HalosInputError(
            f"no frame dataset (looked for {', '.join(tried)})",
            path,
            tried[0] if len(tried) == 1 else "data",
        )

    @staticmethod
    def _field(f: h5py.File, fields: dict, name: str) -> Any:
        for loc in fields.get(name, ()):
            kind, key, unit = parse_location(loc)
            if kind != "h5" or key not in f or not isinstance(f[key], h5py.Dataset):
                continue
            ds = f[key]
            value = ds[()]
            if isinstance(value, bytes):
                return value.decode(errors="replace")
            if ds.dtype.kind in "OSU":
                return str(value)
            stated = ds.attrs.get("units")
            if isinstance(stated, bytes):
                stated = stated.decode()
            if name in ("pixel_mask", "bit_depth", "monitor", "monitor_rate", "transmission"):
                return value
            factor = _unit_factor(stated or unit, f.filename, key)
            return np.asarray(value, np.float64) * factor
        return None

    def _read_range(self, start: int, stop: int) -> np.ndarray:
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

    def __getstate__(self) -> dict:
        # Open HDF5 handles cannot travel to another process: reopen there on demand.
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state


def _h5open(path: str | Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise HalosInputError("file not found", path) from None
    except OSError as exc:
        raise HalosInputError(
            f"not a readable HDF5 file (truncated or corrupt?): {exc}", path
        ) from None


def _segment(fname: str, dset: str, ds: h5py.Dataset) -> tuple:
    if ds.ndim == 3:
        n, shape = ds.shape[0], ds.shape[1:]
    elif ds.ndim == 2:
        n, shape = 1, ds.shape
    else:
        raise HalosInputError(
            f"expected 2D frames or a 3D stack, got shape {ds.shape}", fname, dset
        )
    offset = 0
    return [fname, dset, offset, n, tuple(int(s) for s in shape), ds.dtype]


def _scalar_or_array(value: Any, n: int, path: Any = None, field: str = "") -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, np.float64).ravel()
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    if arr.size != n:
        raise HalosInputError(f"{arr.size} values for {n} frames", path, field)
    return arr
