# SPDX-License-Identifier: MIT
"""The plain pyFAI way, as a whole process: read each Eiger frame, ``integrate1d`` it, save.

Usage::

    python benchmarks/pyfai_loop.py MASTER.h5 GEOMETRY.poni MASK.npy OUT.npz

The reference for timing ``halos integrate MASTER.h5 --poni GEOMETRY.poni --mask MASK.npy``
as a whole process on the same files (``bench_integrate.py --write-eiger DIR`` writes them):
the DECTRIS data files linked from the master are read frame by frame with h5py
(hdf5plugin's bitshuffle-LZ4 filter), each frame's bad pixels (2**bit_depth − 1) join the
mask, and the curves (1000 bins in q nm⁻¹, no pixel splitting, solid angle, polarisation
0.99, Poisson errors, normalised by monitor × transmission) go to one ``.npz``.
"""

from __future__ import annotations

import os
import sys

import h5py
import hdf5plugin  # noqa: F401  (registers the bitshuffle filter)
import numpy as np
import pyFAI


def main(argv: list[str]) -> int:
    master, poni, mask_path, out = argv
    ai = pyFAI.load(poni)
    mask = np.load(mask_path) != 0
    curves, sigmas = [], []
    with h5py.File(master, "r") as f:
        det = f["entry/instrument/detector"]
        mask |= det["pixel_mask"][()] != 0
        invalid = 2 ** int(det["bit_depth_image"][()]) - 1
        norm = f["entry/monitor/data"][()] * f["entry/sample/transmission"][()]
        k = 0
        group = f["entry/data"]
        for name in sorted(n for n in group if n.startswith("data_")):
            link = group.get(name, getlink=True)
            path = os.path.join(os.path.dirname(os.path.abspath(master)), link.filename)
            with h5py.File(path, "r") as g:
                dset = g[link.path]
                for i in range(len(dset)):
                    frame = dset[i]
                    res = ai.integrate1d(frame, 1000, method="no", error_model="poisson",
                                         mask=mask | (frame == invalid), unit="q_nm^-1",
                                         polarization_factor=0.99,
                                         normalization_factor=float(norm[k]))  # fmt: skip
                    curves.append(res.intensity)
                    sigmas.append(res.sigma)
                    k += 1
    np.savez(out, q=res.radial, intensity=np.array(curves), sigma=np.array(sigmas))
    print(f"{out}: {k} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
