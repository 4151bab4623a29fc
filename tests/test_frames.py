# SPDX-License-Identifier: MIT
"""Frame readers: round trip of what the simulator writes, streaming, bad input, real files."""

from __future__ import annotations

import json
import pickle
import shutil
import tracemalloc
from pathlib import Path

import fabio.cbfimage
import fabio.edfimage
import h5py
import hdf5plugin
import numpy as np
import pyFAI.detectors
import pytest

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames import FrameSource, open_frames, read_minicbf_header
from halos_analysis.io.profiles import PROFILES, get_profile, parse_location, required_fields
from halos_analysis.simulate import simulate_example

N = 3


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A small simulated measurement: 3 frames per sample, Eiger split over 2 data files."""
    out = tmp_path_factory.mktemp("sim")
    truth = simulate_example(out, n_frames=N, damaged_frames=1, frames_per_data_file=2, seed=3)
    return out, truth


def _small_cbf(path: Path, shape: tuple[int, int], value: int = 1) -> Path:
    fabio.cbfimage.CbfImage(data=np.full(shape, value, np.int32)).write(str(path))
    return path


# ----------------------------------------------------------------------------- round trip


def test_eiger_master_round_trip(sim):
    out, truth = sim
    info = truth["detectors"]["eiger4m"]
    with open_frames(out / "eiger4m" / "bsa_master.h5") as src:
        md = src.metadata
        assert (src.n_frames, src.shape, src.dtype) == (N, (2162, 2068), np.uint32)
        assert md.wavelength_m == pytest.approx(truth["wavelength_m"], rel=1e-9)
        assert md.distance_m == pytest.approx(info["setup"]["distance_m"])
        assert md.pixel1_m == md.pixel2_m == pytest.approx(75e-6)
        assert md.beam_center_x_px == pytest.approx(info["setup"]["beam_x_px"])
        assert md.beam_center_y_px == pytest.approx(info["setup"]["beam_y_px"])
        assert md.count_time_s == pytest.approx(info["setup"]["exposure_s"])
        assert md.bit_depth == 32 and src.invalid_value == 2**32 - 1
        assert md.sample_name == "bsa"
        np.testing.assert_allclose(src.monitor, info["monitor"]["bsa"], rtol=1e-12)
        np.testing.assert_allclose(src.transmission, info["transmission"]["bsa"], rtol=1e-12)
        gaps = np.asarray(pyFAI.detectors.detector_factory("Eiger2_4M").mask, bool)
        np.testing.assert_array_equal(src.pixel_mask, gaps)
        # Frames 0-1 live in data file 1, frame 2 in data file 2: read across the boundary.
        with h5py.File(out / "eiger4m" / "bsa_data_000002.h5") as f:
            direct = f["/entry/data/data"][0]
        np.testing.assert_array_equal(src.read(2), direct)
        frame = src.read(0)
        assert (frame[gaps] == 2**32 - 1).all()
        np.testing.assert_array_equal(src.invalid_pixels(frame), gaps)


@pytest.mark.parametrize("form", ["dir", "glob", "list"])
def test_cbf_round_trip(sim, form):
    out, truth = sim
    info = truth["detectors"]["pilatus2m"]
    folder = out / "pilatus2m" / "buffer"
    spec = {
        "dir": folder,
        "glob": str(folder / "frame_*.cbf"),
        "list": sorted(folder.glob("*.cbf")),
    }[form]
    src = open_frames(spec)
    md = src.metadata
    assert (src.n_frames, src.shape, src.dtype) == (N, (1679, 1475), np.int32)
    assert md.wavelength_m == pytest.approx(1.24e-10)
    assert md.distance_m == pytest.approx(info["setup"]["distance_m"])
    assert md.pixel1_m == md.pixel2_m == pytest.approx(172e-6)
    assert (md.beam_center_x_px, md.beam_center_y_px) == pytest.approx(
        (info["setup"]["beam_x_px"], info["setup"]["beam_y_px"])
    )
    assert md.sample_name == "buffer" and "PILATUS" in md.detector
    # Monitor = Flux (photons/s) x exposure time: the frame's incident photons.
    np.testing.assert_allclose(src.monitor, info["monitor"]["buffer"], rtol=1e-8)
    np.testing.assert_allclose(src.transmission, info["transmission"]["buffer"], rtol=1e-8)
    np.testing.assert_allclose(src.exposure_s, info["setup"]["exposure_s"])
    gaps = np.asarray(pyFAI.detectors.detector_factory("Pilatus2M").mask, bool)
    frame = src.read(1)
    assert (frame[gaps] == -1).all() and (frame[~gaps] >= 0).all()
    assert src.invalid_value == -1
    np.testing.assert_array_equal(frame, fabio.open(str(folder / "frame_00002.cbf")).data)


def test_batches_cover_every_frame_once(sim):
    out, _ = sim
    src = open_frames(out / "eiger4m" / "buffer_master.h5")
    batches = list(src.batches(size=2))
    assert [b.start for b in batches] == [0, 2]
    assert [len(b.data) for b in batches] == [2, 1]
    stacked = np.concatenate([b.data for b in batches])
    for i in range(N):
        np.testing.assert_array_equal(stacked[i], src.read(i))
    np.testing.assert_array_equal(np.concatenate([b.monitor for b in batches]), src.monitor)
    part = list(src.batches(size=8, start=1, stop=3))
    assert len(part) == 1 and part[0].start == 1 and part[0].stop == 3


def _peak_bytes(src: FrameSource, stop: int) -> int:
    tracemalloc.start()
    try:
        for batch in src.batches(size=1, stop=stop):
            assert batch.data.shape[0] == 1
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("spec", ["pilatus2m/bsa", "eiger4m/bsa_master.h5"])
def test_streaming_memory_does_not_grow_with_frames(sim, spec):
    out, _ = sim
    src = open_frames(out / spec)
    frame_bytes = src.shape[0] * src.shape[1] * src.dtype.itemsize
    # While the next batch is read the caller still holds the previous one, so the steady
    # state is two batches; it must not grow further with the number of frames read.
    two, every = _peak_bytes(src, 2), _peak_bytes(src, N)
    assert every < two + 0.5 * frame_bytes


def test_source_pickles_after_reading(sim):
    out, _ = sim
    src = open_frames(out / "eiger4m" / "bsa_master.h5")
    first = src.read(0)
    clone = pickle.loads(pickle.dumps(src))  # e.g. sent to a Dask worker
    np.testing.assert_array_equal(clone.read(0), first)
    assert isinstance(clone, FrameSource)


def test_side_table_wins_and_must_cover_every_frame(sim, tmp_path):
    out, _ = sim
    table = tmp_path / "frames.tsv"
    table.write_text("frame\tmonitor\ttransmission\n0\t10\t0.5\n1\t11\t0.6\n2\t12\t0.7\n")
    src = open_frames(out / "pilatus2m" / "bsa", side_table=table)
    np.testing.assert_array_equal(src.monitor, [10, 11, 12])
    np.testing.assert_array_equal(src.transmission, [0.5, 0.6, 0.7])
    assert src.exposure_s is not None  # columns the table lacks still come from the headers
    by_file = tmp_path / "by_file.tsv"
    by_file.write_text(
        "file\tmonitor\n" + "".join(f"frame_{i + 1:05d}.cbf\t{i + 5}\n" for i in range(N))
    )
    np.testing.assert_array_equal(
        open_frames(out / "pilatus2m" / "bsa", side_table=by_file).monitor, [5, 6, 7]
    )
    table.write_text("frame\tmonitor\n0\t10\n2\t12\n")
    with pytest.raises(HalosInputError, match="no row for frame 1") as err:
        open_frames(out / "eiger4m" / "bsa_master.h5", side_table=table)
    assert err.value.path == str(table) and err.value.field == "frame 1"


def test_multi_frame_edf_with_esrf_keywords(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    head = {
        "ExposureTime": "0.5",
        "SampleDistance": "2.5",
        "WaveLength": "1e-10",
        "PSize_1": "172e-6",
        "PSize_2": "172e-6",
        "Center_1": "1.5",
        "Center_2": "2.5",
    }
    img = fabio.edfimage.EdfImage(data=a, header={**head, "Intensity0": "100"})
    img.append_frame(data=a + 1, header={**head, "Intensity0": "110"})
    img.write(str(tmp_path / "run.edf"))
    src = open_frames(tmp_path / "run.edf")
    assert src.n_frames == 2 and src.shape == (3, 4)
    np.testing.assert_array_equal(src.read(1), a + 1)
    np.testing.assert_array_equal(src.monitor, [100, 110])
    md = src.metadata
    assert (md.distance_m, md.wavelength_m, md.count_time_s) == (2.5, 1e-10, 0.5)
    assert (md.beam_center_x_px, md.beam_center_y_px) == (1.5, 2.5)


def test_plain_lz4_hdf5_stack(tmp_path):
    path = tmp_path / "stack.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "/scan/frames", data=np.ones((3, 5, 6), np.uint16), chunks=(1, 5, 6), **hdf5plugin.LZ4()
        )
    src = open_frames(f"{path}::/scan/frames")
    assert (src.n_frames, src.shape, src.invalid_value) == (3, (5, 6), 2**16 - 1)
    assert int(src.read(2).sum()) == 30


# ----------------------------------------------------------------------------- bad input


def test_master_whose_data_file_is_missing(sim, tmp_path):
    out, _ = sim
    shutil.copy(out / "eiger4m" / "bsa_master.h5", tmp_path)
    shutil.copy(out / "eiger4m" / "bsa_data_000001.h5", tmp_path)
    with pytest.raises(HalosInputError, match="bsa_data_000002.h5") as err:
        open_frames(tmp_path / "bsa_master.h5")
    assert err.value.path.endswith("bsa_master.h5") and "data_000002" in err.value.field


def test_dataset_path_that_does_not_exist(sim):
    out, _ = sim
    spec = f"{out / 'eiger4m' / 'bsa_data_000001.h5'}::/entry/data/nope"
    with pytest.raises(HalosInputError, match="no frame dataset") as err:
        open_frames(spec)
    assert err.value.field == "/entry/data/nope"


def test_plain_data_file_without_master(sim):
    out, _ = sim
    src = open_frames(out / "eiger4m" / "bsa_data_000001.h5")  # falls back to /entry/data/data
    assert src.n_frames == 2 and src.invalid_value == 2**32 - 1


def test_frames_of_different_shapes(tmp_path):
    a = _small_cbf(tmp_path / "a_001.cbf", (10, 12))
    b = _small_cbf(tmp_path / "a_002.cbf", (12, 10))
    with pytest.raises(HalosInputError, match="shape") as err:
        open_frames([a, b])
    assert err.value.path == str(b) and err.value.field == "shape"


def test_truncated_cbf(sim, tmp_path):
    out, _ = sim
    raw = (out / "pilatus2m" / "bsa" / "frame_00001.cbf").read_bytes()
    cut = tmp_path / "cut.cbf"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(HalosInputError, match="truncated") as err:
        open_frames(cut)
    assert err.value.path == str(cut)
    assert read_minicbf_header(out / "pilatus2m" / "bsa" / "frame_00001.cbf")["Sample_name"]


def test_truncated_or_corrupt_hdf5(sim, tmp_path):
    out, _ = sim
    raw = (out / "eiger4m" / "bsa_data_000002.h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(HalosInputError) as err:
        src = open_frames(f"{cut}::/entry/data/data")
        src.read(0)
    assert err.value.path == str(cut)


def test_non_2d_data_and_missing_files(tmp_path):
    path = tmp_path / "line.h5"
    with h5py.File(path, "w") as f:
        f["/entry/data/data"] = np.arange(10)
    with pytest.raises(HalosInputError, match="2D") as err:
        open_frames(path)
    assert err.value.field == "/entry/data/data"
    with pytest.raises(HalosInputError, match="not found"):
        open_frames(tmp_path / "absent_master.h5")
    with pytest.raises(HalosInputError, match="no file matches"):
        open_frames(str(tmp_path / "*.cbf"))
    with pytest.raises(HalosInputError, match="not found"):
        open_frames([tmp_path / "x_1.cbf", tmp_path / "x_2.cbf"])


# ----------------------------------------------------------------------------- profiles


def test_profiles_are_declarative_and_complete():
    for name in (
        "p12_pilatus_cbf",
        "p12_eiger_nexus",
        "maxiv_cosaxs_2024",
        "maxiv_cosaxs_2021",
        "esrf_bm29_bliss",
        "esrf_bm29_lima",
        "biocat_eiger",
        "diamond_b21",
    ):
        prof = get_profile(name)
        assert prof["format"] in ("cbf", "hdf5") and prof["description"]
        assert prof["evidence"][0] in ("REAL", "CODE", "DOC") and prof["evidence"][1]
        assert set(required_fields(name)) <= set(prof["fields"])
        for field in ("monitor", "exposure"):
            assert field in prof["fields"], (name, field)
        for locations in prof["fields"].values():
            for loc in locations:
                parse_location(loc)  # every location is well formed
    # Carriage positions are never a distance: CoSAXS takes it from the PONI only.
    assert get_profile("maxiv_cosaxs_2024")["fields"]["distance"] == ("poni:distance",)
    assert "side:monitor" in get_profile("esrf_bm29_lima")["fields"]["monitor"]
    with pytest.raises(KeyError, match="known"):
        get_profile("nowhere")
    assert all(isinstance(row, dict) for row in PROFILES.values())


def test_profile_changes_where_fields_are_read(sim, tmp_path):
    out, _ = sim
    # The old CoSAXS name now means the real scan layout: a DECTRIS master is not one.
    with pytest.raises(HalosInputError, match="looked for /entry/instrument/eiger/data"):
        open_frames(out / "eiger4m" / "bsa_master.h5", profile="maxiv_cosaxs_eiger")
    # A profile whose counters come from a side table only reads none from the file.
    src = open_frames(out / "eiger4m" / "bsa_data_000001.h5", profile="dectris_data")
    assert src.monitor is None and src.n_frames == 2 and src.metadata.wavelength_m is None
    with pytest.raises(HalosInputError, match="profile 'p12_pilatus_cbf' is for cbf") as err:
        open_frames(out / "eiger4m" / "bsa_master.h5", profile="p12_pilatus_cbf")
    assert err.value.field == "profile"
    with pytest.raises(HalosInputError, match="unknown facility profile"):
        open_frames(out / "pilatus2m" / "bsa", profile="p13")


# ----------------------------------------------------------------------------- real data


def test_real_eiger9m_data_file(validation_dir):
    ref = json.loads((validation_dir / "reference.json").read_text())["cases"]["eiger9m_frames"]
    src = open_frames(f"{validation_dir / 'frames' / 'vac_007_data_000001.h5'}::/entry/data/data")
    assert (src.n_frames, src.shape) == (2, (3262, 3108))
    sums = [int(b.data.sum(dtype=np.uint64)) for b in src.batches(size=1)]
    assert sums == [ref["image_checks"]["frame0_sum"], ref["image_checks"]["frame1_sum"]]
    assert src.invalid_value == ref["image_checks"]["max"]


def test_real_pilatus100k_tiff(validation_dir):
    ref = json.loads((validation_dir / "reference.json").read_text())["cases"]
    checks = ref["pilatus100k_frame"]["image_checks"]
    src = open_frames(validation_dir / "frames" / "GI2_A9_19_001_0000.tiff")
    frame = src.read(0)
    assert list(frame.shape) == checks["shape"] and int(frame.sum()) == checks["sum"]
    assert src.metadata.pixel1_m == pytest.approx(172e-6)
    assert src.monitor is None  # the header's "Flux 0.0000" means no flux was recorded


def test_facility_profiles_validate_the_simulated_master(sim, tmp_path):
    from halos_analysis.io.validate import validate_file, validate_report

    out, truth = sim
    master = out / "eiger4m" / "bsa_master.h5"
    assert validate_file(master, profile="p12_eiger_nexus") == []
    rep = validate_report(master)
    assert rep.valid and rep.profile == "dectris_nexus" and "looks like DECTRIS" in rep.layout
    # A P12 master without its sample name, or with an empty one, is not complete.
    for how in ("absent", "empty"):
        nameless = out / "eiger4m" / f"nameless_{how}_master.h5"
        shutil.copy(master, nameless)
        with h5py.File(nameless, "r+") as f:
            del f["entry/sample/name"]
            if how == "empty":
                f["entry/sample/name"] = ""
        assert validate_file(nameless, profile="p12_eiger_nexus") == [
            "required field 'sample_name' is missing"
        ], how
