# SPDX-License-Identifier: MIT
"""A shift by simulation: N small samples through the workflow, per-job overhead and memory.

One small measurement is simulated (Pilatus 300K, a few frames: ``halos simulate``), and a
sample sheet of N samples, each with its own buffer, points at its files. Then:

1. Job counts of a shift: ``snakemake -n`` with the slurm profile on a generated sheet of
   ``--count-samples`` samples (300) plus ``--count-sec`` SEC runs (10): workflow steps and
   SLURM submissions (grouped steps are one submission; local rules none).
2. The N samples run locally (``--cores``; Snakemake's local executor), every ``halos``
   command of every job through a wrapper that records its wall time and peak RSS. The
   per-job overhead is the run's wall time x cores less the jobs' own time, per job.
   On SLURM: wall time less the jobs' own time, per submission.
3. With ``--slurm`` (a SLURM answering ``sinfo``, e.g. the one ``tests/cluster/slurm_local.sh``
   starts: ``SLURM_LOCAL_THEN='... bench_shift.py --slurm' tests/cluster/slurm_local.sh``)
   the same samples go through the slurm profile as well.

Usage::

    python benchmarks/bench_shift.py [--samples 20] [--full] [--slurm] [--json]

``--full`` runs 100 samples (about 10 min locally on 2 cores). Speed is this machine's, not
a claim: 2 cores shared with other jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HALOS = [sys.executable, "-m", "halos_analysis"]
SNAKEFILE = ROOT / "workflow" / "Snakefile"
PROFILES = ROOT / "workflow" / "profiles"
HEADER = [
    "name", "type", "buffer", "frames", "poni", "mask", "side_table", "scale",
    "concentration_mg_ml", "description", "profile", "compare_group",
]  # fmt: skip

# Every `halos` a job starts goes through this: wall time and peak RSS, one line per call.
WRAPPER = """#!/bin/sh
exec /usr/bin/time -a -o "{log}" -f "%e %M $1" "{python}" -m halos_analysis "$@"
"""


def simulate(work: Path, frames: int) -> Path:
    out = work / "sim"
    subprocess.run(
        HALOS + ["simulate", str(out), "--frames", str(frames), "--seed", "5",
                 "--damaged-frames", "0", "--detectors", "pilatus300k"],
        check=True, capture_output=True,
    )  # fmt: skip
    return out


def write_sheet(work: Path, sim: Path, n_samples: int, n_sec: int) -> Path:
    """A sheet of n samples (each with its own buffer) and n SEC runs on the simulated files."""
    poni = next(sim.glob("*.poni"))
    mask = next(sim.glob("*_mask.npy"), "")
    det = poni.stem
    sample = f"{sim}/{det}/bsa/*.cbf"
    buffer = f"{sim}/{det}/buffer/*.cbf"
    rows = []
    for i in range(n_samples):
        rows.append([f"buf{i:03d}", "buffer", "", buffer, poni, mask, "", "", "", "", "", ""])
        rows.append([f"s{i:03d}", "sample", f"buf{i:03d}", sample, poni, mask, "", "", "5.0",
                     "", "", ""])  # fmt: skip
    for i in range(n_sec):
        rows.append([f"sec{i:02d}", "sec", "", sample, poni, mask, "", "", "", "", "", ""])
    (work / "config").mkdir(parents=True, exist_ok=True)
    sheet = work / "config" / "samples.tsv"
    sheet.write_text("\n".join("\t".join(map(str, r)) for r in [HEADER, *rows]) + "\n")
    text = (ROOT / "config" / "config.yaml").read_text()
    text = re.sub(r"(?m)^  absolute_scale: true", "  absolute_scale: false", text)
    (work / "config" / "config.yaml").write_text(text)
    return sheet


def count_jobs(work: Path) -> dict[str, object]:
    """Steps and SLURM submissions of the sheet in ``work`` (``snakemake -n``, slurm profile)."""
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "-n",
         "--workflow-profile", str(PROFILES / "slurm"), "--directory", str(work)],
        capture_output=True, text=True,
    )  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"snakemake -n failed: {run.stderr[-2000:]}")
    text = run.stdout + run.stderr
    stats = {}
    block = text.split("Job stats:")[1].split("\n\n")[0]
    for line in block.splitlines()[3:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    groups = defaultdict(int)
    for g in re.findall(r"Group job (\w+) \(jobs in", text):
        groups[g] += 1
    grouped_rules = {"validate_raw", "integrate", "reduce", "subtract", "analyse",
                     "export_sample", "plot_sample"}  # fmt: skip
    local_rules = {"all", "summarise", "plot_overview", "write_report", "compare", "checkout_all"}
    ungrouped = sum(
        n for r, n in stats.items() if r not in grouped_rules | local_rules | {"total"}
    )
    return {
        "steps": stats,
        "group_jobs": dict(groups),
        "slurm_submissions": sum(groups.values()) + ungrouped,
        "local_jobs": sum(n for r, n in stats.items() if r in local_rules),
    }


def run_workflow(work: Path, args: list[str], label: str) -> dict[str, object]:
    """Run the workflow in ``work`` with ``halos`` wrapped; wall time, per-job figures."""
    bindir = work / f"bin-{label}"
    bindir.mkdir()
    calls = work / f"calls-{label}.txt"
    wrapper = bindir / "halos"
    wrapper.write_text(WRAPPER.format(log=calls, python=sys.executable))
    wrapper.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")
    shutil.rmtree(work / "results", ignore_errors=True)
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
         "--directory", str(work), *args],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    (work / f"{label}.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"{label} run failed; see {work / f'{label}.log'}")
    per_step: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for line in calls.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[\d.]+", parts[0]):
            step = parts[2] if len(parts) > 2 else "?"
            step = parts[3] if step.startswith("--") and len(parts) > 3 else step
            per_step[step].append((float(parts[0]), int(parts[1]) / 1024))
    n_jobs = sum(len(v) for v in per_step.values())
    job_s = sum(t for v in per_step.values() for t, _ in v)
    return {
        "wall_s": round(wall, 1),
        "jobs": n_jobs,
        "job_time_s": round(job_s, 1),
        "submissions": len(re.findall(r"submitted with SLURM jobid", run.stdout + run.stderr)),
        "steps": {
            k: {
                "jobs": len(v),
                "median_s": round(statistics.median(t for t, _ in v), 2),
                "peak_rss_mb": round(max(m for _, m in v)),
                "median_rss_mb": round(statistics.median(m for _, m in v)),
            }
            for k, v in sorted(per_step.items())
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20, help="samples run (each + its buffer)")
    p.add_argument("--full", action="store_true", help="100 samples")
    p.add_argument("--frames", type=int, default=5, help="frames per measurement")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--count-samples", type=int, default=300)
    p.add_argument("--count-sec", type=int, default=10)
    p.add_argument("--slurm", action="store_true", help="also on the SLURM sinfo answers")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    n = 100 if args.full else args.samples
    work = Path(tempfile.mkdtemp(prefix="halos-shift."))
    out: dict[str, object] = {"samples": n, "frames": args.frames, "cores": args.cores}
    try:
        sim = simulate(work, args.frames)
        count_dir = work / "count"
        write_sheet(count_dir, sim, args.count_samples, args.count_sec)
        out["shift_plan"] = {
            "samples": args.count_samples, "sec_runs": args.count_sec, **count_jobs(count_dir)
        }  # fmt: skip
        local_dir = work / "local"
        write_sheet(local_dir, sim, n, 0)
        local = run_workflow(local_dir, ["--cores", str(args.cores)], "local")
        local["overhead_s_per_job"] = round(
            (local["wall_s"] * args.cores - local["job_time_s"]) / max(local["jobs"], 1), 2
        )
        out["local"] = local
        if args.slurm:
            sinfo = shutil.which("sinfo")
            if not sinfo or subprocess.run([sinfo], capture_output=True).returncode:
                out["slurm"] = "no SLURM answers sinfo here"
            else:
                cpus = os.cpu_count() or 1
                slurm = run_workflow(
                    local_dir,
                    ["--workflow-profile", str(PROFILES / "slurm"),
                     "--slurm-status-command", "squeue", "--set-threads", f"integrate={cpus}",
                     "--slurm-init-seconds-before-status-checks", "2",
                     "--seconds-between-status-checks", "2"],
                    "slurm",
                )  # fmt: skip
                # Wall time not spent in a halos command, per submission: submission, queue,
                # the job's own Snakemake, status polls. (On one small node the submissions
                # run about one at a time: an integration group holds all its CPUs.)
                slurm["overhead_s_per_submission"] = round(
                    (slurm["wall_s"] - slurm["job_time_s"]) / max(slurm["submissions"], 1), 2
                )
                out["slurm"] = slurm
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    plan = out["shift_plan"]
    print(f"Shift plan ({plan['samples']} samples + buffers, {plan['sec_runs']} SEC runs):")
    print(f"  steps: {plan['steps'].get('total')}  ({', '.join(f'{k} {v}' for k, v in plan['steps'].items() if k != 'total')})")  # noqa: E501
    print(f"  SLURM submissions: {plan['slurm_submissions']} (groups {plan['group_jobs']}), "
          f"local jobs: {plan['local_jobs']}")  # fmt: skip
    for label in ("local", "slurm"):
        r = out.get(label)
        if r is None:
            continue
        if isinstance(r, str):
            print(f"{label}: {r}")
            continue
        extra = (f"overhead {r['overhead_s_per_job']} s/job" if label == "local"
                 else f"{r['submissions']} submissions, overhead "
                      f"{r['overhead_s_per_submission']} s/submission")  # fmt: skip
        print(f"{label}: {n} samples, {r['jobs']} jobs in {r['wall_s']} s "
              f"(jobs' own time {r['job_time_s']} s; {extra})")  # fmt: skip
        for step, s in r["steps"].items():
            print(f"  {step:14s} {s['jobs']:4d} jobs  median {s['median_s']:6.2f} s  RSS "
                  f"median {s['median_rss_mb']:5d} MB, peak {s['peak_rss_mb']:5d} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
