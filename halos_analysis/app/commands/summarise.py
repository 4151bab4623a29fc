# SPDX-License-Identifier: MIT
"""``halos summarise``: run summary tables, overview figure, HTML report and (with
``--manifest``) the run's Workflow Run RO-Crate.

``--parts tables`` writes ``summary.csv`` and ``summary.json`` only, ``--parts overview`` the
overview figure, ``--parts report`` ``report.html`` (which shows the samples' figures and the
overview) and the RO-Crate (which lists the tables and the report), ``--parts all`` (the
default) everything: the workflow runs the tables as soon as every sample's data are there,
the overview beside the samples' figures, the report once they are all there.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from halos_analysis.export.parts import RUN_PARTS

HELP = "run summary tables, overview figure, HTML report"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("summaries", nargs="+", help="each sample's summary.json")
    p.add_argument("--results", required=True, help="the run's results folder")
    p.add_argument(
        "--comparisons", nargs="*", default=[], help="comparison JSON files of `halos compare`"
    )
    p.add_argument(
        "--manifest", help="the run manifest (results/.halos/run.json): provenance, RO-Crate"
    )
    p.add_argument(
        "--parts",
        choices=(*RUN_PARTS, "all"),
        default="all",
        help="tables (summary.csv, summary.json), overview (overview.png, .svg), report "
        "(report.html, RO-Crate) or all (default)",
    )


def _parts(args: argparse.Namespace) -> tuple[str, ...]:
    return RUN_PARTS if args.parts == "all" else (args.parts,)


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    names = {
        "tables": ("summary.csv", "summary.json"),
        "overview": ("overview.png", "overview.svg"),
        "report": ("report.html",),
    }
    return [Path(args.results) / n for part in _parts(args) for n in names[part]]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.export.bundle import export_run

    parts = _parts(args)
    manifest, provenance = None, None
    if "report" in parts:  # the tables need no provenance
        from halos_analysis.export.provenance import build_provenance, run_provenance

        if args.manifest:
            from halos_analysis.app.manifest import read_manifest

            manifest = read_manifest(args.manifest)
            provenance = run_provenance(manifest)
        else:
            provenance = build_provenance(inputs=list(args.summaries))
    # `halos watch` rewrites the report after each sample; a browser showing it reloads.
    refresh = float(os.environ.get("HALOS_REPORT_REFRESH") or 0) or None
    out = export_run(
        args.results,
        args.summaries,
        provenance=provenance,
        comparisons=args.comparisons,
        refresh_s=refresh,
        parts=parts,
    )
    if "summary_json" in out:
        print(f"{out['summary_json']}: summary of {len(args.summaries)} samples")
    if "report" in out:
        print(f"{out['report']}: report of {len(args.summaries)} samples")
    if manifest is not None:
        from halos_analysis.app.runner import workflow_dir
        from halos_analysis.export.crate import write_run_crate

        crate = write_run_crate(
            args.results, manifest, args.summaries, args.comparisons, workflow=workflow_dir()
        )
        print(f"{crate}: Workflow Run RO-Crate of the run")
    return 0
