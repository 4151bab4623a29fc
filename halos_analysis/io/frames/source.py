# SPDX-License-Identifier: MIT
"""What every frame reader shares: :class:`FrameSource`, :class:`FrameBatch`, side tables,
units, facility profiles and header metadata."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.profiles import get_profile
from halos_analysis.types import FrameMetadata
from halos_analysis.units import LENGTHS, TIMES

#: Header units (lengths and times from :mod:`halos_analysis.units`, pixels as they are).
UNIT_FACTORS = {**LENGTHS, **TIMES, "pixel": 1.0, "pixels": 1.0, "px": 1.0}
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


def unit_factor(unit: str | None, path: Any, field: str) -> float:
    if unit is None:
        return 1.0
    key = unit.strip().lower()
    if key not in UNIT_FACTORS:
        raise HalosInputError(f"unknown unit {unit!r}", path, field)
    return UNIT_FACTORS[key]


def invalid_values(frame: np.ndarray, invalid_value: int | None = None) -> np.ndarray:
    """Bool mask of the pixels whose value says "no measurement" (not the static mask).

    ``invalid_value`` (Eiger 2**bits − 1), for signed integers any negative count (Pilatus
    writes -1 in gaps and -2 for bad pixels), for floats NaN and inf.
    """
    bad = np.zeros(frame.shape, bool)
    if invalid_value is not None:
        bad |= frame == invalid_value
    if np.issubdtype(frame.dtype, np.signedinteger):
        bad |= frame < 0
    elif np.issubdtype(frame.dtype, np.floating):
        bad |= ~np.isfinite(frame)
    return bad


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
        bad = invalid_values(frame, self.invalid_value)
        if self.pixel_mask is not None:
            bad |= self.pixel_mask
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
        for c, v in zip(cols, by_key[key], strict=True):
            if not (math.isfinite(v) and v > 0):
                raise HalosInputError(
                    f"{c} is {v!r} in line {lineno}: it must be a positive number",
                    path,
                    f"line {lineno} {c}",
                )
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


def lookup_profile(name: str, path: Any, fmt: str) -> dict:
    try:
        prof = get_profile(name)
    except KeyError as exc:
        raise HalosInputError(str(exc.args[0]), path, "profile") from None
    if (prof["format"] == "hdf5") != (fmt == "hdf5"):
        raise HalosInputError(
            f"profile {name!r} is for {prof['format']} files, this is {fmt}", path, "profile"
        )
    return prof


def frame_metadata(
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
