# SPDX-License-Identifier: MIT
"""The ``halos`` subcommands: each reads its inputs, calls the package, writes its outputs.

Every function takes the parsed arguments and returns the exit code; the parser and the
error handling live in :mod:`halos_analysis.app.cli`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from halos_analysis.app.series_cli import cmd_series  # noqa: F401 - `halos series` (own module)
from halos_analysis.errors import HalosInputError


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))


def _read(path: str, q_unit: str | None, analyse: bool = True):
    """A curve file; with ``analyse`` also refused when too short for any analysis."""
    from halos_analysis.io.curves import read_curve, require_analysable

    curve = read_curve(path, q_unit=q_unit)
    return require_analysable(curve, path) if analyse else curve


def _atomic_json(obj: object, path: str | Path) -> Path:
    from halos_analysis.io.atomic import write_text_atomic

    return write_text_atomic(json.dumps(obj, indent=2, allow_nan=False) + "\n", path)


# --- analysis of one curve -------------------------------------------------------------------


def cmd_guinier(args: argparse.Namespace) -> int:
    """``halos guinier``: automatic (or given-range) Guinier fit of one curve; prints the result."""
    from halos_analysis.analysis.guinier import auto_guinier, fit_guinier
    from halos_analysis.analysis.pipeline import guinier_and_pr

    curve = _read(args.curve, args.q_unit, analyse=not args.range)
    if args.range:
        result = fit_guinier(curve, args.range[0], args.range[1])
    else:
        result = auto_guinier(curve, qrg_max=args.qrg_max)
    if result.found:
        # A Guinier result is only "valid" once it agrees with the curve's P(r).
        result, _ = guinier_and_pr(curve, result)
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def cmd_pr(args: argparse.Namespace) -> int:
    """``halos pr``: P(r) of one curve by BIFT; prints it and optionally writes the P(r) table."""
    from halos_analysis.analysis.consistency import cross_check
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.pr import bift

    curve = _read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    _, result = cross_check(guinier, bift(curve, guinier, dmax=args.dmax))
    if args.out:
        from halos_analysis.export.summary import write_pr_table

        write_pr_table(result, args.out)
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def _absolute(args: argparse.Namespace, curve) -> bool:
    """On absolute scale: said by ``--absolute`` or by the curve's own intensity unit (1/cm,
    as our integration and NXcanSAS files record it) — the same for every MW command."""
    return bool(args.absolute) or curve.meta.get("intensity_unit") == "1/cm"


def cmd_mw(args: argparse.Namespace) -> int:
    """``halos mw``: molecular weight of one curve (Vp, Vc, I0); prints the result."""
    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.mw import molecular_weight

    curve = _read(args.curve, args.q_unit)
    guinier = auto_guinier(curve)
    reference = tuple(args.reference) if args.reference else None
    result = molecular_weight(
        curve,
        guinier,
        concentration_mg_ml=args.conc,
        absolute_scale=_absolute(args, curve),
        psv_cm3_g=args.psv,
        macromolecule=args.macromolecule,
        reference=reference,
    )
    _print_json(result.to_dict()) if args.json else print(result)
    return 0


def cmd_similarity(args: argparse.Namespace) -> int:
    """``halos similarity``: pairwise CorMap p-values of curves or frames; prints them."""
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
        _print_json(d)
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
            curves.append(_read(p, q_unit, analyse=False))
    return curves


def cmd_compare(args: argparse.Namespace) -> int:
    """``halos compare``: one sample's results from several measurements; verdict and report."""
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
        _print_json(comp.to_dict() | {"files": list(args.results)})
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


# --- the per-sample stages the workflow calls ------------------------------------------------


#: Integration settings and the `halos integrate` flags that set them (for error messages).
_SETTING_FLAGS = {
    "npt": "--npt",
    "unit": "--q-unit",
    "method": "--method",
    "polarization_factor": "--polarization",
    "scale": "--scale",
    "batch_size": "--batch-size",
}


