# SPDX-License-Identifier: MIT
"""Load: many small samples through the workflow, and a long Eiger stream through
``halos integrate``; wall time and peak memory (not part of the tests).

``samples``: one simulated Pilatus 300K measurement (sample and buffer, 5 frames each) is
given to N sample rows (each its own folder of links to the frames, all with the one buffer)
and the whole workflow runs with ``halos run --cores 2``. Reported: wall time, jobs, the
peak resident memory of the Snakemake process (its DAG grows with N) and of the whole
process tree (sampled every 0.2 s from /proc), and the largest single job (``wait4``).

``stream``: a DECTRIS master of N Eiger2 4M frames (bitshuffle-LZ4, data files of 1000; 16
distinct Poisson frames cycled, so writing is quick) integrated by ``halos integrate`` as a
child process, at N/10 and N frames: memory is flat when the peak RSS does not grow with N.

Usage::

    python benchmarks/bench_soak.py samples --n 500 [--dir DIR] [--json]
    python benchmarks/bench_soak.py stream --frames 5000 [--dir DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HALOS = [sys.executable, "-m", "halos_analysis"]
log = logging.getLogger("bench_soak")


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def run_sampled(cmd: list[str], cwd: Path | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall time, peak RSS of the process and of its whole tree, largest child."""
    t0 = time.perf_counter()
    peak = {"main_kb": 0, "tree_kb": 0}
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree = _tree(proc.pid)
                peak["main_kb"] = max(peak["main_kb"], max((_rss_kb(p) for p in tree[1:2]),
                                                           default=0))  # fmt: skip
                peak["tree_kb"] = max(peak["tree_kb"], sum(_rss_kb(p) for p in tree))
                done.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        th.join()
        out.seek(0)
        text = out.read()
    return {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall_s": time.perf_counter() - t0,
        "peak_rss_snakemake_mb": peak["main_kb"] / 1024,
        "peak_rss_tree_mb": peak["tree_kb"] / 1024,
        "peak_rss_largest_process_mb": usage.ru_maxrss / 1024,
        "output": text,
    }


def soak_samples(n: int, workdir: Path) -> dict[str, Any]:
    data = workdir / "example_data" / "generated"
    if not (data / "truth.json").is_file():
        subprocess.run(HALOS + ["simulate", str(data), "--detectors", "pilatus300k",
                                "--frames", "5", "--damaged-frames", "1", "--seed", "3"],
                       check=True, capture_output=True)  # fmt: skip
    frames = sorted((data / "pilatus300k" / "bsa").glob("*.cbf"))
    rows = ["name\ttype\tbuffer\tframes\tponi\tmask"]
    geo = "example_data/generated/pilatus300k.poni\texample_data/generated/pilatus300k_mask.npy"
    rows.append(f"buffer\tbuffer\t\texample_data/generated/pilatus300k/buffer/*.cbf\t{geo}")
    for i in range(n):
        folder = workdir / "samples" / f"s{i:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for f in frames:
            link = folder / f.name
            if not link.exists():
                link.symlink_to(f)
        rows.append(f"s{i:04d}\tsample\tbuffer\tsamples/s{i:04d}/*.cbf\t{geo}")
    (workdir / "config").mkdir(exist_ok=True)
    (workdir / "config" / "samples.tsv").write_text("\n".join(rows) + "\n")
    (workdir / "config" / "config.yaml").write_text(
        "samples: config/samples.tsv\nresults: results\n"
        "integration:\n  npt: 300\n  absolute_scale: false\n"
    )
    shutil.rmtree(workdir / "results", ignore_errors=True)
    shutil.rmtree(workdir / ".snakemake", ignore_errors=True)
    res = run_sampled(HALOS + ["run", "--cores", "2", "--directory", str(workdir)])
    out = res.pop("output")
    if res["returncode"] != 0:
        raise SystemExit(out[-3000:])
    res["jobs"] = out.count("jobid:")
    res["samples"] = n
    done = sum((workdir / "results" / f"s{i:04d}" / "summary.json").is_file() for i in range(n))
    res["samples_with_summary"] = done
    res["s_per_sample"] = res["wall_s"] / n
    return res


def write_stream(outdir: Path, n: int) -> tuple[Path, Path, Path, Path]:
    """Masters of n/10 and n Eiger2 4M frames (the first over the first data file)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from eiger_stream import eiger_bsa

    eiger = eiger_bsa(outdir)
    rng = np.random.default_rng(5)
    pool = [eiger.counts(eiger.model.sample, rng) for _ in range(16)]

    def cycled(first: int, m: int):
        return (pool[k % len(pool)] for k in range(first, first + m))

    files = eiger.write_data(outdir, "stream", n, cycled, reuse=True)
    short = eiger.write_master(outdir, "short", files[: max(1, len(files) // 10)], "stream")
    long = eiger.write_master(outdir, "long", files, "stream")
    return short, long, eiger.poni, eiger.mask


def soak_stream(n: int, workdir: Path) -> dict[str, Any]:
    short, long, poni, mask = write_stream(workdir, n)
    out: dict[str, Any] = {}
    for tag, master in (("short", short), ("long", long)):
        target = workdir / f"{tag}_frames.h5"
        target.unlink(missing_ok=True)
        cmd = HALOS + ["integrate", str(master), "--poni", str(poni), "--mask", str(mask),
                       "--cache-dir", str(workdir), "-o", str(target)]  # fmt: skip
        res = run_sampled(cmd)
        text = res.pop("output")
        if res["returncode"] != 0:
            raise SystemExit(text[-3000:])
        res["frames"] = int(text.split(" frames,")[0].rsplit(" ", 1)[-1])
        res["fps"] = res["frames"] / res["wall_s"]
        out[tag] = res
    out["rss_ratio_long_to_short"] = (
        out["long"]["peak_rss_largest_process_mb"] / out["short"]["peak_rss_largest_process_mb"]
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("samples")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--dir", type=Path)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("stream")
    p.add_argument("--frames", type=int, default=5000)
    p.add_argument("--dir", type=Path)
    p.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tmp = None
    workdir = args.dir
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix=f"halos_soak_{args.what}_")
        workdir = Path(tmp)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.what == "samples":
            report = soak_samples(args.n, workdir)
        else:
            report = soak_stream(args.frames, workdir)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        log.info("%s", json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
