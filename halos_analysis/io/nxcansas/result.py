# SPDX-License-Identifier: MIT
"""NXcanSAS per-sample result files: :func:`write_sample_result` and :func:`read_results`.

Also importable from :mod:`halos_analysis.io.nxcansas`, which describes the layout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from halos_analysis.io.nxcansas._base import (
    _AtomicH5,
    _attr,
    _entries,
    _entry,
    _group,
    _is_note,
    _note_values,
    _number,
    _open,
    _read_result_note,
    _safe_name,
    _text,
    _write_instrument,
    _write_process,
    _write_result_note,
    _write_sasdata,
    decode,
    malformed,
    nx_intensity_unit,
)
from halos_analysis.types import (
    Curve,
    FrameMetadata,
    GuinierResult,
    IntegrationMethod,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
    units_of,
)

#: The notes of the ``analysis`` SASprocess and the result type each holds.
RESULT_NOTES: dict[str, type] = {
    "guinier": GuinierResult,
    "pr": PrResult,
    "molecular_weight": MWResult,
    "kratky": KratkyResult,
    "similarity": SimilarityResult,
}
#: The NXdata groups of the ``analysis`` SASprocess holding P(r)'s arrays:
#: group -> (dataset, field of PrResult) pairs.
_PR_ARRAYS = {
    "pr_distribution": (("r", "r"), ("P", "pr"), ("P_errors", "pr_err")),
    "pr_fit": (("Q", "q_fit"), ("I_fit", "i_fit")),
}

# --- per-sample result files ----------------------------------------------------------------


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
    integration: Mapping[str, IntegrationMethod] | None = None,
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
    integration : mapping, optional
        Measurement name -> how its frames were integrated: a third SASprocess
        (``integration``), one note per measurement.

    Every number of a result carries its unit (:func:`~halos_analysis.types.units_of`, in
    NXcanSAS spelling); :func:`read_results` with ``typed=True`` gives the results back.

    Returns
    -------
    Path
    """
    path = Path(path)
    info = dict(sample_info or {})
    name = str(info.get("name") or subtracted.name or path.stem)
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
        given = {"guinier": guinier, "molecular_weight": mw, "kratky": kratky,
                 "similarity": similarity, "pr": pr}  # fmt: skip
        for note, result in given.items():
            if result is not None:
                _write_result_note(an, note, result, iu)
        if pr is not None:
            units = units_of(pr, iu, spelling="nexus")
            for group, ((x, xf), (y, yf), *err) in _PR_ARRAYS.items():
                y_err = getattr(pr, err[0][1]) if err else None
                _nxdata(an, group, (x, getattr(pr, xf), units[xf]),
                        (y, getattr(pr, yf), units[yf]), y_err)  # fmt: skip
        if integration:
            proc = _group(entry, "sasprocess03", "NXprocess", "SASprocess")
            _text(proc, "name", "integration")
            _text(proc, "description", "azimuthal integration of each measurement's frames")
            for measurement, method in integration.items():
                note = _write_result_note(proc, _safe_name(measurement), method)
                note.attrs["measurement"] = measurement
    return path


def read_results(path: str | Path, typed: bool = False) -> dict[str, Any]:
    """The analysis results of a file written by :func:`write_sample_result`.

    Parameters
    ----------
    path : str or Path
        The result file.
    typed : bool
        Give each result as its type (:class:`~halos_analysis.types.GuinierResult`,
        ``PrResult`` with its arrays, ``MWResult``, ``KratkyResult``, ``SimilarityResult``,
        and ``integration`` as measurement -> ``IntegrationMethod``) instead of plain dicts.

    Returns
    -------
    dict
        Keys ``guinier``, ``molecular_weight``, ``kratky``, ``similarity``, ``pr`` (each
        present when written; as plain dicts: numbers as floats/ints, text as str),
        ``integration`` (measurement -> its note), ``flags`` and ``config_text`` /
        ``provenance`` when they were written.
    """
    out: dict[str, Any] = {}
    with _open(path) as h5, malformed(path):
        entry = _entries(h5)[0]
        an = entry.get("sasprocess02")
        if an is not None:
            out["flags"] = [f for f in decode(an["flags"][()]).split(", ") if f]
            for key in an:
                if _is_note(an[key]):
                    out[key] = _note_values(an[key])
            if typed:
                for key, cls in RESULT_NOTES.items():
                    if key not in out:
                        continue
                    note = dict(out[key])
                    if cls is PrResult:
                        for group, pairs in _PR_ARRAYS.items():
                            note.update(
                                {f: an[group][ds][()] for ds, f in pairs if ds in an[group]}
                            )
                    out[key] = _read_result_note(cls, note)
        proc = entry.get("sasprocess01")
        if proc is not None:
            if "configuration" in proc:
                out["config_text"] = decode(proc["configuration/text"][()])
            if "provenance" in proc:
                out["provenance"] = json.loads(decode(proc["provenance/json"][()]))
        integ = entry.get("sasprocess03")
        if integ is not None:
            out["integration"] = {
                str(_attr(g, "measurement", key)): (
                    _read_result_note(IntegrationMethod, _note_values(g))
                    if typed
                    else _note_values(g)
                )
                for key, g in integ.items()
                if _is_note(g)
            }
    return out
