# SPDX-License-Identifier: MIT
"""The warm worker of ``halos watch``: steps served by it are the steps run alone.

A worker is started with a light preload (the command line only) so that these tests take
seconds; ``halos watch`` preloads the libraries of every step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from halos_analysis.app.worker import WORKER_ENV, Worker, _Server, forward_if_warm

ROOT = Path(__file__).resolve().parents[1]
CURVE = ROOT / "example_data" / "bsa_profile.dat"
HALOS = shutil.which("halos", path=str(Path(sys.executable).parent)) or "halos"


@pytest.fixture
def worker(tmp_path):
    """A running worker (light preload) in ``tmp_path/live``; stopped afterwards."""
    w = Worker(tmp_path / "live", preload=["halos_analysis.app.cli"])
    w.start()
    deadline = time.monotonic() + 60
    while not _ready(w) and time.monotonic() < deadline:
        assert w.proc.poll() is None, w.log_path.read_text()
        time.sleep(0.05)
    assert _ready(w), w.log_path.read_text()
    yield w
    w.stop()


def _ready(w: Worker) -> bool:
    return w.ready() and "ready on" in w.log_path.read_text()


def _halos(args, cwd, worker=None, **kwargs) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop(WORKER_ENV, None)
    if worker is not None:
        env[WORKER_ENV] = worker if isinstance(worker, str) else worker.socket
    return subprocess.Popen([HALOS, *args], cwd=cwd, env=env, **kwargs)


def _served(w: Worker) -> list[str]:
    return re.findall(r"served (\w+)", w.log_path.read_text())


def _wait_log(w: Worker, pattern: str, timeout: float = 30) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, w.log_path.read_text())
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in {w.log_path.read_text()}")


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as fh:  # a zombie of the worker counts as gone
            if fh.read().rsplit(")", 1)[1].split()[0] in "ZX":
                return True
        time.sleep(0.05)
    return False


def test_without_a_worker_named_nothing_is_forwarded(monkeypatch):
    monkeypatch.delenv(WORKER_ENV, raising=False)
    assert forward_if_warm(["analyse", "x.dat", "-o", "y.json"]) is None


def test_a_step_served_by_the_worker_writes_the_same_bytes(tmp_path, worker):
    """Served (the worker's log says so), the step writes what it writes alone; its
    output and exit code reach the client."""
    for name, w in (("alone", None), ("served", worker)):
        (tmp_path / name).mkdir()
        shutil.copy(CURVE, tmp_path / name / "curve.dat")
        proc = _halos(["analyse", "curve.dat", "-o", "out.json"], tmp_path / name, w,
                      stdout=subprocess.PIPE, text=True)  # fmt: skip
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        assert "out.json" in out  # the step's own stdout, through the passed descriptor
    assert _served(worker) == ["analyse"]
    alone = (tmp_path / "alone" / "out.json").read_bytes()
    assert (tmp_path / "served" / "out.json").read_bytes() == alone


def test_a_failing_step_exits_as_it_would_alone(tmp_path, worker):
    proc = _halos(["analyse", "missing.dat", "-o", "out.json"], tmp_path, worker,
                  stderr=subprocess.PIPE, text=True)  # fmt: skip
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "halos analyse: error:" in err and "missing.dat" in err
    assert _served(worker) == ["analyse"]


@pytest.mark.parametrize("how", ["no socket", "dead worker"])
def test_without_a_live_worker_the_step_runs_in_its_own_process(tmp_path, how):
    import socket

    path = str(tmp_path / "worker.sock")
    if how == "dead worker":  # the socket file of a worker that was killed
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
    shutil.copy(CURVE, tmp_path / "curve.dat")
    proc = _halos(["analyse", "curve.dat", "-o", "out.json"], tmp_path, path)
    assert proc.wait(timeout=120) == 0
    assert json.loads((tmp_path / "out.json").read_text())["guinier"]


def test_the_worker_refuses_another_installation(tmp_path):
    server = _Server(str(tmp_path / "s.sock"), preload=())
    request = {"prefix": sys.prefix, "package": str(ROOT / "halos_analysis")}
    assert server._refusal(request, os.getuid()) is None
    assert "another installation" in server._refusal({**request, "prefix": "/elsewhere"},
                                                     os.getuid())  # fmt: skip
    assert server._refusal(request, os.getuid() + 1) == "another user"


def _blocked_step(tmp_path: Path, worker: Worker, **kwargs) -> tuple[subprocess.Popen, int]:
    """A served step that waits (it reads a named pipe nobody writes) and its child's pid."""
    os.mkfifo(tmp_path / "frames.json")
    args = ["validate", "--frames-from", "frames.json", "-o", "out.json"]
    client = _halos(args, tmp_path, worker, **kwargs)
    child = int(_wait_log(worker, r"running validate \S+ \(pid (\d+)\)").group(1))
    return client, child


def test_a_killed_client_has_its_child_killed_and_no_output(tmp_path, worker):
    client, child = _blocked_step(tmp_path, worker)
    client.kill()
    client.wait(timeout=10)
    assert _gone(child), "the step of a killed client still runs"
    _wait_log(worker, r"client of validate \S+ \(pid \d+\) gone")
    assert not (tmp_path / "out.json").exists()
    assert not list(tmp_path.glob("*.part"))


def test_a_signal_to_the_client_goes_to_its_step(tmp_path, worker):
    """Snakemake stopping a job (SIGTERM): the step ends by it, and so does the client."""
    client, child = _blocked_step(tmp_path, worker)
    client.send_signal(signal.SIGTERM)
    assert client.wait(timeout=20) == -signal.SIGTERM
    assert _gone(child)


def test_stopping_the_worker_stops_its_steps(tmp_path, worker):
    client, child = _blocked_step(tmp_path, worker, stderr=subprocess.PIPE, text=True)
    assert worker.stop() == 0
    assert _gone(child)
    assert not os.path.exists(worker.socket)
    _, err = client.communicate(timeout=20)
    assert client.returncode != 0 and "warm worker" in err


@pytest.mark.slow
def test_watch_with_its_worker_gives_the_results_of_halos_run(tmp_path):
    """`halos watch` with its warm worker: the steps and the Snakemake run are served by
    it, the results are those of `halos run` (the numbers of the run summary; curves and
    figures byte for byte), and after Ctrl-C neither the worker nor a step is left."""
    from small_workflow import make_small_example, run_workflow

    ran = make_small_example(tmp_path / "run")
    proc = run_workflow(ran)
    assert proc.returncode == 0, proc.stderr
    live = tmp_path / "watch"
    (live / "config").mkdir(parents=True)
    shutil.copytree(ran / "example_data", live / "example_data")
    (live / "config" / "config.yaml").write_text((ran / "config" / "config.yaml").read_text())
    sheet = (ran / "config" / "samples.tsv").read_text()
    (live / "config" / "samples.tsv").write_text(sheet.splitlines()[0] + "\n")  # none yet
    watcher = subprocess.Popen(
        [sys.executable, "-m", "halos_analysis", "watch", "--interval", "0.3", "--settle", "1"],
        cwd=live,
        stderr=subprocess.PIPE,
        text=True,
    )
    wlog = live / "results" / ".halos" / "live" / "worker.log"
    try:
        deadline = time.monotonic() + 120
        while not (wlog.is_file() and "ready on" in wlog.read_text()):
            assert watcher.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        (live / "config" / "samples.tsv").write_text(sheet)  # the shift's measurements
        deadline = time.monotonic() + 300
        while "served summarise" not in wlog.read_text():
            assert watcher.poll() is None and time.monotonic() < deadline, wlog.read_text()
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 130, err
    text = wlog.read_text()
    served = set(re.findall(r"served (\w+)", text))
    assert {"validate", "integrate", "reduce", "subtract", "analyse", "export",
            "summarise", "snakemake"} <= served, text  # fmt: skip
    pids = [int(p) for p in re.findall(r"worker (\d+) ready", text)]
    pids += [int(p) for p in re.findall(r"\(pid (\d+)\)", text)]
    assert all(_gone(p, 1) for p in pids), "processes of the worker outlived the watch"
    assert "stopped after" in text

    def rows(folder: Path) -> list[dict]:
        out = json.loads((folder / "results" / "summary.json").read_text())["samples"]
        return sorted(out, key=lambda r: r["sample"])

    assert rows(live) == rows(ran)
    for rel in ("bsa/bsa_sub.dat", "bsa/bsa_avg.dat", "buffer/buffer_avg.dat",
                "bsa/bsa_pr.dat", "bsa/plots/bsa_guinier.png", "bsa/plots/bsa_pr.png"):  # fmt: skip
        assert (live / "results" / rel).read_bytes() == (ran / "results" / rel).read_bytes(), rel
