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

The code is split in three modules: this one (frame files and the curve readers),
:mod:`~halos_analysis.io.nxcansas.result` (per-sample result files) and the private
``_base`` (units and the h5py helpers the two share). Every public name is importable
from :mod:`halos_analysis.io.nxcansas`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.nxcansas._base import (
    _AtomicH5,
    _attr,
    _entries,
    _entry,
    _group,
    _is_note,
    _json_default,
    _note_values,
    _open,
    _read_result_note,
    _read_sasdata,
    _safe_name,
    _sasdata_groups,
    _text,
    _write_instrument,
    _write_process,
    _write_result_note,
    decode,
    malformed,
    q_unit_from_nx,
)
from halos_analysis.types import Curve, FrameCurves, FrameMetadata, IntegrationMethod, units_of

__all__ = ["read_frame_results", "read_frames", "read_main_curve", "read_nxcansas", "write_frames"]

# --- frame files ----------------------------------------------------------------------------


def write_frames(
    path: str | Path,
    frames: FrameCurves,
    metadata: FrameMetadata | None = None,
    provenance: dict[str, Any] | None = None,
    results: Mapping[str, Any] | None = None,
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
    results : mapping, optional
        Typed results computed from the frames (a series analysis: traces, peaks, per-frame
        Rg ...), name -> result: a second SASprocess (``analysis``) with one note per result,
        each number with its unit from :func:`~halos_analysis.types.units_of`;
        :func:`read_frame_results` reads them back.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    width = max(5, len(str(max(frames.frame_ids, default=0))))
    names = [f"sasdata_{fid:0{width}d}" for fid in frames.frame_ids]
    units = units_of(frames, spelling="nexus")
    i_units = units["intensity"]
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
                q.attrs["units"] = units["q"]
            else:
                g["Q"] = q
        _write_instrument(entry, metadata)
        _write_process(entry, "sasprocess01", {"provenance": provenance} if provenance else None)
        if results:
            an = _group(entry, "sasprocess02", "NXprocess", "SASprocess")
            _text(an, "name", "analysis")
            _text(an, "description", "results computed from the frames")
            _text(an, "flags", "")
            for key, result in results.items():
                note = _write_result_note(an, _safe_name(key), result, i_units)
                note.attrs["result_name"] = key
                note.attrs["result_type"] = type(result).__name__
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
    with _open(path) as h5, malformed(path):
        entries = _entries(h5)
        if not entries:
            raise HalosInputError("no SASentry/NXentry group", path)
        for entry in entries:
            for g in _sasdata_groups(entry):
                curve, why = _read_sasdata(g, path)
                if curve is None:
                    reasons.append(why)
                else:
                    title = decode(entry["title"][()]) if "title" in entry else ""
                    title = title.item() if hasattr(title, "item") else title
                    curves.append(dataclasses.replace(curve, meta={**curve.meta, "title": title}))
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
    with _open(path) as h5, malformed(path):
        entries = _entries(h5)
        if not entries:
            raise HalosInputError("no SASentry/NXentry group", path)
        entry = entries[0]
        note = entry.get("frames")
        if note is None or "group_names" not in note:
            # A reduced result (write_sample_result) holds subtracted, sample and buffer
            # curves on one grid: read as frames, `halos reduce` would average them.
            averages = [k for k in ("sasdata_sample", "sasdata_buffer") if k in entry]
            if averages:
                raise HalosInputError(
                    "this is a reduced result (subtracted, sample and buffer curves), not the "
                    "frames of one measurement: give the file `halos integrate -o` wrote",
                    path,
                    f"{entry.name}/{averages[0]}",
                )
        if note is not None and "group_names" in note:
            names = json.loads(decode(note["group_names"][()]))
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
            meta: dict[str, Any] = json.loads(decode(note["meta_json"][()]))
            for key in note:
                if key not in ("frame_ids", "group_names", "meta_json"):
                    meta[_attr(note[key], "original_name", key)] = note[key][()]
            meta["intensity_unit"] = _attr(first["I"], "units")
            if isinstance(meta.get("integration"), dict):  # typed again (IntegrationMethod)
                meta["integration"] = IntegrationMethod.from_dict(meta["integration"])
            title = decode(entry["title"][()]) if "title" in entry else ""
            return FrameCurves(
                q, intensity, sigma, q_unit[0], name=str(title), frame_ids=frame_ids, meta=meta
            )
    curves = read_nxcansas(path)
    q = curves[0].q
    if any(len(c.q) != len(q) or not np.allclose(c.q, q) for c in curves):
        raise HalosInputError("curves are not on one q grid", path, "Q")
    # One intensity unit for the frames only when every curve states the same one.
    i_units = {c.meta.get("intensity_unit") for c in curves}
    meta = {"intensity_unit": i_units.pop()} if len(i_units) == 1 and None not in i_units else {}
    return FrameCurves(
        q,
        np.stack([c.intensity for c in curves]),
        np.stack([c.sigma for c in curves]),
        curves[0].q_unit,
        name=path.stem,
        meta=meta,
    )


def read_frame_results(path: str | Path, types: Iterable[type] = ()) -> dict[str, Any]:
    """The results :func:`write_frames` wrote beside the frames (its ``results``).

    Parameters
    ----------
    path : str or Path
        A frame file.
    types : iterable of type
        Result types to give typed (each note names its type); a note of another type is
        given as its plain values (numbers, text, arrays).

    Returns
    -------
    dict
        Result name -> result (typed when its type is in ``types``); empty when the file
        holds no results.
    """
    by_name = {t.__name__: t for t in types}
    out: dict[str, Any] = {}
    with _open(path) as h5, malformed(path):
        entry = _entries(h5)[0]
        an = entry.get("sasprocess02")
        if an is None:
            return out
        for key, g in an.items():
            if not _is_note(g):
                continue
            values = _note_values(g)
            cls = by_name.get(str(_attr(g, "result_type", "")))
            out[str(_attr(g, "result_name", key))] = (
                values if cls is None else _read_result_note(cls, values)
            )
    return out
