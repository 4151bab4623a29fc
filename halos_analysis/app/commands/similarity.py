# SPDX-License-Identifier: MIT
"""``halos similarity``: pairwise CorMap p-values of curves or frames; prints them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from halos_analysis.app.commands import _common
from halos_analysis.errors import HalosInputError
from halos_analysis.settings import SELECTION

HELP = "pairwise CorMap p-values of curves"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("curves", nargs="+", help=".dat curves or NXcanSAS frames files")
    _common.add_q_unit(p)
    p.add_argument("--correction", default=SELECTION.correction, choices=_common.CORRECTIONS)
    p.add_argument(
        "--alpha", type=float, default=SELECTION.alpha, help="level for the adjusted p-values"
    )
    p.add_argument("--json", action="store_true")


outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    from halos_analysis.reduce import cormap_test

    curves = _load_curves(args.curves, args.q_unit)
    result = cormap_test(curves, correction=args.correction, alpha=args.alpha)
    adjusted = np.asarray(result.adjusted)
    n = len(curves)
    failed = [(i, j) for i in range(n) for j in range(i + 1, n) if adjusted[i, j] < args.alpha]
    if args.json:
        d = result.to_dict(arrays=True)
        d["names"] = [c.name for c in curves]
        d["failed_pairs"] = failed
        _common.print_json(d)
    else:
        names = [c.name for c in curves]
        width = max(len(n) for n in names)
        print(f"{'':{width}s} " + " ".join(f"{i:>7d}" for i in range(len(names))))
        for i, name in enumerate(names):
            row = " ".join(f"{p:7.4f}" for p in result.pvalues[i])
            print(f"{name:{width}s} {row}")
        print(
            f"raw p-values above; {len(failed)} pair(s) with {result.correction}-adjusted "
            f"p < {args.alpha:g}"
            + (": " + ", ".join(f"{i}-{j}" for i, j in failed) if failed else "")
        )
    return 0


def _load_curves(paths: Sequence[str], q_unit: str | None):
    """Curves from text files, or every frame of NXcanSAS frame files."""
    curves = []
    for p in paths:
        if p.endswith((".h5", ".hdf5", ".nxs")):
            from halos_analysis.io.nxcansas import read_frames, read_main_curve

            try:
                curves.extend(read_frames(p).curves())
            except HalosInputError:
                # A reduced result file: compare its subtracted curve.
                curves.append(read_main_curve(p))
        else:
            curves.append(_common.read(p, q_unit, analyse=False))
    return curves
