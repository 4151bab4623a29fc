# SPDX-License-Identifier: MIT
"""Per-sample and per-run summaries (JSON and CSV) and the P(r) text table.

Field names are those of a SASBDB entry summary where one exists (``guinier_rg``,
``guinier_rg_error``, ``guinier_i0``, ``pddf_dmax``, ``pddf_rg``, ``porod_volume``, ``porod_mw``,
``guinier_i0_mw`` (MW from absolute-scale I(0)), ``experimental_mw`` (our consensus),
``concentration``); the rest use the same prefixes (``guinier_points``, ``vc_mw``,
``reference_i0_mw``). Lengths are in ``length_unit`` (Å or nm, matching ``q_unit``), molecular
weights in kDa; ``units`` names the unit of every column that has one, as
:func:`halos_analysis.types.units_of` spells it for the result the column comes from. Every
file is written to a temporary name and renamed, so readers never see half a file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from halos_analysis import units as _units
from halos_analysis.flags import doubts
from halos_analysis.io.atomic import write_text_atomic
from halos_analysis.types import (
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
    length_unit,
    units_of,
)

#: Columns of ``summary.csv``, in order.
COLUMNS: tuple[str, ...] = (
    "sample",
    "buffer",
    "concentration",
    "q_unit",
    "length_unit",
    "frames_total",
    "frames_used",
    "frames_rejected",
    "guinier_rg",
    "guinier_rg_error",
    "guinier_i0",
    "guinier_i0_error",
    "guinier_first",
    "guinier_last",
    "guinier_points",
    "guinier_qrg_min",
    "guinier_qrg_max",
    "guinier_r2",
    "pddf_dmax",
    "pddf_dmax_error",
    "pddf_rg",
    "pddf_rg_error",
    "pddf_i0",
    "pddf_chi2",
    "porod_volume",
    "porod_mw",
    "vc_mw",
    "guinier_i0_mw",
    "reference_i0_mw",
    "experimental_mw",
    "experimental_mw_spread",
    "kratky_peak_qrg",
    "kratky_peak_height",
    "guinier_valid",
    "pddf_valid",
    "doubts",
    "flags",
)


#: The summary columns each result fills: column -> key of the result's ``to_dict()``.
RESULT_COLUMNS: dict[str, dict[str, str]] = {
    "guinier": {
        "guinier_rg": "Rg",
        "guinier_rg_error": "Rg_err",
        "guinier_i0": "I0",
        "guinier_i0_error": "I0_err",
        "guinier_first": "first",
        "guinier_last": "last",
        "guinier_points": "n_points",
        "guinier_qrg_min": "qRg_min",
        "guinier_qrg_max": "qRg_max",
        "guinier_r2": "r2",
    },
    "pr": {
        "pddf_dmax": "Dmax",
        "pddf_dmax_error": "Dmax_err",
        "pddf_rg": "Rg",
        "pddf_rg_error": "Rg_err",
        "pddf_i0": "I0",
        "pddf_chi2": "chi2",
    },
    "mw": {
        "porod_volume": "porod_volume",
        "porod_mw": "mw_vp_kda",
        "vc_mw": "mw_vc_kda",
        "guinier_i0_mw": "mw_abs_kda",
        "reference_i0_mw": "mw_ref_kda",
        "experimental_mw": "mw_consensus_kda",
        "experimental_mw_spread": "mw_spread_kda",
    },
    "kratky": {"kratky_peak_qrg": "peak_qrg", "kratky_peak_height": "peak_height"},
}


def _num(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return value
    v = float(value)
    return v if math.isfinite(v) else None


def sample_summary(
    sample: str,
    *,
    guinier: GuinierResult | None = None,
    pr: PrResult | None = None,
    mw: MWResult | None = None,
    kratky: KratkyResult | None = None,
    similarity: SimilarityResult | None = None,
    buffer: str | None = None,
    concentration_mg_ml: float | None = None,
    q_unit: str | None = None,
    flags: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
    frame_ids: Sequence[int] | None = None,
    intensity_unit: str | None = None,
) -> dict[str, Any]:
    """One sample's results as a flat dict (SASBDB-like names; NaN becomes None).

    ``flags`` collects the sample's own flags and those of every result, without repeats.
    ``frames_used`` and ``frames_rejected`` are counts; ``frames_rejected_ids`` lists the
    rejected frames' numbers (``frame_ids``, the measurement's frame numbers; positions in the
    similarity test when not given). ``experimental_mw`` is the median of the MW estimates and
    ``experimental_mw_spread`` their range (max − min), not a standard error.

    Parameters
    ----------
    sample : str
        Sample name.
    guinier, pr, mw, kratky, similarity : result, optional
        The sample's analysis results; the fields of a missing one stay None.
    buffer : str, optional
        Name of the buffer subtracted.
    concentration_mg_ml : float, optional
        Concentration in mg/ml (``concentration_unit`` is recorded as ``"mg/ml"``).
    q_unit : str, optional
        ``"A^-1"`` or ``"nm^-1"``; taken from the first of guinier, pr, mw given when None.
        ``length_unit`` follows from it.
    flags : sequence of str
        The sample's own flags.
    extra : dict, optional
        More items, added last (they override computed ones of the same name).
    frame_ids : sequence of int, optional
        Frame numbers of the measurement, in the order of the similarity test.
    intensity_unit : str, optional
        Unit of the curve's intensities (``"1/cm"``; ``"arbitrary"`` when None).

    Returns
    -------
    dict
        Every name of :data:`COLUMNS` (None when unknown) plus ``concentration_unit``,
        ``frames_rejected_ids`` and ``mw_unit`` when they apply, ``units`` (column -> unit,
        for the columns of the results given that have one) and the ``extra`` items.
    """
    q_unit = q_unit or next((r.q_unit for r in (guinier, pr, mw) if r is not None), None)
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(
        sample=sample,
        buffer=buffer,
        concentration=_num(concentration_mg_ml),
        concentration_unit="mg/ml",
        q_unit=q_unit,
        length_unit=length_unit(q_unit) if q_unit else None,
    )
    all_flags = list(flags)
    if similarity is not None:
        row["frames_total"] = len(similarity.pvalues)
        row["frames_used"] = len(similarity.selected)
        row["frames_rejected"] = len(similarity.rejected)
        # Frame numbers of the measurement, as in the .dat header (not positions in the test).
        ids = list(frame_ids) if frame_ids is not None else list(range(len(similarity.pvalues)))
        row["frames_rejected_ids"] = sorted(int(ids[int(i)]) for i in similarity.rejected)
    units: dict[str, str] = {}
    given = {"guinier": guinier, "pr": pr, "mw": mw, "kratky": kratky}
    for kind, result in given.items():
        if result is None:
            continue
        values, result_units = result.to_dict(), units_of(result, intensity_unit)
        for column, key in RESULT_COLUMNS[kind].items():
            row[column] = _num(values[key])
            if result_units.get(key):
                units[column] = result_units[key]
        all_flags += result.flags
    if mw is not None:
        row["mw_unit"] = _units.unit_of_kind("kDa")
    row["units"] = units
    row["flags"] = list(dict.fromkeys(all_flags))
    # Whether each number can be trusted, and the flags that say why not.
    row["guinier_valid"] = None if guinier is None else bool(guinier.valid)
    row["pddf_valid"] = None if pr is None else bool(pr.valid)
    row["doubts"] = list(doubts(row["flags"]))
    row.update(extra or {})
    return row


def write_sample_summary(summary: dict[str, Any], path: str | Path) -> Path:
    """Write one sample's summary as JSON.

    Parameters
    ----------
    summary : dict
        From :func:`sample_summary`; values JSON cannot hold are written as their ``str``.
    path : str or Path
        File to write (its folder is created).

    Returns
    -------
    Path
        The file written.
    """
    return write_text_atomic(json.dumps(summary, indent=2, default=str) + "\n", path)


def write_run_summary(
    summaries: Sequence[dict[str, Any]], csv_path: str | Path, json_path: str | Path | None = None
) -> tuple[Path, Path | None]:
    """Write the run's ``summary.csv`` (one row per sample, :data:`COLUMNS`) and JSON.

    Flags are joined with ``;`` in the CSV; missing values are empty cells. Items not in
    :data:`COLUMNS` are left out of the CSV but kept in the JSON.

    Parameters
    ----------
    summaries : sequence of dict
        One :func:`sample_summary` dict per sample, in the order of the rows.
    csv_path : str or Path
        The CSV file to write.
    json_path : str or Path, optional
        The JSON file to write, ``{"samples": [...]}``; not written when None.

    Returns
    -------
    tuple of Path
        The CSV path and the JSON path (None when not asked for).
    """
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for s in summaries:
        row = {k: s.get(k) for k in COLUMNS}
        row["flags"] = ";".join(s.get("flags") or ())
        row["doubts"] = ";".join(s.get("doubts") or ())
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    csv_out = write_text_atomic(buf.getvalue(), csv_path)
    json_out = None
    if json_path is not None:
        json_out = write_text_atomic(
            json.dumps({"samples": list(summaries)}, indent=2, default=str) + "\n", json_path
        )
    return csv_out, json_out


def read_run_summary(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a ``summary.json`` (or the ``samples`` list it holds).

    Parameters
    ----------
    path : str or Path
        A file written by :func:`write_run_summary` (or a JSON list of sample dicts).

    Returns
    -------
    list of dict
        One summary dict per sample.
    """
    data = json.loads(Path(path).read_text())
    return data["samples"] if isinstance(data, dict) else data


