# SPDX-License-Identifier: MIT
"""NXcanSAS per-sample result files: :func:`write_sample_result` and :func:`read_results`.

Also importable from :mod:`halos_analysis.io.nxcansas`, which describes the layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from halos_analysis.io.nxcansas._base import (
    NX_LENGTH_UNITS,
    NX_Q_UNITS,
    _AtomicH5,
    _attr,
    _entries,
    _entry,
    _group,
    _number,
    _open,
    _text,
    _write_instrument,
    _write_process,
    _write_sasdata,
    decode,
    malformed,
    nx_intensity_unit,
)
from halos_analysis.types import (
    Curve,
    FrameMetadata,
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
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
    with _open(path) as h5, malformed(path):
        entry = _entries(h5)[0]
        an = entry.get("sasprocess02")
        if an is not None:
            out["flags"] = [f for f in decode(an["flags"][()]).split(", ") if f]
            for key in an:
                g = an[key]
                if isinstance(g, h5py.Group) and _attr(g, "NX_class") == "NXcollection":
                    d = {}
                    for k in g:
                        v = g[k][()]
                        d[k] = decode(v) if not isinstance(v, np.ndarray) else v
                        if isinstance(d[k], np.generic):
                            d[k] = d[k].item()
                    out[key] = d
        proc = entry.get("sasprocess01")
        if proc is not None:
            if "configuration" in proc:
                out["config_text"] = decode(proc["configuration/text"][()])
            if "provenance" in proc:
                out["provenance"] = json.loads(decode(proc["provenance/json"][()]))
    return out
