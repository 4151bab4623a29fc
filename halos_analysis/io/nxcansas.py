# SPDX-License-Identifier: MIT
"""Write and read NXcanSAS (the NeXus application definition for reduced SAS data) with h5py.

Two kinds of file are written:

* :func:`write_frames` — the curves of every frame of one measurement, one ``SASdata`` group
  per frame in one ``SASentry`` (what ``halos integrate -o OUT.h5`` produces). The q axis is
  stored once and hard-linked into every group, so a SEC run of thousands of frames stays
  small and fast to write.
* :func:`write_sample_result` — one sample's result: the subtracted curve (the entry's
  ``default``), the sample and buffer averages, the instrument, the sample, the processing
  (version, parameters, the config as a ``SASprocessnote``) and the analysis results
  (Guinier, P(r) as its own ``NXdata``, MW, Kratky, frame similarity, flags).

Layout decisions where the definition leaves room (see also ``validate.py``):

* SASdata groups are named ``sasdata`` (the subtracted curve) and ``sasdata_sample`` /
  ``sasdata_buffer``; frame files use ``sasdata_NNNNN`` with the 0-based frame id.
* Analysis results live in a second ``SASprocess`` named ``analysis``: an NXdata directly in
  the SASentry would be read as SASdata by validators and SAS programs, while NXprocess may
  hold NXdata and NXcollection groups.
* The source is described by ``probe``/``type`` (``radiation`` is deprecated in NeXus 2024+).
* Beam centre is written as a length (``beam_center_x`` = pixels × pixel size, in mm) because
  the definition types it ``NX_LENGTH``.

Every file is written to a temporary name and renamed, so no half-written file is left.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import (
    Curve,
    FrameCurves,
    FrameMetadata,
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
)

#: Our q units and their NXcanSAS spelling.
NX_Q_UNITS = {"A^-1": "1/angstrom", "nm^-1": "1/nm"}
NX_LENGTH_UNITS = {"A": "angstrom", "nm": "nm"}
#: Intensity units allowed by NXcanSAS for I and Idev.
NX_I_UNITS = ("1/m", "1/cm", "m2/g", "cm2/g", "arbitrary")
_I_UNIT_ALIASES = {"1/cm": "1/cm", "cm^-1": "1/cm", "cm-1": "1/cm", "1/m": "1/m", "m^-1": "1/m"}

# Spellings of q units found in other programs' files -> (our unit, factor to apply).
_Q_UNIT_READ = {
    "1/a": ("A^-1", 1.0),
    "1/å": ("A^-1", 1.0),
    "1/angstrom": ("A^-1", 1.0),
    "1/ang": ("A^-1", 1.0),
    "a^-1": ("A^-1", 1.0),
    "a^{-1}": ("A^-1", 1.0),
    "angstrom^-1": ("A^-1", 1.0),
    "1/nm": ("nm^-1", 1.0),
    "nm^-1": ("nm^-1", 1.0),
    "nm^{-1}": ("nm^-1", 1.0),
    "1/m": ("nm^-1", 1e-9),
    "m^-1": ("nm^-1", 1e-9),
}


def nx_intensity_unit(unit: str | None) -> str:
    """NXcanSAS spelling of an intensity unit: ``1/cm``, ``1/m`` or ``arbitrary``."""
    if unit is None:
        return "arbitrary"
    key = unit.strip().lower().replace(" ", "")
    return _I_UNIT_ALIASES.get(key, unit if unit in NX_I_UNITS else "arbitrary")


def q_unit_from_nx(unit: str | None) -> tuple[str, float] | None:
    """Our q unit and the factor to apply for an NXcanSAS ``Q@units`` string, or None."""
    if unit is None:
        return None
    return _Q_UNIT_READ.get(unit.strip().lower().replace(" ", ""))


# --- small writing helpers ------------------------------------------------------------------


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _group(parent: h5py.Group, name: str, nx_class: str, cansas: str | None = None) -> h5py.Group:
    g = parent.create_group(name)
    g.attrs["NX_class"] = nx_class
    if cansas:
        g.attrs["canSAS_class"] = cansas
    return g


def _text(parent: h5py.Group, field: str, value: Any, **attrs: Any) -> None:
    ds = parent.create_dataset(field, data=str(value), dtype=h5py.string_dtype())
    for k, v in attrs.items():
        ds.attrs[k] = v


def _number(parent: h5py.Group, name: str, value: Any, units: str | None = None) -> None:
    if value is None:
        return
    if isinstance(value, float) and not math.isfinite(value):
        return  # a missing value is left out rather than written as NaN
    ds = parent.create_dataset(name, data=value)
    if units is not None:
        ds.attrs["units"] = units


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays as numbers and lists, anything else (paths...) as text.
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def _safe_name(key: str) -> str:
    # NeXus names: letters, digits and underscores, not starting with a digit.
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(key))
    return name if name and not name[0].isdigit() else "p_" + name


def _flatten(d: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten(v, key + ".")
        else:
            yield key, v


def _write_mapping(group: h5py.Group, mapping: dict[str, Any]) -> None:
    """Write a flat view of a dict: numbers as numbers, the rest as text (lists as JSON)."""
    for key, value in _flatten(mapping):
        name = _safe_name(key)
        if name in group:
            continue
        if isinstance(value, bool) or value is None:
            _text(group, name, json.dumps(value), original_name=key)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            if isinstance(value, float) and not math.isfinite(value):
                _text(group, name, "nan", original_name=key)
            else:
                group.create_dataset(name, data=value).attrs["original_name"] = key
        elif isinstance(value, str):
            _text(group, name, value, original_name=key)
        else:
            _text(group, name, json.dumps(value, default=_json_default), original_name=key)


def _write_sasdata(
    entry: h5py.Group,
    name: str,
    curve: Curve,
    i_units: str | None = None,
    q: h5py.Dataset | None = None,
) -> h5py.Group:
    """One SASdata group holding I(Q) ± Idev for a curve."""
    g = _group(entry, name, "NXdata", "SASdata")
    g.attrs["signal"] = "I"
    g.attrs["I_axes"] = "Q"
    g.attrs["Q_indices"] = np.int32(0)
    g.attrs["axes"] = "Q"  # for generic NeXus plotters (NXdata base class)
    iu = nx_intensity_unit(i_units or curve.meta.get("intensity_unit"))
    ds = g.create_dataset("I", data=curve.intensity)
    ds.attrs["units"] = iu
    # A curve read from a two-column file has no sigma (all NaN): write no Idev then.
    if not np.isnan(curve.sigma).all():
        ds.attrs["uncertainties"] = "Idev"
        g.create_dataset("Idev", data=curve.sigma).attrs["units"] = iu
    if q is None:
        g.create_dataset("Q", data=curve.q).attrs["units"] = NX_Q_UNITS[curve.q_unit]
    else:
        g["Q"] = q  # hard link: one q axis shared by every frame
    return g


def _write_instrument(entry: h5py.Group, meta: FrameMetadata | None, name: str = "") -> None:
    inst = _group(entry, "sasinstrument", "NXinstrument", "SASinstrument")
    if name or (meta and meta.source):
        _text(inst, "name", name or meta.source)
    src = _group(inst, "sassource", "NXsource", "SASsource")
    _text(src, "probe", "x-ray")
    _text(src, "type", "Synchrotron X-ray Source")
    det = _group(inst, "sasdetector", "NXdetector", "SASdetector")
    _text(det, "name", (meta.detector if meta else None) or "unknown")
    if meta is None:
        return
    if meta.wavelength_m:
        _number(src, "incident_wavelength", meta.wavelength_m * 1e10, "angstrom")
    _number(det, "SDD", meta.distance_m, "m")
    # pyFAI convention: pixel1 is the slow (y, row) axis, pixel2 the fast (x, column) axis.
    px, py = meta.pixel2_m, meta.pixel1_m
    _number(det, "x_pixel_size", None if px is None else px * 1e3, "mm")
    _number(det, "y_pixel_size", None if py is None else py * 1e3, "mm")
    if meta.beam_center_x_px is not None and px:
        _number(det, "beam_center_x", meta.beam_center_x_px * px * 1e3, "mm")
    if meta.beam_center_y_px is not None and py:
        _number(det, "beam_center_y", meta.beam_center_y_px * py * 1e3, "mm")
    # The same metadata in pixels and SI units, for readers of our own files.
    note = _group(det, "halos_metadata", "NXcollection")
    _write_mapping(note, {k: v for k, v in meta.to_dict().items() if v is not None})


def _write_process(entry: h5py.Group, name: str, process: dict[str, Any] | None) -> h5py.Group:
    from halos_analysis import __version__

    process = dict(process or {})
    proc = _group(entry, name, "NXprocess", "SASprocess")
    _text(proc, "name", process.get("program", "HALOS Analysis"))
    _text(proc, "date", process.get("date") or _now())
    _text(proc, "description", process.get("description", "bioSAXS reduction and analysis"))
    _text(proc, "program", process.get("program", "halos-analysis"))
    _text(proc, "version", process.get("version", __version__))
    params = process.get("parameters") or {}
    if params:
        note = _group(proc, "parameters", "NXcollection", "SASprocessnote")
        _write_mapping(note, params)
    config_text = process.get("config_text") or process.get("config")
    if isinstance(config_text, dict):
        config_text = json.dumps(config_text, indent=2, default=_json_default)
    if config_text:
        note = _group(proc, "configuration", "NXcollection", "SASprocessnote")
        _text(note, "text", config_text)
        _text(note, "format", process.get("config_format", "yaml"))
    prov = process.get("provenance")
    if prov:
        note = _group(proc, "provenance", "NXcollection", "SASprocessnote")
        _text(note, "json", json.dumps(prov, indent=1, default=_json_default))
        _write_mapping(note, {k: v for k, v in prov.items() if k not in ("config", "json")})
    return proc


class _AtomicH5:
    """Open ``path.part`` for writing; rename to ``path`` on success, delete on failure."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".part")

    def __enter__(self) -> h5py.File:
        if not self.path.parent.is_dir():
            raise HalosInputError("output folder does not exist", self.path.parent)
        if not os.access(self.path.parent, os.W_OK):
            raise HalosInputError("output folder is not writable", self.path.parent)
        # libver "latest": compact link storage makes files with thousands of groups fast.
        self.h5 = h5py.File(self.tmp, "w", libver=("v110", "latest"))
        root = self.h5
        root.attrs["NX_class"] = "NXroot"
        root.attrs["creator"] = "HALOS Analysis"
        root.attrs["file_name"] = self.path.name
        root.attrs["file_time"] = _now()
        root.attrs["HDF5_Version"] = h5py.version.hdf5_version
        root.attrs["h5py_version"] = h5py.version.version
        return root

    def __exit__(self, exc_type, exc, tb) -> None:
        self.h5.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _entry(root: h5py.File, title: str, run: str) -> h5py.Group:
    entry = _group(root, "sasentry01", "NXentry", "SASentry")
    entry.attrs["version"] = "1.1"
    root.attrs["default"] = "sasentry01"
    _text(entry, "definition", "NXcanSAS")
    _text(entry, "title", title or "untitled")
    _text(entry, "run", run or title or "0", name=run or title or "")
    return entry


