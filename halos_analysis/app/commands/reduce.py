# SPDX-License-Identifier: MIT
"""``halos reduce``: CorMap frame selection and averaging of an NXcanSAS frame file."""

from __future__ import annotations

import argparse
from pathlib import Path

from halos_analysis.app.commands import _common
from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.settings import SELECTION

HELP = "select consistent frames (CorMap) and average them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("frames", help="NXcanSAS frames file from `halos integrate`")
    p.add_argument("--alpha", type=float, default=SELECTION.alpha)
    p.add_argument("--correction", default=SELECTION.correction, choices=_common.CORRECTIONS)
    p.add_argument(
        "--frame-reference", dest="reference", default=SELECTION.reference,
        choices=["first", "all"],
        help="compare each frame with the first, or every pair of frames",
    )  # fmt: skip
    add_deprecated_alias(p, "--reference", "--frame-reference", "reference",
                         choices=["first", "all"])  # fmt: skip
    p.add_argument("--similarity", help="write the similarity test as JSON here")
    p.add_argument("-o", "--output", required=True, help="averaged curve (.dat)")


def outputs(args: argparse.Namespace) -> list[str | Path | None]:
    return [args.output, args.similarity]


def run(args: argparse.Namespace) -> int:
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
        _common.atomic_json(d, args.similarity)
    write_dat(reduced.average, args.output, header)
    print(f"{args.output}: {sim}")
    return 0
