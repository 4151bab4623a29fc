# SPDX-License-Identifier: MIT
"""Everything ``halos series -o OUTDIR`` writes for one run.

In ``OUTDIR``:

* ``<name>_series.json`` — summary, validations of every range, SVD/EFA/REGALS summaries;
* ``<name>_frames.csv`` / ``.json`` — the per-frame table (always written, even for a run
  with no valid range: then it holds the traces and says why the rest is missing);
* ``<name>_buffer.dat`` — the buffer subtracted; ``<name>_subtracted.h5`` — the subtracted
  series in NXcanSAS (one ``SASdata`` per frame, Q stored once) with the series results
  (traces, peaks, ranges and their validation, per-frame Rg/I0/MW, SVD, EFA, REGALS,
  baseline) as notes of its ``analysis`` SASprocess, each number with its unit;
* ``plots/<name>_series_*.png|svg`` — the series figures (:mod:`.series_plots`);
* for each component k, ``<name>_component<k>/``: its curve, analysis, NXcanSAS result,
  plots and ``summary.json`` — the outputs of a static sample;
* for the main component (the one that elutes at the main peak), the same files directly
  in ``OUTDIR`` under the run's name (``<name>.h5``, ``summary.json``,
  ``<name>_analysis.json``), so that the run appears in the run summary and report like a
  sample, with the series figures in its section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from halos_analysis.export.series import (
    series_results,
    write_frame_table_csv,
    write_frame_table_json,
    write_series_summary,
)
from halos_analysis.io.atomic import write_text_atomic

__all__ = ["export_series", "main_component"]


def main_component(result):
    """The component that elutes at the main peak (None when there is none)."""
    if not result.components:
        return None
    if result.peaks:
        apex = max(result.peaks, key=lambda p: p.prominence).position
        inside = [c for c in result.components if c.range[0] <= apex <= c.range[1]]
        if inside:
            # Of several species present at the apex, the one with most signal there.
            return max(inside, key=lambda c: float(c.analysis.curve.intensity[:5].mean()))
    return result.components[0]


def export_series(
    result,
    outdir: str | Path,
    plots: bool = True,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the outputs of a :class:`~halos_analysis.analysis.series.SeriesAnalysis`.

    Parameters
    ----------
    result : SeriesAnalysis
    outdir : str or Path
        Folder (created).
    plots : bool
        Also write the figures (PNG and SVG).
    provenance : dict, optional
        Provenance recorded with every sample-like result.

    Returns
    -------
    dict of str to Path
        What was written, by role.
    """
    from halos_analysis.export.bundle import export_sample
    from halos_analysis.io.curves import write_dat
    from halos_analysis.io.nxcansas import write_frames

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    name = result.frames.name
    written: dict[str, Path] = {
        "summary": write_series_summary(result, out / f"{name}_series.json"),
        "frames_csv": write_frame_table_csv(result, out / f"{name}_frames.csv"),
        "frames_json": write_frame_table_json(result, out / f"{name}_frames.json"),
    }
    if result.buffer_curve is not None:
        ranges = " ".join(f"{a}-{b}" for a, b in result.buffer_ranges)
        written["buffer"] = write_dat(
            result.buffer_curve, out / f"{name}_buffer.dat", {"buffer_frames": ranges}
        )
    if result.subtracted is not None and not result.settings.subtracted:
        written["subtracted_nxcansas"] = write_frames(
            out / f"{name}_subtracted.h5",
            result.subtracted,
            provenance=provenance,
            results=series_results(result),
        )
    if plots:
        from halos_analysis.export.series_plots import plot_series

        for _kind, paths in plot_series(result, out / "plots").items():
            for p in paths:
                written[f"plot:{p.name}"] = p
    info = {"description": f"SEC-SAXS series {name}", "buffer": _buffer_label(result)}
    for c in result.components:
        stem = f"{name}_component{c.index}"
        header = {
            "series": name,
            "frames": f"{c.range[0]}-{c.range[1]}",
            "method": c.method,
            "flags": " ".join(c.analysis.flags) or "none",
        }
        cdir = out / stem
        cdir.mkdir(exist_ok=True)
        written[stem] = write_dat(c.analysis.curve, cdir / f"{stem}.dat", header)
        written[f"{stem}_analysis"] = _analysis_json(c.analysis, cdir / f"{stem}_analysis.json")
        if plots:
            for k, p in export_sample(
                cdir,
                c.analysis,
                sample=stem,
                buffer_avg=result.buffer_curve,
                sample_info=info | {"frames": f"{c.range[0]}-{c.range[1]}", "method": c.method},
                provenance=provenance,
            ).items():
                written[f"{stem}:{k}"] = p
    main = main_component(result)
    if main is None:
        # The run still has a row in the run summary, saying why it has no result.
        from halos_analysis.export.summary import sample_summary, write_sample_summary

        row = sample_summary(
            name,
            q_unit=result.frames.q_unit,
            flags=("series_not_valid",),
            extra={"description": info["description"], "problems": list(result.problems)},
        )
        written["main_summary"] = write_sample_summary(row, out / "summary.json")
    elif plots:
        written["main_analysis"] = _analysis_json(main.analysis, out / f"{name}_analysis.json")
        for k, p in export_sample(
            out,
            main.analysis,
            sample=name,
            buffer_avg=result.buffer_curve,
            sample_info=info
            | {"frames": f"{main.range[0]}-{main.range[1]}", "method": main.method},
            provenance=provenance,
        ).items():
            written[f"main:{k}"] = p
    return written


def _buffer_label(result) -> str:
    if result.settings.subtracted:
        return "subtracted input"
    if not result.buffer_ranges:
        return "none"
    return "frames " + ", ".join(f"{a}-{b}" for a, b in result.buffer_ranges)


def _analysis_json(analysis, path: Path) -> Path:
    return write_text_atomic(
        json.dumps(analysis.to_dict(arrays=True), allow_nan=False) + "\n", path
    )
