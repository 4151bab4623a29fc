# SPDX-License-Identifier: MIT
"""``halos series``: SEC-SAXS analysis of one run.

Exit status: 0 when the run was analysed (even when it holds no peak or no valid range:
the JSON and stderr say so, ``valid`` is false); 1 when the input is wrong (unreadable
file, frames on different q grids, a ``--buffer``/``--sample`` range outside the run) —
what can still be computed (trace, per-frame table) is written all the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.errors import HalosInputError

HELP = "SEC-SAXS series: buffer/sample ranges, per-frame Rg/MW, SVD, EFA"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="+",
        help="a RAW series .hdf5, a `halos integrate` frames .h5, or .dat curves/globs",
    )
    p.add_argument("--q-unit", choices=_common.Q_UNITS, help="q unit of the curves")
    p.add_argument("--subtracted", action="store_true", help="the curves are buffer-subtracted")
    p.add_argument("--buffer", help="buffer frames FIRST-LAST[,FIRST-LAST] (0-based, inclusive)")
    p.add_argument(
        "--sample", help="sample frames FIRST-LAST of the main peak (0-based, inclusive)"
    )
    p.add_argument("--window", type=int, default=5, help="frames per sliding average (odd)")
    p.add_argument(
        "--baseline",
        default="none",
        choices=["none", "linear", "integral"],
        help="baseline correction between buffers before and after the peaks",
    )
    p.add_argument("--no-deconvolve", action="store_true", help="skip EFA/REGALS separation")
    p.add_argument("--alpha", type=float, default=0.01, help="CorMap level (corrected p-values)")
    p.add_argument("--macromolecule", choices=["protein", "rna"], default="protein")
    p.add_argument("--name", help="name of the run (default: from the input)")
    p.add_argument("--no-plots", action="store_true", help="write no figures")
    p.add_argument(
        "-o", "--output", dest="outdir",
        help="write the tables, curves, NXcanSAS and plots here",
    )  # fmt: skip
    add_deprecated_alias(p, "--outdir", "--output", "outdir")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    """What `halos series -o OUTDIR` would replace: the named run's files, else any run's."""
    if not args.outdir:
        return []
    if args.name:
        return list(series_outputs(args.outdir, args.name).values())
    return list(Path(args.outdir).glob("*_series.json"))


def run(args: argparse.Namespace) -> int:
    """Analyse a SEC run; print the summary, write the outputs."""
    import dataclasses

    from halos_analysis.analysis.series import SeriesSettings, analyse_series
    from halos_analysis.io.series import read_series

    buffer = parse_ranges(args.buffer, "--buffer") if args.buffer else None
    sample = None
    if args.sample:
        r = parse_ranges(args.sample, "--sample")
        if len(r) != 1:
            raise HalosInputError("give one sample range FIRST-LAST", field="--sample")
        sample = r[0]
    if args.window < 1 or args.window % 2 == 0:
        raise HalosInputError(f"must be an odd number ≥ 1, got {args.window}", field="--window")
    frames = read_series(args.inputs, q_unit=args.q_unit)
    if args.name:
        frames = dataclasses.replace(frames, name=args.name)
    settings = SeriesSettings(
        subtracted=args.subtracted,
        buffer=buffer,
        sample=sample,
        window=args.window,
        alpha=args.alpha,
        baseline=args.baseline,
        deconvolve=not args.no_deconvolve,
        macromolecule=args.macromolecule,
    )
    result = analyse_series(frames, settings)
    if args.outdir:
        from halos_analysis.export.series_bundle import export_series

        export_series(result, args.outdir, plots=not args.no_plots)
    summary = result.summary()
    if args.json:
        _common.print_json(summary)
    else:
        print(_text(result))
    for msg in result.problems:
        print(f"halos series: {frames.name}: {msg}", file=sys.stderr)
    return 1 if result.input_errors else 0


def _text(result) -> str:
    s = result.summary()
    lines = [f"{result.frames.name}: {s['n_frames']} frames, {s['n_q']} q points ({s['q_unit']})"]
    lines.append(f"  peaks: {', '.join(str(p['position']) for p in s['peaks']) or 'none'}")
    if result.buffer_check is not None:
        lines.append(f"  {result.buffer_check}")
    if result.post_buffer is not None:
        lines.append(f"  after the peaks: {result.post_buffer}")
    if result.sample_check is not None:
        lines.append(f"  {result.sample_check}")
    if result.svd is not None:
        lines.append(f"  SVD of the elution region: rank {result.svd.rank}")
    for c in s["components"]:
        lu = c["length_unit"]
        rg = "no Guinier" if c["Rg"] is None else f"Rg {c['Rg']:.4g} ± {c['Rg_err']:.2g} {lu}"
        mw = (
            ""
            if c["mw_vc_kda"] is None
            else f", MW Vc {c['mw_vc_kda']:.1f} / Vp {c['mw_vp_kda']:.1f} kDa"
        )
        dmax = "" if c["Dmax"] is None else f", Dmax {c['Dmax']:.4g} {lu}"
        lines.append(
            f"  component {c['index']} frames {c['range'][0]}-{c['range'][1]} ({c['method']}): "
            f"{rg}{dmax}{mw}"
        )
    lines.append(f"  valid: {s['valid']}")
    return "\n".join(lines)


def parse_ranges(text: str, flag: str) -> tuple[tuple[int, int], ...]:
    """``"18-53,280-310"`` → ((18, 53), (280, 310)); one clear error naming the flag."""
    out = []
    for part in text.split(","):
        part = part.strip()
        bits = part.split("-")
        try:
            if len(bits) != 2:
                raise ValueError
            a, b = int(bits[0]), int(bits[1])
        except ValueError:
            raise HalosInputError(
                f"{part!r} is not a frame range FIRST-LAST (0-based, inclusive)", field=flag
            ) from None
        if a > b or a < 0:
            raise HalosInputError(f"range {part!r}: need 0 ≤ FIRST ≤ LAST", field=flag)
        out.append((a, b))
    return tuple(out)


def series_outputs(outdir: str | Path, name: str) -> dict[str, Path]:
    """The files ``halos series -o OUTDIR`` writes for run ``name`` (besides components)."""
    d = Path(outdir)
    return {
        "summary": d / f"{name}_series.json",
        "frames_csv": d / f"{name}_frames.csv",
        "frames_json": d / f"{name}_frames.json",
    }
