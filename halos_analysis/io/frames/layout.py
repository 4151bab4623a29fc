# SPDX-License-Identifier: MIT
"""Facility file layouts: find a profile's fields in HDF5 files, their links and sidecars.

:class:`H5Layout` reads one file (a DECTRIS master, a CoSAXS scan master, a Bliss dataset
file, a Lima file, a B21 NeXus file, a bare data file) the way its profile
(:mod:`halos_analysis.io.profiles`) says:

* paths are walked one component at a time, with soft links, external links and globs
  followed explicitly. External links are resolved relative to the file that holds them (as
  the writers intend), never to the working directory, and a missing target is named;
* a virtual dataset (Bliss ``instrument/<det>/image``) is read from its source files
  directly, after checking that every source exists: HDF5 would silently return fill
  values (zeros) for a missing Lima file;
* sidecars: sibling HDF5 files (``scan-N_pcap.h5``), a BioCAT ``.log``, P12 per-frame text
  headers, and the PONI file for geometry the file does not record;
* units are converted on read (energy -> wavelength, mm -> m); counters keep their unit.

:func:`detect_layout` tells which profile a file looks like, or what is missing for the
nearest one.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle/LZ4 filters with HDF5)
import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames.source import UNIT_FACTORS, unit_factor
from halos_analysis.io.profiles import (
    PROFILES,
    Location,
    get_profile,
    parse_location_full,
    template_vars,
)

__all__ = [
    "Detection",
    "FieldRead",
    "H5Layout",
    "detect_layout",
    "energy_to_wavelength",
    "frame_segment",
    "open_h5",
    "read_poni_geometry",
]

#: h·c in eV·m: λ [m] = HC_EV_M / E [eV].
HC_EV_M = 1.239841984332e-6
_ENERGY = {"ev": 1.0, "kev": 1e3, "mev": 1e6, "j": 1.0 / 1.602176634e-19}
_COUNTERS = ("monitor", "monitor_rate", "transmitted")
_RAW = ("pixel_mask", "bit_depth", "transmission")
_TEXT = ("sample_name", "detector", "info_title")
_MAX_LINKS = 16
_NUM = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµÅ/]*)\s*$")


def energy_to_wavelength(energy: float, unit: str = "eV") -> float:
    """Photon energy -> wavelength in m (λ = hc/E)."""
    e = float(energy) * _ENERGY[unit.strip().lower()]
    if not e > 0:
        raise ValueError(f"photon energy must be positive, got {energy} {unit}")
    return HC_EV_M / e


def open_h5(path: str | Path) -> h5py.File:
    """Open an HDF5 file read-only; a missing or corrupt file is a one-line input error."""
    from halos_analysis.io.digest import open_h5_file

    try:
        # Inside record_reads() the bytes HDF5 reads are hashed on the way (io.digest).
        return open_h5_file(path)
    except FileNotFoundError:
        raise HalosInputError("file not found", path) from None
    except OSError as exc:
        raise HalosInputError(
            f"not a readable HDF5 file (truncated or corrupt?): {exc}", path
        ) from None


def frame_segment(fname: str, dset: str, ds: h5py.Dataset) -> list:
    """``[file, dataset, first frame, n frames, frame shape, dtype]`` of a 2D/3D dataset."""
    if ds.ndim == 3:
        n, shape = ds.shape[0], ds.shape[1:]
    elif ds.ndim == 2:
        n, shape = 1, ds.shape
    else:
        raise HalosInputError(
            f"expected 2D frames or a 3D stack, got shape {ds.shape}", fname, dset
        )
    if ds.dtype.kind not in "iuf":
        # Complex or text pixels would be cast silently (the imaginary part dropped).
        raise HalosInputError(
            f"frames of type {ds.dtype}: expected integer or float counts", fname, dset
        )
    return [fname, dset, 0, n, tuple(int(s) for s in shape), ds.dtype]


def read_poni_geometry(path: str | Path) -> dict[str, float]:
    """The PONI quantities a ``poni:`` location may name (SI units, beam centre in pixels)."""
    from halos_analysis.io.poni import load_geometry

    # pyFAI's numbers, from the geometry record cached once per PONI file: a check of a
    # raw file against its PONI (halos validate) imports no pyFAI.
    geo = load_geometry(path)
    return {
        "wavelength": geo.wavelength,
        "distance": float(geo.key["dist"]),
        "pixel1": geo.pixel1,
        "pixel2": geo.pixel2,
        "beam_center_x": geo.beam_center_x_px,
        "beam_center_y": geo.beam_center_y_px,
    }


@dataclass(frozen=True)
class FieldRead:
    """One field as read: converted value, the unit it is in, where it came from."""

    value: Any
    unit: str | None
    where: str
    location: str
    stored: str = ""  # the value as stored, when a conversion changed it ("12400 eV")


@dataclass(frozen=True)
class Detection:
    """Which layout a file looks like (``profile`` None: none matched; see ``nearest``)."""

    profile: str | None
    label: str = ""
    matched: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    nearest: str | None = None
    candidates: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.profile is not None

    def describe(self) -> str:
        """'looks like ...' or 'matches no known layout; nearest ...: missing ...'."""
        if self.profile:
            level = PROFILES[self.profile].get("evidence", ("DOC",))[0]
            return f"looks like {self.label} (profile {self.profile}, evidence {level})"
        if self.nearest:
            label = PROFILES[self.nearest].get("label", self.nearest)
            return (
                f"matches no known layout; nearest is {label} (profile {self.nearest}), "
                f"missing: {', '.join(self.missing)}"
            )
        return "matches no known layout"


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


class _Missing(Exception):
    """An external link or sidecar whose file does not exist (message names both)."""


@dataclass
class H5Layout:
    """Reader of one HDF5 file laid out as a profile says (use as a context manager).

    Parameters
    ----------
    path : str or Path
        The file the user gave.
    profile : dict
        A resolved profile (:func:`halos_analysis.io.profiles.get_profile`).
    entry : str, optional
        The scan entry to read (``/2.1``) for profiles with one entry per scan.
    poni : str or Path, optional
        PONI file for the ``poni:`` locations.
    """

    path: str
    profile: dict[str, Any]
    entry: str | None = None
    poni: str | Path | None = None
    notes: list[str] = field(default_factory=list)
    needs_poni: set[str] = field(default_factory=set)
    empty: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.path = os.path.abspath(str(self.path))
        self._files: dict[str, h5py.File] = {}
        self._log: tuple[dict[str, str], list[str], list[list[str]]] | None = None
        self._headers: list[dict[str, str]] | None = None
        self._poni: dict[str, float] | None = None
        self.vars = template_vars(self.profile, self.path)
        self.vars.update({k: v for k, v in self.profile.get("params", {}).items() if v})
        self.root = self.file(self.path)
        self.entry = self._choose_entry(self.entry)
        if self.entry:
            self.vars["entry"] = self.entry
        self.image_nr_low = 1

    # ------------------------------------------------------------------ files and paths
    def __enter__(self) -> H5Layout:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every file opened (the master, link targets, sidecars)."""
        for f in self._files.values():
            f.close()
        self._files.clear()

    def file(self, path: str) -> h5py.File:
        """An open handle of ``path`` (opened once)."""
        path = os.path.abspath(path)
        if path not in self._files:
            self._files[path] = open_h5(path)
        return self._files[path]

    def _choose_entry(self, given: str | None) -> str | None:
        pattern = self.profile.get("entry")
        if not pattern:
            return None
        if given:
            if given not in self.root or not isinstance(self.root[given], h5py.Group):
                raise HalosInputError("no such scan entry", self.path, given)
            return "/" + given.strip("/")
        names = [n for n in self.root if fnmatch.fnmatchcase(n, pattern.strip("/"))]
        names = [n for n in names if isinstance(self.root.get(n), h5py.Group)]
        if not names:
            raise HalosInputError(f"no entry matching {pattern}", self.path, pattern)
        if self.profile.get("entry_order") == "start_time" and len(names) > 1:
            # dahu reads the entry with the latest start time.
            def start(n: str) -> str:
                v = self.root[n].get("start_time")
                v = v[()] if isinstance(v, h5py.Dataset) else b""
                return v.decode() if isinstance(v, bytes) else str(v)

            names.sort(key=start)
            chosen = names[-1]
        else:
            names.sort(key=_natural)
            chosen = names[0]
        if len(names) > 1:
            shown = ", ".join("/" + n for n in names[:6]) + (" ..." if len(names) > 6 else "")
            self.notes.append(
                f"{len(names)} scan entries ({shown}): reading /{chosen}; "
                f"choose another as FILE::/<entry>"
            )
        return "/" + chosen

    def expand(self, text: str) -> str | None:
        """Fill template variables; None when one has no value (the location is skipped)."""
        try:
            return text.format(**self.vars) if "{" in text else text
        except (KeyError, IndexError):
            return None

    def _follow(self, f: h5py.File, path: str, link: Any, depth: int) -> list[tuple]:
        if depth > _MAX_LINKS:
            raise HalosInputError("too many links (a cycle?)", f.filename, path)
        if isinstance(link, h5py.SoftLink):
            target = link.path
            if not target.startswith("/"):
                target = path.rsplit("/", 1)[0] + "/" + target
            return self._walk(f, target, depth + 1)
        if isinstance(link, h5py.ExternalLink):
            fname = link.filename
            if not os.path.isabs(fname):
                fname = os.path.join(os.path.dirname(f.filename), fname)
            if not os.path.exists(fname):
                raise _Missing(
                    f"{link.filename} (linked from {os.path.basename(f.filename)}:{path}) "
                    "is missing"
                )
            return self._walk(self.file(fname), link.path, depth + 1)
        obj = f.get(path)
        return [] if obj is None else [(f, path, obj)]

    def _walk(self, f: h5py.File, path: str, depth: int = 0) -> list[tuple]:
        """Every (file, path, object) that ``path`` (globs allowed) reaches, links followed."""
        parts = [p for p in path.split("/") if p]
        found: list[tuple] = []

        def rec(g: h5py.File, gpath: str, i: int) -> None:
            if i == len(parts):
                found.append((g, gpath or "/", g[gpath or "/"]))
                return
            grp = g[gpath or "/"]
            comp = parts[i]
            if any(c in comp for c in "*?["):
                names = sorted((n for n in grp if fnmatch.fnmatchcase(n, comp)), key=_natural)
            else:
                names = [comp]
            for name in names:
                link = grp.get(name, getlink=True)
                if link is None:
                    continue
                child = f"{gpath}/{name}"
                for g2, p2, obj in self._follow(g, child, link, depth):
                    if i == len(parts) - 1:
                        found.append((g2, p2, obj))
                    elif isinstance(obj, h5py.Group):
                        rec(g2, p2, i + 1)

        rec(f, "", 0)
        return found

    def find(self, loc: Location) -> list[tuple]:
        """Objects a ``h5:`` location reaches (sibling file included); [] when absent."""
        key = self.expand(loc.key)
        if key is None:
            return []
        f = self.root
        if loc.file:
            fname = self.expand(loc.file)
            if fname is None:
                return []
            fname = os.path.join(os.path.dirname(self.path), fname)
            if not os.path.exists(fname):
                return []
            f = self.file(fname)
        return self._walk(f, key)

    def exists(self, loc: Location) -> bool:
        """Whether a location is present (a dangling external link counts as present)."""
        try:
            return bool(self.find(loc))
        except _Missing:
            return True

    # ------------------------------------------------------------------ frames
    def frame_segments(self, locations: tuple[str, ...]) -> list[list]:
        """Segments of the frames at the first location that holds them (see module doc)."""
        tried = []
        for text in locations:
            loc = parse_location_full(text)
            tried.append(self.expand(loc.key) or loc.key)
            try:
                hits = self.find(loc)
            except _Missing as exc:
                raise HalosInputError(f"frames not readable: {exc}", self.path, tried[-1]) from None
            for f, p, obj in hits:
                if isinstance(obj, h5py.Dataset):
                    return self._dataset_segments(f, p, obj)
                segs = self._linked_data_files(f, p, obj)
                if segs:
                    return segs
        raise HalosInputError(
            f"no frame dataset (looked for {', '.join(tried)})",
            self.path,
            tried[0] if len(tried) == 1 else "data",
        )

    def _linked_data_files(self, f: h5py.File, gpath: str, grp: h5py.Group) -> list[list]:
        """A DECTRIS master's ``data_00000N`` links, in order."""
        segs = []
        for name in sorted((n for n in grp if re.fullmatch(r"data_\d+", n)), key=_natural):
            where = f"{gpath.rstrip('/')}/{name}"
            try:
                hits = self._follow(f, where, grp.get(name, getlink=True), 0)
            except _Missing as exc:
                raise HalosInputError(f"data file {exc}", self.path, where) from None
            for f2, p2, obj in hits:
                if not isinstance(obj, h5py.Dataset):
                    raise HalosInputError("no dataset at the linked path", f2.filename, p2)
                segs.extend(self._dataset_segments(f2, p2, obj))
        for s in segs[1:]:
            if s[4:] != segs[0][4:]:
                raise HalosInputError(
                    f"frames of shape {s[4]} {s[5]} differ from {segs[0][4]} {segs[0][5]}",
                    s[0],
                    s[1],
                )
        return segs

    def _dataset_segments(self, f: h5py.File, path: str, ds: h5py.Dataset) -> list[list]:
        if "image_nr_low" in ds.attrs:
            self.image_nr_low = int(np.asarray(ds.attrs["image_nr_low"]).ravel()[0])
        if not ds.is_virtual:
            return [frame_segment(f.filename, path, ds)]
        return self._virtual_segments(f, path, ds)

    def _virtual_segments(self, f: h5py.File, path: str, ds: h5py.Dataset) -> list[list]:
        """The source datasets of a virtual dataset, checked to exist, as segments."""
        if ds.ndim != 3:
            return [frame_segment(f.filename, path, ds)]
        base = os.path.dirname(f.filename)
        frame_shape = tuple(int(s) for s in ds.shape[1:])
        segs = []
        direct = True
        for src in ds.virtual_sources():
            fname = f.filename if src.file_name == "." else src.file_name
            if not os.path.isabs(fname):
                fname = os.path.join(base, fname)
            if not os.path.exists(fname):
                raise HalosInputError(
                    f"frames {path} are a virtual dataset over {src.file_name}, which is "
                    "missing (HDF5 would read zeros)",
                    f.filename,
                    path,
                )
            (v0, *_), (v1, *_) = src.vspace.get_select_bounds()
            n = v1 - v0 + 1
            g = self.file(fname)
            sds = g.get(src.dset_name)
            if not isinstance(sds, h5py.Dataset):
                raise HalosInputError(
                    f"virtual source {src.dset_name} is missing", fname, src.dset_name
                )
            s0 = _first_selected(src.src_space)
            whole = src.vspace.get_select_npoints() == n * math.prod(frame_shape)
            if sds.ndim != 3 or tuple(sds.shape[1:]) != frame_shape or s0 != 0 or not whole:
                direct = False  # not a block of whole frames from frame 0: read the VDS
            seg = frame_segment(fname, src.dset_name, sds)
            seg[3] = n
            segs.append((v0, seg))
        segs.sort(key=lambda s: s[0])
        expected = 0
        for v0, seg in segs:
            if v0 != expected:
                direct = False
            expected = v0 + seg[3]
        if not direct or expected != ds.shape[0] or not segs:
            self.notes.append(f"{path}: virtual dataset read through HDF5 (irregular sources)")
            return [frame_segment(f.filename, path, ds)]
        return [seg for _, seg in segs]

    # ------------------------------------------------------------------ fields
    def read(self, name: str) -> FieldRead | None:
        """The field ``name`` from the first of the profile's locations that has it."""
        for text in self.profile["fields"].get(name, ()):
            loc = parse_location_full(text)
            if loc.kind == "side":
                continue
            if loc.kind == "poni":
                got = self._from_poni(name, loc)
            elif loc.kind == "h5":
                got = self._from_h5(name, loc)
            elif loc.kind == "log":
                got = self._from_log(name, loc)
            elif loc.kind == "hdr":
                got = self._from_headers(name, loc)
            elif loc.kind == "name":
                got = self._from_name(name, loc)
            else:
                got = None
            if got is None:
                continue
            if isinstance(got.value, str) and not got.value.strip():
                self.empty.add(name)  # the field exists but is empty: try the next place
                continue
            return got
        return None

    def _from_poni(self, name: str, loc: Location) -> FieldRead | None:
        if self.poni is None:
            self.needs_poni.add(name)
            return None
        if self._poni is None:
            self._poni = read_poni_geometry(self.poni)
        unit = "pixel" if loc.key.startswith("beam_center") else "m"
        return FieldRead(self._poni[loc.key], unit, f"PONI {os.path.basename(str(self.poni))}",
                         loc.text)  # fmt: skip

    def _from_h5(self, name: str, loc: Location) -> FieldRead | None:
        try:
            hits = self.find(loc)
        except _Missing as exc:
            self.notes.append(f"{name}: {exc}")
            return None
        for f, p, obj in hits:
            if not isinstance(obj, h5py.Dataset):
                continue
            value = obj[()]
            stated = obj.attrs.get("units")
            if isinstance(stated, bytes):
                stated = stated.decode(errors="replace")
            where = f"{os.path.basename(f.filename)}:{p}"
            return self._convert(name, value, stated or loc.unit, where, loc)
        return None

    def _convert(self, name: str, value: Any, unit: str | None, where: str, loc: Location):
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OS" and value.size == 1:
            value = value.ravel()[0]
            value = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind == "U":
            value = str(value.ravel()[0]) if value.size else ""
        if isinstance(value, str):
            if loc.regex:
                m = re.search(loc.regex, value)
                if not m:
                    return None
                value = m.group(1) if m.groups() else m.group(0)
            if name in _TEXT:
                return FieldRead(value.strip(), None, where, loc.text)
            m = _NUM.match(value)
            if not m:
                return FieldRead(value.strip(), None, where, loc.text)
            value, unit = float(m.group(1)), (m.group(2) or unit)
        if name in _TEXT:
            return FieldRead(str(value), None, where, loc.text)
        if name in _RAW:
            return FieldRead(value, unit, where, loc.text)
        arr = np.asarray(value, np.float64)
        if name in _COUNTERS:
            return FieldRead(arr, unit, where, loc.text)
        if name.startswith("info_"):
            if unit and unit.strip().lower() in UNIT_FACTORS:
                arr = arr * unit_factor(unit, self.path, where)
                return FieldRead(arr, "m" if name == "info_carriage_z" else unit, where,
                                 loc.text, f"{_short(value)} {unit}")  # fmt: skip
            return FieldRead(arr, unit, where, loc.text)
        key = (unit or "").strip().lower()
        if name == "wavelength" and key in _ENERGY:
            energy = float(arr.ravel()[0])
            try:
                lam = energy_to_wavelength(energy, key)
            except ValueError:
                raise HalosInputError(f"photon energy {energy} {unit}", self.path, where) from None
            return FieldRead(lam, "m", where, loc.text, f"{energy:g} {unit}")
        factor = unit_factor(unit, self.path, where)
        stored = f"{_short(value)} {unit}" if unit and factor != 1.0 else ""
        return FieldRead(arr * factor, FIELDS_UNIT.get(name), where, loc.text, stored)

    def _from_name(self, name: str, loc: Location) -> FieldRead | None:
        base = os.path.basename(self.path)
        m = re.search(loc.key, base)
        if not m:
            return None
        return FieldRead(m.group(1) if m.groups() else m.group(0), None, f"file name {base}",
                         loc.text)  # fmt: skip

    # BioCAT-style run log: '#Key:\tvalue' lines, a '#Filename\t...' table header, rows.
    def _log_path(self) -> str | None:
        prefix = self.vars.get("prefix")
        if not prefix:
            return None
        return os.path.join(os.path.dirname(self.path), f"{prefix}.log")

    def _read_log(self) -> tuple[dict[str, str], list[str], list[list[str]]] | None:
        if self._log is None:
            path = self._log_path()
            if path is None or not os.path.exists(path):
                return None
            header: dict[str, str] = {}
            columns: list[str] = []
            rows: list[list[str]] = []
            for line in Path(path).read_text(errors="replace").splitlines():
                if not line.strip():
                    continue
                if line.startswith("#"):
                    body = line[1:]
                    key, sep, value = body.partition(":\t")
                    if sep:
                        header[key.strip()] = value.strip()
                    elif "\t" in body:
                        columns = [c.strip() for c in body.split("\t")]
                    else:
                        k2, s2, v2 = body.partition(":")
                        if s2:
                            header[k2.strip()] = v2.strip()
                else:
                    rows.append([c.strip() for c in line.split("\t")])
            self._log = (header, columns, rows)
        return self._log

    def _from_log(self, name: str, loc: Location) -> FieldRead | None:
        got = self._read_log()
        if got is None:
            return None
        header, columns, rows = got
        where = os.path.basename(self._log_path() or "")
        if loc.key in columns:
            j = columns.index(loc.key)
            by_name = {r[0]: r for r in rows if r}
            prefix = self.vars.get("prefix", "")
            values = []
            n = self._n_frames_hint()
            for i in range(n if n else len(rows)):
                k = self.image_nr_low + i
                row = by_name.get(f"{prefix}_{k:06d}")
                if row is None and k - 1 < len(rows):
                    row = rows[k - 1]
                if row is None or j >= len(row):
                    raise HalosInputError(f"no row for frame {k} in the run log", where, loc.key)
                values.append(row[j])
            try:
                arr = np.asarray([float(v) for v in values])
            except ValueError:
                return self._convert(name, values[0], loc.unit, f"{where} column {loc.key}", loc)
            if name in _COUNTERS:
                return FieldRead(arr, loc.unit or "counts", f"{where} column {loc.key}", loc.text)
            return self._convert(name, arr, loc.unit, f"{where} column {loc.key}", loc)
        if loc.key in header:
            return self._convert(name, header[loc.key], loc.unit, f"{where} #{loc.key}", loc)
        return None

    def _n_frames_hint(self) -> int:
        return int(getattr(self, "n_frames", 0) or 0)

    # P12 (RAW's reader): <visit>/.../header/<prefix>_<run>_<frame:05d>.txt, 'key: value'.
    def header_path(self, frame_number: int) -> str | None:
        """Text header of frame ``frame_number`` (1-based), or None without a prefix."""
        prefix = self.vars.get("prefix")
        if not prefix:
            return None
        folder = os.path.join(os.path.dirname(os.path.dirname(self.path)), "header")
        return os.path.join(folder, f"{prefix}_{frame_number:05d}.txt")

    def _read_headers(self) -> list[dict[str, str]] | None:
        if self._headers is None:
            n = self._n_frames_hint() or 1
            out = []
            for i in range(n):
                path = self.header_path(self.image_nr_low + i)
                if path is None or not os.path.exists(path):
                    if i == 0:
                        return None
                    raise HalosInputError("per-frame header missing", path, "header")
                hdr = {}
                for line in Path(path).read_text(errors="replace").splitlines():
                    key, sep, value = line.partition(":")
                    if sep and key.strip():
                        hdr[key.strip()] = value.strip()
                out.append(hdr)
            self._headers = out
        return self._headers

    def _from_headers(self, name: str, loc: Location) -> FieldRead | None:
        headers = self._read_headers()
        if not headers or loc.key not in headers[0]:
            return None
        where = f"header/{os.path.basename(self.header_path(self.image_nr_low) or '')} {loc.key}"
        values = [h.get(loc.key, "") for h in headers]
        if name in _TEXT:
            return FieldRead(values[0].strip(), None, where, loc.text)
        nums = []
        unit = loc.unit
        for v in values:
            m = _NUM.match(v)
            if not m:
                raise HalosInputError(f"{loc.key} is not a number: {v!r}", where, loc.key)
            nums.append(float(m.group(1)))
            unit = m.group(2) or unit
        arr = np.asarray(nums)
        if name in _COUNTERS:
            return FieldRead(arr, unit, where, loc.text)
        return self._convert(name, arr if len(arr) > 1 else arr[0], unit, where, loc)

    # ------------------------------------------------------------------ detection
    def signature(self) -> tuple[list[str], list[str]]:
        """(matched, missing) items of the profile's ``detect`` signature for this file."""
        matched, missing = [], []
        for text in self.profile.get("detect") or ():
            loc = parse_location_full(text)
            if loc.kind == "name":
                ok = re.search(loc.key, os.path.basename(self.path)) is not None
                label = f"a file name like {loc.key}"
            elif loc.kind == "log":
                path = self._log_path()
                ok = path is not None and os.path.exists(path)
                label = f"the run log {os.path.basename(path) if path else '<prefix>.log'}"
            elif loc.kind == "hdr":
                path = self.header_path(1)
                ok = path is not None and os.path.exists(path)
                label = "per-frame headers in ../header/" + (
                    f" ({os.path.basename(path)})" if path else ""
                )
            else:
                ok = self.exists(loc)
                label = loc.text
            (matched if ok else missing).append(label)
        return matched, missing


