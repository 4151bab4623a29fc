# SPDX-License-Identifier: MIT
"""The ``halos`` command: one entry point, one thin subcommand per pipeline stage.

Every subcommand reads its inputs with ``halos_analysis.io``, calls the package and writes
with ``halos_analysis.io``/``export``. Errors a user can cause print one line naming the file
and field and exit 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from halos_analysis import __version__
from halos_analysis.errors import HalosError, HalosInputError

ROOT = Path(__file__).resolve().parents[1]


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))


def _read(path: str, q_unit: str | None):
    from halos_analysis.io.curves import read_curve

    return read_curve(path, q_unit=q_unit)


def _atomic_json(obj: object, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


# --- analysis of one curve -------------------------------------------------------------------


def cmd_guinier(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.guinier import auto_guinier, fit_guinier

    curve = _read(args.curve, args.q_unit)
    if args.range:
        result = fit_guinier(curve, args.range[0], args.range[1])
    else:
        result = auto_guinier(curve, qrg_max=args.qrg_max)
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def cmd_pr(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.pr import bift

    curve = _read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    result = bift(curve, guinier if guinier.valid else None, dmax=args.dmax)
    if args.out:
        from halos_analysis.export.summary import write_pr_table

        write_pr_table(result, args.out)
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def cmd_mw(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.mw import molecular_weight

    curve = _read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    reference = tuple(args.reference) if args.reference else None
    result = molecular_weight(
        curve,
        guinier,
        concentration_mg_ml=args.conc,
        absolute_scale=args.absolute,
        psv_cm3_g=args.psv,
        macromolecule=args.macromolecule,
        reference=reference,
    )
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    from halos_analysis.reduce import cormap_test

    curves = _load_curves(args.curves, args.q_unit)
    result = cormap_test(curves, correction=args.correction)
    if args.json:
        d = result.to_dict(arrays=True)
        d["names"] = [c.name for c in curves]
        _print_json(d)
    else:
        names = [c.name for c in curves]
        width = max(len(n) for n in names)
        print(f"{'':{width}s} " + " ".join(f"{i:>7d}" for i in range(len(names))))
        for i, name in enumerate(names):
            row = " ".join(f"{p:7.4f}" for p in result.pvalues[i])
            print(f"{name:{width}s} {row}")
        print(f"({result.correction} correction; adjusted p < {result.alpha} fails)")
    return 0


def _load_curves(paths: Sequence[str], q_unit: str | None):
    """Curves from text files, or every frame of NXcanSAS frame files."""
    curves = []
    for p in paths:
        if p.endswith((".h5", ".hdf5", ".nxs")):
            from halos_analysis.io.nxcansas import read_frames

            curves.extend(read_frames(p).curves())
        else:
            curves.append(_read(p, q_unit))
    return curves


# --- the per-sample stages the workflow calls ------------------------------------------------


def cmd_integrate(args: argparse.Namespace) -> int:
    from halos_analysis.integrate import IntegrationSettings, integrate_files
    from halos_analysis.io.nxcansas import write_frames

    settings = IntegrationSettings(
        npt=args.npt,
        unit=args.unit,
        method=args.method,
        polarization_factor=args.polarization,
        scale=args.scale,
        batch_size=args.batch_size,
    )
    spec = args.inputs[0] if len(args.inputs) == 1 else args.inputs
    frames = integrate_files(
        spec,
        args.poni,
        args.mask,
        settings=settings,
        side_table=args.side_table,
        cache_dir=args.cache_dir,
        name=args.name,
    )
    from halos_analysis.pipeline import instrument_from_meta

    write_frames(args.output, frames, metadata=instrument_from_meta(frames.meta))
    print(f"{args.output}: {len(frames)} frames, {len(frames.q)} points ({frames.q_unit})")
    return 0


def cmd_reduce(args: argparse.Namespace) -> int:
    from halos_analysis.io.curves import write_dat
    from halos_analysis.io.nxcansas import read_frames
    from halos_analysis.pipeline import reduce_frames

    frames = read_frames(args.frames)
    reduced = reduce_frames(
        frames, alpha=args.alpha, correction=args.correction, reference=args.reference
    )
    sim = reduced.similarity
    header = {
        "frames_used": " ".join(str(frames.frame_ids[i]) for i in sim.selected),
        "frames_rejected": " ".join(str(frames.frame_ids[i]) for i in sim.rejected) or "none",
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    if args.similarity:
        d = sim.to_dict(arrays=True)
        d["frame_ids"] = list(frames.frame_ids)
        _atomic_json(d, args.similarity)
    write_dat(reduced.average, args.output, header)
    print(f"{args.output}: {sim}")
    return 0


def cmd_subtract(args: argparse.Namespace) -> int:
    from halos_analysis.io.curves import write_dat
    from halos_analysis.reduce import subtract

    sample = _read(args.sample, args.q_unit)
    buffer = _read(args.buffer, args.q_unit)
    result = subtract(sample, buffer, scale=args.scale)
    header = {"sample": args.sample, "buffer": args.buffer, "buffer_scale": args.scale}
    result = dataclasses.replace(result, name=args.name or sample.name)
    write_dat(result, args.output, header)
    print(f"{args.output}: {sample.name} - {args.scale:g} x {buffer.name}")
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    from halos_analysis.pipeline import analyse_curve

    curve = _read(args.curve, args.q_unit)
    result = analyse_curve(
        curve,
        concentration_mg_ml=args.conc,
        absolute_scale=args.absolute,
        macromolecule=args.macromolecule,
        psv_cm3_g=args.psv,
        qrg_max=args.qrg_max,
        reference=tuple(args.reference) if args.reference else None,
    )
    _atomic_json(result.to_dict(arrays=True), args.output)
    print(f"{args.output}: {result.guinier}")
    return 0


def _sample_context(configfiles: Sequence[str], sample: str) -> tuple[dict, dict, list[str]]:
    """Config, the sample's sheet entry (and its buffer's) and the raw input files."""
    from halos_analysis.config import load_config, load_samples

    config: dict = {}
    for f in configfiles:
        config.update(load_config(f))
    measurements = load_samples(config["samples"], config)
    if sample not in measurements:
        raise HalosInputError(f"sample {sample!r} is not in the sheet", config["samples"], "name")
    m = measurements[sample]
    rows = [m] + ([measurements[m.buffer]] if m.buffer else [])
    inputs = [*configfiles, config["samples"]]
    for row in rows:
        inputs += [f.split("::", 1)[0] for f in row.frames]
        inputs += [x for x in (row.poni, row.mask, row.side_table) if x]
    info = {
        "buffer": m.buffer,
        "concentration_mg_ml": m.concentration_mg_ml,
        "description": m.description,
        "measurements": {r.name: dataclasses.asdict(r) for r in rows},
    }
    return config, info, list(dict.fromkeys(inputs))


def cmd_export(args: argparse.Namespace) -> int:
    from halos_analysis.export.bundle import export_sample
    from halos_analysis.export.provenance import build_provenance
    from halos_analysis.io.nxcansas import read_frames
    from halos_analysis.pipeline import SampleAnalysis, instrument_from_meta, result_from_dict
    from halos_analysis.types import SimilarityResult

    analysis = SampleAnalysis.from_dict(json.loads(Path(args.analysis).read_text()))
    sample = args.sample or analysis.curve.name
    config, info, inputs = ({}, {}, [])
    if args.configfile:
        config, info, inputs = _sample_context(args.configfile, sample)
    similarity, frame_ids = None, None
    if args.similarity:
        d = json.loads(Path(args.similarity).read_text())
        d["rejected"] = {int(k): v for k, v in d["rejected"].items()}
        frame_ids = d.get("frame_ids")
        similarity = result_from_dict(SimilarityResult, d)
    instrument = instrument_from_meta(read_frames(args.frames).meta) if args.frames else None
    provenance = build_provenance(
        inputs=inputs,
        config=config,
        config_text="\n".join(Path(f).read_text() for f in args.configfile or []),
        extra={"sample": sample, "sample_info": info},
    )
    outputs = export_sample(
        args.outdir,
        analysis,
        sample=sample,
        sample_avg=_read(args.sample_avg, None) if args.sample_avg else None,
        buffer_avg=_read(args.buffer_avg, None) if args.buffer_avg else None,
        similarity=similarity,
        frame_ids=frame_ids,
        instrument=instrument,
        sample_info={k: v for k, v in info.items() if k != "measurements"},
        provenance=provenance,
        parameters=config,
    )
    print(f"{args.outdir}: {len(outputs)} files for {sample}")
    return 0


def cmd_summarise(args: argparse.Namespace) -> int:
    from halos_analysis.export.bundle import export_run
    from halos_analysis.export.provenance import build_provenance

    config_text = "\n".join(Path(f).read_text() for f in args.configfile or [])
    provenance = build_provenance(
        inputs=[*(args.configfile or []), *args.summaries], config_text=config_text
    )
    out = export_run(args.results, args.summaries, provenance=provenance)
    print(f"{out['report']}: report of {len(args.summaries)} samples")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    import tempfile

    from halos_analysis.reproduce import reproduce_sample

    workdir = args.workdir or tempfile.mkdtemp(prefix="halos-reproduce-")
    rep = reproduce_sample(args.result, workdir, base_dir=args.base_dir, cores=args.cores)
    changed = {k: v for k, v in rep.inputs.items() if v != "same"}
    if args.json:
        _print_json(
            {
                "sample": rep.sample,
                "matches": rep.matches,
                "inputs_changed": changed,
                "differences": list(rep.differences),
                "new_result": None if rep.new_result is None else str(rep.new_result),
            }
        )
    else:
        for path, state in changed.items():
            print(f"input {state}: {path}")
        for line in rep.differences:
            print(f"differs: {line}")
        verdict = "numbers match" if rep.matches else "does NOT reproduce"
        print(f"{args.result}: {verdict} (re-run in {workdir})")
    return 0 if rep.matches else 1


def cmd_simulate(args: argparse.Namespace) -> int:
    from halos_analysis.simulate import simulate_example

    manifest = simulate_example(
        args.outdir, seed=args.seed, n_frames=args.frames, detectors=tuple(args.detectors)
    )
    print(f"{args.outdir}: example data written ({manifest.get('summary', '')})")
    return 0


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    snakemake = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or shutil.which(
        "snakemake"
    )
    if snakemake is None:
        raise HalosError("snakemake is not installed in this environment")
    snakefile = ROOT / "Snakefile"
    cmd = [snakemake, "--snakefile", str(snakefile), "--cores", str(args.cores)]
    if args.directory:
        if not Path(args.directory).is_dir():
            raise HalosInputError("working directory not found", args.directory)
        cmd += ["--directory", args.directory]
    if args.configfile:
        if not Path(args.configfile).is_file():
            raise HalosInputError("config file not found", args.configfile)
        cmd += ["--configfile", str(Path(args.configfile).resolve())]
    cmd += extra
    env = dict(os.environ)
    # The rules call `halos`: make sure it is this installation's.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.call(cmd, env=env)


def cmd_validate(args: argparse.Namespace) -> int:
    from halos_analysis.validate import validate_file

    report = {f: validate_file(f, profile=args.profile) for f in args.files}
    as_json = {f: {"valid": not p, "problems": p} for f, p in report.items()}
    if args.output:
        _atomic_json(as_json, args.output)
    if args.json:
        _print_json(as_json)
    else:
        # Problems go to stderr when the report goes to a file, so that logs show them.
        stream = sys.stderr if args.output else sys.stdout
        for f, problems in report.items():
            if problems:
                print(f"{f}: INVALID", file=stream)
                for p in problems:
                    print(f"  - {p}", file=stream)
            elif not args.output:
                print(f"{f}: valid")
    n_bad = sum(1 for p in report.values() if p)
    if args.output:
        print(f"{args.output}: {len(report) - n_bad} valid, {n_bad} invalid")
    return 1 if n_bad else 0


# --- parser ----------------------------------------------------------------------------------


def _q_unit_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--q-unit",
        choices=["A^-1", "nm^-1"],
        help="q unit of the curve (default: from the header, else guessed from the q range)",
    )


def _mw_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conc", type=float, help="concentration in mg/ml (for MW from I0)")
    p.add_argument("--absolute", action="store_true", help="the curve is on absolute scale (1/cm)")
    p.add_argument("--psv", type=float, default=0.7425, help="partial specific volume, cm3/g")
    p.add_argument("--macromolecule", choices=["protein", "rna"], default="protein")
    p.add_argument(
        "--reference",
        nargs=3,
        type=float,
        metavar=("I0", "CONC", "MW_KDA"),
        help="a MW standard measured alike: its I0, concentration (mg/ml) and MW (kDa)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``halos`` argument parser (one subparser per stage)."""
    parser = argparse.ArgumentParser(
        prog="halos", description="HALOS Analysis: bioSAXS from detector frames to results."
    )
    parser.add_argument("--version", action="version", version=f"halos {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that exist already"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="write the realistic P12-style example data set")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--frames", type=int, default=20, help="frames per sample and buffer")
    p.add_argument(
        "--detectors", nargs="+", default=["pilatus2m", "eiger4m"], choices=["pilatus2m", "eiger4m"]
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="run the Snakemake workflow (extra args go to snakemake)")
    p.add_argument("--configfile", help="config YAML (default config/config.yaml)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument("-d", "--directory", help="working directory (default: the current one)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("integrate", help="azimuthal integration, one curve per frame -> NXcanSAS")
    p.add_argument("inputs", nargs="+", help="frame files, a master file, or FILE.h5::/dataset")
    p.add_argument("--poni", required=True, help="pyFAI PONI geometry file")
    p.add_argument("--mask", help="mask file (.npy/.edf/.tif/.h5), non-zero = masked")
    p.add_argument("--npt", type=int, default=1000, help="number of q bins")
    p.add_argument("--unit", default="q_nm^-1", choices=["q_nm^-1", "q_A^-1"])
    p.add_argument("--method", default="no", choices=["no", "bbox", "full"], help="pixel splitting")
    p.add_argument("--polarization", type=float, default=0.99, help="polarisation factor")
    p.add_argument("--scale", type=float, default=1.0, help="absolute scale factor")
    p.add_argument("--side-table", help="TSV with per-frame monitor/transmission/exposure_s")
    p.add_argument("--batch-size", type=int, help="frames per parallel task (default: auto)")
    p.add_argument("--cache-dir", help="where integration maps are cached")
    p.add_argument("--name", help="measurement name (default: from the input)")
    p.add_argument("-o", "--output", required=True, help="output NXcanSAS file")
    p.set_defaults(func=cmd_integrate)

    p = sub.add_parser("reduce", help="select consistent frames (CorMap) and average them")
    p.add_argument("frames", help="NXcanSAS frames file from `halos integrate`")
    p.add_argument("--alpha", type=float, default=0.01)
    p.add_argument("--correction", default="bonferroni", choices=["bonferroni", "holm", "none"])
    p.add_argument("--reference", default="first", choices=["first", "all"])
    p.add_argument("--similarity", help="write the similarity test as JSON here")
    p.add_argument("-o", "--output", required=True, help="averaged curve (.dat)")
    p.set_defaults(func=cmd_reduce)

    p = sub.add_parser("subtract", help="subtract a buffer curve from a sample curve")
    p.add_argument("sample")
    p.add_argument("buffer")
    p.add_argument("--scale", type=float, default=1.0, help="buffer scale factor")
    p.add_argument("--name", help="name of the result")
    _q_unit_arg(p)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_subtract)

    p = sub.add_parser("analyse", help="Guinier, P(r), MW and Kratky of a subtracted curve")
    p.add_argument("curve")
    _q_unit_arg(p)
    _mw_args(p)
    p.add_argument("--qrg-max", type=float, default=1.3)
    p.add_argument("-o", "--output", required=True, help="analysis JSON")
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser("export", help="NXcanSAS, plots, summary and provenance of a sample")
    p.add_argument("analysis", help="analysis JSON from `halos analyse`")
    p.add_argument("--sample", help="sample name (default: from the analysis)")
    p.add_argument("--sample-avg", help="averaged sample curve (.dat)")
    p.add_argument("--buffer-avg", help="averaged buffer curve (.dat)")
    p.add_argument("--similarity", help="similarity JSON of the sample's frames")
    p.add_argument("--frames", help="the sample's frames file (for instrument metadata)")
    p.add_argument("--configfile", nargs="*", help="workflow config file(s), for provenance")
    p.add_argument("--outdir", required=True, help="the sample's results folder")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("summarise", help="run summary tables, overview figure, HTML report")
    p.add_argument("summaries", nargs="+", help="each sample's summary.json")
    p.add_argument("--results", required=True, help="the run's results folder")
    p.add_argument("--configfile", nargs="*", help="workflow config file(s), for provenance")
    p.set_defaults(func=cmd_summarise)

    p = sub.add_parser("reproduce", help="re-run a sample from its provenance and compare")
    p.add_argument("result", help="results/<sample>/<sample>.h5")
    p.add_argument("--workdir", help="folder for the re-run (default: a new temporary one)")
    p.add_argument("--base-dir", default=".", help="where the original run was started")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("guinier", help="automatic Guinier analysis of a curve")
    p.add_argument("curve")
    _q_unit_arg(p)
    p.add_argument("--qrg-max", type=float, default=1.3)
    p.add_argument(
        "--range",
        nargs=2,
        type=int,
        metavar=("FIRST", "LAST"),
        help="fit these rows (0-based, inclusive) instead of searching",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_guinier)

    p = sub.add_parser("pr", help="P(r) by Bayesian indirect Fourier transform")
    p.add_argument("curve")
    _q_unit_arg(p)
    p.add_argument("--dmax", type=float, help="fix Dmax instead of searching")
    p.add_argument("-o", "--out", help="write P(r) as a text table")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pr)

    p = sub.add_parser("mw", help="molecular weight (Vp, Vc, I0)")
    p.add_argument("curve")
    _q_unit_arg(p)
    _mw_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mw)

    p = sub.add_parser("similarity", help="pairwise CorMap p-values of curves")
    p.add_argument("curves", nargs="+", help=".dat curves or NXcanSAS frames files")
    _q_unit_arg(p)
    p.add_argument("--correction", default="bonferroni", choices=["bonferroni", "holm", "none"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("validate", help="check raw or NXcanSAS files against their standard")
    p.add_argument("files", nargs="+")
    p.add_argument("--profile", help="facility profile for raw files (e.g. p12_eiger_nexus)")
    p.add_argument("--json", action="store_true")
    p.add_argument("-o", "--output", help="also write the JSON report here")
    p.set_defaults(func=cmd_validate)

    return parser


def _existing_output(args: argparse.Namespace) -> Path | None:
    """The main output of a writing subcommand when it exists already (else None)."""
    main_output = {
        "integrate": lambda: args.output,
        "reduce": lambda: args.output,
        "subtract": lambda: args.output,
        "analyse": lambda: args.output,
        "export": lambda: Path(args.outdir) / "summary.json",
        "summarise": lambda: Path(args.results) / "report.html",
        "simulate": lambda: Path(args.outdir) / "truth.json",
    }.get(args.command)
    if main_output is None:
        return None
    path = Path(main_output())
    return path if path.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``halos`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `halos run` passes what it does not know to snakemake.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    try:
        # Results of another run are never replaced silently (the workflow removes a job's
        # old outputs itself before re-running it).
        existing = None if args.overwrite else _existing_output(args)
        if existing is not None:
            raise HalosInputError("exists already; pass --overwrite to replace it", existing)
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