def cmd_integrate(args: argparse.Namespace) -> int:
    """``halos integrate``: azimuthal integration of frames to an NXcanSAS frame file."""
    from halos_analysis.analysis.pipeline import instrument_from_meta
    from halos_analysis.integrate import IntegrationSettings, close_scheduler, resolve_scheduler
    from halos_analysis.integrate.settings import SettingsError
    from halos_analysis.io.nxcansas import write_frames

    try:
        settings = IntegrationSettings(
            npt=args.npt,
            unit=f"q_{args.q_unit}",
            method=args.method,
            polarization_factor=None if args.polarization == "none" else float(args.polarization),
            scale=args.scale,
            batch_size=args.batch_size,
            absolute=args.absolute,
        )
    except SettingsError as exc:
        raise HalosInputError(exc.reason, field=_SETTING_FLAGS.get(exc.field, exc.field)) from None
    inputs = list(args.inputs or [])
    if args.frames_from:
        from halos_analysis.app.manifest import read_frame_list

        inputs += read_frame_list(args.frames_from)
    if not inputs:
        raise HalosInputError("give frame files or --frames-from LIST", field="inputs")
    spec = inputs[0] if len(inputs) == 1 else inputs
    scheduler = resolve_scheduler(args.scheduler)
    try:
        frames, record = _integrate_recorded(
            spec,
            args.poni,
            args.mask,
            settings=settings,
            side_table=args.side_table,
            cache_dir=args.cache_dir,
            name=args.name,
            profile=args.profile,
            scheduler=scheduler,
        )
    finally:
        close_scheduler(scheduler)
    record.update(measurement=args.name or frames.name, settings=settings.to_dict())
    write_frames(
        args.output, frames, metadata=instrument_from_meta(frames.meta), provenance=record
    )
    n_bytes = sum(r["bytes"] for r in record["inputs"] if r["role"] == "frames")
    n_read = sum(r["bytes_read"] for r in record["inputs"] if r["role"] == "frames")
    print(f"{args.output}: {len(frames)} frames, {len(frames.q)} points ({frames.q_unit})")
    print(
        f"read {len(record['inputs'])} input files, {n_bytes} bytes of frame files "
        f"({n_read} bytes read: {n_read / max(n_bytes, 1):.3f}x), SHA-256 of each recorded"
    )
    return 0


def _integrate_recorded(spec, poni, mask, **kwargs):
    """:func:`integrate_files` inside :func:`~halos_analysis.io.digest.record_reads`: the
    frames and the record of every input file read (path, SHA-256, size, bytes read)."""
    from halos_analysis.integrate import integrate_files
    from halos_analysis.io.digest import record_reads

    with record_reads() as reads:
        frames = integrate_files(spec, poni, mask, **kwargs)
        files = [spec] if isinstance(spec, str) else list(spec)
        recorded = {Path(r).resolve() for r in reads.names()}
        missed = [f for f in files if Path(f.split("::", 1)[0]).resolve() not in recorded]
        if missed:
            # Read in other processes (a process or cluster scheduler): hashed here, again.
            logging.getLogger(__name__).warning(
                "%d frame files were read elsewhere; hashing them again here", len(missed)
            )
            for f in missed:
                reads.add_file(f.split("::", 1)[0], "frames")
        side_table = kwargs.get("side_table")
        for path, role in ((poni, "poni"), (mask, "mask"), (side_table, "side_table")):
            if path:
                reads.add_file(path, role)
        inputs = reads.finish()
    log = logging.getLogger(__name__)
    for rec in inputs:
        log.info("read %s (%s): %d bytes, %d read, sha256 %s", rec["path"], rec["role"],
                 rec["bytes"], rec["bytes_read"], rec["sha256"])  # fmt: skip
    return frames, {"step": "integrate", "inputs": inputs}


