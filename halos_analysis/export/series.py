# SPDX-License-Identifier: MIT
"""Write the results of a series analysis: per-frame table (CSV, JSON) and the run summary.

The per-frame table has one row per frame: its position, intensity (total, q range, q_ref),
Rg, Rg_err, I0, I0_err, MW Vc and Vp, the Guinier rows, the status of each value and
whether the frame is in the buffer or sample range. Every file is written atomically
(temporary name, then renamed).

Units come from the results' field metadata through
:func:`~halos_analysis.types.units_of` (:func:`frame_table_units`, the ``units`` of the
JSON files), never from strings of this module.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.analysis.series.results import (
    Baseline,
    Component,
    Deconvolution,
    EFAResult,
    FrameParameters,
    Peak,
    RangeCheck,
    RangeSearch,
    SeriesTraces,
    SVDResult,
)
from halos_analysis.io.atomic import write_text_atomic
from halos_analysis.types import FrameCurves, units_of

#: The series result types a series NXcanSAS file holds (:func:`read_series_nxcansas`).
SERIES_RESULT_TYPES: tuple[type, ...] = (
    SeriesTraces, Peak, RangeSearch, RangeCheck, FrameParameters, SVDResult, EFAResult,
    Deconvolution, Baseline,
)  # fmt: skip

__all__ = [
    "SERIES_RESULT_TYPES",
    "frame_table",
    "frame_table_units",
    "read_series_nxcansas",
    "series_results",
    "series_units",
    "write_frame_table_csv",
    "write_frame_table_json",
    "write_series_summary",
]

_COLUMNS = (
    "frame",
    "frame_id",
    "intensity_total",
    "intensity_q_range",
    "intensity_q_ref",
    "intensity_sub_total",
    "rg",
    "rg_err",
    "i0",
    "i0_err",
    "mw_vc_kda",
    "mw_vp_kda",
    "guinier_first",
    "guinier_last",
    "snr",
    "status",
    "mw_status",
    "in_buffer",
    "in_sample",
)


#: The result field each number column of the per-frame table comes from (its unit too).
_COLUMN_SOURCES: dict[str, tuple[type, str]] = {
    "frame": (FrameCurves, "frame_ids"),
    "frame_id": (FrameCurves, "frame_ids"),
    "intensity_total": (SeriesTraces, "total"),
    "intensity_q_range": (SeriesTraces, "q_range_sum"),
    "intensity_q_ref": (SeriesTraces, "q_ref_value"),
    "intensity_sub_total": (SeriesTraces, "total"),
    "rg": (FrameParameters, "rg"),
    "rg_err": (FrameParameters, "rg_err"),
    "i0": (FrameParameters, "i0"),
    "i0_err": (FrameParameters, "i0_err"),
    "mw_vc_kda": (FrameParameters, "mw_vc_kda"),
    "mw_vp_kda": (FrameParameters, "mw_vp_kda"),
    "guinier_first": (FrameParameters, "first"),
    "guinier_last": (FrameParameters, "last"),
    "snr": (FrameParameters, "snr"),
}


def _intensity_unit(result) -> str | None:
    return result.frames.meta.get("intensity_unit")


def frame_table_units(result, spelling: str = "halos") -> dict[str, str]:
    """Unit of each number column of :func:`frame_table` (``""``: none), from the fields
    the columns come from (:func:`~halos_analysis.types.units_of` of their types).

    Parameters
    ----------
    result : SeriesAnalysis
    spelling : {"halos", "nexus", "text", "label"}
    """
    q, iu = result.frames.q_unit, _intensity_unit(result)
    units = {
        cls: units_of(cls, iu, spelling=spelling, q_unit=q)
        for cls in {cls for cls, _ in _COLUMN_SOURCES.values()}
    }
    return {col: units[cls][name] for col, (cls, name) in _COLUMN_SOURCES.items()}


def series_units(result, spelling: str = "halos") -> dict[str, dict[str, str]]:
    """Units of the numbers of the series summary (:func:`write_series_summary`), by key.

    Each is :func:`~halos_analysis.types.units_of` of the result type the key holds
    (``peaks`` of a :class:`Peak`, ``components`` of a :class:`Component`, ...).
    """
    q, iu = result.frames.q_unit, _intensity_unit(result)
    keys = {
        "peaks": Peak,
        "buffer_validation": RangeCheck,
        "sample_validation": RangeCheck,
        "svd": SVDResult,
        "efa": EFAResult,
        "deconvolution": Deconvolution,
        "baseline_correction": Baseline,
        "frame_parameters": FrameParameters,
        "components": Component,
        "sample_average": Component,
    }
    return {key: units_of(cls, iu, spelling=spelling, q_unit=q) for key, cls in keys.items()}


def series_results(result) -> dict[str, Any]:
    """The typed results of a series analysis by name, as the series NXcanSAS file holds
    them (``write_frames(..., results=series_results(result))``); absent ones left out.

    Names follow the keys of the series JSON: ``traces``, ``peak01`` ..., ``buffer_search``,
    ``buffer_validation``, ``post_peak_buffer``, ``sample_search01`` ...,
    ``sample_validation``, ``frame_parameters``, ``svd``, ``efa``, ``deconvolution``,
    ``baseline_correction``.
    """
    named: dict[str, Any] = {"traces": result.traces}
    named |= {f"peak{k:02d}": p for k, p in enumerate(result.peaks, 1)}
    named |= {
        "buffer_search": result.buffer,
        "buffer_validation": result.buffer_check,
        "post_peak_buffer": result.post_buffer,
    }
    named |= {f"sample_search{k:02d}": s for k, s in enumerate(result.samples, 1)}
    named |= {
        "sample_validation": result.sample_check,
        "frame_parameters": result.params,
        "svd": result.svd,
        "efa": result.efa,
        "deconvolution": result.deconvolution,
        "baseline_correction": result.baseline,
    }
    return {k: v for k, v in named.items() if v is not None}


def read_series_nxcansas(path: str | Path) -> dict[str, Any]:
    """The typed series results of a series NXcanSAS file (:func:`series_results`' names)."""
    from halos_analysis.io.nxcansas import read_frame_results

    return read_frame_results(path, SERIES_RESULT_TYPES)


def _in(ranges, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for a, b in ranges or ():
        mask[a : b + 1] = True
    return mask


def frame_table(result) -> dict[str, list[Any]]:
    """Columns of the per-frame table of a :class:`~halos_analysis.analysis.series.SeriesAnalysis`.

    Values that do not exist are None (the ``status`` columns say why).
    """
    fr = result.frames
    n = len(fr)
    tr = result.traces
    p = result.params
    nan = [None] * n

    def col(arr) -> list[Any]:
        return [None if not math.isfinite(float(v)) else float(v) for v in arr]

    sample_ranges = result.sample_check.ranges if result.sample_check is not None else ()
    sub_total = (
        col(result.subtracted.intensity.sum(axis=1)) if result.subtracted is not None else nan
    )
    no_value = "no_buffer" if result.subtracted is None else "not_computed"
    table = {
        "frame": list(range(n)),
        "frame_id": [int(i) for i in fr.frame_ids],
        "intensity_total": col(tr.total),
        "intensity_q_range": col(tr.q_range_sum),
        "intensity_q_ref": col(tr.q_ref_value),
        "intensity_sub_total": sub_total,
        "rg": col(p.rg) if p else nan,
        "rg_err": col(p.rg_err) if p else nan,
        "i0": col(p.i0) if p else nan,
        "i0_err": col(p.i0_err) if p else nan,
        "mw_vc_kda": col(p.mw_vc_kda) if p else nan,
        "mw_vp_kda": col(p.mw_vp_kda) if p else nan,
        "guinier_first": [int(v) if v >= 0 else None for v in p.first] if p else nan,
        "guinier_last": [int(v) if v >= 0 else None for v in p.last] if p else nan,
        "snr": col(p.snr) if p else nan,
        "status": [str(v) for v in p.status] if p else [no_value] * n,
        "mw_status": [str(v) for v in p.mw_status] if p else [no_value] * n,
        "in_buffer": [bool(v) for v in _in(result.buffer_ranges, n)],
        "in_sample": [bool(v) for v in _in(sample_ranges, n)],
    }
    return table


def write_frame_table_csv(result, path: str | Path) -> Path:
    """Per-frame table as CSV (empty cells where a value does not exist)."""
    table = frame_table(result)
    buf = io.StringIO()
    lu = frame_table_units(result)["rg"]
    buf.write(
        f"# series {result.frames.name}: {len(result.frames)} frames, q in {result.frames.q_unit}, "
        f"Rg in {lu}, per-frame values from {result.settings.window}-frame sliding averages\n"
    )
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_COLUMNS)
    for i in range(len(table["frame"])):
        row = []
        for c in _COLUMNS:
            v = table[c][i]
            if v is None:
                row.append("")
            elif isinstance(v, float):
                row.append(f"{v:.7g}")
            else:
                row.append(str(v))
        w.writerow(row)
    return write_text_atomic(buf.getvalue(), path)


def write_frame_table_json(result, path: str | Path) -> Path:
    """Per-frame table as JSON: ``{"columns": {...}, "units": {...}, "q_unit": ..., ...}``.

    ``units`` holds the unit of each number column (:func:`frame_table_units`).
    """
    obj = {
        "series": result.frames.name,
        "q_unit": result.frames.q_unit,
        "window": result.settings.window,
        "columns": frame_table(result),
        "units": frame_table_units(result),
    }
    return write_text_atomic(json.dumps(obj, allow_nan=False) + "\n", path)


def write_series_summary(result, path: str | Path) -> Path:
    """The run summary (:meth:`SeriesAnalysis.summary`) with the validations, as JSON.

    ``units`` holds the unit of every number of each key (:func:`series_units`).
    """
    d = result.summary()
    d["buffer_validation"] = None if result.buffer_check is None else result.buffer_check.to_dict()
    d["post_peak_buffer"] = (
        None
        if result.post_buffer is None
        else {
            "found": bool(result.post_buffer),
            "ranges": [list(r) for r in result.post_buffer.ranges],
            "reason": result.post_buffer.reason,
        }
    )
    d["sample_validation"] = None if result.sample_check is None else result.sample_check.to_dict()
    d["sample_searches"] = [
        {
            "peak": None if s.peak is None else s.peak.position,
            "found": bool(s),
            "ranges": [list(r) for r in s.ranges],
            "reason": s.reason,
            "candidates": s.candidates_tested,
        }
        for s in result.samples
    ]
    d["svd"] = (
        None
        if result.svd is None
        else result.svd.to_dict(arrays=False)
        | {"singular_values": [float(v) for v in result.svd.singular_values[:10]]}
    )
    d["efa"] = None if result.efa is None else result.efa.to_dict(arrays=False)
    d["deconvolution"] = (
        None if result.deconvolution is None else result.deconvolution.to_dict(arrays=False)
    )
    d["baseline_correction"] = (
        None if result.baseline is None else result.baseline.to_dict(arrays=False)
    )
    d["frame_parameters"] = None if result.params is None else result.params.to_dict(arrays=False)
    d["units"] = series_units(result)
    return write_text_atomic(json.dumps(d, indent=2, allow_nan=False) + "\n", path)
