# SPDX-License-Identifier: MIT
"""Live mode: a measurement counts as complete only when its files are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from halos_analysis.app.watch import COMPLETE, GROWING, STALLED, WAITING, Tracker, inspect_frames
from halos_analysis.simulate import write_eiger_data, write_minicbf

ROOT = Path(__file__).resolve().parents[1]

# A writer that creates a DECTRIS-like data file with its full shape and keeps it open.
_HOLDING_WRITER = """
import sys, time, h5py
f = h5py.File(sys.argv[1], "w")
f.create_dataset("entry/data/data", shape=(2, int(sys.argv[2]), int(sys.argv[3])), dtype="u4")
f.flush()
print("open", flush=True)
time.sleep(60)
"""


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _cbf(path, k):
    write_minicbf(path, np.full((20, 30), k, np.int32), {"Exposure_time": "1.0 s"})


def test_cbf_frames_complete_when_the_count_is_reached_and_files_are_stable(tmp_path):
    clock = Clock()
    tr = Tracker(settle_s=5, timeout_s=60, clock=clock)
    spec = {"s": ([str(tmp_path / "s_*.cbf")], 3)}
    assert tr.poll(spec, None)["s"].state == WAITING
    for k in range(3):
        _cbf(tmp_path / f"s_{k:05d}.cbf", k)
        clock.t += 1
        assert tr.poll(spec, None)["s"].state == GROWING
    clock.t += 1
    st = tr.poll(spec, None)["s"]
    assert st.state == COMPLETE and st.frames.n_frames == 3


def test_a_half_written_last_frame_is_not_complete(tmp_path):
    for k in range(2):
        _cbf(tmp_path / f"s_{k:05d}.cbf", k)
    whole = (tmp_path / "s_00001.cbf").read_bytes()
    (tmp_path / "s_00001.cbf").write_bytes(whole[: len(whole) // 2])
    fs = inspect_frames(str(tmp_path / "s_*.cbf"), expected=2)
    assert not fs.ready and "not readable" in fs.reason


def test_without_a_count_complete_after_the_settle_time(tmp_path):
    clock = Clock()
    tr = Tracker(settle_s=5, timeout_s=60, clock=clock)
    spec = {"s": ([str(tmp_path / "s_*.cbf")], None)}
    _cbf(tmp_path / "s_00000.cbf", 0)
    assert tr.poll(spec, None)["s"].state == GROWING
    clock.t += 3
    assert tr.poll(spec, None)["s"].state == GROWING
    clock.t += 3
    assert tr.poll(spec, None)["s"].state == COMPLETE


def test_frames_that_stop_arriving_are_stalled_after_the_timeout(tmp_path):
    clock = Clock()
    tr = Tracker(settle_s=5, timeout_s=30, clock=clock)
    spec = {"s": ([str(tmp_path / "s_*.cbf")], 4)}
    _cbf(tmp_path / "s_00000.cbf", 0)
    tr.poll(spec, None)
    clock.t += 31
    st = tr.poll(spec, None)["s"]
    assert st.state == STALLED and "1 of 4 frames" in st.reason


def test_eiger_master_complete_only_when_every_data_file_holds_its_frames(tmp_path):
    from halos_analysis.simulate import DETECTORS, make_geometry, write_eiger_master

    setup = DETECTORS["eiger1m"]
    ai = make_geometry(setup)
    shape = ai.detector.shape
    frames = [np.full(shape, k, np.uint32) for k in range(4)]
    files = [("m_data_000001.h5", 2), ("m_data_000002.h5", 2)]
    mask = np.zeros(shape, np.uint32)
    write_eiger_master(tmp_path, "m", setup, ai, files, np.ones(4), np.ones(4), mask, "m")
    master = str(tmp_path / "m_master.h5")
    assert not inspect_frames(master).ready  # no data file yet
    write_eiger_data(tmp_path / files[0][0], iter(frames[:2]), 2, shape, 0)
    fs = inspect_frames(master)
    assert not fs.ready and "missing" in fs.reason
    # A data file still held open by its writer, in another process (HDF5's file lock), is
    # not complete even though its dataset already has the full frame count.
    path = tmp_path / files[1][0]
    writer = subprocess.Popen(
        [sys.executable, "-c", _HOLDING_WRITER, str(path), str(shape[0]), str(shape[1])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        fs = inspect_frames(master)
        assert not fs.ready and "lock" in fs.reason
    finally:
        writer.terminate()
        writer.wait()
        writer.stdout.close()
    write_eiger_data(path, iter(frames[2:]), 2, shape, 2)
    fs = inspect_frames(master)
    assert fs.ready and fs.n_frames == 4 and fs.n_expected == 4


def test_samples_are_ready_when_they_and_their_buffers_are(tmp_path):
    clock = Clock()
    tr = Tracker(settle_s=1, clock=clock)
    for name in ("buf", "s1"):
        _cbf(tmp_path / f"{name}_00000.cbf", 0)
    spec = {n: ([str(tmp_path / f"{n}_*.cbf")], 1) for n in ("buf", "s1", "s2")}
    tr.poll(spec, None)
    clock.t += 1
    tr.poll(spec, None)
    assert tr.ready_samples({"s1": ["buf"], "s2": ["buf"]}) == ["s1"]
    assert tr.summary() == {WAITING: 1, GROWING: 0, COMPLETE: 2, STALLED: 0}


@pytest.mark.slow
def test_watch_processes_a_sample_written_frame_by_frame_and_stops_cleanly(tmp_path):
    """`halos watch` on an empty folder: frames arrive one by one (each written in two
    halves), the sample appears in the run summary with the simulated Rg, Ctrl-C stops it."""
    import json
    import shutil
    import signal
    import threading
    import time

    stage = tmp_path / "stage"
    sim = subprocess.run(
        [sys.executable, "-m", "halos_analysis", "simulate", str(stage)]
        + ["--detectors", "pilatus300k", "--frames", "6", "--damaged-frames", "0"],
        capture_output=True,
        text=True,
    )
    assert sim.returncode == 0, sim.stderr
    truth = json.loads((stage / "truth.json").read_text())
    live = tmp_path / "live"
    (live / "data").mkdir(parents=True)
    cols = ["name", "type", "buffer", "frames", "poni", "mask", "n_frames"]
    rows = [
        ["buffer", "buffer", "", "data/buffer/*.cbf"],
        ["bsa", "sample", "buffer", "data/bsa/*.cbf"],
    ]
    geom = [str(stage / "pilatus300k.poni"), str(stage / "pilatus300k_mask.npy"), "6"]
    (live / "samples.tsv").write_text(
        "\t".join(cols) + "\n" + "".join("\t".join(r + geom) + "\n" for r in rows)
    )
    config = (ROOT / "config" / "config.yaml").read_text()
    config = config.replace("samples: config/samples.tsv", "samples: samples.tsv")
    config = config.replace("absolute_scale: true", "absolute_scale: false")
    (live / "config.yaml").write_text(config)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "halos_analysis", "watch", "--configfile", "config.yaml"]
        + ["--interval", "0.5", "--settle", "2", "--refresh", "5"],
        cwd=live,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []  # its stderr, read in a thread
    reader = threading.Thread(target=lambda: lines.extend(watcher.stderr), daemon=True)
    reader.start()
    try:
        for name in ("buffer", "bsa"):
            (live / "data" / name).mkdir()
            for src in sorted((stage / "pilatus300k" / name).glob("*.cbf")):
                data = src.read_bytes()
                dst = live / "data" / name / src.name
                dst.write_bytes(data[: len(data) // 2])  # a frame being written
                time.sleep(0.3)
                dst.write_bytes(data)
                time.sleep(0.2)
        # The status line after the cycle that processed the sample.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any("samples done 1" in ln for ln in lines):
            assert watcher.poll() is None, "".join(lines)
            time.sleep(0.5)
        summary = live / "results" / "summary.json"
        row = next(s for s in json.loads(summary.read_text())["samples"] if s["sample"] == "bsa")
        rg_true = truth["expected"]["rg_nm"]
        assert abs(row["guinier_rg"] - rg_true) / rg_true < 0.03
        assert 'http-equiv="refresh"' in (live / "results" / "report.html").read_text()
    finally:
        watcher.send_signal(signal.SIGINT)
        code = watcher.wait(timeout=120)
        reader.join(timeout=10)
        watcher.stderr.close()
    err = "".join(lines)
    assert code == 130, err
    assert "samples done 1" in err and "stopped" in err
    # Said as soon as its row was there, before the figures and the report.
    early = next(i for i, ln in enumerate(lines) if "bsa Rg" in ln and "in the run summary" in ln)
    assert early < next(i for i, ln in enumerate(lines) if "samples done 1" in ln), err
    assert not list((live / "results").rglob("*.part"))
    # Restarted, it finds everything done and redoes nothing.
    again = subprocess.run(
        [sys.executable, "-m", "halos_analysis", "watch", "--configfile", "config.yaml"]
        + ["--interval", "0.2", "--once"],
        cwd=live,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    log = (live / "results" / ".halos" / "live" / "snakemake.log").read_text()
    assert (
        log.rstrip().endswith(
            "Nothing to be done (all requested files are present and up to date)."
        )
        or "Nothing to be done" in log.split("Building DAG")[-1]
    )
    shutil.rmtree(stage)


@pytest.mark.parametrize("flag, started", [([], 1), (["--no-worker"], 0)])
def test_no_worker_flag_starts_no_warm_worker(tmp_path, monkeypatch, flag, started):
    """`halos watch --no-worker` runs without the warm worker (as HALOS_WATCH_WORKER=0)."""
    from halos_analysis.app import worker
    from halos_analysis.app.cli import main

    starts = []

    class FakeWorker:
        def __init__(self, folder, preload=None):
            self.socket = str(folder / "worker.sock")

        def start(self):
            starts.append(self)

        def stop(self):
            pass

    monkeypatch.setattr(worker, "Worker", FakeWorker)
    monkeypatch.delenv("HALOS_WATCH_WORKER", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "samples.tsv").write_text("name\ttype\tbuffer\tframes\n")
    (tmp_path / "config.yaml").write_text("samples: samples.tsv\nresults: results\n")
    assert main(["watch", "--configfile", "config.yaml", "--once", *flag]) == 0
    assert len(starts) == started


def test_a_row_in_the_run_summary_is_said_once_while_the_run_goes_on(tmp_path):
    """The watch says a sample's result as soon as its row is in ``summary.json`` (written
    by this run), once, before its figures and report are drawn."""
    import json
    import os
    import time

    from halos_analysis.app.watch import _RowWatch

    summary = tmp_path / "summary.json"
    row = {"sample": "bsa", "guinier_rg": 3.2, "length_unit": "nm", "doubts": []}
    summary.write_text(json.dumps({"samples": [row]}))
    old = time.time() - 60
    os.utime(summary, (old, old))  # a run summary of an earlier run: not this sample's row
    said: list[str] = []
    rows = _RowWatch(summary, {"bsa": time.monotonic() - 3.0, "lys": time.monotonic()}, said.append)
    rows.look()
    assert said == []
    summary.write_text(json.dumps({"samples": [row]}))  # this run's
    rows.look()
    rows.look()
    assert len(said) == 1 and "bsa Rg 3.2 nm, doubts: none" in said[0], said
    assert "in the run summary 3." in said[0] and "figures and report.html follow" in said[0]
