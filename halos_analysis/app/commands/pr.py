# SPDX-License-Identifier: MIT
"""``halos pr``: P(r) of one curve by BIFT; prints it and optionally writes the P(r) table."""

from __future__ import annotations

import argparse
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias

HELP = "P(r) by Bayesian indirect Fourier transform"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("curve")
    _common.add_q_unit(p)
    p.add_argument("--dmax", type=float, help="fix Dmax instead of searching")
    p.add_argument("-o", "--output", dest="out", help="write P(r) as a text table")
    add_deprecated_alias(p, "--out", "--output", "out")
    p.add_argument("--json", action="store_true")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.out]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.consistency import cross_check
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.pr import bift

    curve = _common.read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    _, result = cross_check(guinier, bift(curve, guinier, dmax=args.dmax))
    if args.out:
        from halos_analysis.export.summary import write_pr_table

        write_pr_table(result, args.out)
    _common.print_json(result.to_dict()) if args.json else print(result)
    return 0
