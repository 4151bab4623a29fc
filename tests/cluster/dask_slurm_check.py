# SPDX-License-Identifier: MIT
"""Integrate one measurement with Dask workers started as SLURM jobs (dask-jobqueue) and
with local threads; the curves must be the same bits. Run by ``slurm_local.sh``.

    python tests/cluster/dask_slurm_check.py FRAME_LIST PONI MASK PARTITION
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time

import numpy as np

from halos_analysis.app.manifest import read_frame_list
from halos_analysis.integrate import (
    IntegrationSettings,
    close_scheduler,
    integrate_files,
    resolve_scheduler,
)

log = logging.getLogger("dask_slurm_check")


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="dask_slurm_check: %(message)s")
    frame_list, poni, mask, partition = argv
    frames = read_frame_list(frame_list)
    st = IntegrationSettings(npt=400, batch_size=2)
    with tempfile.TemporaryDirectory() as tmp:
        local = integrate_files(frames, poni, mask, st, cache_dir=tmp, scheduler="threads")
        t0 = time.perf_counter()
        client = resolve_scheduler(
            f"slurm?jobs=1&cores=1&processes=1&memory=1GB&walltime=00:10:00&queue={partition}"
            f"&timeout=120&local_directory={tmp}&log_directory={tmp}&interface=lo"
        )
        try:
            workers = len(client.scheduler_info()["workers"])
            jobs = [getattr(j, "job_id", "?") for j in client.halos_cluster.workers.values()]
            remote = integrate_files(frames, poni, mask, st, cache_dir=tmp, scheduler=client)
        finally:
            close_scheduler(client)
        elapsed = time.perf_counter() - t0
    same = all(
        np.array_equal(getattr(local, k), getattr(remote, k), equal_nan=True)
        for k in ("q", "intensity", "sigma")
    )
    log.info(
        "%d frames on %d Dask worker(s) in SLURM job(s) %s in %.1f s: %s",
        local.intensity.shape[0], workers, ", ".join(map(str, jobs)), elapsed,
        "same bits as threads" if same else "DIFFERENT from threads",
    )  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
