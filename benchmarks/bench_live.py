# SPDX-License-Identifier: MIT
"""Live-mode latency: from the last frame of a 20-frame Eiger2 4M sample to its summary row.

A ``halos watch`` runs on an empty folder with the example's sheet (Eiger2 4M rows only).
The buffer's files are written first and processed; then the sample's data file and master
file are written, and the time from the moment the last byte is on disk to the moment its
row is in ``results/summary.json`` is the latency (the watch's own status line says when).
Where the time went comes from the workflow's log (job start and end, 1 s resolution) and
the watch's polling.

Usage::

    python benchmarks/bench_live.py [--repeats 3] [--json]

It simulates the example (``halos simulate``, ~15 s) into a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HALOS = [sys.executable, "-m", "halos_analysis"]


def _job_times(log: str) -> dict[str, float]:
    """Seconds per rule of the last workflow run in a Snakemake log (1 s resolution)."""
    run = log.split("Building DAG of jobs...")[-1]
    events = re.findall(
        r"\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]\n(?:localrule|rule) (\w+):|"
        r"\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]\nFinished jobid: \d+ \(Rule: (\w+)\)",
        run,
    )
    start, out = {}, {}
    for s_time, s_rule, f_time, f_rule in events:
        if s_rule:
            start[s_rule] = datetime.strptime(s_time, "%a %b %d %H:%M:%S %Y")
        elif f_rule in start:
            t = datetime.strptime(f_time, "%a %b %d %H:%M:%S %Y")
            out[f_rule] = (t - start[f_rule]).total_seconds()
    return out


def one_round(stage: Path, work: Path) -> dict:
    """One sample through a fresh watch; latency and where it went."""
    if work.exists():
        shutil.rmtree(work)
    (work / "data").mkdir(parents=True)
    rows = [r for r in (ROOT / "config" / "samples.tsv").read_text().splitlines()]
    header, body = rows[0], [r for r in rows[1:] if "eiger" in r.split("\t")[0]]
    fix = str(stage) + "/"
    body = [
        r.replace("example_data/generated/eiger4m/", "data/").replace(
            "example_data/generated/", fix
        )
        for r in body
    ]
    (work / "samples.tsv").write_text("\n".join([header, *body]) + "\n")
    config = (ROOT / "config" / "config.yaml").read_text()
    (work / "config.yaml").write_text(config.replace("config/samples.tsv", "samples.tsv"))
    proc = subprocess.Popen(
        HALOS + ["watch", "--configfile", "config.yaml", "--interval", "0.5"],
        cwd=work,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: [lines.append((time.monotonic(), ln)) for ln in proc.stderr],
        daemon=True,
    )
    reader.start()

    def wait_for(text: str, timeout: float = 300) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, ln in list(lines):
                if text in ln:
                    return t
            time.sleep(0.05)
        raise SystemExit(f"no '{text}' from the watch:\n{''.join(ln for _, ln in lines)}")

    try:
        src = stage / "eiger4m"
        for f in ("buffer_data_000001.h5", "buffer_master.h5"):
            shutil.copy(src / f, work / "data" / f)
        wait_for("samples done 0")  # the buffer, integrated and averaged ahead
        time.sleep(1.0)
        shutil.copy(src / "bsa_data_000001.h5", work / "data" / "bsa_data_000001.h5")
        shutil.copy(src / "bsa_master.h5", work / "data" / "bsa_master.h5")
        written = time.monotonic()
        done = wait_for("samples done 1")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    log = (work / "results" / ".halos" / "live" / "snakemake.log").read_text()
    jobs = _job_times(log)
    row = next(
        s
        for s in json.loads((work / "results" / "summary.json").read_text())["samples"]
        if s["sample"] == "bsa_eiger"
    )
    return {"latency_s": done - written, "jobs_s": jobs, "rg": row["guinier_rg"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="halos_live_"))
    try:
        stage = tmp / "stage"
        sim = subprocess.run(
            HALOS + ["simulate", str(stage), "--detectors", "eiger4m"],
            capture_output=True,
            text=True,
        )
        if sim.returncode != 0:
            raise SystemExit(sim.stderr)
        rounds = [one_round(stage, tmp / f"live{i}") for i in range(args.repeats)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lat = [r["latency_s"] for r in rounds]
    rules = sorted({k for r in rounds for k in r["jobs_s"]})
    report = {
        "latency_median_s": statistics.median(lat),
        "latency_s": lat,
        "jobs_median_s": {
            k: statistics.median(r["jobs_s"].get(k, 0) for r in rounds) for k in rules
        },
        "rg_nm": [r["rg"] for r in rounds],
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(
            f"latency, last frame of a 20-frame Eiger2 4M sample -> its summary row: median "
            f"{report['latency_median_s']:.1f} s over {len(lat)} rounds "
            f"({', '.join(f'{x:.1f}' for x in lat)})"
        )
        print(
            "workflow jobs (median s, 1 s resolution): "
            + ", ".join(f"{k} {v:.0f}" for k, v in report["jobs_median_s"].items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
