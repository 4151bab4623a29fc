# SPDX-License-Identifier: MIT
"""Streamed readers of detector frames: Eiger NeXus/HDF5, Pilatus miniCBF, EDF, TIFF.

:func:`open_frames` returns a :class:`FrameSource`; its :meth:`FrameSource.batches` yields
:class:`FrameBatch` objects of a few frames each, so a run is never held in memory whole.
Header values (geometry, exposure) and per-frame counters (monitor, transmission) are found
where a facility profile (:mod:`halos_analysis.io.profiles`) says; a side table (TSV with a
``frame`` or ``file`` column and any of ``monitor``, ``transmission``, ``exposure_s``)
overrides what the files say.

The monitor of a frame is the integrated incident-flux count during that frame (a rate given
per second, as the Pilatus ``Flux`` key, is multiplied by the frame's exposure).
"""

from __future__ import annotations

import csv
import glob
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fabio
import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle/LZ4 filters with HDF5)
import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.profiles import default_profile, get_profile, parse_location
from halos_analysis.types import FrameMetadata

_IMAGE_SUFFIXES = (".cbf", ".edf", ".tif", ".tiff", ".edf.gz", ".cbf.gz")
_H5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")
_UNITS = {
    "m": 1.0,
    "mm": 1e-3,
    "um": 1e-6,
    "µm": 1e-6,
    "micron": 1e-6,
    "nm": 1e-9,
    "a": 1e-10,
    "å": 1e-10,
    "angstrom": 1e-10,
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "pixel": 1.0,
    "pixels": 1.0,
    "px": 1.0,
}
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_CBF_MARK = b"\x0c\x1a\x04\xd5"
_PER_FRAME = ("monitor", "transmission", "exposure_s")


@dataclass
class FrameBatch:
    """A few consecutive frames of a measurement and their per-frame counters.

    ``start`` is the 0-based index of the first frame in the measurement; ``data`` has shape
    (n, ny, nx) in the detector's own dtype; ``monitor``, ``transmission`` and
    ``exposure_s`` are (n,) float arrays or None when unknown.
    """

    start: int
    data: np.ndarray
    monitor: np.ndarray | None
    transmission: np.ndarray | None
    exposure_s: np.ndarray | None

    @property
    def stop(self) -> int:
        """Index one past the last frame of the batch."""
        return self.start + len(self.data)


def _unit_factor(unit: str | None, path: Any, field: str) -> float:
    if unit is None:
        return 1.0
    key = unit.strip().lower()
    if key not in _UNITS:
        raise HalosInputError(f"unknown unit {unit!r}", path, field)
    return _UNITS[key]