def cmd_reduce(args: argparse.Namespace) -> int:
    """``halos reduce``: CorMap frame selection and averaging of an NXcanSAS frame file."""
    from halos_analysis.analysis.pipeline import reduce_frames
    from halos_analysis.io.curves import write_dat
    from halos_analysis.io.nxcansas import read_frames

    frames = read_frames(args.frames)
    reduced = reduce_frames(
        frames, alpha=args.alpha, correction=args.correction, reference=args.reference
    )
    sim = reduced.similarity
    header = {
        "frames_used": " ".join(str(frames.frame_ids[i]) for i in sim.selected),
        "frames_rejected": " ".join(str(frames.frame_ids[i]) for i in sim.rejected) or "none",
    }
    if frames.meta.get("normalisation"):
        header["normalisation"] = frames.meta["normalisation"]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    if args.similarity:
        d = sim.to_dict(arrays=True)
        d["frame_ids"] = list(frames.frame_ids)
        _atomic_json(d, args.similarity)
    write_dat(reduced.average, args.output, header)
    print(f"{args.output}: {sim}")
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


def cmd_subtract(args: argparse.Namespace) -> int:
    """``halos subtract``: combine buffer curves and subtract them from a sample curve."""
    from halos_analysis.analysis.pipeline import combine_buffers
    from halos_analysis.io.curves import write_dat
    from halos_analysis.reduce import subtract

    sample = _read(args.sample, args.q_unit, analyse=False)
    buffers = [_read(b, args.q_unit, analyse=False) for b in args.buffers]
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


