# SPDX-License-Identifier: MIT
"""Same frames, same settings: bit-identical curves whatever the parallelism.

tests/test_integrate.py checks threads against sync on frames in memory and one
distributed cluster of threads; here the same holds for frames read from files as the
workflow reads them (a DECTRIS master over two bitshuffle-LZ4 data files, decompressed in a
thread pool, and miniCBF files), over every Dask scheduler (sync, threads, processes, a
distributed cluster of processes), batch sizes from 1 frame to all of them, worker counts
(``DASK_NUM_WORKERS``) and decompression threads (``HALOS_DECODE_THREADS``), and through
the ``halos integrate`` command itself. The whole workflow with other cores, batch size and
scheduler gives the same numbers: tests/test_kill_resume.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import fabio.cbfimage
import h5py
import numpy as np
import pytest
from pyFAI.detectors import detector_factory
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.integrate import IntegrationSettings, integrate_files
from halos_analysis.io.nxcansas import read_frames
from halos_analysis.simulate.writers import write_eiger_data

N = 11
HALOS = [sys.executable, "-m", "halos_analysis"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """PONI, mask, an Eiger master over data files of 6 and 5 frames, the same as CBFs."""
    out = tmp_path_factory.mktemp("determinism")
    det = detector_factory("Pilatus100k")
    ai = AzimuthalIntegrator(dist=1.2, poni1=0.004, poni2=0.03, rot1=0.004, wavelength=1e-10,
                             detector=det)  # fmt: skip
    ai.write(str(out / "geom.poni"))
    mask = np.zeros(det.shape, np.uint8)
    mask[90:100, 200:230] = 1
    np.save(out / "mask.npy", mask)
    r = np.hypot(*np.meshgrid(np.arange(det.shape[1]) - 300, np.arange(det.shape[0]) + 20))
    rng = np.random.default_rng(2026)
    frames = rng.poisson(400 * np.exp(-((r / 150) ** 2)) + 2, (N, *det.shape)).astype(np.uint32)
    write_eiger_data(out / "run_data_000001.h5", iter(frames[:6]), 6, det.shape, 0)
    write_eiger_data(out / "run_data_000002.h5", iter(frames[6:]), N - 6, det.shape, 6)
    with h5py.File(out / "run_master.h5", "w") as f:
        for i in (1, 2):
            f[f"entry/data/data_{i:06d}"] = h5py.ExternalLink(
                f"run_data_{i:06d}.h5", "/entry/data/data"
            )
        f["entry/instrument/detector/detectorSpecific/nimages"] = np.uint32(N)
    for k in range(N):
        img = fabio.cbfimage.CbfImage(data=frames[k].astype(np.int32))
        img.write(str(out / f"frame_{k:03d}.cbf"))
    cbfs = [str(out / f"frame_{k:03d}.cbf") for k in range(N)]
    return {"poni": out / "geom.poni", "mask": out / "mask.npy",
            "master": str(out / "run_master.h5"), "cbf": cbfs, "dir": out}  # fmt: skip


def _integrate(files, which, scheduler, batch, tmp_path):
    settings = IntegrationSettings(npt=200, batch_size=batch)
    return integrate_files(files[which], files["poni"], files["mask"], settings,
                           cache_dir=tmp_path, scheduler=scheduler)  # fmt: skip


@pytest.fixture(scope="module")
def expected(files, tmp_path_factory):
    """The reference: one frame at a time, in the calling thread."""
    tmp = tmp_path_factory.mktemp("cache")
    return {w: _integrate(files, w, "sync", 1, tmp) for w in ("master", "cbf")}


def _same(a, b):
    np.testing.assert_array_equal(a.q, b.q)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    np.testing.assert_array_equal(a.sigma, b.sigma)


CASES = [
    (which, scheduler, batch)
    for which in ("master", "cbf")
    for scheduler, batch in [("sync", None), ("threads", 1), ("threads", 3), ("threads", None),
                             ("threads", N), ("processes", 2), ("processes", 5)]
]  # fmt: skip


@pytest.mark.parametrize(("which", "scheduler", "batch"), CASES)
def test_scheduler_and_batch_size_change_nothing(files, expected, tmp_path, which, scheduler,
                                                 batch):  # fmt: skip
    _same(_integrate(files, which, scheduler, batch, tmp_path), expected[which])


@pytest.mark.parametrize(("workers", "decode"), [("1", "1"), ("2", "4"), ("4", "1"), ("3", "2")])
def test_worker_and_decoder_threads_change_nothing(files, expected, tmp_path, monkeypatch,
                                                   workers, decode):  # fmt: skip
    import dask

    monkeypatch.setenv("HALOS_DECODE_THREADS", decode)
    with dask.config.set(num_workers=int(workers)):
        _same(_integrate(files, "master", "threads", 2, tmp_path), expected["master"])


def test_distributed_cluster_of_processes(files, expected, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            got = _integrate(files, "master", client, 3, tmp_path)
    _same(got, expected["master"])


@pytest.mark.parametrize(
    ("env", "args"),
    [({"DASK_NUM_WORKERS": "1"}, ["--scheduler", "sync"]),
     ({"DASK_NUM_WORKERS": "4", "HALOS_DECODE_THREADS": "3"}, ["--batch-size", "4"]),
     ({}, ["--scheduler", "processes", "--batch-size", "3"])],
    ids=["sync-1-worker", "threads-4-workers", "processes"],
)  # fmt: skip
def test_halos_integrate_writes_the_same_arrays(files, expected, tmp_path, env, args):
    out = tmp_path / "frames.h5"
    run = subprocess.run(
        HALOS + ["integrate", files["master"], "--poni", str(files["poni"]), "--mask",
                 str(files["mask"]), "--npt", "200", "--cache-dir", str(tmp_path), *args,
                 "-o", str(out)],
        capture_output=True, text=True, env={**os.environ, **env},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    _same(read_frames(out), expected["master"])
