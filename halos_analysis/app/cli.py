# SPDX-License-Identifier: MIT
"""The ``halos`` command: one entry point, one thin subcommand per pipeline stage.

The subcommands themselves are in :mod:`halos_analysis.app.commands`. Errors a user can cause
print one line naming the file and field and exit 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from halos_analysis import __version__
from halos_analysis.app.commands import (
    cmd_analyse,
    cmd_compare,
    cmd_export,
    cmd_guinier,
    cmd_integrate,
    cmd_mw,
    cmd_pr,
    cmd_reduce,
    cmd_reproduce,
    cmd_run,
    cmd_similarity,
    cmd_simulate,
    cmd_subtract,
    cmd_summarise,
    cmd_validate,
    cmd_watch,
)
from halos_analysis.app.options import add_deprecated_alias, deprecation_warnings
from halos_analysis.app.series_cli import add_series_parser
from halos_analysis.app.worker import forward_if_warm
from halos_analysis.errors import HalosError, HalosInputError
from halos_analysis.settings import ANALYSIS, COMPARISON, INTEGRATION, SELECTION, SUBTRACTION

# --- parser ----------------------------------------------------------------------------------

_CORRECTIONS = ["bonferroni", "holm", "none"]


def _float_or_none(text: str) -> float | str:
    """A number, or ``"none"`` (the caller turns it into None)."""
    if text.strip().lower() in ("none", "null", "off"):
        return "none"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'none': {text!r}") from None


def _none_or(value: float | None) -> float | str:
    return "none" if value is None else value



Q_UNITS = ["A^-1", "nm^-1"]


def _q_unit_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--q-unit",
        choices=Q_UNITS,
        help="q unit of the curve (default: from the header, else guessed from the q range)",
    )


def _mw_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conc", type=float, help="concentration in mg/ml (for MW from I0)")
    p.add_argument("--absolute", action="store_true", help="the curve is on absolute scale (1/cm)")
    p.add_argument(
        "--psv", type=float, default=ANALYSIS.psv_cm3_g, help="partial specific volume, cm3/g"
    )
    p.add_argument("--macromolecule", choices=["protein", "rna"], default=ANALYSIS.macromolecule)
    p.add_argument(
        "--mw-standard",
        dest="reference",
        nargs=3,
        type=float,
        metavar=("I0", "CONC", "MW_KDA"),
        help="a MW standard measured alike: its I0, concentration (mg/ml) and MW (kDa)",
    )
    add_deprecated_alias(p, "--reference", "--mw-standard", "reference", nargs=3, type=float)


def build_parser() -> argparse.ArgumentParser:
    """The ``halos`` argument parser (one subparser per stage)."""
    # No abbreviations: `halos run --config k=v` must not become --configfile, and a
    # shortened option is never taken for another one.
    parser = argparse.ArgumentParser(
        prog="halos",
        description="HALOS Analysis: bioSAXS from detector frames to results.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"halos {__version__}")
    # --debug and --overwrite work before or after the subcommand; SUPPRESS keeps a
    # subcommand that does not repeat them from resetting what was given before it.
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="say more (-vv: debugging detail)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        default=argparse.SUPPRESS,
        help="replace outputs that exist already",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (-vv: debugging detail)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that exist already"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[common], allow_abbrev=False, **kwargs)

    p = add("simulate", help="write the realistic P12-style example data set")
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
    p.set_defaults(func=cmd_simulate, outputs=lambda a: [Path(a.outdir) / "truth.json"])

    # `halos run ARGS` hands ARGS to snakemake untouched (see main); this parser is for --help.
    p = add(
        "run",
        help="run the Snakemake workflow (every argument goes to snakemake)",
        usage="halos run [snakemake arguments: --cores N, --configfile F..., --config k=v..., "
        "-n, --profile P, --keep-going, --report R, targets ...]",
        description="Runs snakemake on the workflow shipped with this package; its default "
        "profile (profiles/default beside the Snakefile) applies. Every argument is passed to "
        "snakemake as it is, except that --config accepts dotted keys (integration.npt=613).",
    )
    p.set_defaults(func=cmd_run)

    p = add(
        "watch",
        help="live mode: process each sample as soon as it and its buffers are complete",
        description="Follows the sample sheet (re-read at every poll) and the frames it names; "
        "a measurement is processed once its files are complete (never while written), by the "
        "same workflow as `halos run`, and the run summary and report.html are updated after "
        "each sample. Ctrl-C stops it; a restart picks up where it stopped. Arguments after "
        "`--` go to every snakemake run.",
    )
    p.add_argument(
        "--configfile",
        nargs="+",
        default=["config/config.yaml"],
        help="config files (default config/config.yaml)",
    )
    p.add_argument("--cores", type=int, default=2, help="cores of each workflow run")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="frames without a known count (n_frames column) are complete after this "
        "many seconds without change",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="incomplete frames unchanged this long are reported stalled and skipped",
    )
    p.add_argument("--refresh", type=float, default=10.0, help="report reload period, s (0: off)")
    p.add_argument(
        "--once", action="store_true", help="process what is complete, stop when nothing arrives"
    )
    p.add_argument("snakemake_args", nargs="*", help="after --: arguments for snakemake")
    p.set_defaults(func=cmd_watch)

    p = add("integrate", help="azimuthal integration, one curve per frame -> NXcanSAS")
    p.add_argument("inputs", nargs="*", help="frame files, a master file, or FILE.h5::/dataset")
    p.add_argument("--frames-from", help="read the frame files from this list (JSON or lines)")
    p.add_argument("--poni", required=True, help="pyFAI PONI geometry file")
    p.add_argument("--mask", help="mask file (.npy/.edf/.tif/.h5), non-zero = masked")
    p.add_argument("--npt", type=int, default=INTEGRATION.npt, help="number of q bins")
    p.add_argument(
        "--q-unit", default=INTEGRATION.unit.removeprefix("q_"), choices=Q_UNITS,
        help="q unit of the curves (lengths follow: Å for A^-1, nm for nm^-1)",
    )  # fmt: skip
    add_deprecated_alias(p, "--unit", "--q-unit", "q_unit", choices=["q_nm^-1", "q_A^-1"],
                         convert=lambda u: u.removeprefix("q_"))  # fmt: skip
    p.add_argument(
        "--method", default=INTEGRATION.method, choices=["no", "bbox", "full"],
        help="pixel splitting",
    )  # fmt: skip
    p.add_argument(
        "--polarization",
        default=_none_or(INTEGRATION.polarization_factor),
        type=_float_or_none,
        help="polarisation factor, or 'none' for no correction",
    )
    p.add_argument("--scale", type=float, default=INTEGRATION.scale, help="absolute scale factor")
    p.add_argument("--absolute", action="store_true", help="--scale puts I in 1/cm")
    p.add_argument("--side-table", help="TSV with per-frame monitor/transmission/exposure_s")
    p.add_argument("--batch-size", type=int, help="frames per parallel task (default: auto)")
    p.add_argument(
        "--scheduler",
        default=INTEGRATION.scheduler,
        help="Dask scheduler: threads, processes, sync, or tcp://host:port of a cluster",
    )
    p.add_argument(
        "--facility", dest="profile",
        help="facility profile: where the files keep their metadata",
    )  # fmt: skip
    add_deprecated_alias(p, "--profile", "--facility", "profile")
    p.add_argument("--cache-dir", help="where integration maps are cached")
    p.add_argument("--name", help="measurement name (default: from the input)")
    p.add_argument("-o", "--output", required=True, help="output NXcanSAS file")
    p.set_defaults(func=cmd_integrate, outputs=lambda a: [a.output])

    p = add("reduce", help="select consistent frames (CorMap) and average them")
    p.add_argument("frames", help="NXcanSAS frames file from `halos integrate`")
    p.add_argument("--alpha", type=float, default=SELECTION.alpha)
    p.add_argument("--correction", default=SELECTION.correction, choices=_CORRECTIONS)
    p.add_argument(
        "--frame-reference", dest="reference", default=SELECTION.reference,
        choices=["first", "all"],
        help="compare each frame with the first, or every pair of frames",
    )  # fmt: skip
    add_deprecated_alias(p, "--reference", "--frame-reference", "reference",
                         choices=["first", "all"])  # fmt: skip
    p.add_argument("--similarity", help="write the similarity test as JSON here")
    p.add_argument("-o", "--output", required=True, help="averaged curve (.dat)")
    p.set_defaults(func=cmd_reduce, outputs=lambda a: [a.output, a.similarity])

    p = add("subtract", help="subtract a buffer curve from a sample curve")
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
    p.add_argument("--correction", default=SELECTION.correction, choices=_CORRECTIONS)
    p.add_argument("--buffer-out", help="write the buffer curve that was subtracted here")
    p.add_argument("--name", help="name of the result")
    _q_unit_arg(p)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_subtract, outputs=lambda a: [a.output, a.buffer_out])

    p = add("analyse", help="Guinier, P(r), MW and Kratky of a subtracted curve")
    p.add_argument("curve")
    _q_unit_arg(p)
    _mw_args(p)
    p.add_argument("--qrg-max", type=float, default=ANALYSIS.guinier_qrg_max)
    p.add_argument("-o", "--output", required=True, help="analysis JSON")
    p.set_defaults(func=cmd_analyse, outputs=lambda a: [a.output])

    p = add("export", help="NXcanSAS, plots, summary and provenance of a sample")
    p.add_argument("analysis", help="analysis JSON from `halos analyse`")
    p.add_argument("--sample", help="sample name (default: from the analysis)")
    p.add_argument("--sample-avg", help="averaged sample curve (.dat)")
    p.add_argument("--buffer-avg", help="averaged buffer curve (.dat)")
    p.add_argument("--similarity", help="similarity JSON of the sample's frames")
    p.add_argument("--frames", help="the sample's frames file (for instrument metadata)")
    p.add_argument(
        "--frames-files",
        nargs="*",
        help="frames files of the sample and its buffers: the raw files they record, for "
        "provenance (default: --frames)",
    )
    p.add_argument("--manifest", help="the run manifest (results/.halos/run.json)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", dest="outdir", help="the sample's results folder")
    add_deprecated_alias(where, "--outdir", "--output", "outdir")
    p.set_defaults(
        func=cmd_export,
        outputs=lambda a: [
            Path(a.outdir) / "summary.json",
            Path(a.outdir) / "provenance.json",
            Path(a.outdir) / f"{a.sample}.h5" if a.sample else None,
        ],
    )

    p = add("summarise", help="run summary tables, overview figure, HTML report")
    p.add_argument("summaries", nargs="+", help="each sample's summary.json")
    p.add_argument("--results", required=True, help="the run's results folder")
    p.add_argument(
        "--comparisons", nargs="*", default=[], help="comparison JSON files of `halos compare`"
    )
    p.add_argument(
        "--manifest", help="the run manifest (results/.halos/run.json): provenance, RO-Crate"
    )
    p.set_defaults(
        func=cmd_summarise,
        outputs=lambda a: [
            Path(a.results) / name for name in ("report.html", "summary.csv", "summary.json")
        ],
    )

    p = add("reproduce", help="re-run a sample from its provenance and compare")
    p.add_argument("result", help="results/<sample>/<sample>.h5")
    p.add_argument("--workdir", help="folder for the re-run (default: a new temporary one)")
    p.add_argument(
        "--base-dir", help="where the original run was started (default: as recorded)"
    )
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reproduce)

    p = add("guinier", help="automatic Guinier analysis of a curve")
    p.add_argument("curve")
    _q_unit_arg(p)
    p.add_argument("--qrg-max", type=float, default=ANALYSIS.guinier_qrg_max)
    p.add_argument(
        "--range",
        nargs=2,
        type=int,
        metavar=("FIRST", "LAST"),
        help="fit these rows (0-based, inclusive) instead of searching",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guinier)

    p = add("pr", help="P(r) by Bayesian indirect Fourier transform")
    p.add_argument("curve")
    _q_unit_arg(p)
    p.add_argument("--dmax", type=float, help="fix Dmax instead of searching")
    p.add_argument("-o", "--output", dest="out", help="write P(r) as a text table")
    add_deprecated_alias(p, "--out", "--output", "out")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pr, outputs=lambda a: [a.out])

    p = add("mw", help="molecular weight (Vp, Vc, I0)")
    p.add_argument("curve")
    _q_unit_arg(p)
    _mw_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mw)

    p = add("similarity", help="pairwise CorMap p-values of curves")
    p.add_argument("curves", nargs="+", help=".dat curves or NXcanSAS frames files")
    _q_unit_arg(p)
    p.add_argument("--correction", default=SELECTION.correction, choices=_CORRECTIONS)
    p.add_argument(
        "--alpha", type=float, default=SELECTION.alpha, help="level for the adjusted p-values"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similarity)

    p = add("compare", help="compare results of one sample measured twice (or more)")
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
    p.set_defaults(func=cmd_compare, outputs=lambda a: [a.output])

    p = add("validate", help="check raw or NXcanSAS files against their standard")
    p.add_argument("files", nargs="*")
    p.add_argument("--frames-from", help="also check the files of this frame list")
    p.add_argument(
        "--metadata-only",
        action="store_true",
        help="check metadata and file structure, do not decode every frame (the workflow's "
        "integration reads and checks them, once)",
    )
    p.add_argument(
        "--facility",
        dest="profile",
        help="facility profile for raw files (default: recognised from the file's layout)",
    )
    add_deprecated_alias(p, "--profile", "--facility", "profile")
    p.add_argument("--side-table", help="TSV with per-frame monitor/transmission/exposure_s")
    p.add_argument("--poni", help="PONI file: geometry the facility's files do not record")
    p.add_argument(
        "--list-profiles", action="store_true", help="list the facility profiles and exit"
    )
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output", help="also write the JSON report here")
    p.set_defaults(func=cmd_validate, outputs=lambda a: [a.output])

    add_series_parser(add)

    return parser


def _existing_outputs(args: argparse.Namespace) -> list[Path]:
    """Outputs of a writing subcommand that exist already: each subcommand declares its
    outputs beside its arguments (``set_defaults(outputs=...)``)."""
    outputs = getattr(args, "outputs", None)
    if outputs is None:
        return []
    return [Path(p) for p in outputs(args) if p is not None and Path(p).exists()]


_GLOBAL_FLAGS = ("--debug", "--overwrite", "-v", "--verbose", "-vv")


def _split_run(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """``(halos options, snakemake args)`` when the command is ``run``, else None."""
    for i, arg in enumerate(argv):
        if arg == "run":
            return argv[: i + 1], argv[i + 1 :]
        if arg not in _GLOBAL_FLAGS:
            return None
    return None


def _setup_logging(verbosity: int) -> None:
    # The library logs; the command line shows warnings (and more with -v / -vv) on stderr.
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("halos_analysis")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``halos`` command."""
    if (warm := forward_if_warm(argv)) is not None:  # `halos watch`'s warm worker ran it
        return warm
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    run = _split_run(argv)
    extra: list[str] = []
    if run is not None:
        # `halos run ...`: everything after `run` is Snakemake's (-h included, unless alone).
        own, extra = run
        if extra in (["-h"], ["--help"]):
            own, extra = own + extra, []
        args = parser.parse_args(own)
    else:
        args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", 0) or 0)
    for message in deprecation_warnings(args):
        logging.getLogger(__name__).warning(message)
    try:
        # Results of another run are never replaced silently (the workflow removes a job's
        # old outputs itself before re-running it).
        existing = [] if args.overwrite else _existing_outputs(args)
        if existing:
            raise HalosInputError("exists already; pass --overwrite to replace it", existing[0])
        if args.command == "run":
            return args.func(args, extra)
        return args.func(args)
    except (HalosError, OSError, ValueError) as exc:
        if args.debug:
            raise
        msg = str(exc) if isinstance(exc, HalosError) else f"{type(exc).__name__}: {exc}"
        print(f"halos {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on --debug
        if args.debug:
            raise
        print(
            f"halos {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
