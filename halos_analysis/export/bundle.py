# SPDX-License-Identifier: MIT
"""Everything one sample or one run leaves behind, written in one call each.

:func:`export_sample` writes a sample's NXcanSAS file, P(r) table, plots, ``summary.json``
and ``provenance.json``; :func:`export_run` writes the run's summary tables, overview figure
and HTML report. The workflow's export rules and ``halos export``/``halos summarise`` are thin
shells over these two.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from halos_analysis.analysis.pipeline import SampleAnalysis
from halos_analysis.export import plots
from halos_analysis.export.compare_report import comparison_section
from halos_analysis.export.provenance import (
    build_provenance,
    process_for_nxcansas,
    write_provenance,
)
from halos_analysis.export.report import find_plots, write_report
from halos_analysis.export.summary import (
    sample_summary,
    write_pr_table,
    write_run_summary,
    write_sample_summary,
)
from halos_analysis.io.nxcansas import write_sample_result
from halos_analysis.types import Curve, FrameMetadata, IntegrationMethod, SimilarityResult


def export_sample(
    outdir: str | Path,
    analysis: SampleAnalysis,
    *,
    sample: str,
    sample_avg: Curve | None = None,
    buffer_avg: Curve | None = None,
    similarity: SimilarityResult | None = None,
    frame_ids: Sequence[int] | None = None,
    instrument: FrameMetadata | None = None,
    sample_info: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write all per-sample outputs into ``outdir``; return them by kind.

    Parameters
    ----------
    outdir : path
        The sample's results folder (``results/<sample>``).
    analysis : SampleAnalysis
        Guinier, P(r), MW and Kratky of the subtracted curve.
    sample : str
        Sample name (file names start with it).
    sample_avg, buffer_avg : Curve, optional
        Averages that were subtracted.
    similarity : SimilarityResult, optional
        The frame selection of the sample.
    frame_ids : sequence of int, optional
        Frame numbers belonging to the rows of ``similarity``.
    instrument : FrameMetadata, optional
        Geometry and detector, for ``SASinstrument``.
    sample_info : dict, optional
        ``buffer``, ``concentration_mg_ml``, ``description``... for ``SASsample`` and the
        summary.
    provenance : dict, optional
        From :func:`~halos_analysis.export.provenance.build_provenance`.
    parameters : dict, optional
        Processing parameters recorded in ``SASprocess``.
    """
    outdir = Path(outdir)
    plot_dir = outdir / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    info = dict(sample_info or {})
    curve = analysis.curve
    out: dict[str, Path] = {}

    title = sample
    paths = plots.plot_intensity(
        plot_dir / f"{sample}_intensity",
        subtracted=curve,
        sample=sample_avg,
        buffer=buffer_avg,
        title=title,
    )
    # Every plot kind is written even when its analysis could not run, saying why, so that
    # a run's outputs have the same shape for every sample.
    why = ", ".join(analysis.flags) or "no Guinier region"
    if analysis.guinier.found:
        paths += plots.plot_guinier(plot_dir / f"{sample}_guinier", curve, analysis.guinier, title)
    else:
        paths += _note_figure(plot_dir / f"{sample}_guinier", f"Guinier: {why}", title)
    if analysis.kratky is not None:
        paths += plots.plot_kratky(plot_dir / f"{sample}_kratky", analysis.kratky, title)
    else:
        paths += _note_figure(plot_dir / f"{sample}_kratky", f"Kratky needs Rg: {why}", title)
    if analysis.pr is not None:
        paths += plots.plot_pr(plot_dir / f"{sample}_pr", analysis.pr, curve, title)
        out["pr_table"] = write_pr_table(analysis.pr, outdir / f"{sample}_pr.dat")
    else:
        paths += _note_figure(plot_dir / f"{sample}_pr", f"P(r) not computed: {why}", title)
    if similarity is not None:
        paths += plots.plot_similarity(
            plot_dir / f"{sample}_similarity", similarity, frame_ids, title
        )
    else:
        paths += _note_figure(plot_dir / f"{sample}_similarity", "no frame selection", title)
    for p in paths:
        out[f"plot:{Path(p).name}"] = Path(p)

    process = process_for_nxcansas(provenance or build_provenance(), parameters)
    out["nxcansas"] = write_sample_result(
        outdir / f"{sample}.h5",
        subtracted=curve,
        sample_avg=sample_avg,
        buffer_avg=buffer_avg,
        guinier=analysis.guinier,
        pr=analysis.pr,
        mw=analysis.mw,
        kratky=analysis.kratky,
        similarity=similarity,
        instrument=instrument,
        sample_info={"name": sample, **info},
        process=process,
        flags=analysis.flags,
        integration={
            m: IntegrationMethod.from_dict(d)
            for m, d in (provenance or {}).get("integration", {}).items()
        },
    )
    summary = sample_summary(
        sample,
        guinier=analysis.guinier,
        pr=analysis.pr,
        mw=analysis.mw,
        kratky=analysis.kratky,
        similarity=similarity,
        buffer=info.get("buffer"),
        concentration_mg_ml=info.get("concentration_mg_ml"),
        q_unit=curve.q_unit,
        flags=analysis.flags,
        extra={"description": info.get("description", "")},
        frame_ids=frame_ids,
        intensity_unit=curve.meta.get("intensity_unit"),
    )
    out["summary"] = write_sample_summary(summary, outdir / "summary.json")
    if provenance is not None:
        out["provenance"] = write_provenance(provenance, outdir / "provenance.json")
    return out


