# SPDX-License-Identifier: MIT
"""A small workflow for tests that run it many times: one Pilatus 300K, a sample and its
buffer of 5 frames each, 300 q bins (a run takes about 20 s on 2 cores).

``make_small_example(workdir)`` simulates the frames into ``workdir/example_data/generated``
and writes ``config/config.yaml`` and ``config/samples.tsv`` as a project has them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HALOS = [sys.executable, "-m", "halos_analysis"]
DATA = "example_data/generated"
CONFIG = (
    "samples: config/samples.tsv\nresults: results\n"
    "integration:\n  npt: 300\n  absolute_scale: false\n"
)
HEADER = "name\ttype\tbuffer\tframes\tponi\tmask\n"


def row(name: str, kind: str, buffer: str, frames: str, poni: str | None = None,
        mask: str | None = None) -> str:  # fmt: skip
    """One sheet line (tab-separated) for the simulated Pilatus 300K."""
    poni = poni if poni is not None else f"{DATA}/pilatus300k.poni"
    mask = mask if mask is not None else f"{DATA}/pilatus300k_mask.npy"
    return "\t".join([name, kind, buffer, frames, poni, mask]) + "\n"


GOOD_ROWS = (
    row("bsa", "sample", "buffer", f"{DATA}/pilatus300k/bsa/*.cbf")
    + row("buffer", "buffer", "", f"{DATA}/pilatus300k/buffer/*.cbf")
)


def make_small_example(workdir: Path, extra_rows: str = "", seed: int = 3) -> Path:
    """Simulate the frames and write the config and the sheet (``GOOD_ROWS`` + extra)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / DATA / "truth.json").is_file():
        run = subprocess.run(
            HALOS + ["simulate", str(workdir / DATA), "--detectors", "pilatus300k",
                     "--frames", "5", "--damaged-frames", "1", "--seed", str(seed)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    (workdir / "config" / "samples.tsv").write_text(HEADER + GOOD_ROWS + extra_rows)
    return workdir


def run_workflow(workdir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """``halos run --cores 2 --directory WORKDIR ARGS`` (output captured)."""
    return subprocess.run(
        HALOS + ["run", "--cores", "2", "--directory", str(workdir), *args],
        capture_output=True, text=True, **kwargs,
    )  # fmt: skip
