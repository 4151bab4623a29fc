# SPDX-License-Identifier: MIT
"""``halos analyse``: Guinier, P(r), MW and Kratky of a subtracted curve to JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.settings import ANALYSIS

HELP = "Guinier, P(r), MW and Kratky of a subtracted curve"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("curve")
    _common.add_q_unit(p)
    _common.add_mw_arguments(p)
    p.add_argument("--qrg-max", type=float, default=ANALYSIS.guinier_qrg_max)
    p.add_argument("-o", "--output", required=True, help="analysis JSON")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.pipeline import analyse_curve

    curve = _common.read(args.curve, args.q_unit)
    result = analyse_curve(
        curve,
        concentration_mg_ml=args.conc,
        absolute_scale=_common.absolute(args, curve),
        macromolecule=args.macromolecule,
        psv_cm3_g=args.psv,
        qrg_max=args.qrg_max,
        reference=tuple(args.reference) if args.reference else None,
    )
    _common.atomic_json(result.to_dict(arrays=True), args.output)
    print(f"{args.output}: {result.guinier}")
    return 0
