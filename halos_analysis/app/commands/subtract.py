# SPDX-License-Identifier: MIT
"""``halos subtract``: combine buffer curves and subtract them from a sample curve."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.errors import HalosInputError
from halos_analysis.settings import SELECTION, SUBTRACTION

HELP = "subtract a buffer curve from a sample curve"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sample")
    p.add_argument("buffers", nargs="+", help="buffer curve(s); several are checked, then averaged")
    p.add_argument(
        "--buffer-scale", dest="scale", type=float, default=SUBTRACTION.buffer_scale,
        help="buffer scale factor",
    )  # fmt: skip
    add_deprecated_alias(p, "--scale", "--buffer-scale", "scale", type=float)
    p.add_argument(
        "--alpha", type=float, default=SELECTION.alpha, help="CorMap level for the buffer check"
    )
    p.add_argument("--correction", default=SELECTION.correction, choices=_common.CORRECTIONS)
    p.add_argument("--buffer-out", help="write the buffer curve that was subtracted here")
    p.add_argument("--name", help="name of the result")
    _common.add_q_unit(p)
    p.add_argument("-o", "--output", required=True)


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output, args.buffer_out]


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.pipeline import combine_buffers
    from halos_analysis.io.curves import write_dat
    from halos_analysis.reduce import subtract

    sample = _common.read(args.sample, args.q_unit, analyse=False)
    buffers = [_common.read(b, args.q_unit, analyse=False) for b in args.buffers]
    _check_same_normalisation(sample, buffers)
    combined = combine_buffers(buffers, alpha=args.alpha, correction=args.correction)
    result = subtract(sample, combined.curve, scale=args.scale)
    header: dict[str, object] = {
        "sample": args.sample,
        "buffer": " ".join(args.buffers),
        "buffer_scale": args.scale,
    }
    if combined.similarity is not None:
        p = combined.similarity.adjusted
        header["buffer_cormap_min_adjusted_p"] = (
            f"{min(p[i][j] for i in range(len(p)) for j in range(i + 1, len(p))):.4g}"
        )
    header["flags"] = " ".join(combined.flags) or "none"
    result = dataclasses.replace(result, name=args.name or sample.name)
    if args.buffer_out:
        write_dat(combined.curve, args.buffer_out, {"buffers": " ".join(args.buffers)})
    write_dat(result, args.output, header)
    if combined.flags:
        print(f"warning: {', '.join(combined.flags)}: {' '.join(args.buffers)}", file=sys.stderr)
    print(f"{args.output}: {sample.name} - {args.scale:g} x {combined.curve.name}")
    return 0


def _check_same_normalisation(sample, buffers) -> None:
    """Refuse to subtract curves normalised differently (by monitor vs by exposure time)."""
    norm = sample.meta.get("normalisation")
    for b in buffers:
        other = b.meta.get("normalisation")
        if norm and other and norm != other:
            raise HalosInputError(
                f"sample normalised by {norm}, buffer {b.meta.get('source')} by {other}: "
                "their intensities are not comparable",
                sample.meta.get("source"),
                "normalisation",
            )
