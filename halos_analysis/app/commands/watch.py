# SPDX-License-Identifier: MIT
"""``halos watch``: live mode over the sample sheet (see :mod:`halos_analysis.app.watch`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.errors import HalosInputError

HELP = "live mode: process each sample as soon as it and its buffers are complete"
DESCRIPTION = (
    "Follows the sample sheet (re-read at every poll) and the frames it names; "
    "a measurement is processed once its files are complete (never while written), by the "
    "same workflow as `halos run`, and the run summary and report.html are updated after "
    "each sample. Ctrl-C stops it; a restart picks up where it stopped. Arguments after "
    "`--` go to every snakemake run."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--configfile",
        nargs="+",
        default=["config/config.yaml"],
        help="config files (default config/config.yaml)",
    )
    p.add_argument("--cores", type=int, default=2, help="cores of each workflow run")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="frames without a known count (n_frames column) are complete after this "
        "many seconds without change",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="incomplete frames unchanged this long are reported stalled and skipped",
    )
    p.add_argument("--refresh", type=float, default=10.0, help="report reload period, s (0: off)")
    p.add_argument(
        "--once", action="store_true", help="process what is complete, stop when nothing arrives"
    )
    p.add_argument(
        "--no-worker",
        action="store_true",
        help="no warm worker: every step imports its libraries in a process of its own "
        "(as HALOS_WATCH_WORKER=0)",
    )
    p.add_argument("snakemake_args", nargs="*", help="after --: arguments for snakemake")


# Each sample goes through the workflow, which guards its outputs itself.
outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    from halos_analysis.app.watch import watch

    files = [Path(f) for f in args.configfile]
    for f in files:
        if not f.is_file():
            raise HalosInputError("config file not found", f)
    return watch(
        files,
        _common.dotted_config(args.snakemake_args),
        cores=args.cores,
        interval=args.interval,
        settle=args.settle,
        timeout=args.timeout,
        once=args.once,
        refresh=args.refresh,
        warm=False if args.no_worker else None,
    )
