# SPDX-License-Identifier: MIT
"""A SEC-SAXS run of raw Eiger2 4M frames from bitshuffle-LZ4 HDF5, end to end, 2 cores.

Simulates a size-exclusion run on the example's Eiger2 4M (2068 × 2162 pixels): buffer
frames, one elution peak of the example's BSA (Gaussian in frame number, up to 5 mg/ml) on a
flat baseline, Poisson counts, written as a DECTRIS master with data files of 1000 frames
(the frames are drawn and written one by one, never held together). Then, each as a whole
process timed with its own peak resident memory (``os.wait4`` of the child):

1. ``halos integrate MASTER --poni eiger4m.poni --mask eiger4m_mask.npy -o frames.h5``
2. ``halos series frames.h5 -o OUT --json``

Usage::

    python benchmarks/bench_series_frames.py [--frames 3000] [--dir DIR] [--json]

The frames are written into ``DIR`` (default: a temporary folder, removed at the end; with
``--dir`` they are kept and reused by the next run). 3000 frames take ~3.5 GB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from eiger_stream import eiger_bsa  # noqa: E402


def simulate_run(outdir: Path, n: int, seed: int = 5) -> Path:
    """Write the SEC run (master + data files) and the geometry; returns the master path."""
    master = outdir / "sec_master.h5"
    if master.is_file() and (outdir / "n_frames").read_text().strip() == str(n):
        return master
    eiger = eiger_bsa(outdir)
    frames = np.arange(n)
    conc = np.exp(-0.5 * ((frames - 0.55 * n) / (0.02 * n)) ** 2)
    signal = eiger.model.sample - eiger.model.buffer

    def draw(k: int) -> np.ndarray:
        rng = np.random.default_rng([seed, k])
        return eiger.counts(eiger.model.buffer + conc[k] * signal, rng)

    with ThreadPoolExecutor(2) as pool:
        files = eiger.write_data(
            outdir, "sec", n, lambda first, m: pool.map(draw, range(first, first + m))
        )
    eiger.write_master(outdir, "sec", files, "bsa_sec")
    (outdir / "n_frames").write_text(f"{n}\n")
    return master


def _timed(cmd: list[str]) -> dict[str, Any]:
    """Run a command; its wall time, CPU time and its own peak RSS (MB, from ``wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "stdout": stdout,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--dir", type=Path, help="keep (and reuse) the simulated frames here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tmp = None if args.dir else Path(tempfile.mkdtemp(prefix="halos_sec_"))
    work = args.dir or tmp
    halos = [sys.executable, "-m", "halos_analysis", "--overwrite"]
    try:
        t0 = time.perf_counter()
        master = simulate_run(work, args.frames)
        sim_s = time.perf_counter() - t0
        out = work / "out"
        integ = _timed(
            halos
            + ["integrate", str(master), "--poni", str(work / "eiger4m.poni")]
            + ["--mask", str(work / "eiger4m_mask.npy"), "-o", str(work / "frames.h5")]
        )
        series = _timed(halos + ["series", str(work / "frames.h5"), "-o", str(out), "--json"])
        result = json.loads(series.pop("stdout"))
        integ.pop("stdout")
        data_bytes = sum(p.stat().st_size for p in work.glob("sec_data_*.h5"))
        report = {
            "frames": args.frames,
            "detector": "Eiger2 4M 2068x2162, bitshuffle-LZ4",
            "data_gb": data_bytes / 1e9,
            "simulate_s": sim_s,
            "integrate": integ | {"fps": args.frames / integ["wall_s"]},
            "series": series,
            "end_to_end_s": integ["wall_s"] + series["wall_s"],
            "peak_rss_mb": max(integ["peak_rss_mb"], series["peak_rss_mb"]),
            "buffer_range": result.get("buffer_range"),
            "sample_range": result.get("sample_range"),
            "n_components": result.get("n_components"),
            "components": [
                {k: c.get(k) for k in ("range", "Rg", "I0", "Dmax", "mw_vc_kda")}
                for c in result.get("components", [])
            ],
        }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(
            f"{report['frames']} frames ({report['data_gb']:.2f} GB): integrate "
            f"{integ['wall_s']:.1f} s ({report['integrate']['fps']:.0f} fps, peak RSS "
            f"{integ['peak_rss_mb']:.0f} MB), series {series['wall_s']:.1f} s (peak RSS "
            f"{series['peak_rss_mb']:.0f} MB); end to end {report['end_to_end_s']:.1f} s"
        )
        print(
            f"buffer {report['buffer_range']}, sample {report['sample_range']}, "
            f"components {report['components']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
