# SPDX-License-Identifier: MIT
"""``halos export``: NXcanSAS, plots, summary and provenance of one sample.

``--parts data`` writes what the run summary needs (NXcanSAS, P(r) table, ``summary.json``,
``provenance.json``), ``--parts figures`` the plots, ``--parts all`` (the default) both: the
workflow runs the two as jobs of their own, so that a sample's row comes before its figures.
In the workflow the config, the sample's sheet records and the command come from the run
manifest (``--manifest``) and the raw inputs with their SHA-256 from the frames files'
records (``--frames-files``): no config file is read again and no glob re-expanded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.export.parts import PLOT_KINDS, SAMPLE_PARTS

HELP = "NXcanSAS, plots, summary and provenance of a sample"


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    p.add_argument(
        "--parts",
        choices=(*SAMPLE_PARTS, "all"),
        default="all",
        help="data (NXcanSAS, P(r) table, summary.json, provenance.json), figures (plots), "
        "or all (default)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("-o", "--output", dest="outdir", help="the sample's results folder")
    add_deprecated_alias(where, "--outdir", "--output", "outdir")


def _parts(args: argparse.Namespace) -> tuple[str, ...]:
    return SAMPLE_PARTS if args.parts == "all" else (args.parts,)


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    out = Path(args.outdir)
    parts = _parts(args)
    files: list[str | Path | None] = []
    if "data" in parts:
        files += [
            out / "summary.json",
            out / "provenance.json",
            out / f"{args.sample}.h5" if args.sample else None,
        ]
    if "figures" in parts and args.sample:
        plots = out / "plots"
        files += [plots / f"{args.sample}_{k}.{x}" for k in PLOT_KINDS for x in ("png", "svg")]
    return files


def _record(args: argparse.Namespace, sample: str) -> tuple[dict, dict, dict]:
    """The sample's provenance, the effective config and its sheet record: from the run
    manifest in the workflow, else from the files given."""
    from halos_analysis.export.provenance import build_provenance, sample_provenance

    if args.manifest:
        from halos_analysis.app.manifest import read_manifest

        manifest = read_manifest(args.manifest)
        frames_files = args.frames_files or ([args.frames] if args.frames else [])
        provenance = sample_provenance(manifest, sample, frames_files)
        return provenance, manifest.config, provenance["sample_info"]
    inputs = [args.analysis, args.sample_avg, args.buffer_avg, args.similarity, args.frames]
    provenance = build_provenance(inputs=[f for f in inputs if f], extra={"sample": sample})
    return provenance, {}, {}


def run(args: argparse.Namespace) -> int:
    from halos_analysis.analysis.pipeline import SampleAnalysis, instrument_from_meta
    from halos_analysis.export.bundle import export_sample
    from halos_analysis.io.nxcansas import read_frames
    from halos_analysis.types import SimilarityResult

    analysis = SampleAnalysis.from_dict(json.loads(Path(args.analysis).read_text()))
    sample = args.sample or analysis.curve.name
    parts = _parts(args)
    provenance, config, info, instrument = None, {}, {}, None
    if "data" in parts:  # the figures need neither the run's record nor the instrument
        provenance, config, info = _record(args, sample)
        if args.frames:
            instrument = instrument_from_meta(read_frames(args.frames).meta)
    similarity, frame_ids = None, None
    if args.similarity:
        d = json.loads(Path(args.similarity).read_text())
        frame_ids = d.get("frame_ids")
        similarity = SimilarityResult.from_dict(d)
    written = export_sample(
        args.outdir,
        analysis,
        sample=sample,
        sample_avg=_common.read(args.sample_avg, None, analyse=False) if args.sample_avg else None,
        buffer_avg=_common.read(args.buffer_avg, None, analyse=False) if args.buffer_avg else None,
        similarity=similarity,
        frame_ids=frame_ids,
        instrument=instrument,
        sample_info={k: v for k, v in info.items() if k != "measurements"},
        provenance=provenance,
        parameters=config,
        parts=parts,
    )
    print(f"{args.outdir}: {len(written)} files for {sample} ({', '.join(parts)})")
    return 0
