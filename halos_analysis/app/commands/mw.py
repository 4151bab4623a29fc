# SPDX-License-Identifier: MIT
"""``halos mw``: molecular weight of one curve (Vp, Vc, I0); prints the result."""

from __future__ import annotations

import argparse

from halos_analysis.app.commands import _common

HELP = "molecular weight (Vp, Vc, I0)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("curve")
    _common.add_q_unit(p)
    _common.add_mw_arguments(p)
    p.add_argument("--json", action="store_true")


outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.mw import molecular_weight

    curve = _common.read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    reference = tuple(args.reference) if args.reference else None
    result = molecular_weight(
        curve,
        guinier,
        concentration_mg_ml=args.conc,
        absolute_scale=_common.absolute(args, curve),
        psv_cm3_g=args.psv,
        macromolecule=args.macromolecule,
        reference=reference,
    )
    _common.print_json(result.to_dict()) if args.json else print(result)
    return 0