# --- frame files ----------------------------------------------------------------------------


def write_frames(
    path: str | Path,
    frames: FrameCurves,
    metadata: FrameMetadata | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write the curves of many frames as NXcanSAS, one ``SASdata`` per frame.

    Parameters
    ----------
    path : str or Path
        Output file (``.h5``); written to ``path.part`` first, then renamed.
    frames : FrameCurves
        The curves, one row per frame, on one q grid.
    metadata : FrameMetadata, optional
        Detector and beam metadata, written to ``SASinstrument``.
    provenance : dict, optional
        Provenance (see :mod:`halos_analysis.export.provenance`), written to ``SASprocess``.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    width = max(5, len(str(max(frames.frame_ids, default=0))))
    names = [f"sasdata_{fid:0{width}d}" for fid in frames.frame_ids]
    i_units = nx_intensity_unit(frames.meta.get("intensity_unit"))
    with _AtomicH5(path) as root:
        entry = _entry(root, frames.name, frames.name)
        entry.attrs["default"] = names[0] if names else ""
        q = None
        intensity = np.asarray(frames.intensity, dtype=np.float64)
        sigma = np.asarray(frames.sigma, dtype=np.float64)
        for i, name in enumerate(names):
            g = _group(entry, name, "NXdata", "SASdata")
            g.attrs["signal"] = "I"
            g.attrs["I_axes"] = "Q"
            g.attrs["Q_indices"] = np.int32(0)
            g.attrs["axes"] = "Q"
            ds = g.create_dataset("I", data=intensity[i])
            ds.attrs["units"] = i_units
            ds.attrs["uncertainties"] = "Idev"
            g.create_dataset("Idev", data=sigma[i]).attrs["units"] = i_units
            if q is None:
                q = g.create_dataset("Q", data=frames.q)
                q.attrs["units"] = NX_Q_UNITS[frames.q_unit]
            else:
                g["Q"] = q
        _write_instrument(entry, metadata)
        _write_process(entry, "sasprocess01", {"provenance": provenance} if provenance else None)
        note = _group(entry, "frames", "NXcollection", "SASnote")
        note.create_dataset("frame_ids", data=np.asarray(frames.frame_ids, dtype=np.int64))
        _text(note, "group_names", json.dumps(names))
        meta_rest = {}
        for key, value in frames.meta.items():
            arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
            if arr is not None and arr.dtype.kind in "iuf" and arr.shape[:1] == (len(frames),):
                note.create_dataset(_safe_name(key), data=arr).attrs["original_name"] = key
            else:
                meta_rest[key] = value
        _text(note, "meta_json", json.dumps(meta_rest, default=_json_default))
    return path


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO" and value.size == 1:
        return _decode(value.reshape(-1)[0])
    return value


def _attr(obj: h5py.HLObject, key: str, default: Any = None) -> Any:
    return _decode(obj.attrs.get(key, default))


def _class(obj: h5py.HLObject) -> tuple[str | None, str | None]:
    return _attr(obj, "NX_class"), _attr(obj, "canSAS_class")


def _is_entry(obj: h5py.HLObject) -> bool:
    nx, cs = _class(obj)
    return isinstance(obj, h5py.Group) and (cs == "SASentry" or nx in ("NXentry", "NXsubentry"))


def _is_sasdata(obj: h5py.HLObject) -> bool:
    nx, cs = _class(obj)
    if not isinstance(obj, h5py.Group):
        return False
    if cs is not None:
        return cs == "SASdata"
    return nx == "NXdata"


def _entries(h5: h5py.File) -> list[h5py.Group]:
    entries = [h5[k] for k in h5 if _is_entry(h5[k])]
    default = _attr(h5, "default")
    entries.sort(key=lambda g: g.name.strip("/") != default)
    return entries


def _sasdata_groups(entry: h5py.Group) -> list[h5py.Group]:
    groups = [entry[k] for k in entry if _is_sasdata(entry[k])]
    default = _attr(entry, "default")
    groups.sort(key=lambda g: g.name.rsplit("/", 1)[-1] != default)
    return groups


def _read_sasdata(g: h5py.Group, path: Path) -> tuple[Curve | None, str]:
    """Curve from a 1D SASdata group, or None and the reason it is not one."""
    signal = _attr(g, "signal", "I")
    axes = _attr(g, "I_axes", "Q")
    if isinstance(axes, np.ndarray):
        axes = ",".join(_decode(a) for a in axes)
    axes = [a.strip() for a in str(axes).split(",")]
    if signal not in g:
        return None, f"{g.name}: no {signal} dataset"
    ds_i = g[signal]
    if ds_i.ndim != 1 or len(axes) != 1:
        return None, f"{g.name}: {ds_i.ndim}D data (only 1D curves are read)"
    q_name = axes[0] if axes[0] in g else "Q"
    if q_name not in g:
        return None, f"{g.name}: no Q dataset"
    unit = q_unit_from_nx(_attr(g[q_name], "units"))
    if unit is None:
        return None, f"{g.name}/{q_name}: unknown q unit {_attr(g[q_name], 'units')!r}"
    q = np.asarray(g[q_name][()], dtype=np.float64).reshape(-1) * unit[1]
    intensity = np.asarray(ds_i[()], dtype=np.float64).reshape(-1)
    unc = _attr(ds_i, "uncertainties") or _attr(ds_i, "uncertainty")
    sigma_name = unc if unc and unc in g else ("Idev" if "Idev" in g else None)
    if sigma_name is not None:
        sigma = np.asarray(g[sigma_name][()], dtype=np.float64).reshape(-1)
    else:
        sigma = np.full_like(intensity, np.nan)
    if not (len(q) == len(intensity) == len(sigma)):
        return None, f"{g.name}: Q, I and Idev lengths differ"
    meta = {
        "source": str(path),
        "nxpath": g.name,
        "intensity_unit": _attr(ds_i, "units"),
    }
    return Curve(q, intensity, sigma, unit[0], name=g.name.strip("/"), meta=meta), ""


def _open(path: str | Path) -> h5py.File:
    path = Path(path)
    if not path.is_file():
        raise HalosInputError("file not found", path)
    if not h5py.is_hdf5(path):
        raise HalosInputError("not an HDF5 file", path)
    return h5py.File(path, "r")


def read_nxcansas(path: str | Path) -> list[Curve]:
    """Read every 1D curve of an NXcanSAS file (ours or another program's).

    Entries are found by ``canSAS_class="SASentry"`` or ``NX_class="NXentry"``, curves by
    ``SASdata``/``NXdata``; q is converted to Å⁻¹ or nm⁻¹ (``1/m`` becomes nm⁻¹). The file's
    default entry and default SASdata come first. 2D data are skipped.

    Returns
    -------
    list of Curve
        Each named after its HDF5 path, with ``meta["intensity_unit"]`` and ``meta["nxpath"]``.

    Raises
    ------
    HalosInputError
        When the file is not HDF5 or holds no readable 1D SASdata (the reasons are named).
    """
    path = Path(path)
    curves, reasons = [], []
    with _open(path) as h5:
        entries = _entries(h5)
        if not entries:
            raise HalosInputError("no SASentry/NXentry group", path)
        for entry in entries:
            for g in _sasdata_groups(entry):
                curve, why = _read_sasdata(g, path)
                if curve is None:
                    reasons.append(why)
                else:
                    title = _decode(entry["title"][()]) if "title" in entry else ""
                    curve.meta["title"] = title.item() if hasattr(title, "item") else title
                    curves.append(curve)
    if not curves:
        raise HalosInputError(
            "no readable 1D SASdata (" + "; ".join(reasons[:3]) + ")", path, "SASdata"
        )
    return curves


def read_main_curve(path: str | Path) -> Curve:
    """The main curve of an NXcanSAS file: the default SASdata of the default entry."""
    return read_nxcansas(path)[0]


def read_frames(path: str | Path) -> FrameCurves:
    """Read a frame file written by :func:`write_frames` (or any file of 1D curves on one grid).

    Raises
    ------
    HalosInputError
        When the file is unreadable or its curves do not share one q grid.
    """
    path = Path(path)
    with _open(path) as h5:
        entries = _entries(h5)
        if not entries:
            raise HalosInputError("no SASentry/NXentry group", path)
        entry = entries[0]
        note = entry.get("frames")
        if note is not None and "group_names" in note:
            names = json.loads(_decode(note["group_names"][()]))
            frame_ids = tuple(int(i) for i in note["frame_ids"][()])
            first = entry[names[0]]
            q_unit = q_unit_from_nx(_attr(first["Q"], "units"))
            if q_unit is None:
                raise HalosInputError("unknown q unit", path, f"{first.name}/Q@units")
            q = first["Q"][()] * q_unit[1]
            n, m = len(names), len(q)
            intensity = np.empty((n, m))
            sigma = np.empty((n, m))
            for i, name in enumerate(names):
                g = entry[name]
                g["I"].read_direct(intensity, dest_sel=np.s_[i])
                g["Idev"].read_direct(sigma, dest_sel=np.s_[i])
            meta: dict[str, Any] = json.loads(_decode(note["meta_json"][()]))
            for key in note:
                if key not in ("frame_ids", "group_names", "meta_json"):
                    meta[_attr(note[key], "original_name", key)] = note[key][()]
            meta["intensity_unit"] = _attr(first["I"], "units")
            title = _decode(entry["title"][()]) if "title" in entry else ""
            return FrameCurves(
                q, intensity, sigma, q_unit[0], name=str(title), frame_ids=frame_ids, meta=meta
            )
    curves = read_nxcansas(path)
    q = curves[0].q
    if any(len(c.q) != len(q) or not np.allclose(c.q, q) for c in curves):
        raise HalosInputError("curves are not on one q grid", path, "Q")
    return FrameCurves(
        q,
        np.stack([c.intensity for c in curves]),
        np.stack([c.sigma for c in curves]),
        curves[0].q_unit,
        name=path.stem,
    )


# --- per-sample result files ----------------------------------------------------------------


def _write_result_note(
    parent: h5py.Group, name: str, result: Any, units: dict[str, str], skip: tuple[str, ...] = ()
) -> h5py.Group:
    """An NXcollection (SASprocessnote) with a result's scalar fields, each with its unit."""
    note = _group(parent, name, "NXcollection", "SASprocessnote")
    for key, value in result.to_dict().items():
        if key in skip or value is None:
            continue
        if isinstance(value, bool):
            _text(note, key, json.dumps(value))
        elif isinstance(value, (int, float)):
            note.create_dataset(key, data=value)
            if key in units:
                note[key].attrs["units"] = units[key]
        elif isinstance(value, (list, tuple)):
            _text(note, key, ", ".join(str(v) for v in value))
        elif isinstance(value, dict):
            _text(note, key, json.dumps(value))
        else:
            _text(note, key, value)
    return note


def _nxdata(
    parent: h5py.Group,
    name: str,
    x: tuple[str, np.ndarray, str],
    y: tuple[str, np.ndarray, str],
    y_err: np.ndarray | None = None,
) -> h5py.Group:
    g = _group(parent, name, "NXdata")
    g.attrs["signal"] = y[0]
    g.attrs["axes"] = x[0]
    g.create_dataset(x[0], data=x[1]).attrs["units"] = x[2]
    g.create_dataset(y[0], data=y[1]).attrs["units"] = y[2]
    if y_err is not None:
        g.create_dataset(y[0] + "_errors", data=y_err).attrs["units"] = y[2]
    return g


_SIMILARITY_ARRAYS = ("pvalues", "adjusted", "longest_run", "selected")


def write_sample_result(
    path: str | Path,
    *,
    subtracted: Curve,
    sample_avg: Curve | None = None,
    buffer_avg: Curve | None = None,
    guinier: GuinierResult | None = None,
    pr: PrResult | None = None,
    mw: MWResult | None = None,
    kratky: KratkyResult | None = None,
    similarity: SimilarityResult | None = None,
    instrument: FrameMetadata | None = None,
    sample_info: dict[str, Any] | None = None,
    process: dict[str, Any] | None = None,
    flags: tuple[str, ...] | list[str] = (),
) -> Path:
    """Write one sample's result as an NXcanSAS file.

    Parameters
    ----------
    path : str or Path
        Output file; written to ``path.part`` and renamed when complete.
    subtracted : Curve
        Buffer-subtracted curve: the ``sasdata`` group and the entry's default.
    sample_avg, buffer_avg : Curve, optional
        Averaged sample and buffer curves (``sasdata_sample``, ``sasdata_buffer``).
    guinier, pr, mw, kratky, similarity : results, optional
        Written to the ``analysis`` SASprocess; P(r) and its fit as NXdata groups.
    instrument : FrameMetadata, optional
        Wavelength, distance, pixel size, beam centre, detector name.
    sample_info : dict, optional
        ``name``, ``concentration_mg_ml``, ``buffer``, ``temperature`` (°C), ``transmission``.
    process : dict, optional
        ``program``, ``version``, ``date``, ``parameters`` (dict), ``config_text`` (the config
        file, kept in a SASprocessnote) and ``provenance`` (dict).
    flags : sequence of str
        Quality flags of the sample as a whole.

    Returns
    -------
    Path
    """
    path = Path(path)
    info = dict(sample_info or {})
    name = str(info.get("name") or subtracted.name or path.stem)
    lu = NX_LENGTH_UNITS[subtracted.length_unit]
    iu = nx_intensity_unit(subtracted.meta.get("intensity_unit"))
    with _AtomicH5(path) as root:
        entry = _entry(root, name, str(info.get("run", name)))
        entry.attrs["default"] = "sasdata"
        _write_sasdata(entry, "sasdata", subtracted, iu)
        if sample_avg is not None:
            _write_sasdata(entry, "sasdata_sample", sample_avg, iu)
        if buffer_avg is not None:
            _write_sasdata(entry, "sasdata_buffer", buffer_avg, iu)
        _write_instrument(entry, instrument)

        sample = _group(entry, "sassample", "NXsample", "SASsample")
        _text(sample, "name", name)
        conc = info.get("concentration_mg_ml")
        _number(sample, "concentration", None if conc is None else float(conc), "mg/mL")
        _number(sample, "transmission", info.get("transmission"), "")
        temp = info.get("temperature")
        _number(sample, "temperature", None if temp is None else float(temp), "degC")
        details = [f"{k}: {v}" for k, v in info.items() if k in ("buffer", "description")]
        if details:
            _text(sample, "details", "; ".join(details))

        _write_process(entry, "sasprocess01", process)
        an = _group(entry, "sasprocess02", "NXprocess", "SASprocess")
        _text(an, "name", "analysis")
        _text(an, "description", "Guinier, P(r), molecular weight, Kratky, frame similarity")
        _text(an, "flags", ", ".join(flags))
        if guinier is not None:
            _write_result_note(
                an,
                "guinier",
                guinier,
                {"Rg": lu, "Rg_err": lu, "I0": iu, "I0_err": iu, "length_unit": ""},
            )
        if mw is not None:
            vol = f"{lu}^3"
            units = {k: "kDa" for k in mw.to_dict() if k.startswith("mw_")}
            units.update(porod_volume=vol, volume_of_correlation=f"{lu}^2")
            _write_result_note(an, "molecular_weight", mw, units)
        if kratky is not None:
            _write_result_note(an, "kratky", kratky, {})
        if similarity is not None:
            note = _write_result_note(an, "similarity", similarity, {}, skip=_SIMILARITY_ARRAYS)
            note.create_dataset("pvalues", data=similarity.pvalues)
            note.create_dataset("adjusted", data=similarity.adjusted)
            note.create_dataset("selected", data=np.asarray(similarity.selected, dtype=np.int64))
        if pr is not None:
            _write_result_note(
                an,
                "pr",
                pr,
                {"Dmax": lu, "Dmax_err": lu, "Rg": lu, "Rg_err": lu, "I0": iu, "I0_err": iu},
            )
            _nxdata(an, "pr_distribution", ("r", pr.r, lu), ("P", pr.pr, "arbitrary"), pr.pr_err)
            _nxdata(an, "pr_fit", ("Q", pr.q_fit, NX_Q_UNITS[pr.q_unit]), ("I_fit", pr.i_fit, iu))
    return path


def read_results(path: str | Path) -> dict[str, Any]:
    """The analysis results of a file written by :func:`write_sample_result`, as plain dicts.

    Returns a dict with keys ``guinier``, ``molecular_weight``, ``kratky``, ``similarity``,
    ``pr`` (each present when written; numbers as floats/ints, text as str), ``flags`` and
    ``config_text`` / ``provenance`` when they were written.
    """
    out: dict[str, Any] = {}
    with _open(path) as h5:
        entry = _entries(h5)[0]
        an = entry.get("sasprocess02")
        if an is not None:
            out["flags"] = [f for f in _decode(an["flags"][()]).split(", ") if f]
            for key in an:
                g = an[key]
                if isinstance(g, h5py.Group) and _attr(g, "NX_class") == "NXcollection":
                    d = {}
                    for k in g:
                        v = g[k][()]
                        d[k] = _decode(v) if not isinstance(v, np.ndarray) else v
                        if isinstance(d[k], np.generic):
                            d[k] = d[k].item()
                    out[key] = d
        proc = entry.get("sasprocess01")
        if proc is not None:
            if "configuration" in proc:
                out["config_text"] = _decode(proc["configuration/text"][()])
            if "provenance" in proc:
                out["provenance"] = json.loads(_decode(proc["provenance/json"][()]))
    return out
