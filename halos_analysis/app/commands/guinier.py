# SPDX-License-Identifier: MIT
"""``halos guinier``: automatic (or given-range) Guinier fit of one curve; prints the result."""

from __future__ import annotations

import argparse

from halos_analysis.app.commands import _common
from halos_analysis.settings import ANALYSIS

HELP = "automatic Guinier analysis of a curve"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("curve")
    _common.add_q_unit(p)
    p.add_argument("--qrg-max", type=float, default=ANALYSIS.guinier_qrg_max)
    p.add_argument(
        "--range",
        nargs=2,
        type=int,
        metavar=("FIRST", "LAST"),
        help="fit these rows (0-based, inclusive) instead of searching",
    )
    p.add_argument("--json", action="store_true")


outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.guinier import auto_guinier, fit_guinier
    from halos_analysis.analysis.pipeline import guinier_and_pr

    curve = _common.read(args.curve, args.q_unit, analyse=not args.range)
    if args.range:
        result = fit_guinier(curve, args.range[0], args.range[1])
    else:
        result = auto_guinier(curve, qrg_max=args.qrg_max)
    if result.found:
        # A Guinier result is only "valid" once it agrees with the curve's P(r).
        result, _ = guinier_and_pr(curve, result)
    _common.print_json(result.to_dict()) if args.json else print(result)
    return 0