FIELDS_UNIT = {
    "wavelength": "m",
    "distance": "m",
    "pixel_size_x": "m",
    "pixel_size_y": "m",
    "beam_center_x": "pixel",
    "beam_center_y": "pixel",
    "exposure": "s",
}


def _first_selected(space: Any) -> int:
    """First index (dim 0) a dataspace selection covers; 0 for a select-all."""
    if space.get_select_type() == h5py.h5s.SEL_ALL:
        return 0
    try:
        (s0, *_), _ = space.get_select_bounds()
    except ValueError:  # an empty selection has no bounds
        return -1
    return int(s0)


def _short(value: Any) -> str:
    arr = np.asarray(value)
    if arr.size == 1:
        return f"{float(arr.ravel()[0]):g}"
    return f"{arr.size} values"


def detect_layout(path: str | Path) -> Detection:
    """Which facility layout an HDF5 file has.

    Every profile with a ``detect`` signature is tried; a profile matches when all the items
    of its signature are present (a dangling external link counts: the file still has that
    layout, and reading it then names the missing file). Of several matches the one with the
    longest signature wins (the most specific), then the first in the table.

    Returns
    -------
    Detection
        ``profile`` and ``label`` of the match, or ``nearest`` (the profile with the largest
        share of its signature present) and what it ``missing``.
    """
    path = str(path)
    full: list[tuple[int, int, str, list[str]]] = []
    partial: list[tuple[float, int, str, list[str], list[str]]] = []
    try:
        root = open_h5(path)
    except HalosInputError:
        return Detection(None)
    root.close()
    for order, name in enumerate(PROFILES):
        prof = get_profile(name)
        if prof["format"] != "hdf5" or not prof.get("detect"):
            continue
        try:
            with H5Layout(path, prof) as lay:
                matched, missing = lay.signature()
        except HalosInputError:
            # E.g. the profile's scan entries are absent: nothing of it matches here.
            matched, missing = [], list(prof["detect"])
        if not missing:
            full.append((-len(matched), order, name, matched))
        elif matched:
            partial.append((-len(matched) / (len(matched) + len(missing)), order, name,
                            matched, missing))  # fmt: skip
    if full:
        full.sort()
        _, _, name, matched = full[0]
        return Detection(
            name,
            PROFILES[name].get("label", name),
            tuple(matched),
            candidates=tuple(n for _, _, n, _ in full),
        )
    if partial:
        partial.sort()
        _, _, name, matched, missing = partial[0]
        return Detection(None, "", tuple(matched), tuple(missing), nearest=name)
    return Detection(None)
