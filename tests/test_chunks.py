# SPDX-License-Identifier: MIT
"""Raw-chunk reading of bitshuffle frames: bit-identical to h5py, h5py for everything else."""

from __future__ import annotations

import threading

import h5py
import hdf5plugin
import numpy as np
import pytest

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames import open_frames
from halos_analysis.io.frames.chunks import bitshuffle_library, chunk_reader

SHAPE = (195, 487)  # a Pilatus 100K-sized frame: 94965 pixels, not a multiple of 8 or 2048


def frames(dtype, n=5, seed=0):
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.1, 4000.0, SHAPE[0] * SHAPE[1]).reshape(SHAPE)
    data = rng.poisson(lam, size=(n, *SHAPE))
    if np.dtype(dtype).kind == "f":
        out = data.astype(dtype)
        out[1, 5, 7] = np.nan
        return out
    info = np.iinfo(dtype)
    out = np.clip(data, info.min, info.max).astype(dtype)
    out[:, 0, :10] = info.max  # a gap's invalid value
    if info.min < 0:
        out[2, 3, 4] = -2
    return out


def write(path, data, **filters):
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/data", data=data, **filters)
    return f"{path}::/entry/data/data"


def h5py_frames(spec):
    path, dset = spec.split("::")
    with h5py.File(path, "r") as f:
        return f[dset][()]


needs_library = pytest.mark.skipif(
    bitshuffle_library() is None, reason="hdf5plugin's bitshuffle library not loadable"
)


@needs_library
@pytest.mark.parametrize("dtype", [np.uint32, np.uint16, np.int32, np.float32, np.uint8])
@pytest.mark.parametrize("cname", ["lz4", "zstd"])
def test_bitshuffle_frames_bit_identical_to_h5py(tmp_path, dtype, cname):
    data = frames(dtype)
    chunks = (1, *SHAPE)
    spec = write(tmp_path / "f.h5", data, chunks=chunks, **hdf5plugin.Bitshuffle(cname=cname))
    with h5py.File(tmp_path / "f.h5") as f:
        assert chunk_reader(f["entry/data/data"]) is not None
    src = open_frames(spec)
    got = src.read_into(0, 5, np.empty((5, *SHAPE), dtype))
    ref = h5py_frames(spec)
    assert got.tobytes() == ref.tobytes()  # bit-identical, NaN included
    # Any range, and the plain batch reader too.
    assert src._read_range(2, 4).tobytes() == ref[2:4].tobytes()
    assert np.concatenate([b.data for b in src.batches(2)]).tobytes() == ref.tobytes()


@needs_library
@pytest.mark.parametrize("library", ["default", "hdf5plugin"])
def test_either_bitshuffle_library_decodes_the_same(tmp_path, monkeypatch, library):
    # The bitshuffle package's build (AVX2) where installed, else hdf5plugin's: same bits.
    from halos_analysis.io.frames import chunks

    if library == "hdf5plugin":
        monkeypatch.setenv("HALOS_BITSHUFFLE", "hdf5plugin")
    monkeypatch.setattr(chunks, "_library", {})
    data = frames(np.uint32)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle())
    got = open_frames(spec).read_into(0, 5, np.empty((5, *SHAPE), np.uint32))
    assert chunks.bitshuffle_library() is not None
    assert got.tobytes() == h5py_frames(spec).tobytes()
    monkeypatch.setattr(chunks, "_library", {})  # the next test loads its own


@pytest.mark.parametrize(
    "filters",
    [
        {"compression": "gzip"},
        {**hdf5plugin.LZ4()},
        {"compression": "lzf", "shuffle": True},
        {},  # uncompressed, chunked
    ],
    ids=["gzip", "lz4-filter", "shuffle-lzf", "plain-chunked"],
)
def test_other_pipelines_fall_back_to_h5py(tmp_path, filters):
    data = frames(np.uint32)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE), **filters)
    with h5py.File(tmp_path / "f.h5") as f:
        assert chunk_reader(f["entry/data/data"]) is None
    assert open_frames(spec)._read_range(0, 5).tobytes() == data.tobytes()


