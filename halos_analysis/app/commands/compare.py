# SPDX-License-Identifier: MIT
"""``halos compare``: one sample's results from several measurements; verdict and report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.errors import HalosInputError
from halos_analysis.settings import COMPARISON

HELP = "compare results of one sample measured twice (or more)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", nargs="+", help="result files results/<sample>/<sample>.h5")
    p.add_argument("--names", nargs="+", help="names of the results (default: the samples')")
    p.add_argument("--background", action="store_true", help="also fit a flat background")
    p.add_argument(
        "--alpha", type=float, default=COMPARISON.alpha, help="level of the CorMap and chi2 tests"
    )
    p.add_argument(
        "--k-sigma",
        type=float,
        default=COMPARISON.k_sigma,
        help="a quantity differs beyond this many sigma",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output", help="report REPORT.html (+ .json, .png, .svg)")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.compare import compare_measurements
    from halos_analysis.export.compare_report import load_measured, write_comparison

    if len(args.results) < 2:
        raise HalosInputError("give at least two result files", field="results")
    if args.names and len(args.names) != len(args.results):
        raise HalosInputError(
            f"{len(args.names)} names for {len(args.results)} results", field="--names"
        )
    names = args.names or [None] * len(args.results)
    samples = [load_measured(p, n) for p, n in zip(args.results, names, strict=True)]
    comp = compare_measurements(
        samples, background=args.background, alpha=args.alpha, k_sigma=args.k_sigma
    )
    written = write_comparison(args.output, comp, samples) if args.output else {}
    if args.json:
        _common.print_json(comp.to_dict() | {"files": list(args.results)})
    else:
        print(f"reference: {comp.names[0]}; common grid {len(comp.q)} points, "
              f"q {comp.q[0]:.4g}-{comp.q[-1]:.4g} {comp.q_unit}")  # fmt: skip
        for name, fit in zip(comp.names[1:], comp.fits[1:], strict=True):
            print(f"{name}: scale {fit.scale:.5g} ± {fit.scale_err:.2g}, "
                  f"background {fit.background:.3g}, chi2_red {fit.chi2_red:.3f}")  # fmt: skip
        for qc in comp.quantities:
            print(f"  {qc.name}: {qc.verdict}")
        print(f"verdict: {comp.verdict}")
    if written:
        print(f"{written['html']}: comparison report", file=sys.stderr if args.json else sys.stdout)
    return 0
