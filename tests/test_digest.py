# SPDX-License-Identifier: MIT
"""SHA-256 computed from the bytes the readers read (io.digest): digests exact whatever the
read order, each byte read once, readers unchanged outside a recording."""

from __future__ import annotations

import hashlib
import random

import h5py
import numpy as np
import pytest

from halos_analysis.io import digest
from halos_analysis.io.digest import FileDigest, record_reads, sha256_file


@pytest.fixture
def blob(tmp_path):
    data = np.random.default_rng(3).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    return path, data


def test_digest_in_any_read_order_reads_each_byte_once(blob):
    path, data = blob
    d = FileDigest(path)
    # Scattered reads covering the file, ahead of the hashed prefix and overlapping.
    cuts = sorted(random.Random(1).sample(range(1, len(data)), 40))
    pieces = list(zip([0, *cuts], [*cuts, len(data)], strict=True))
    random.Random(2).shuffle(pieces)
    for start, stop in pieces:
        assert d.pread(stop - start, start) == data[start:stop]
    assert d.hexdigest() == hashlib.sha256(data).hexdigest()
    assert d.bytes_read == len(data)


def test_digest_completes_what_was_never_read(blob, monkeypatch):
    path, data = blob
    monkeypatch.setattr(digest, "PENDING_LIMIT", 100_000)  # most reads ahead are dropped
    d = FileDigest(path)
    d.pread(1000, 2_500_000)
    d.pread(500_000, 1_500_000)  # 1.5 MB after the hashed prefix: too far to fill the hole
    rec = d.record("frames")
    assert rec["sha256"] == hashlib.sha256(data).hexdigest() == sha256_file(path)
    # The 1000 bytes read ahead were kept; the 500 kB beyond the limit are read again.
    assert rec["bytes"] == len(data) and rec["bytes_read"] == len(data) + 500_000


def test_digest_reads_a_small_hole_instead_of_keeping_what_follows(blob, monkeypatch):
    path, data = blob
    monkeypatch.setattr(digest, "PENDING_LIMIT", 16 * 100_000)
    d = FileDigest(path)
    d.pread(100, 0)
    # HDF5 leaves a few kB unread before the first chunk; the chunks follow in order.
    for start in range(4196, len(data), 400_000):
        d.pread(400_000, start)
    rec = d.record("frames")
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    assert rec["bytes_read"] == len(data)  # the hole read once, nothing read again


def test_hdf5_read_through_the_digest(tmp_path):
    path = tmp_path / "frames.h5"
    frames = np.random.default_rng(0).poisson(5, (6, 64, 80)).astype(np.uint32)
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/data", data=frames, chunks=(1, 64, 80), compression="gzip")
    from halos_analysis.io.frames.layout import open_h5

    with record_reads() as log:
        with open_h5(path) as f:
            assert f.filename == str(path)  # the path, not the file object (links resolve)
            got = f["entry/data/data"][()]
        (rec,) = log.finish()
    np.testing.assert_array_equal(got, frames)
    assert rec["sha256"] == sha256_file(path) and rec["role"] == "frames"
    assert rec["bytes"] <= rec["bytes_read"] <= 1.05 * rec["bytes"] + 65536
    # Outside a recording nothing changes.
    with open_h5(path) as f:
        assert type(f) is h5py.File


def test_cbf_read_once_through_the_digest(tmp_path):
    from halos_analysis.io.frames import open_frames
    from halos_analysis.simulate.writers import write_minicbf

    frames = np.random.default_rng(1).poisson(20, (3, 40, 50)).astype(np.int32)
    files = []
    for i, frame in enumerate(frames):
        files.append(tmp_path / f"f_{i:03d}.cbf")
        write_minicbf(files[-1], frame, {"Exposure_time": "1.0 s"})
    with record_reads() as log:
        src = open_frames([str(f) for f in files])
        got = np.concatenate([b.data for b in src.batches(2)])
        records = log.finish()
    np.testing.assert_array_equal(got.reshape(frames.shape), frames)
    assert [r["sha256"] for r in records] == [sha256_file(f) for f in files]
    # The header read at opening is kept: decoding does not read it again.
    assert all(r["bytes_read"] == r["bytes"] for r in records), records


def test_recordings_do_not_nest():
    with record_reads(), pytest.raises(RuntimeError), record_reads():
        pass
    assert digest.active_log() is None