def test_other_layouts_fall_back_to_h5py(tmp_path):
    data = frames(np.uint32)
    bs = hdf5plugin.Bitshuffle(cname="lz4")
    cases = {
        "two_frames_per_chunk": dict(data=data, chunks=(2, *SHAPE), **bs),
        "tiled": dict(data=data, chunks=(1, 65, 487), **bs),
        "big_endian": dict(data=data.astype(">u4"), chunks=(1, *SHAPE), **bs),
        "contiguous": dict(data=data),
    }
    with h5py.File(tmp_path / "f.h5", "w") as f:
        for name, kw in cases.items():
            f.create_dataset(name, **kw)
    with h5py.File(tmp_path / "f.h5") as f:
        for name in cases:
            assert chunk_reader(f[name]) is None, name
    for name in cases:
        got = open_frames(f"{tmp_path / 'f.h5'}::/{name}")._read_range(0, 5)
        np.testing.assert_array_equal(got, data)


@needs_library
def test_unwritten_frames_read_as_hdf5_fill_value(tmp_path):
    """A file whose writer stopped early: frames never written read as h5py reads them."""
    data = frames(np.uint32, n=3)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("d", shape=(5, *SHAPE), dtype=np.uint32, chunks=(1, *SHAPE),
                              **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
        ds[:3] = data
    spec = f"{tmp_path / 'f.h5'}::/d"
    assert open_frames(spec)._read_range(0, 5).tobytes() == h5py_frames(spec).tobytes()


@needs_library
def test_corrupt_chunk_names_the_file_and_frame(tmp_path):
    data = frames(np.uint32, n=3)
    spec = write(tmp_path / "bad.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    with h5py.File(tmp_path / "bad.h5", "r+") as f:
        ds = f["entry/data/data"]
        _, raw = ds.id.read_direct_chunk((1, 0, 0))
        ds.id.write_direct_chunk((1, 0, 0), raw[:12] + raw[12:40])  # truncated blocks
        ds.id.write_direct_chunk((2, 0, 0), b"\x00" * 8)  # not even a header
    src = open_frames(spec)
    np.testing.assert_array_equal(src._read_range(0, 1)[0], data[0])
    for i in (1, 2):
        with pytest.raises(HalosInputError, match=f"frame {i}") as err:
            src._read_range(i, i + 1)
        assert "bad.h5" in str(err.value)


@needs_library
def test_reading_from_several_threads_gives_each_its_frames(tmp_path):
    data = frames(np.uint32, n=12, seed=3)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    src = open_frames(spec)
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(3):
                results[k] = src.read_into(4 * k, 4 * k + 4, np.empty((4, *SHAPE), np.uint32))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(3):
        np.testing.assert_array_equal(results[k], data[4 * k : 4 * k + 4])


def test_escape_hatch_reads_through_h5py(tmp_path, monkeypatch):
    data = frames(np.uint32)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    monkeypatch.setenv("HALOS_H5PY_READ", "1")
    with h5py.File(tmp_path / "f.h5") as f:
        assert chunk_reader(f["entry/data/data"]) is None
    assert open_frames(spec)._read_range(0, 5).tobytes() == data.tobytes()


@needs_library
def test_integration_from_chunks_equals_integration_through_h5py(tmp_path, monkeypatch):
    """Same frames in, same curves out, whichever way the file is read."""
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from halos_analysis.integrate import IntegrationSettings, integrate_files

    det = detector_factory("Pilatus100k")
    ai = AzimuthalIntegrator(dist=1.0, poni1=0.01, poni2=0.02, rot1=0.02, wavelength=1e-10,
                             detector=det)  # fmt: skip
    ai.write(str(tmp_path / "g.poni"))
    data = frames(np.uint32, n=20, seed=5)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    st = IntegrationSettings(npt=200, batch_size=7)
    fast = integrate_files(spec, tmp_path / "g.poni", settings=st, cache_dir=tmp_path)
    monkeypatch.setenv("HALOS_H5PY_READ", "1")
    plain = integrate_files(spec, tmp_path / "g.poni", settings=st, cache_dir=tmp_path)
    np.testing.assert_array_equal(fast.intensity, plain.intensity)
    np.testing.assert_array_equal(fast.sigma, plain.sigma)


@needs_library
def test_a_forked_child_reads_with_its_own_decode_threads(tmp_path):
    """Process schedulers fork: the child must not wait on the parent's pool threads."""
    import multiprocessing

    data = frames(np.uint32, n=4, seed=9)
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    src = open_frames(spec)
    src.read_into(0, 4, np.empty((4, *SHAPE), np.uint32))  # the parent's pool exists now
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(_read_all, (spec,)).get(timeout=60)
    assert got == data.tobytes()


def _read_all(spec):
    src = open_frames(spec)
    return src.read_into(0, 4, np.empty((4, *SHAPE), np.uint32)).tobytes()


@needs_library
@pytest.mark.parametrize("filters", [{"cname": "lz4"}, {"cname": "zstd"},
                                     {"cname": "lz4", "nelems": 1000}],
                         ids=["lz4", "zstd", "blocks-not-dividing-chunks"])  # fmt: skip
def test_frames_integrated_still_compressed_equal_frames_in_memory(tmp_path, monkeypatch,
                                                                   filters):  # fmt: skip
    """The kernel decompresses each pixel chunk itself (CompressedFrames): the same curves
    as the same frames in memory, bad pixels and the raw tail of each chunk included."""
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from halos_analysis.integrate import ArrayFrames, IntegrationSettings, Integrator, engine
    from halos_analysis.io.frames.chunks import CompressedFrames

    det = detector_factory("Pilatus100k")
    ai = AzimuthalIntegrator(dist=1.0, poni1=0.01, poni2=0.02, rot1=0.02, wavelength=1e-10,
                             detector=det)  # fmt: skip
    data = frames(np.uint32, n=37, seed=11)
    rng = np.random.default_rng(4)
    for j in range(0, 37, 3):  # a few bad pixels (2**32-1) in every third frame
        data[j].flat[rng.choice(data[j].size, 4, replace=False)] = 2**32 - 1
    data[5, 100, 300] = 2**31 + 7  # a genuine count the int32 view wraps
    spec = write(tmp_path / "f.h5", data, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle(**filters))
    src = open_frames(spec)
    src.invalid_value = 2**32 - 1
    got = src.read_compressed(0, 16)
    assert isinstance(got, CompressedFrames) and len(got) == 16
    got.release()
    st = IntegrationSettings(npt=150)
    integ = Integrator(ai, SHAPE, None, st, cache_dir=False, invalid_value=2**32 - 1)
    ref = integ.integrate_source(ArrayFrames(data, invalid_value=2**32 - 1), scheduler="sync")
    # A process's first measurement of a frame shape goes still compressed to the kernel,
    # the next ones through the frame buffers it then keeps: both give the same curves.
    monkeypatch.setattr(engine._FrameBuffers, "_warm", set())
    for _ in ("compressed", "buffered"):
        fast = integ.integrate_source(src, batch_size=8)
        np.testing.assert_array_equal(fast.intensity, ref.intensity)
        np.testing.assert_array_equal(fast.sigma, ref.sigma)


@needs_library
def test_corrupt_chunk_integrated_still_compressed_names_the_file(tmp_path, monkeypatch):
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from halos_analysis.integrate import IntegrationSettings, Integrator, engine

    ai = AzimuthalIntegrator(dist=1.0, poni1=0.01, poni2=0.02, wavelength=1e-10,
                             detector=detector_factory("Pilatus100k"))  # fmt: skip
    data = frames(np.uint32, n=40, seed=2)
    spec = write(tmp_path / "bad.h5", data, chunks=(1, *SHAPE),
                 **hdf5plugin.Bitshuffle(cname="lz4"))  # fmt: skip
    with h5py.File(tmp_path / "bad.h5", "r+") as f:
        ds = f["entry/data/data"]
        _, raw = ds.id.read_direct_chunk((33, 0, 0))
        ds.id.write_direct_chunk((33, 0, 0), raw[:12] + raw[12:40])  # truncated blocks
    integ = Integrator(ai, SHAPE, None, IntegrationSettings(npt=100), cache_dir=False)
    monkeypatch.setattr(engine._FrameBuffers, "_warm", set())
    for _ in ("compressed", "buffered"):
        with pytest.raises(HalosInputError, match="frame 33") as err:
            integ.integrate_source(open_frames(spec))
        assert "bad.h5" in str(err.value)
        engine._FrameBuffers._warm.add(((16, *SHAPE), np.dtype(np.uint32).str))
