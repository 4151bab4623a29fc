# SPDX-License-Identifier: MIT
"""Live-mode latency: from the last frame of a 20-frame Eiger2 4M sample to its summary row.

A ``halos watch`` runs on an empty folder with the example's sheet (Eiger2 4M rows only).
The buffer's files are written first and processed; then the sample's data file and master
file are written, and from the moment the last byte is on disk the benchmark times:

* *noticed*: the watch starts the workflow run for it (its sheet of complete measurements,
  ``results/.halos/live/samples.tsv``, is written then);
* *row*: its row is in ``results/summary.json`` (the file's modification time);
* *report*: ``results/report.html`` shows it;
* *said*: the watch says the sample's result (Rg, doubts), as soon as its row is there;
* *status*: the watch's status line says the sample is done (the run has ended).

Where the time went: each step's own time from the warm worker's log (ms resolution) or,
without the worker, from the workflow's log (job start and end, 1 s resolution); Snakemake's
start and DAG is the time from *noticed* to its first job's start (1 s resolution).

Usage::

    python benchmarks/bench_live.py [--repeats 3] [--json] [--no-worker]
        [--compare OTHER_PYTHON]

``--no-worker`` runs the watch without its warm worker (``HALOS_WATCH_WORKER=0``);
``--compare`` (repeatable) alternates rounds of this installation with rounds of another
one (say a checkout of an older version: its ``.venv/bin/python``), on the same files, so
that a before/after comparison sees the same load. It simulates the example (``halos simulate``,
~15 s) into a temporary folder first.
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
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _job_times(log: str) -> tuple[dict[str, float], datetime | None]:
    """Seconds per rule of the last workflow run in a Snakemake log (1 s resolution), and
    when its first job started."""
    run = log.split("Building DAG of jobs...")[-1]
    events = re.findall(
        r"\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]\n(?:localrule|rule) (\w+):|"
        r"\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]\nFinished jobid: \d+ \(Rule: (\w+)\)",
        run,
    )
    start, out, first = {}, {}, None
    for s_time, s_rule, f_time, f_rule in events:
        if s_rule:
            start[s_rule] = datetime.strptime(s_time, "%a %b %d %H:%M:%S %Y")
            first = first or start[s_rule]
        elif f_rule in start:
            t = datetime.strptime(f_time, "%a %b %d %H:%M:%S %Y")
            out[f_rule] = (t - start[f_rule]).total_seconds()
    return out, first


_SERVED = re.compile(r"served ([\w:]+) .*?: \{'exit': 0\} in ([\d.]+) s")


def _served_times(log: str) -> dict[str, float]:
    """Seconds per step the warm worker served (the same step twice: the sum)."""
    out: dict[str, float] = {}
    for step, seconds in _SERVED.findall(log):
        out[step] = out.get(step, 0.0) + float(seconds)
    return out


def _row_written(path: Path, sample: str, after: float) -> float | None:
    """Modification time of ``path`` once it is newer than ``after`` and names ``sample``."""
    try:
        mtime = path.stat().st_mtime
        if mtime < after:
            return None
        text = path.read_text()
    except OSError:
        return None
    if path.suffix == ".json":
        try:
            rows = json.loads(text)["samples"]
        except (ValueError, KeyError):
            return None
        return mtime if any(r.get("sample") == sample for r in rows) else None
    return mtime if sample in text else None


def one_round(stage: Path, work: Path, python: str, worker: bool = True) -> dict:
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
    env = dict(os.environ)
    if not worker:
        env["HALOS_WATCH_WORKER"] = "0"
    proc = subprocess.Popen(
        [python, "-m", "halos_analysis", "watch", "--configfile", "config.yaml"]
        + ["--interval", "0.5"],
        cwd=work,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: [lines.append((time.time(), ln)) for ln in proc.stderr],
        daemon=True,
    )
    reader.start()

    def wait_for(text: str, timeout: float = 300) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, ln in list(lines):
                if text in ln:
                    return t
            time.sleep(0.02)
        raise SystemExit(f"no '{text}' from the watch:\n{''.join(ln for _, ln in lines)}")

    results = work / "results"
    live = results / ".halos" / "live"
    sample = "bsa_eiger"
    try:
        src = stage / "eiger4m"
        for f in ("buffer_data_000001.h5", "buffer_master.h5"):
            shutil.copy(src / f, work / "data" / f)
        wait_for("samples done 0")  # the buffer, integrated and averaged ahead
        time.sleep(1.0)
        worker_log = live / "worker.log"
        before = worker_log.read_text() if worker_log.is_file() else ""
        shutil.copy(src / "bsa_data_000001.h5", work / "data" / "bsa_data_000001.h5")
        shutil.copy(src / "bsa_master.h5", work / "data" / "bsa_master.h5")
        written = time.time()
        t_row = t_report = t_noticed = None
        deadline = time.monotonic() + 300
        while (t_row is None or t_report is None) and time.monotonic() < deadline:
            t_noticed = t_noticed or _row_written(live / "samples.tsv", sample, written)
            t_row = t_row or _row_written(results / "summary.json", sample, written)
            t_report = t_report or _row_written(results / "report.html", sample, written)
            time.sleep(0.02)
        done = wait_for("samples done 1")
        said = next((t for t, ln in lines if "in the run summary" in ln and sample in ln), None)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    log = (live / "snakemake.log").read_text()
    jobs, first_job = _job_times(log)
    served = {}
    if worker_log.is_file():
        served = _served_times(worker_log.read_text()[len(before) :])
    row = next(s for s in json.loads((results / "summary.json").read_text())["samples"]
               if s["sample"] == sample)  # fmt: skip
    start_dag = None
    if first_job is not None and t_noticed is not None:
        start_dag = max(0.0, first_job.timestamp() - int(t_noticed))  # 1 s resolution
    return {
        "latency_s": t_row - written,
        "report_s": t_report - written,
        "noticed_s": t_noticed - written,
        "status_s": done - written,
        "said_s": None if said is None else said - written,
        "snakemake_start_dag_s": start_dag,
        "jobs_s": jobs,
        "served_s": served,
        "rg": row["guinier_rg"],
    }


def _median(rounds: list[dict], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(rounds: list[dict]) -> dict:
    rules = sorted({k for r in rounds for k in r["jobs_s"]})
    steps = sorted({k for r in rounds for k in r["served_s"]})
    return {
        "latency_median_s": _median(rounds, "latency_s"),
        "latency_s": [r["latency_s"] for r in rounds],
        "report_median_s": _median(rounds, "report_s"),
        "noticed_median_s": _median(rounds, "noticed_s"),
        "status_median_s": _median(rounds, "status_s"),
        "said_median_s": _median(rounds, "said_s"),
        "snakemake_start_dag_median_s": _median(rounds, "snakemake_start_dag_s"),
        "jobs_median_s": {
            k: statistics.median(r["jobs_s"].get(k, 0) for r in rounds) for k in rules
        },
        "served_median_s": {
            k: statistics.median(r["served_s"].get(k, 0) for r in rounds) for k in steps
        },
        "rg_nm": [r["rg"] for r in rounds],
    }


def _s(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.1f} s"


def _text(name: str, rep: dict) -> str:
    lines = [
        f"{name}: last frame of a 20-frame Eiger2 4M sample -> its summary row: median "
        f"{rep['latency_median_s']:.1f} s over {len(rep['latency_s'])} rounds "
        f"({', '.join(f'{x:.1f}' for x in rep['latency_s'])}); report.html "
        f"{rep['report_median_s']:.1f} s; noticed {rep['noticed_median_s']:.1f} s; result "
        f"said {_s(rep['said_median_s'])}; status line {rep['status_median_s']:.1f} s; "
        "Snakemake start + DAG "
        f"{rep['snakemake_start_dag_median_s'] or 0:.0f} s (1 s resolution)",
        "  workflow jobs (median s, 1 s resolution): "
        + ", ".join(f"{k} {v:.0f}" for k, v in rep["jobs_median_s"].items()),
    ]
    if rep["served_median_s"]:
        lines.append(
            "  steps in the warm worker (median s): "
            + ", ".join(f"{k} {v:.2f}" for k, v in rep["served_median_s"].items())
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-worker", action="store_true", help="the watch without its worker")
    ap.add_argument(
        "--compare",
        metavar="PYTHON",
        action="append",
        default=[],
        help="alternate rounds with this other installation (may be repeated)",
    )
    args = ap.parse_args(argv)
    variants = {"this": (sys.executable, not args.no_worker)}
    for python in args.compare:
        variants[python] = (python, True)
    tmp = Path(tempfile.mkdtemp(prefix="halos_live_"))
    load = [os.getloadavg()]
    try:
        stage = tmp / "stage"
        sim = subprocess.run(
            [sys.executable, "-m", "halos_analysis", "simulate", str(stage)]
            + ["--detectors", "eiger4m"],
            capture_output=True,
            text=True,
        )
        if sim.returncode != 0:
            raise SystemExit(sim.stderr)
        rounds: dict[str, list[dict]] = {k: [] for k in variants}
        for _ in range(args.repeats):
            for name, (python, worker) in variants.items():
                work = tmp / f"live{len(rounds[name])}_{list(variants).index(name)}"
                rounds[name].append(one_round(stage, work, python, worker))
                load.append(os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = {name: summarise(r) for name, r in rounds.items()}
    report["load_average_1min"] = [round(x[0], 2) for x in load]
    if args.json:
        print(json.dumps(report if args.compare else {**report["this"], "load": load}, indent=1))
    else:
        for name in variants:
            print(_text(name, report[name]))
        print(f"load average (1 min) during the rounds: {report['load_average_1min']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
