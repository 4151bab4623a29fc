# SPDX-License-Identifier: MIT
"""``halos simulate``: write the synthetic example data set."""

from __future__ import annotations

import argparse
from pathlib import Path

from halos_analysis.errors import HalosInputError

HELP = "write the realistic P12-style example data set"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--frames", type=int, default=20, help="frames per sample and buffer")
    p.add_argument(
        "--damaged-frames", type=int, default=3, help="last sample frames with radiation damage"
    )
    p.add_argument(
        "--detectors",
        nargs="+",
        help="detectors (default: pilatus2m eiger4m, or the facility's; small ones for tests: "
        "pilatus300k, eiger1m)",
    )
    p.add_argument(
        "--facility",
        choices=["cosaxs", "bm29", "p12", "biocat", "b21"],
        help="write the measurement in that facility's raw-file layout (+ samples_<f>.tsv)",
    )


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [Path(args.outdir) / "truth.json"]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.simulate import simulate_example

    if not 0 <= args.damaged_frames < args.frames:
        raise HalosInputError(
            f"--damaged-frames {args.damaged_frames} must be at least 0 and below --frames "
            f"{args.frames} (the first frame is the undamaged reference)",
            field="--damaged-frames",
        )
    from halos_analysis.simulate.model import DETECTORS

    for det in args.detectors or ():
        if det not in DETECTORS:
            raise HalosInputError(
                f"unknown detector {det!r} (known: {', '.join(DETECTORS)})", field="--detectors"
            )
    manifest = simulate_example(
        args.outdir,
        seed=args.seed,
        n_frames=args.frames,
        damaged_frames=args.damaged_frames,
        detectors=tuple(args.detectors) if args.detectors else None,
        facility=args.facility,
    )
    print(f"{args.outdir}: example data written ({manifest.get('summary', '')})")
    return 0
