# SPDX-License-Identifier: MIT
"""``halos validate``: check raw or NXcanSAS files; exit 1 if any is invalid."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.errors import HalosInputError

HELP = "check raw or NXcanSAS files against their standard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*")
    p.add_argument("--frames-from", help="also check the files of this frame list")
    p.add_argument(
        "--metadata-only",
        action="store_true",
        help="check metadata and file structure, do not decode every frame (the workflow's "
        "integration reads and checks them, once)",
    )
    p.add_argument(
        "--facility",
        dest="profile",
        help="facility profile for raw files (default: recognised from the file's layout)",
    )
    add_deprecated_alias(p, "--profile", "--facility", "profile")
    p.add_argument("--side-table", help="TSV with per-frame monitor/transmission/exposure_s")
    p.add_argument("--poni", help="PONI file: geometry the facility's files do not record")
    p.add_argument(
        "--list-profiles", action="store_true", help="list the facility profiles and exit"
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output", help="also write the JSON report here")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.io.validate import format_profiles, profiles_listing, validate_report

    if args.list_profiles:
        rows = profiles_listing()
        _common.print_json(rows) if args.json else print(format_profiles(rows))
        return 0
    files = list(args.files)
    if args.frames_from:
        from halos_analysis.app.manifest import read_frame_list

        # One report per file; an HDF5 ``::/dataset`` names a dataset of it, not a file.
        files += list(dict.fromkeys(f.split("::", 1)[0] for f in read_frame_list(args.frames_from)))
    if not files:
        raise HalosInputError("give one or more files (or --list-profiles)", field="files")
    reports = {
        f: validate_report(
            f,
            profile=args.profile,
            side_table=args.side_table,
            poni=args.poni,
            frames=not args.metadata_only,
        )
        for f in files
    }
    as_json = {f: r.to_dict() for f, r in reports.items()}
    if args.output:
        _common.atomic_json(as_json, args.output)
    if args.json:
        _common.print_json(as_json)
    else:
        # Problems go to stderr when the report goes to a file, so that logs show them.
        stream = sys.stderr if args.output else sys.stdout
        for f, rep in reports.items():
            if rep.layout and rep.layout != "NXcanSAS" and rep.profile:
                print(f"{f}: {rep.layout}", file=stream)
            if rep.problems:
                print(f"{f}: INVALID", file=stream)
                for p in rep.problems:
                    print(f"  - {p}", file=stream)
            elif not args.output:
                print(f"{f}: valid")
            for note in rep.notes:
                print(f"  note: {note}", file=stream)
    n_bad = sum(1 for r in reports.values() if r.problems)
    if args.output:
        print(f"{args.output}: {len(reports) - n_bad} valid, {n_bad} invalid")
    return 1 if n_bad else 0
