# SPDX-License-Identifier: MIT
"""Everything one sample or one run leaves behind, written in one call each.

:func:`export_sample` writes a sample's data (:func:`export_sample_data`: NXcanSAS file,
P(r) table, ``summary.json``, ``provenance.json``) and figures
(:func:`export_sample_figures`); :func:`export_run` writes the run's summary tables
(:func:`export_run_tables`), overview figure (:func:`export_run_overview`) and HTML report
(:func:`export_run_report`). The workflow's export rules and ``halos export``/``halos
summarise`` (``--parts``) are thin shells over these. The workflow writes each part in a job
of its own, the data and tables first: in live mode a sample's row is in the run summary
before its figures are drawn.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from halos_analysis.analysis.pipeline import SampleAnalysis
from halos_analysis.export import plots
from halos_analysis.export.compare_report import comparison_section
from halos_analysis.export.parts import RUN_PARTS, SAMPLE_PARTS
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

__all__ = [
    "RUN_PARTS",
    "SAMPLE_PARTS",
    "export_run",
    "export_run_overview",
    "export_run_report",
    "export_run_tables",
    "export_sample",
    "export_sample_data",
    "export_sample_figures",
]


def _parts(parts: Iterable[str], known: tuple[str, ...]) -> set[str]:
    chosen = set(parts)
    if not chosen or not chosen <= set(known):
        raise ValueError(f"parts must be some of {', '.join(known)}, not {sorted(chosen)}")
    return chosen


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
    parts: Iterable[str] = SAMPLE_PARTS,
) -> dict[str, Path]:
    """Write the per-sample outputs into ``outdir``; return them by kind.

    The data (:func:`export_sample_data`) are written before the figures
    (:func:`export_sample_figures`).

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
    parts : iterable of str
        Which of :data:`SAMPLE_PARTS` to write (default: both).
    """
    chosen = _parts(parts, SAMPLE_PARTS)
    out: dict[str, Path] = {}
    if "data" in chosen:
        out |= export_sample_data(
            outdir,
            analysis,
            sample=sample,
            sample_avg=sample_avg,
            buffer_avg=buffer_avg,
            similarity=similarity,
            frame_ids=frame_ids,
            instrument=instrument,
            sample_info=sample_info,
            provenance=provenance,
            parameters=parameters,
        )
    if "figures" in chosen:
        out |= export_sample_figures(
            outdir,
            analysis,
            sample=sample,
            sample_avg=sample_avg,
            buffer_avg=buffer_avg,
            similarity=similarity,
            frame_ids=frame_ids,
        )
    return out


def export_sample_data(
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
    """Write a sample's NXcanSAS file, P(r) table, ``summary.json`` and ``provenance.json``.

    Everything the run summary needs, and no figure. Parameters as :func:`export_sample`.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    info = dict(sample_info or {})
    curve = analysis.curve
    out: dict[str, Path] = {}
    if analysis.pr is not None:
        out["pr_table"] = write_pr_table(analysis.pr, outdir / f"{sample}_pr.dat")
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


def export_sample_figures(
    outdir: str | Path,
    analysis: SampleAnalysis,
    *,
    sample: str,
    sample_avg: Curve | None = None,
    buffer_avg: Curve | None = None,
    similarity: SimilarityResult | None = None,
    frame_ids: Sequence[int] | None = None,
) -> dict[str, Path]:
    """Write a sample's figures (``plots/<sample>_<kind>.png`` and ``.svg``).

    Intensity, Guinier, Kratky, P(r) and frame similarity; parameters as
    :func:`export_sample`. Returns ``{"plot:<file name>": path}``.
    """
    plot_dir = Path(outdir) / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    curve = analysis.curve
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
    else:
        paths += _note_figure(plot_dir / f"{sample}_pr", f"P(r) not computed: {why}", title)
    if similarity is not None:
        paths += plots.plot_similarity(
            plot_dir / f"{sample}_similarity", similarity, frame_ids, title
        )
    else:
        paths += _note_figure(plot_dir / f"{sample}_similarity", "no frame selection", title)
    return {f"plot:{Path(p).name}": Path(p) for p in paths}


