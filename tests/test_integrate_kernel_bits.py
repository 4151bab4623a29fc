# SPDX-License-Identifier: MIT
"""The fast kernel's sums, bit for bit, against the plain formulation of the same sums.

``sums_fast`` casts each pixel chunk into its dense block column by column, checks for bad
pixels on the block, and may read the frames still compressed from a memory map of their
file: none of that may change a bit of what ``block @ frames.T`` gives, chunk after chunk,
for Pilatus (int32, gaps −1, bad −2) and Eiger (uint32, gaps and bad 2**32−1, genuine
counts ≥ 2**31) frames, dim, bright and with bad pixels.
"""

from __future__ import annotations

import hashlib

import h5py
import hdf5plugin
import numpy as np
import pytest
from pyFAI.detectors import detector_factory
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.integrate import IntegrationSettings, Integrator
from halos_analysis.integrate.kernels import sums_fast
from halos_analysis.io.digest import record_reads
from halos_analysis.io.frames import chunks, open_frames
from halos_analysis.io.frames.source import invalid_values

SHAPE = (195, 487)  # Pilatus 100K: 94965 pixels, three chunks, the last one short


@pytest.fixture(scope="module")
def ai():
    det = detector_factory("Pilatus100k")
    return AzimuthalIntegrator(dist=1.0, poni1=0.012, poni2=0.021, rot1=0.02, rot2=-0.01,
                               wavelength=1e-10, detector=det)  # fmt: skip


def make_frames(dtype, level: str, n: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.2, 40.0 if level == "dim" else 4000.0, SHAPE[0] * SHAPE[1])
    data = rng.poisson(lam.reshape(SHAPE), size=(n, *SHAPE)).astype(dtype)
    gap = np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else -1
    data[:, 60:64, :] = gap  # a module gap, masked
    if level == "bad":
        bad = np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else -2
        for j in range(0, n, 2):
            data[j].flat[rng.choice(data[j].size, 5, replace=False)] = bad
    if np.dtype(dtype) == np.uint32:
        data[3, 10, 20] = 2**31 + 7  # a genuine count that an int32 view would wrap
    return data


def plain_sums(bmap, frames: np.ndarray, invalid_value: int) -> np.ndarray:
    """Σ c·x per bin and frame as the sparse product of each chunk with its frames'
    pixels as float32, gaps and bad pixels zeroed: the reference the kernel must match."""
    flat = frames.reshape(len(frames), -1)
    bad = invalid_values(flat, invalid_value)
    out = np.zeros((bmap.chunks[0][2].shape[0], len(frames)))
    for a, b, block, unused in bmap.chunks:
        x = np.ascontiguousarray(flat[:, a:b].T, dtype=np.float32)
        x[bad[:, a:b].T] = 0.0
        x[unused] = 0.0
        out += block @ x
    return out[: bmap.npt][bmap.keep].T


@pytest.mark.parametrize("method", ["no", "bbox"])
@pytest.mark.parametrize("level", ["dim", "bright", "bad"])
@pytest.mark.parametrize("dtype", [np.int32, np.uint32])
def test_fast_sums_equal_the_plain_product_bit_for_bit(tmp_path, ai, dtype, level, method):
    data = make_frames(dtype, level)
    inv = int(np.iinfo(dtype).max) if np.dtype(dtype).kind == "u" else -2
    mask = np.zeros(SHAPE, bool)
    mask[60:64, :] = True
    integ = Integrator(ai, SHAPE, mask, IntegrationSettings(npt=200, method=method),
                       cache_dir=False, invalid_value=inv)  # fmt: skip
    ref = plain_sums(integ.binmap, data, inv)
    signal, _, _ = sums_fast(integ.binmap, data.reshape(len(data), -1)[:16], invalid_value=inv)
    np.testing.assert_array_equal(signal, ref[:16])
    # The same frames still compressed, read from a memory map of their file.
    path = tmp_path / "frames.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/data", data=data, chunks=(1, *SHAPE),
                         **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    src = open_frames(f"{path}::/entry/data/data")
    packed = src.read_compressed(0, 16)
    assert packed is not None and not packed._frames[0][0].flags.owndata  # a mapped view
    signal, _, _ = sums_fast(integ.binmap, packed, invalid_value=inv)
    packed.release()
    src.close()
    np.testing.assert_array_equal(signal, ref[:16])


def test_mapped_chunks_equal_hdf5s_and_feed_the_digest(tmp_path, monkeypatch):
    data = make_frames(np.uint32, "bright", n=7, seed=3)
    path = tmp_path / "frames.h5"
    with h5py.File(path, "w", userblock_size=512) as f:  # chunk offsets past a user block
        f.create_dataset("entry/data/data", data=data, chunks=(1, *SHAPE),
                         **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    spec = f"{path}::/entry/data/data"
    with record_reads() as log:
        src = open_frames(spec)
        out = np.empty_like(data)
        src.read_into(0, 7, out)
        src.close()
        (rec,) = log.finish()
    np.testing.assert_array_equal(out, data)
    assert rec["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rec["bytes"] <= rec["bytes_read"] <= 1.05 * rec["bytes"] + 65536
    monkeypatch.setattr(chunks, "_MAP_CHUNKS", False)  # through HDF5's read_direct_chunk
    src = open_frames(spec)
    packed = src.read_compressed(0, 7)
    assert packed._frames[0][0].flags.owndata
    np.testing.assert_array_equal(packed.decode_all(np.empty_like(data)), data)
    packed.release()
    src.close()
