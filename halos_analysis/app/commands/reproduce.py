# SPDX-License-Identifier: MIT
"""``halos reproduce``: re-run a sample from its provenance; exit 1 if it differs."""

from __future__ import annotations

import argparse

from halos_analysis.app.commands import _common

HELP = "re-run a sample from its provenance and compare"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="results/<sample>/<sample>.h5")
    p.add_argument("--workdir", help="folder for the re-run (default: a new temporary one)")
    p.add_argument("--base-dir", help="where the original run was started (default: as recorded)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--json", action="store_true")


# The re-run writes into its own work folder; the original result is only read.
outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    import tempfile

    from halos_analysis.app.reproduce import reproduce_sample

    workdir = args.workdir or tempfile.mkdtemp(prefix="halos-reproduce-")
    rep = reproduce_sample(args.result, workdir, base_dir=args.base_dir, cores=args.cores)
    changed = {k: v for k, v in rep.inputs.items() if v != "same"}
    if args.json:
        _common.print_json(
            {
                "sample": rep.sample,
                "matches": rep.matches,
                "inputs_changed": changed,
                "differences": list(rep.differences),
                "new_result": None if rep.new_result is None else str(rep.new_result),
            }
        )
    else:
        for path, state in changed.items():
            print(f"input {state}: {path}")
        for line in rep.differences:
            print(f"differs: {line}")
        verdict = "numbers match" if rep.matches else "does NOT reproduce"
        print(f"{args.result}: {verdict} (re-run in {workdir})")
    return 0 if rep.matches else 1