def export_run(
    results: str | Path,
    summaries: Sequence[str | Path],
    *,
    provenance: dict[str, Any] | None = None,
    comparisons: Sequence[str | Path] = (),
    refresh_s: float | None = None,
    missing: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write the run's ``summary.csv``/``summary.json``, overview figure and ``report.html``.

    Parameters
    ----------
    results : path
        The run's results folder.
    summaries : sequence of path
        Each sample's ``summary.json``; the sample's folder holds its plots and curve.
    provenance : dict, optional
        Provenance of the run, shown in the report.
    comparisons : sequence of path
        JSON files of ``halos compare`` (their figure next to them): a report section each.
    refresh_s : float, optional
        The report reloads itself in a browser this often (live mode).
    missing : mapping, optional
        Samples of the run without results (sample -> why): the report says so above the
        summary table, so that a partial run is never taken for a whole one.
    """
    results = Path(results)
    rows = [json.loads(Path(p).read_text()) for p in summaries]
    csv_path, json_path = write_run_summary(rows, results / "summary.csv", results / "summary.json")
    curves = []
    plot_map = {}
    for path, row in zip(summaries, rows, strict=True):
        folder = Path(path).parent
        name = row["sample"]
        analysis_file = folder / f"{name}_analysis.json"
        if analysis_file.is_file():
            a = SampleAnalysis.from_dict(json.loads(analysis_file.read_text()))
            curves.append((name, a.curve, a.guinier if a.guinier.found else None))
        plot_map[name] = find_plots(folder / "plots", name)
    overview = []
    if curves:
        overview = plots.plot_overview(results / "overview", curves, title="All samples")
    report = write_report(
        results / "report.html",
        rows,
        plots=plot_map,
        overview=[p for p in overview if str(p).endswith(".png")],
        provenance=provenance,
        sections=[*_missing_section(missing), *(comparison_section(p) for p in comparisons)],
        refresh_s=refresh_s,
    )
    return {"summary_csv": csv_path, "summary_json": json_path, "report": report}


def _missing_section(missing: Mapping[str, str] | None) -> list[tuple[str, str]]:
    if not missing:
        return []
    items = "".join(
        f'<li><span class="flag">{html.escape(name)}</span> {html.escape(why)}</li>'
        for name, why in missing.items()
    )
    return [
        (
            f"Samples without results ({len(missing)})",
            f"<p>This run did not finish for these samples; the table covers the others.</p>"
            f"<ul>{items}</ul>",
        )
    ]


def _note_figure(out_base: Path, text: str, title: str) -> list[Path]:
    """A small figure that states why a plot could not be drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_title(title)
    out = []
    for fmt in ("png", "svg"):
        path = out_base.with_suffix(f".{fmt}")
        fig.savefig(path)
        out.append(path)
    plt.close(fig)
    return out