class FrameSource:
    """Frames of one measurement, read on demand.

    Attributes
    ----------
    path : str
        What the user gave (for messages).
    n_frames : int
    shape : tuple of int
        (ny, nx) of one frame.
    dtype : numpy.dtype
    metadata : FrameMetadata
    pixel_mask : ndarray of bool or None
        The detector's own mask (module gaps, dead pixels): True = bad.
    invalid_value : int or None
        Value marking a bad pixel in a frame (Eiger ``2**bit_depth - 1``, Pilatus ``-1``).
    monitor, transmission, exposure_s : ndarray or None
        Per-frame counters of the whole measurement (small: one float per frame).
    """

    path: str
    n_frames: int
    shape: tuple[int, int]
    dtype: np.dtype
    metadata: FrameMetadata
    pixel_mask: np.ndarray | None = None
    invalid_value: int | None = None

    def __init__(self) -> None:
        self.monitor: np.ndarray | None = None
        self.transmission: np.ndarray | None = None
        self.exposure_s: np.ndarray | None = None

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.path!r}, {self.n_frames} frames of "
            f"{self.shape[0]}x{self.shape[1]} {self.dtype})"
        )

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release open file handles (the source may still be read afterwards)."""

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def _check_index(self, start: int, stop: int) -> None:
        if not 0 <= start <= stop <= self.n_frames:
            raise IndexError(f"frames {start}..{stop} outside 0..{self.n_frames} of {self.path}")

    def read(self, index: int) -> np.ndarray:
        """One frame, shape (ny, nx), native dtype."""
        if index < 0:
            index += self.n_frames
        self._check_index(index, index + 1)
        return self._read_range(index, index + 1)[0]

    def batches(
        self, size: int = 8, start: int = 0, stop: int | None = None
    ) -> Iterator[FrameBatch]:
        """Yield :class:`FrameBatch` objects of at most ``size`` frames, in order.

        Only one batch is in memory at a time (plus what the caller keeps).
        """
        if size < 1:
            raise ValueError("batch size must be >= 1")
        stop = self.n_frames if stop is None else min(stop, self.n_frames)
        self._check_index(start, stop)
        for s in range(start, stop, size):
            e = min(s + size, stop)
            per = [
                None if a is None else a[s:e].copy()
                for a in (self.monitor, self.transmission, self.exposure_s)
            ]
            yield FrameBatch(s, self._read_range(s, e), *per)

    def invalid_pixels(self, frame: np.ndarray) -> np.ndarray:
        """Bool mask of the pixels of ``frame`` that carry no measurement.

        The detector's mask, the ``invalid_value``, for signed integers any negative count
        (Pilatus writes -1 in gaps and -2 for bad pixels), for floats NaN and inf.
        """
        bad = np.zeros(frame.shape, bool) if self.pixel_mask is None else self.pixel_mask.copy()
        if self.invalid_value is not None:
            bad |= frame == self.invalid_value
        if np.issubdtype(frame.dtype, np.signedinteger):
            bad |= frame < 0
        elif np.issubdtype(frame.dtype, np.floating):
            bad |= ~np.isfinite(frame)
        return bad

    def _set_per_frame(self, values: dict[str, np.ndarray | None]) -> None:
        for key in _PER_FRAME:
            arr = values.get(key)
            if arr is not None:
                arr = np.broadcast_to(np.asarray(arr, np.float64), (self.n_frames,)).copy()
            setattr(self, key, arr)

    def _apply_side_table(self, table: str | Path, names: Sequence[str] | None) -> None:
        values = read_side_table(table, self.n_frames, names)
        for key, arr in values.items():
            setattr(self, key, arr)


def read_side_table(
    path: str | Path, n_frames: int, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Read per-frame counters from a TSV side table.

    Columns: ``frame`` (0-based index in the measurement) or ``file`` (file name of a
    one-frame file), and any of ``monitor``, ``transmission``, ``exposure_s``. Lines starting
    with ``#`` are comments. Every frame needs a row.

    Raises
    ------
    HalosInputError
        Missing file, no key column, a non-number, or a frame without a row.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError:
        raise HalosInputError("side table not found", path) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise HalosInputError("side table is empty", path)
    delim = "\t" if "\t" in lines[0] else None
    rows = (
        [ln.split(delim) for ln in lines]
        if delim is None
        else list(csv.reader(lines, delimiter="\t"))
    )
    header = [h.strip().lower() for h in rows[0]]
    aliases = {"exposure": "exposure_s", "exposure_time": "exposure_s", "index": "frame"}
    header = [aliases.get(h, h) for h in header]
    if "frame" not in header and "file" not in header:
        raise HalosInputError("needs a 'frame' or 'file' column", path, "header")
    cols = [c for c in _PER_FRAME if c in header]
    if not cols:
        raise HalosInputError("no monitor, transmission or exposure_s column", path, "header")
    by_key: dict[Any, list[float]] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        rec = dict(zip(header, (v.strip() for v in row), strict=False))
        key: Any = rec.get("frame")
        try:
            key = int(key) if key not in (None, "") else os.path.basename(rec["file"])
            by_key[key] = [float(rec[c]) for c in cols]
        except (ValueError, KeyError):
            raise HalosInputError(f"bad value in line {lineno}", path, f"line {lineno}") from None
    out = np.full((len(cols), n_frames), np.nan)
    for i in range(n_frames):
        row = by_key.get(i)
        if row is None and names is not None:
            row = by_key.get(os.path.basename(names[i]))
        if row is None:
            where = f" (file {os.path.basename(names[i])})" if names is not None else ""
            raise HalosInputError(f"no row for frame {i}{where}", path, f"frame {i}")
        out[:, i] = row
    return {c: out[j] for j, c in enumerate(cols)}


# ----------------------------------------------------------------------------- HDF5


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


def _profile(name: str, path: Any, fmt: str) -> dict:
    try:
        prof = get_profile(name)
    except KeyError as exc:
        raise HalosInputError(str(exc.args[0]), path, "profile") from None
    if (prof["format"] == "hdf5") != (fmt == "hdf5"):
        raise HalosInputError(
            f"profile {name!r} is for {prof['format']} files, this is {fmt}", path, "profile"
        )
    return prof


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


def _metadata(
    meta: dict, shape: tuple[int, int], n: int, source: str, exposure: float | None
) -> FrameMetadata:
    def num(key: str) -> float | None:
        v = meta.get(key)
        if v is None or isinstance(v, str):
            return None
        return float(np.asarray(v, np.float64).ravel()[0])

    bits = meta.get("bit_depth")
    return FrameMetadata(
        detector=meta.get("detector") if isinstance(meta.get("detector"), str) else None,
        shape=shape,
        n_frames=n,
        pixel1_m=num("pixel_size_y"),
        pixel2_m=num("pixel_size_x"),
        wavelength_m=num("wavelength"),
        distance_m=num("distance"),
        beam_center_x_px=num("beam_center_x"),
        beam_center_y_px=num("beam_center_y"),
        count_time_s=None if exposure is None else float(exposure),
        bit_depth=None if bits is None else int(np.asarray(bits).ravel()[0]),
        sample_name=meta.get("sample_name") if isinstance(meta.get("sample_name"), str) else None,
        source=source,
    )


# ----------------------------------------------------------------------------- fabio


def read_minicbf_header(path: str | Path) -> dict[str, str]:
    """Header of a miniCBF file without decoding its pixels.

    Returns the Pilatus header lines (``# Key value``) as ``{Key: value}`` and the binary
    section's MIME keys (``X-Binary-Size``, ``X-Binary-Size-Fastest-Dimension``, ...).

    Raises
    ------
    HalosInputError
        When the file is missing, has no binary section or is shorter than it says.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        raise HalosInputError("file not found", path) from None
    mark = head.find(_CBF_MARK)
    if mark < 0 or not head.startswith(b"###CBF"):
        raise HalosInputError("not a CBF file, or its header is cut off", path, "header")
    text = head[:mark].decode("latin-1")
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^#\s*([A-Za-z][\w\-]*)\s*[:=]?\s*(.*)$", line)
        if m:
            out.setdefault(m.group(1), m.group(2).strip())
            continue
        m = re.match(r"^(X-Binary-[\w\-]+|conversions)\s*[:=]\s*\"?([^\"]*)\"?", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    binary = int(out.get("X-Binary-Size", "-1"))
    if binary < 0 or "X-Binary-Size-Fastest-Dimension" not in out:
        raise HalosInputError("binary section has no size/dimension keys", path, "header")
    if size < mark + 4 + binary:
        raise HalosInputError(
            f"truncated: {size} bytes, the header announces {mark + 4 + binary}",
            path,
            "X-Binary-Size",
        )
    return out


def _header_value(
    header: dict, key: str, unit: str | None, which: int, path: Any, text: bool = False
) -> Any:
    raw = header.get(key)
    if raw is None:
        return None
    raw = str(raw)
    if text:
        return raw.strip()
    nums = _FLOAT.findall(raw)
    if not nums:
        return raw.strip()
    m = re.search(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\)?\s*([A-Za-zµÅ]+)", raw)
    stated = m.group(1) if m and m.group(1).lower() in _UNITS else None
    value = float(nums[min(which, len(nums) - 1)])
    return value * _unit_factor(stated or unit, path, key)


class FabioFrameSource(FrameSource):
    """Frames in image files read by fabio: miniCBF, EDF (also multi-frame), TIFF."""

    def __init__(
        self,
        files: Sequence[str | Path],
        label: str,
        profile: str | None = None,
        side_table: str | Path | None = None,
    ):
        super().__init__()
        self.path = label
        self._files = [str(f) for f in files]
        is_edf = all(".edf" in f.lower() for f in self._files)
        fmt = "edf" if is_edf else "cbf"
        fields = _profile(profile or default_profile(fmt), label, fmt)["fields"]
        self._index: list[tuple[int, int]] = []  # (file number, frame in file)
        headers: list[dict] = []
        shape = dtype = None
        for k, fname in enumerate(self._files):
            if not os.path.exists(fname):
                raise HalosInputError("file not found", fname)
            if fname.lower().endswith(".cbf"):
                hdr = read_minicbf_header(fname)
                fshape = (
                    int(hdr["X-Binary-Size-Second-Dimension"]),
                    int(hdr["X-Binary-Size-Fastest-Dimension"]),
                )
                subs = [hdr]
            else:
                img = self._open(fname)
                fshape = tuple(img.shape[-2:]) if img.data is not None else None
                if img.data is not None and img.data.ndim != 2:
                    raise HalosInputError(
                        f"expected a 2D image, got shape {img.data.shape}", fname, "data"
                    )
                if dtype is None:
                    dtype = img.data.dtype
                subs = [dict(img.header)]
                for j in range(1, getattr(img, "nframes", 1)):
                    subs.append(dict(img.getframe(j).header))
            if shape is None:
                shape = fshape
            elif fshape != shape:
                raise HalosInputError(
                    f"frame shape {fshape} differs from {shape} of "
                    f"{os.path.basename(self._files[0])}",
                    fname,
                    "shape",
                )
            for j, h in enumerate(subs):
                self._index.append((k, j))
                headers.append(h)
        if not self._index:
            raise HalosInputError("no frames", label)
        self.shape = tuple(int(s) for s in shape)
        self.n_frames = len(self._index)
        if dtype is None:
            dtype = self._read_one(0).dtype
        self.dtype = np.dtype(dtype)
        self.invalid_value = -1 if np.issubdtype(self.dtype, np.signedinteger) else None

        def field(name: str, i: int) -> Any:
            for loc in fields.get(name, ()):
                kind, key, unit = parse_location(loc)
                if kind in ("cbf", "edf"):
                    which = 1 if name in ("beam_center_y", "pixel_size_y") else 0
                    fname = self._files[self._index[i][0]]
                    text = name in ("detector", "sample_name")
                    v = _header_value(headers[i], key, unit, which, fname, text)
                    if v is not None:
                        return v
            return None

        def per_frame(name: str) -> np.ndarray | None:
            vals = [field(name, i) for i in range(self.n_frames)]
            if all(isinstance(v, float) for v in vals):
                return np.asarray(vals)
            return None

        exposure = per_frame("exposure")
        monitor = per_frame("monitor")
        rate = per_frame("monitor_rate")
        if monitor is None and rate is not None and exposure is not None:
            monitor = rate * exposure
        if monitor is not None and not monitor.any():
            monitor = None  # camserver writes "Flux 0.0000" when no flux was set
        self._set_per_frame(
            {"monitor": monitor, "transmission": per_frame("transmission"), "exposure_s": exposure}
        )
        if side_table is not None:
            self._apply_side_table(side_table, [self._files[k] for k, _ in self._index])
        meta = {n: field(n, 0) for n in fields}
        self.metadata = _metadata(
            meta,
            self.shape,
            self.n_frames,
            label,
            None if self.exposure_s is None else self.exposure_s[0],
        )

    @staticmethod
    def _open(fname: str) -> Any:
        try:
            return fabio.open(fname)
        except Exception as exc:  # fabio raises many kinds for a bad file
            raise HalosInputError(f"cannot read image: {exc}", fname) from None

    def _read_one(self, i: int) -> np.ndarray:
        k, j = self._index[i]
        fname = self._files[k]
        img = self._open(fname)
        try:
            data = img.data if j == 0 else img.getframe(j).data
        except Exception as exc:
            raise HalosInputError(f"cannot read frame {i}: {exc}", fname, f"frame {i}") from None
        if data is None or data.ndim != 2:
            raise HalosInputError(f"frame {i} is not a 2D image", fname, f"frame {i}")
        if getattr(self, "shape", None) is not None and data.shape != self.shape:
            raise HalosInputError(
                f"frame {i} has shape {data.shape}, expected {self.shape}", fname, f"frame {i}"
            )
        return data

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start,) + self.shape, self.dtype)
        for i in range(start, stop):
            out[i - start] = self._read_one(i)
        return out

    @property
    def files(self) -> list[str]:
        """The file of each frame, in frame order."""
        return [self._files[k] for k, _ in self._index]