def export_run(
    results: str | Path,
    summaries: Sequence[str | Path],
    *,
    provenance: dict[str, Any] | None = None,
    comparisons: Sequence[str | Path] = (),
    refresh_s: float | None = None,
    missing: Mapping[str, str] | None = None,
    no_figures: Mapping[str, str] | None = None,
    parts: Iterable[str] = RUN_PARTS,
) -> dict[str, Path]:
    """Write the run's ``summary.csv``/``summary.json``, overview figure and ``report.html``.

    In this order: the tables (:func:`export_run_tables`), the overview figure
    (:func:`export_run_overview`), the report (:func:`export_run_report`).

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
    no_figures : mapping, optional
        Samples with results whose figures were not drawn (sample -> why): said the same way.
    parts : iterable of str
        Which of :data:`RUN_PARTS` to write (default: all three).
    """
    chosen = _parts(parts, RUN_PARTS)
    out: dict[str, Path] = {}
    if "tables" in chosen:
        out |= export_run_tables(results, summaries)
    if "overview" in chosen:
        out |= export_run_overview(results, summaries)
    if "report" in chosen:
        out |= export_run_report(
            results,
            summaries,
            provenance=provenance,
            comparisons=comparisons,
            refresh_s=refresh_s,
            missing=missing,
            no_figures=no_figures,
        )
    return out


def export_run_tables(results: str | Path, summaries: Sequence[str | Path]) -> dict[str, Path]:
    """Write the run's ``summary.csv`` and ``summary.json``: one row per sample's
    ``summary.json``, in the order given. Parameters as :func:`export_run`."""
    results = Path(results)
    csv_path, json_path = write_run_summary(
        _rows(summaries), results / "summary.csv", results / "summary.json"
    )
    return {"summary_csv": csv_path, "summary_json": json_path}


def export_run_overview(results: str | Path, summaries: Sequence[str | Path]) -> dict[str, Path]:
    """Draw the run's overview figure (``overview.png`` and ``.svg``): every sample's curve
    (its ``<sample>_analysis.json`` beside its ``summary.json``), I(q)/I(0) and Kratky.

    A run without any curve gets a figure that says so (the run's outputs have the same
    shape for every run). Parameters as :func:`export_run`.
    """
    results = Path(results)
    curves = []
    for path, row in zip(summaries, _rows(summaries), strict=True):
        name = row["sample"]
        analysis_file = Path(path).parent / f"{name}_analysis.json"
        if analysis_file.is_file():
            a = SampleAnalysis.from_dict(json.loads(analysis_file.read_text()))
            curves.append((name, a.curve, a.guinier if a.guinier.found else None))
    if curves:
        paths = plots.plot_overview(results / "overview", curves, title="All samples")
    else:
        paths = _note_figure(results / "overview", "no sample has a curve", "All samples")
    return {f"overview_{Path(p).suffix[1:]}": Path(p) for p in paths}


def export_run_report(
    results: str | Path,
    summaries: Sequence[str | Path],
    *,
    provenance: dict[str, Any] | None = None,
    comparisons: Sequence[str | Path] = (),
    refresh_s: float | None = None,
    missing: Mapping[str, str] | None = None,
    no_figures: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write the run's ``report.html``: summary table, each sample's figures (they must be
    there), the overview figure (``overview.png``, where :func:`export_run_overview` drew
    it), comparisons, provenance. Parameters as :func:`export_run`."""
    results = Path(results)
    rows = _rows(summaries)
    plot_map = {
        row["sample"]: find_plots(Path(path).parent / "plots", row["sample"])
        for path, row in zip(summaries, rows, strict=True)
    }
    overview = results / "overview.png"
    report = write_report(
        results / "report.html",
        rows,
        plots=plot_map,
        overview=[overview] if overview.is_file() else [],
        provenance=provenance,
        sections=[
            *_missing_section(missing),
            *_no_figures_section(no_figures),
            *(comparison_section(p) for p in comparisons),
        ],
        refresh_s=refresh_s,
    )
    return {"report": report}


def _rows(summaries: Sequence[str | Path]) -> list[dict[str, Any]]:
    return [json.loads(Path(p).read_text()) for p in summaries]


def _missing_section(missing: Mapping[str, str] | None) -> list[tuple[str, str]]:
    return _notice_section(
        missing,
        "Samples without results",
        "This run did not finish for these samples; the table covers the others.",
    )


def _no_figures_section(no_figures: Mapping[str, str] | None) -> list[tuple[str, str]]:
    return _notice_section(
        no_figures,
        "Samples without figures",
        "Their rows are in the table; their figures could not be drawn in this run.",
    )


def _notice_section(names: Mapping[str, str] | None, title: str,
                    lead: str) -> list[tuple[str, str]]:  # fmt: skip
    """A report section listing samples (name -> why) under ``title``; none if empty."""
    if not names:
        return []
    items = "".join(
        f'<li><span class="flag">{html.escape(name)}</span> {html.escape(why)}</li>'
        for name, why in names.items()
    )
    return [(f"{title} ({len(names)})", f"<p>{html.escape(lead)}</p><ul>{items}</ul>")]


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
