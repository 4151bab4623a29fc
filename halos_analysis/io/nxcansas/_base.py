# SPDX-License-Identifier: MIT
"""Shared pieces of the NXcanSAS writers and readers: units, small h5py helpers and the
notes that hold a typed result (each number with its unit from ``units_of``).

:mod:`halos_analysis.io.nxcansas` (frame files, curve readers, a series' results beside its
frames) and :mod:`halos_analysis.io.nxcansas.result` (per-sample result files) build on
these; the layout decisions are described in :mod:`halos_analysis.io.nxcansas`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from halos_analysis import units as _units
from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, FrameMetadata, PrResult, SimilarityResult, units_of

#: Our q units and their NXcanSAS spelling (from :mod:`halos_analysis.units`).
NX_Q_UNITS = {u.name: u.nexus for u in _units.Q_UNITS.values()}
NX_LENGTH_UNITS = {u.length: u.length_nexus for u in _units.Q_UNITS.values()}
#: Intensity units allowed by NXcanSAS for I and Idev (from :mod:`halos_analysis.units`).
NX_I_UNITS = _units.INTENSITY_UNITS
#: NXcanSAS spelling of an intensity unit: ``1/cm``, ``1/m`` or ``arbitrary`` (also for an
#: absent unit, or one that is not text in a foreign or damaged file).
nx_intensity_unit = _units.intensity_unit


def q_unit_from_nx(unit: str | None) -> tuple[str, float] | None:
    """Our q unit and the factor to apply for an NXcanSAS ``Q@units`` string, or None."""
    if not isinstance(unit, str):
        return None
    key = unit.strip().lower().replace(" ", "")
    if key in ("1/m", "m^-1"):
        return "nm^-1", 1e-9
    try:
        return _units.q_unit(key).name, 1.0
    except ValueError:
        return None


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
    # numpy scalars and arrays as numbers and lists, typed records (meta["integration"]) as
    # their to_dict(), anything else (paths...) as text.
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
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


# --- small reading helpers ------------------------------------------------------------------


def decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "SO" and value.size == 1:
        return decode(value.reshape(-1)[0])
    return value


def _attr(obj: h5py.HLObject, key: str, default: Any = None) -> Any:
    return decode(obj.attrs.get(key, default))


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
        axes = ",".join(decode(a) for a in axes)
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
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise HalosInputError(
            f"not a readable HDF5 file (truncated or corrupt?): {exc}", path
        ) from None


@contextlib.contextmanager
def malformed(path: str | Path) -> Iterator[None]:
    """Turn what h5py and the JSON parser raise on a damaged or foreign file (a missing
    dataset, a value of the wrong shape or type, a corrupt block) into one input error."""
    try:
        yield
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise HalosInputError(f"malformed or damaged file ({why})", path) from None


# --- result notes (SASprocessnote of a typed result), shared by results and frame files ---


def _is_result(value: Any) -> bool:
    """A typed result (a dataclass with ``to_dict``/``from_dict``), not a plain value."""
    return (
        dataclasses.is_dataclass(value)
        and not isinstance(value, type)
        and hasattr(value, "to_dict")
        and hasattr(type(value), "from_dict")
    )


def _write_result_note(
    parent: h5py.Group, name: str, result: Any, intensity_unit: str | None = None
) -> h5py.Group:
    """An NXcollection (SASprocessnote) with a result's ``to_dict()``, each number with its
    unit from :func:`~halos_analysis.types.units_of`; the result's arrays that no NXdata group
    holds (Kratky's, the similarity's, a series' per-frame values) as datasets of the note.

    Numbers are datasets, True/False and mappings JSON text, sequences ``", "``-joined text
    (JSON text when their items are sequences or mappings: frame ranges, tests); a result
    inside the result (a range search's check) is a note inside the note; arrays of text
    (a status per frame) are string datasets. A value that is None (NaN) is not written.
    :func:`_read_result_note` reads it back.
    """
    units = units_of(result, intensity_unit, spelling="nexus")
    arrays = () if isinstance(result, PrResult) else result.array_fields()
    arrays += ("selected",) if isinstance(result, SimilarityResult) else ()
    note = _group(parent, name, "NXcollection", "SASprocessnote")
    for key, value in result.to_dict(arrays=False).items():
        sub = getattr(result, key, None)
        if _is_result(sub):
            _write_result_note(note, key, sub, intensity_unit)
            continue
        if key in arrays or value is None:
            continue
        if isinstance(value, bool):
            _text(note, key, json.dumps(value))
        elif isinstance(value, (int, float)):
            note.create_dataset(key, data=value)
        elif isinstance(value, (list, tuple)):
            nested = any(isinstance(v, (list, tuple, dict)) for v in value)
            _text(note, key, json.dumps(value) if nested else ", ".join(str(v) for v in value))
        elif isinstance(value, dict):
            _text(note, key, json.dumps(value))
        else:
            _text(note, key, value)
    for key in arrays:
        value = np.asarray(getattr(result, key), dtype=np.int64 if key == "selected" else None)
        if value.dtype.kind in "US":
            note.create_dataset(key, data=value.astype(object), dtype=h5py.string_dtype())
        else:
            note.create_dataset(key, data=value)
    for key, unit in units.items():
        if unit and key in note and note[key].dtype.kind in "iuf":  # numbers, not text
            note[key].attrs["units"] = unit
    return note


def _field_result_types(cls: type) -> dict[str, type]:
    """Fields of ``cls`` that hold a typed result (``check: RangeCheck | None``), by name."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # an annotation not resolvable here: no nested results
        return {}
    out = {}
    for name, hint in hints.items():
        for t in typing.get_args(hint) or (hint,):
            if isinstance(t, type) and dataclasses.is_dataclass(t) and hasattr(t, "from_dict"):
                out[name] = t
    return out


def _read_result_note(cls: type, note: dict[str, Any]) -> Any:
    """The typed result of a note written by :func:`_write_result_note`."""
    d: dict[str, Any] = {}
    nested = _field_result_types(cls)
    for f in dataclasses.fields(cls):
        if f.name not in note:
            continue
        value, kind = note[f.name], str(f.type).replace(" ", "")
        if isinstance(value, dict) and f.name in nested:  # a note inside the note
            value = _read_result_note(nested[f.name], value)
        elif isinstance(value, str) and kind not in ("str", "str|None"):
            if value[:1] in ("{", "[") or value in ("true", "false"):
                value = json.loads(value)
            elif kind.startswith("tuple"):
                value = [v for v in value.split(", ") if v]
        d[f.name] = value
    return cls.from_dict(d)


def _is_note(obj: Any) -> bool:
    return isinstance(obj, h5py.Group) and _attr(obj, "NX_class") == "NXcollection"


def _note_values(g: h5py.Group) -> dict[str, Any]:
    """A note's datasets: text as str, numbers as Python numbers, arrays as arrays."""
    d: dict[str, Any] = {}
    for k in g:
        if isinstance(g[k], h5py.Group):  # a result inside the result
            d[k] = _note_values(g[k])
            continue
        if g[k].shape and h5py.check_string_dtype(g[k].dtype) is not None:
            d[k] = np.asarray(g[k].asstr()[()], dtype=str)  # text per frame
            continue
        v = g[k][()]
        v = decode(v) if not isinstance(v, np.ndarray) else v
        d[k] = v.item() if isinstance(v, np.generic) else v
    return d