# ----------------------------------------------------------------------------- entry point


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def open_frames(
    spec: str | Path | Sequence[str | Path],
    *,
    side_table: str | Path | None = None,
    profile: str | None = None,
) -> FrameSource:
    """Open the frames of one measurement for streamed reading.

    Parameters
    ----------
    spec : str, Path or sequence of them
        ``run_master.h5`` (DECTRIS NeXus master file), ``file.h5::/path/to/dataset``, a
        bare ``file.h5`` (master layout, else ``/entry/data/data``), a CBF/EDF/TIFF file, a
        directory of such images, a glob (``"frames/*.cbf"``) or a list of image files.
    side_table : str or Path, optional
        TSV with per-frame ``monitor``, ``transmission``, ``exposure_s``; wins over headers.
    profile : str, optional
        Facility profile (see :mod:`halos_analysis.io.profiles`); by default the generic
        DECTRIS layout for HDF5 and Pilatus header keys for images.

    Returns
    -------
    FrameSource

    Raises
    ------
    HalosInputError
        Missing or corrupt file, missing data file or dataset, frames of different shapes,
        data that are not 2D frames, a side table without a row for a frame.

    Examples
    --------
    >>> src = open_frames("run_master.h5")                       # doctest: +SKIP
    >>> for batch in src.batches(8):                              # doctest: +SKIP
    ...     print(batch.start, batch.data.shape, batch.monitor)
    """
    if isinstance(spec, (list, tuple)):
        files = [str(s) for s in spec]
        if len(files) == 1:
            return open_frames(files[0], side_table=side_table, profile=profile)
        if not files:
            raise HalosInputError("no frame files given")
        if any(f.lower().endswith(_H5_SUFFIXES) for f in files):
            raise HalosInputError("give one HDF5 file (or master file) per measurement", files[0])
        return FabioFrameSource(files, f"{files[0]} (+{len(files) - 1} files)", profile, side_table)
    text = str(spec)
    if "::" in text:
        fname, dset = text.split("::", 1)
        return HDF5FrameSource(fname, dset or None, profile, side_table)
    if any(c in text for c in "*?["):
        files = sorted(glob.glob(text), key=_natural_key)
        if not files:
            raise HalosInputError("no file matches this pattern", text)
        return open_frames(files, side_table=side_table, profile=profile)
    if os.path.isdir(text):
        files = sorted(
            (
                os.path.join(text, n)
                for n in os.listdir(text)
                if n.lower().endswith(_IMAGE_SUFFIXES)
            ),
            key=_natural_key,
        )
        if not files:
            raise HalosInputError("directory holds no CBF/EDF/TIFF files", text)
        if len(files) == 1:
            return FabioFrameSource(files, files[0], profile, side_table)
        return FabioFrameSource(files, text, profile, side_table)
    if not os.path.exists(text):
        raise HalosInputError("file not found", text)
    if text.lower().endswith(_H5_SUFFIXES) or h5py.is_hdf5(text):
        return HDF5FrameSource(text, None, profile, side_table)
    return FabioFrameSource([text], text, profile, side_table)
