# SPDX-License-Identifier: MIT
"""Every Dask scheduler the config offers integrates the frames to the same bits.

Reference: one thread (``sync``). Then Dask's threads and processes, a ``dask.distributed``
cluster by its address (worker processes), and dask-jobqueue's job machinery through its
local stand-in (``jobqueue-local``: the job script a SLURM cluster would run, started as a
local process). ``tests/cluster/slurm_local.sh`` runs the ``slurm`` one on a real SLURM.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate import (
    IntegrationSettings,
    close_scheduler,
    integrate_files,
    resolve_scheduler,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames_file(tmp_path_factory):
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    tmp = tmp_path_factory.mktemp("dask")
    det = detector_factory("Pilatus100k")
    ai = AzimuthalIntegrator(dist=1.2, poni1=0.01, poni2=0.02, wavelength=1e-10, detector=det)
    ai.write(str(tmp / "geom.poni"))
    q = ai.center_array(det.shape, unit="q_nm^-1")
    expected = 1000 * np.exp(-((q * 3.0) ** 2) / 3) + 0.5
    frames = np.random.default_rng(3).poisson(expected, (9, *det.shape)).astype(np.int32)
    with h5py.File(tmp / "run.h5", "w") as f:
        f["entry/data/data"] = frames
    return f"{tmp / 'run.h5'}::/entry/data/data", tmp / "geom.poni", tmp


def _integrate(frames_file, scheduler):
    spec, poni, tmp = frames_file
    st = IntegrationSettings(npt=150, batch_size=2)
    return integrate_files(spec, poni, None, st, cache_dir=tmp / "cache", scheduler=scheduler)


@pytest.fixture(scope="module")
def reference(frames_file):
    return _integrate(frames_file, "sync")


def _assert_same(a, b):
    np.testing.assert_array_equal(a.q, b.q)
    np.testing.assert_array_equal(a.intensity, b.intensity)
    np.testing.assert_array_equal(a.sigma, b.sigma)


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_local_schedulers_same_bits(frames_file, reference, name):
    _assert_same(reference, _integrate(frames_file, resolve_scheduler(name)))


def test_distributed_worker_processes_same_bits(frames_file, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        client = resolve_scheduler(cluster.scheduler_address)
        try:
            _assert_same(reference, _integrate(frames_file, client))
        finally:
            close_scheduler(client)


# dask-jobqueue's local job (dask_jobqueue/local.py, LocalJob._close_job) kills its worker
# process with SIGKILL and neither waits for it nor closes its pipes, so the garbage collector
# reports both when the cluster closes: third-party, named here only, so that ours of the same
# kind stay errors everywhere else.
@pytest.mark.filterwarnings(
    r"ignore:subprocess \d+ is still running:ResourceWarning",
    "ignore:unclosed file <_io.FileIO:ResourceWarning",
)
def test_jobqueue_workers_same_bits(frames_file, reference, tmp_path):
    pytest.importorskip("dask_jobqueue")
    client = resolve_scheduler(
        f"jobqueue-local?jobs=1&cores=2&processes=1&memory=1GB&timeout=120"
        f"&local_directory={tmp_path}"
    )
    try:
        assert client.halos_cluster.job_script()  # dask-jobqueue's own job script
        _assert_same(reference, _integrate(frames_file, client))
    finally:
        close_scheduler(client)


@pytest.mark.parametrize(
    ("spec", "match"),
    [("slurm?jobs", "not key=value"), ("slurm?jobs=two", "whole number"), ("gpu", "unknown")],
)
def test_bad_scheduler_is_named(spec, match):
    pytest.importorskip("dask_jobqueue")
    with pytest.raises(HalosInputError, match=match):
        resolve_scheduler(spec)
