# SPDX-License-Identifier: MIT
"""``halos integrate``: azimuthal integration of frames to an NXcanSAS frame file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.errors import HalosInputError
from halos_analysis.settings import INTEGRATION

HELP = "azimuthal integration, one curve per frame -> NXcanSAS"

#: Integration settings and the flags that set them: the library's errors name the setting,
#: the command line names its flag.
_SETTING_FLAGS = {
    "npt": "--npt",
    "unit": "--q-unit",
    "method": "--method",
    "polarization_factor": "--polarization",
    "scale": "--scale",
    "batch_size": "--batch-size",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", help="frame files, a master file, or FILE.h5::/dataset")
    p.add_argument("--frames-from", help="read the frame files from this list (JSON or lines)")
    p.add_argument("--poni", required=True, help="pyFAI PONI geometry file")
    p.add_argument("--mask", help="mask file (.npy/.edf/.tif/.h5), non-zero = masked")
    p.add_argument("--npt", type=int, default=INTEGRATION.npt, help="number of q bins")
    p.add_argument(
        "--q-unit", default=INTEGRATION.unit.removeprefix("q_"), choices=_common.Q_UNITS,
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
        default=_common.none_or(INTEGRATION.polarization_factor),
        type=_common.float_or_none,
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


#: Modules :func:`run` imports (imported up front by the entry point: see
#: :func:`halos_analysis.app.cli.preload`).
PRELOAD = (
    "halos_analysis.analysis.pipeline",
    "halos_analysis.integrate",
    "halos_analysis.io.nxcansas",
)


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output]


def run(args: argparse.Namespace) -> int:
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
    write_frames(args.output, frames, metadata=instrument_from_meta(frames.meta), provenance=record)
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
