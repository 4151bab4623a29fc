# SPDX-License-Identifier: MIT
"""Everything ``halos series -o OUTDIR`` writes for one run.

``<name>_series.json`` (summary and validations), ``<name>_frames.csv`` / ``.json`` (the
per-frame table), ``<name>_buffer.dat`` (the buffer subtracted), and for each component
``<name>_component<k>.dat`` (its subtracted curve) and ``<name>_component<k>_analysis.json``
(the full analysis of a static sample, readable by ``halos export``).
"""

from __future__ import annotations

import json
from pathlib import Path

from halos_analysis.export.series import (
    write_frame_table_csv,
    write_frame_table_json,
    write_series_summary,
)
from halos_analysis.io.atomic import write_text_atomic

__all__ = ["export_series"]


def export_series(result, outdir: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write the outputs of a :class:`~halos_analysis.analysis.series.SeriesAnalysis`.

    Parameters
    ----------
    result : SeriesAnalysis
    outdir : str or Path
        Folder (created).
    plots : bool
        Also write the figures (PNG and SVG).

    Returns
    -------
    dict of str to Path
        What was written, by role.
    """
    from halos_analysis.io.curves import write_dat

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
    for c in result.components:
        stem = f"{name}_component{c.index}"
        header = {
            "series": name,
            "frames": f"{c.range[0]}-{c.range[1]}",
            "method": c.method,
            "flags": " ".join(c.analysis.flags) or "none",
        }
        written[f"component{c.index}"] = write_dat(c.analysis.curve, out / f"{stem}.dat", header)
        written[f"component{c.index}_analysis"] = write_text_atomic(
            json.dumps(c.analysis.to_dict(arrays=True), allow_nan=False) + "\n",
            out / f"{stem}_analysis.json",
        )
    return written