def cmd_analyse(args: argparse.Namespace) -> int:
    """``halos analyse``: Guinier, P(r), MW and Kratky of a subtracted curve to JSON."""
    from halos_analysis.analysis.pipeline import analyse_curve

    curve = _read(args.curve, args.q_unit)
    result = analyse_curve(
        curve,
        concentration_mg_ml=args.conc,
        absolute_scale=_absolute(args, curve),
        macromolecule=args.macromolecule,
        psv_cm3_g=args.psv,
        qrg_max=args.qrg_max,
        reference=tuple(args.reference) if args.reference else None,
    )
    _atomic_json(result.to_dict(arrays=True), args.output)
    print(f"{args.output}: {result.guinier}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``halos export``: NXcanSAS, plots, summary and provenance of one sample.

    In the workflow the config, the sample's sheet records and the command come from the run
    manifest (``--manifest``) and the raw inputs with their SHA-256 from the frames files'
    records (``--frames-files``): no config file is read again and no glob re-expanded.
    """
    from halos_analysis.analysis.pipeline import (
        SampleAnalysis,
        instrument_from_meta,
        result_from_dict,
    )
    from halos_analysis.export.bundle import export_sample
    from halos_analysis.export.provenance import build_provenance, sample_provenance
    from halos_analysis.io.nxcansas import read_frames
    from halos_analysis.types import SimilarityResult

    analysis = SampleAnalysis.from_dict(json.loads(Path(args.analysis).read_text()))
    sample = args.sample or analysis.curve.name
    if args.manifest:
        from halos_analysis.app.manifest import read_manifest

        run = read_manifest(args.manifest)
        frames_files = args.frames_files or ([args.frames] if args.frames else [])
        provenance = sample_provenance(run, sample, frames_files)
        config = run.config
        info = provenance["sample_info"]
    else:
        inputs = [args.analysis, args.sample_avg, args.buffer_avg, args.similarity, args.frames]
        provenance = build_provenance(inputs=[f for f in inputs if f], extra={"sample": sample})
        config, info = {}, {}
    similarity, frame_ids = None, None
    if args.similarity:
        d = json.loads(Path(args.similarity).read_text())
        d["rejected"] = {int(k): v for k, v in d["rejected"].items()}
        frame_ids = d.get("frame_ids")
        similarity = result_from_dict(SimilarityResult, d)
    instrument = instrument_from_meta(read_frames(args.frames).meta) if args.frames else None
    outputs = export_sample(
        args.outdir,
        analysis,
        sample=sample,
        sample_avg=_read(args.sample_avg, None, analyse=False) if args.sample_avg else None,
        buffer_avg=_read(args.buffer_avg, None, analyse=False) if args.buffer_avg else None,
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
    """``halos summarise``: run summary tables, overview figure, HTML report and (with
    ``--manifest``) the run's Workflow Run RO-Crate."""
    from halos_analysis.export.bundle import export_run
    from halos_analysis.export.provenance import build_provenance, run_provenance

    if args.manifest:
        from halos_analysis.app.manifest import read_manifest

        run = read_manifest(args.manifest)
        provenance = run_provenance(run)
    else:
        run = None
        provenance = build_provenance(inputs=list(args.summaries))
    # `halos watch` rewrites the report after each sample; a browser showing it reloads.
    refresh = float(os.environ.get("HALOS_REPORT_REFRESH") or 0) or None
    out = export_run(
        args.results,
        args.summaries,
        provenance=provenance,
        comparisons=args.comparisons,
        refresh_s=refresh,
    )
    print(f"{out['report']}: report of {len(args.summaries)} samples")
    if run is not None:
        from halos_analysis.app.runner import workflow_dir
        from halos_analysis.export.crate import write_run_crate

        crate = write_run_crate(
            args.results, run, args.summaries, args.comparisons, workflow=workflow_dir()
        )
        print(f"{crate}: Workflow Run RO-Crate of the run")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``halos reproduce``: re-run a sample from its provenance; exit 1 if it differs."""
    import tempfile

    from halos_analysis.app.reproduce import reproduce_sample

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
    """``halos simulate``: write the synthetic example data set."""
    from halos_analysis.simulate import simulate_example

    if not 0 <= args.damaged_frames < args.frames:
        raise HalosInputError(
            f"--damaged-frames {args.damaged_frames} must be at least 0 and below --frames "
            f"{args.frames} (the first frame is the undamaged reference)",
            field="--damaged-frames",
        )
    from halos_analysis.simulate.model import DETECTORS

    for det in args.detectors or ():
        if det not in DETECTORS:
            raise HalosInputError(
                f"unknown detector {det!r} (known: {', '.join(DETECTORS)})", field="--detectors"
            )
    manifest = simulate_example(
        args.outdir,
        seed=args.seed,
        n_frames=args.frames,
        damaged_frames=args.damaged_frames,
        detectors=tuple(args.detectors) if args.detectors else None,
        facility=args.facility,
    )
    print(f"{args.outdir}: example data written ({manifest.get('summary', '')})")
    return 0


def cmd_run(args: argparse.Namespace, snakemake_args: Sequence[str]) -> int:
    """``halos run``: the Snakemake workflow; every argument goes to snakemake.

    ``--config a.b=v`` (a dotted key, which Snakemake's own ``--config`` does not take)
    becomes ``--config a={b: v}``; the workflow reads the value as the schema's type.
    """
    import shlex

    from halos_analysis.app.config import read_config_file
    from halos_analysis.app.manifest import COMMAND_ENV
    from halos_analysis.app.runner import (
        check_slurm_settings,
        run_lock,
        snakemake_command,
        workflow_env,
    )

    # Snakemake reads config files as YTE templates (Python expressions evaluated) when they
    # ask for it: every config file is checked as untrusted text before Snakemake sees it.
    for path in _config_files(snakemake_args):
        read_config_file(path)
    cmd = snakemake_command(dotted_config(snakemake_args))
    env = workflow_env(snakemake_args)
    check_slurm_settings(cmd, env)
    env[COMMAND_ENV] = shlex.join(["halos", "run", *snakemake_args])
    log = logging.getLogger(__name__)
    log.info("running %s", shlex.join(cmd))
    if any(a in ("-n", "--dry-run", "--dryrun", "--unlock") for a in snakemake_args):
        return subprocess.call(cmd, env=env)
    with run_lock(_workdir(snakemake_args)) as lock, subprocess.Popen(cmd, env=env) as proc:
        lock.started(proc.pid)
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # Snakemake got the Ctrl-C too: let it finish its jobs
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            lock.ended(proc.wait())
            raise
        lock.ended(code)
        return code


def _workdir(args: Sequence[str]) -> str:
    """The working directory a snakemake command line names (``--directory``/``-d``)."""
    args = list(args)
    workdir = "."
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--directory", "-d"):
            workdir = value if eq else (args[i + 1] if i + 1 < len(args) else ".")
    return workdir


def _config_files(args: Sequence[str]) -> list[Path]:
    """The config files a snakemake command line makes the workflow read: every
    ``--configfile``/``--configfiles`` value, else the workflow's default
    ``config/config.yaml`` in the working directory (``--directory``/``-d``)."""
    files: list[str] = []
    workdir = _workdir(args)
    args = list(args)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--configfile", "--configfiles"):
            if eq:
                files.append(value)
                continue
            for nxt in args[i + 1 :]:
                if nxt.startswith("-"):
                    break
                files.append(nxt)
    if not files:
        default = Path(workdir) / "config" / "config.yaml"
        return [default] if default.is_file() else []
    # Relative config paths are Snakemake's own: relative to where it is started.
    return [Path(f) for f in files]


def cmd_watch(args: argparse.Namespace) -> int:
    """``halos watch``: live mode over the sample sheet (see :mod:`halos_analysis.app.watch`)."""
    from halos_analysis.app.watch import watch

    files = [Path(f) for f in args.configfile]
    for f in files:
        if not f.is_file():
            raise HalosInputError("config file not found", f)
    return watch(
        files,
        dotted_config(args.snakemake_args),
        cores=args.cores,
        interval=args.interval,
        settle=args.settle,
        timeout=args.timeout,
        once=args.once,
        refresh=args.refresh,
    )


def dotted_config(args: Sequence[str]) -> list[str]:
    """Snakemake arguments with ``--config`` entries ``a.b.c=v`` nested as ``a={b: {c: v}}``.

    Entries of one top-level key are merged into one (``a.x=1 a.y=2`` -> ``a={x: 1, y: 2}``),
    the values kept as text (JSON-quoted), which the workflow converts to the schema's type.
    """
    out: list[str] = []
    i = 0
    args = list(args)
    while i < len(args):
        arg = args[i]
        if arg != "--config" and not arg.startswith("--config="):
            out.append(arg)
            i += 1
            continue
        entries = [arg.split("=", 1)[1]] if arg.startswith("--config=") else []
        i += 1
        while i < len(args) and "=" in args[i] and not args[i].startswith("-"):
            entries.append(args[i])
            i += 1
        nested: dict = {}
        flat: list[str] = []
        for entry in entries:
            key, _, value = entry.partition("=")
            if "." not in key:
                flat.append(entry)
                continue
            node = nested
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        out += ["--config", *flat, *(f"{k}={json.dumps(v)}" for k, v in nested.items())]
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    """``halos validate``: check raw or NXcanSAS files; exit 1 if any is invalid."""
    from halos_analysis.io.validate import format_profiles, profiles_listing, validate_report

    if args.list_profiles:
        rows = profiles_listing()
        _print_json(rows) if args.json else print(format_profiles(rows))
        return 0
    files = list(args.files)
    if args.frames_from:
        from halos_analysis.app.manifest import read_frame_list

        # One report per file; an HDF5 ``::/dataset`` names a dataset of it, not a file.
        files += list(dict.fromkeys(f.split("::", 1)[0] for f in read_frame_list(args.frames_from)))
    if not files:
        raise HalosInputError("give one or more files (or --list-profiles)", field="files")
    reports = {
        f: validate_report(
            f,
            profile=args.profile,
            side_table=args.side_table,
            poni=args.poni,
            frames=not args.metadata_only,
        )
        for f in files
    }
    as_json = {f: r.to_dict() for f, r in reports.items()}
    if args.output:
        _atomic_json(as_json, args.output)
    if args.json:
        _print_json(as_json)
    else:
        # Problems go to stderr when the report goes to a file, so that logs show them.
        stream = sys.stderr if args.output else sys.stdout
        for f, rep in reports.items():
            if rep.layout and rep.layout != "NXcanSAS" and rep.profile:
                print(f"{f}: {rep.layout}", file=stream)
            if rep.problems:
                print(f"{f}: INVALID", file=stream)
                for p in rep.problems:
                    print(f"  - {p}", file=stream)
            elif not args.output:
                print(f"{f}: valid")
            for note in rep.notes:
                print(f"  note: {note}", file=stream)
    n_bad = sum(1 for r in reports.values() if r.problems)
    if args.output:
        print(f"{args.output}: {len(reports) - n_bad} valid, {n_bad} invalid")
    return 1 if n_bad else 0
