# SPDX-License-Identifier: MIT
"""Frames in image files read by fabio (Pilatus miniCBF, EDF, TIFF) and the miniCBF header
reader."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.digest import active_log, read_bytes
from halos_analysis.io.frames.source import (
    UNIT_FACTORS,
    FrameSource,
    frame_metadata,
    lookup_profile,
    unit_factor,
)
from halos_analysis.io.profiles import default_profile, parse_location

_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_CBF_MARK = b"\x0c\x1a\x04\xd5"
#: miniCBF ``X-Binary-Element-Type`` -> the dtype fabio decodes it to.
_CBF_ELEMENT_TYPES = {
    f"{sign}signed {bits}-bit integer": np.dtype(f"{'u' if sign else ''}int{bits}")
    for sign in ("", "un")
    for bits in (8, 16, 32)
}


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
        recording = active_log()
        if recording is not None:
            # Hashed on the way and kept: decoding the file later does not read it again.
            head = recording.digest(path).pread(65536, 0)
        else:
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
    stated = m.group(1) if m and m.group(1).lower() in UNIT_FACTORS else None
    value = float(nums[min(which, len(nums) - 1)])
    return value * unit_factor(stated or unit, path, key)


def _check_edf_size(img: Any, fname: str) -> None:
    """Refuse an EDF file cut short: fabio pads the missing pixels with zeros and goes on."""
    frames = getattr(img, "_frames", None)
    if not fname.lower().endswith(".edf") or not frames:
        return
    size = os.path.getsize(fname)
    for j, frame in enumerate(frames):
        start, blob = getattr(frame, "start", None), getattr(frame, "blobsize", None)
        if start is not None and blob is not None and start + blob > size:
            raise HalosInputError(
                f"truncated: frame {j} needs bytes up to {start + blob}, the file has {size}",
                fname,
                "EDF_BinarySize",
            )


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
        fields = lookup_profile(profile or default_profile(fmt), label, fmt)["fields"]
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
                _check_edf_size(img, fname)
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
            # A miniCBF states its element type: no need to decode (and read) a frame here.
            dtype = _CBF_ELEMENT_TYPES.get(headers[0].get("X-Binary-Element-Type", "").lower())
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
        self.metadata = frame_metadata(
            meta,
            self.shape,
            self.n_frames,
            label,
            None if self.exposure_s is None else self.exposure_s[0],
        )

    @staticmethod
    def _open(fname: str) -> Any:
        # Imported here: an HDF5 run has no use for fabio (~0.1 s of imports).
        import fabio
        from fabio import fabioutils

        # fabio logs each reader it tries on a bad file (several lines, with object reprs)
        # and PIL warns ("Corrupt EXIF data"): the one line that matters is the error here.
        quiet = logging.getLogger("fabio")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = None if fname.lower().endswith(".gz") else read_bytes(fname)
                if data is not None:
                    # Inside record_reads(): the bytes were hashed as they were read
                    # (io.digest). fabio's own BytesIO: its lazy EDF decoder needs its lock.
                    img = fabio.open(fabioutils.BytesIO(data, fname))
                else:
                    img = fabio.open(fname)
                # fabio decodes lazily (an EDF on first access): a cut-off file fails here,
                # not later with an AttributeError; a file no reader decodes has no data.
                pixels = img.data
        except Exception as exc:  # fabio raises many kinds for a bad file
            raise HalosInputError(f"cannot read image: {exc}", fname) from None
        finally:
            quiet.setLevel(level)
        if pixels is None:
            raise HalosInputError("cannot read image: no reader decodes it", fname, "data")
        return img

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
