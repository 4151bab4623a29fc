# SPDX-License-Identifier: MIT
"""``halos summarise``: run summary tables, overview figure, HTML report and (with
``--manifest``) the run's Workflow Run RO-Crate."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

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


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [Path(args.results) / name for name in ("report.html", "summary.csv", "summary.json")]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.export.bundle import export_run
    from halos_analysis.export.provenance import build_provenance, run_provenance

    if args.manifest:
        from halos_analysis.app.manifest import read_manifest

        manifest = read_manifest(args.manifest)
        provenance = run_provenance(manifest)
    else:
        manifest = None
        provenance = build_provenance(inputs=list(args.summaries))
    # `halos watch` rewrites the report after each sample; a browser showing it reloads.
    refresh = float(os.environ.get("HALOS_REPORT_REFRESH") or 0) or None
    out = export_run(
        args.results,
        args.summaries,
        provenance=provenance,
        comparisons=args.comparisons,
        refresh_s=refresh,
    )
    print(f"{out['report']}: report of {len(args.summaries)} samples")
    if manifest is not None:
        from halos_analysis.app.runner import workflow_dir
        from halos_analysis.export.crate import write_run_crate

        crate = write_run_crate(
            args.results, manifest, args.summaries, args.comparisons, workflow=workflow_dir()
        )
        print(f"{crate}: Workflow Run RO-Crate of the run")
    return 0
