# SPDX-License-Identifier: MIT
"""A run killed with SIGKILL at any point and started again ends with the numbers of a run
that was never interrupted, bit for bit, and takes no half-written file as a result.

The small workflow (tests/small_workflow.py) is started with ``halos run`` in its own
process group and the whole group (Snakemake and every job) is killed once the results
folder holds k files, after a random delay (seeded), for a rising series of k; each time it
is started again, as a user would. The last start runs to the end. Every output file's
numbers (curves, JSON values, HDF5 datasets, CSV cells) are then compared with an
uninterrupted run of the same data; times, paths, hashes of paths and versions aside.

``make test`` kills it at 5 points; ``HALOS_KILL_POINTS=20`` (or more) for a longer test.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from small_workflow import HALOS, make_small_example, run_workflow

from halos_analysis.app.runner import run_lock

N_POINTS = int(os.environ.get("HALOS_KILL_POINTS", "5"))
#: Keys whose values differ between two runs of the same data (when, where, who, how long).
VOLATILE = re.compile(
    r"time|date|created|started|ended|duration|elapsed|seconds_wall|path|file|dir|source|"
    r"command|host|user|pid|version|uuid|@id|url|cwd|workdir|base|log|crate|python|platform",
    re.IGNORECASE,
)
COMPARED = (".dat", ".json", ".h5", ".csv")


def _progress(results: Path) -> int:
    """Files the run has made so far (logs and the copied workflow aside)."""
    if not results.is_dir():
        return 0
    return sum(1 for p in results.rglob("*") if p.is_file() and "logs" not in p.parts
               and "workflow" not in p.parts)  # fmt: skip


#: Settings of how the work is spread, which must change nothing else.
PARALLELISM = re.compile(r"(^|_)(batch_size|scheduler|cores|threads)$")


def _numbers_json(obj, key: str = ""):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not VOLATILE.search(str(k)) and not PARALLELISM.search(str(k)):
                out.update(_numbers_json(v, f"{key}/{k}"))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_numbers_json(v, f"{key}[{i}]"))
        return out
    if isinstance(obj, bool) or obj is None:
        return {key: obj}
    if isinstance(obj, (int, float)):
        return {key: float(obj).hex()}
    return {}


def _numbers(path: Path) -> object:
    """What of a file must be the same after a resume: its numbers, bit for bit."""
    if path.suffix == ".dat":
        rows = [ln.split() for ln in path.read_text().splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")]  # fmt: skip
        return np.asarray(rows, dtype=np.float64).tobytes()
    if path.suffix == ".json":
        return _numbers_json(json.loads(path.read_text()))
    if path.suffix == ".csv":
        with path.open() as fh:
            return [{k: v for k, v in r.items() if not VOLATILE.search(k)}
                    for r in csv.DictReader(fh)]  # fmt: skip
    out = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            last = name.rsplit("/", 1)[-1]
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iufb" and not (
                VOLATILE.search(last) or PARALLELISM.search(last)
            ):
                out[name] = np.asarray(obj[()]).tobytes()

        f.visititems(visit)
    return out


def _outputs(results: Path) -> dict[str, object]:
    return {
        str(p.relative_to(results)): _numbers(p)
        for p in sorted(results.rglob("*"))
        if p.suffix in COMPARED and p.is_file() and "logs" not in p.parts
        and ".snakemake" not in p.parts and "workflow" not in p.parts
    }  # fmt: skip


def _start(work: Path) -> subprocess.Popen:
    return subprocess.Popen(
        HALOS + ["run", "--cores", "2", "--directory", str(work)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _kill_at(work: Path, threshold: int, delay: float, timeout: float = 300) -> bool:
    """Start the run; SIGKILL its process group ``delay`` s after the results folder holds
    ``threshold`` files. True if it was killed, False if it finished first."""
    proc = _start(work)
    t0 = time.monotonic()
    while proc.poll() is None and _progress(work / "results") < threshold:
        time.sleep(0.02)
        assert time.monotonic() - t0 < timeout, "run did not progress"
    time.sleep(delay)
    if proc.poll() is not None:
        _, err = proc.communicate()
        # A start between two kills either finishes or is killed: it never fails.
        assert proc.returncode == 0, err[-3000:]
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    return True


@pytest.fixture(scope="module")
def reference(small_run) -> tuple[Path, dict]:
    return small_run, _outputs(small_run / "results")


@pytest.mark.slow
def test_killed_runs_resume_to_the_same_numbers(reference, tmp_path):
    ref_work, expected = reference
    work = tmp_path / "killed"
    shutil.copytree(ref_work / "example_data", work / "example_data")
    make_small_example(work)  # the same frames (copied), config and sheet
    total = _progress(ref_work / "results")
    rng = np.random.default_rng(14)
    thresholds = np.linspace(0, total - 2, N_POINTS).round().astype(int)
    killed = []
    for k in thresholds:
        if _kill_at(work, int(k), float(rng.uniform(0.0, 0.6))):
            killed.append((int(k), _progress(work / "results")))
    print("kill points (threshold, files present after the kill):", killed)
    assert len(killed) >= max(1, N_POINTS - 1), killed  # (the last may come after the end)
    final = run_workflow(work)
    assert final.returncode == 0, final.stderr[-3000:]
    got = _outputs(work / "results")
    assert set(got) == set(expected), set(got) ^ set(expected)
    differ = [name for name in expected if got[name] != expected[name]]
    print(f"{len(expected)} files compared, {sum(len(v) for v in expected.values())} entries")
    assert not differ, (differ, killed)
    assert not list((work / "results").rglob("*.part"))
    incomplete = work / ".snakemake" / "incomplete"
    assert not incomplete.is_dir() or not any(incomplete.iterdir())
    again = run_workflow(work, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_other_cores_batch_size_and_scheduler_give_the_same_numbers(reference, tmp_path):
    """The workflow on 1 core, 2-frame batches in worker processes: the same numbers."""
    ref_work, expected = reference
    work = tmp_path / "other"
    shutil.copytree(ref_work / "example_data", work / "example_data")
    make_small_example(work)
    run = subprocess.run(
        HALOS + ["run", "--cores", "1", "--directory", str(work), "--config",
                 "integration.batch_size=2", "integration.scheduler=processes"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = _outputs(work / "results")
    assert set(got) == set(expected)
    assert not [name for name in expected if got[name] != expected[name]]


def _stale(tmp_path, record: str) -> Path:
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    (tmp_path / ".snakemake" / "halos-run.lock").write_text(record)
    return locks


def test_the_locks_of_a_killed_run_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    locks = _stale(tmp_path, f"pid {dead.pid} snakemake {dead.pid}\n")
    with run_lock(tmp_path) as lock:
        assert [p.name for p in lock.removed] == ["0.input.lock"] and not any(locks.iterdir())
        assert (tmp_path / ".snakemake" / "halos-run.lock").read_text().startswith("pid ")
    assert (tmp_path / ".snakemake" / "halos-run.lock").read_text() == ""


def test_the_locks_of_a_running_snakemake_are_kept(tmp_path):
    locks = _stale(tmp_path, f"pid 999999999 snakemake {os.getpid()}\n")  # this one runs
    with run_lock(tmp_path) as lock:
        assert not lock.removed and any(locks.iterdir())


def test_a_finished_run_leaves_no_record_and_plain_snakemake_locks_stay(tmp_path):
    locks = _stale(tmp_path, "")  # no halos run recorded: a plain snakemake's locks
    with run_lock(tmp_path) as lock:
        assert not lock.removed
        lock.started(os.getpid())
        lock.ended(0)
    assert any(locks.iterdir())


def test_a_signal_that_ends_snakemake_leaves_no_lock(tmp_path):
    (tmp_path / ".snakemake").mkdir()
    with run_lock(tmp_path) as lock:
        locks = tmp_path / ".snakemake" / "locks"
        locks.mkdir()
        (locks / "0.output.lock").write_text("x")
        lock.ended(-9)
    assert not any(locks.iterdir())