def write_pr_table(pr: PrResult, path: str | Path) -> Path:
    """Write P(r) as a text table: ``r  P(r)  sigma`` with a header naming units and results.

    Parameters
    ----------
    pr : PrResult
        The P(r); r, Dmax and Rg are in the length unit matching ``pr.q_unit`` (Å or nm).
    path : str or Path
        File to write (its folder is created).

    Returns
    -------
    Path
        The file written.
    """
    lu = length_unit(pr.q_unit)
    lines = [
        f"# P(r) by indirect Fourier transform (halos-analysis); r in {lu}",
        f"# Dmax: {pr.Dmax:.6g} +- {pr.Dmax_err:.3g} {lu}",
        f"# Rg: {pr.Rg:.6g} +- {pr.Rg_err:.3g} {lu}",
        f"# I0: {pr.I0:.6g} +- {pr.I0_err:.3g}",
        f"# chi2: {pr.chi2:.4g}  alpha: {pr.alpha:.4g}",
        f"# {'r_' + lu:>14s} {'P(r)':>15s} {'sigma':>15s}",
    ]
    rows = zip(pr.r, pr.pr, pr.pr_err, strict=True)
    lines += [f"{r:16.8e} {p:15.8e} {e:15.8e}" for r, p, e in rows]
    return write_text_atomic("\n".join(lines) + "\n", path)
