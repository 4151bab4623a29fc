# SPDX-License-Identifier: MIT
"""`halos validate`: NXcanSAS outputs and raw frames against facility profiles."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from halos_analysis.io.nxcansas import write_frames, write_sample_result
from halos_analysis.io.validate import nexusformat_errors, validate_file
from halos_analysis.types import Curve, FrameCurves, GuinierResult


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    q = np.linspace(0.01, 0.4, 150)
    intensity = 10 * np.exp(-((q * 25) ** 2) / 3) + 0.01
    curve = Curve(q, intensity, 0.02 * intensity, "A^-1", name="lys")
    guinier = GuinierResult(25.0, 0.2, 10.0, 0.05, 0, 40, 0.25, 1.3, "A^-1")
    path = tmp_path_factory.mktemp("v") / "lys.h5"
    return write_sample_result(path, subtracted=curve, guinier=guinier, sample_info={"name": "lys"})


def test_our_files_are_valid(good_file, tmp_path):
    assert validate_file(good_file) == []
    assert nexusformat_errors(good_file) == []
    q = np.linspace(0.1, 3, 50)
    frames = FrameCurves(q, np.ones((4, 50)), np.full((4, 50), 0.1), "nm^-1", name="f")
    assert validate_file(write_frames(tmp_path / "frames.h5", frames)) == []


def _break(path, how):
    with h5py.File(path, "r+") as h5:
        data = h5["sasentry01/sasdata"]
        if how == "no I_axes":
            del data.attrs["I_axes"]
        elif how == "bad q unit":
            data["Q"].attrs["units"] = "1/A"
        elif how == "nan intensity":
            data["I"][3] = np.nan
        elif how == "short Idev":
            del data["Idev"]
            data["Idev"] = np.ones(10)
            data["Idev"].attrs["units"] = "arbitrary"
        elif how == "wrong definition":
            del h5["sasentry01/definition"]
            h5["sasentry01/definition"] = "NXsas"
        elif how == "no sample name":
            del h5["sasentry01/sassample/name"]
        elif how == "negative Idev":
            data["Idev"][0] = -1.0
        elif how == "signal not I":
            data.attrs["signal"] = "Q"


@pytest.mark.parametrize(
    "how, expected",
    [
        ("no I_axes", "@I_axes is required"),
        ("bad q unit", "'1/A' is not one of"),
        ("nan intensity", "non-finite values (first at index [3])"),
        ("short Idev", "Idev has shape (10,)"),
        ("wrong definition", "definition must be 'NXcanSAS'"),
        ("no sample name", "sassample/name is required"),
        ("negative Idev", "negative uncertainties"),
        ("signal not I", "@signal must be 'I'"),
    ],
)
def test_broken_files_name_the_problem(good_file, tmp_path, how, expected):
    path = tmp_path / "broken.h5"
    shutil.copy(good_file, path)
    _break(path, how)
    problems = validate_file(path)
    assert any(expected in p for p in problems), problems


def test_nexusformat_catches_what_the_definition_requires(good_file, tmp_path):
    pytest.importorskip("nexusformat")
    path = tmp_path / "broken.h5"
    shutil.copy(good_file, path)
    _break(path, "no sample name")
    errors = nexusformat_errors(path)
    assert any("sassample/name" in e for e in errors), errors


def test_not_hdf5_missing_and_directory(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("this is not HDF5\n")
    assert validate_file(text) == ["not an HDF5 file (and not a CBF/EDF/TIFF frame file)"]
    assert validate_file(tmp_path / "missing.h5") == ["file not found"]
    assert validate_file(tmp_path) == ["is a directory, not a file"]
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["x"] = 1
    problems = validate_file(tmp_path / "other.h5")
    assert problems and all(isinstance(p, str) for p in problems)


def test_other_programs_files_give_messages_not_tracebacks(validation_dir):
    files = sorted((validation_dir / "nxcansas").glob("*.h5*"))
    if not files:
        pytest.skip("no NXcanSAS files in validation/nxcansas")
    for path in files:
        problems = validate_file(path)
        assert all(isinstance(p, str) for p in problems)
    # The canSAS example W1W2.h5 predates Q_indices/I_axes and writes q in "1/A".
    w1w2 = validation_dir / "nxcansas" / "W1W2.h5"
    if w1w2.exists():
        problems = validate_file(w1w2)
        assert any("@Q_indices is required" in p for p in problems)
        assert any("'1/A' is not one of" in p for p in problems)


# --- raw frames ----------------------------------------------------------------------------

HEADER = {
    "Detector:": "PILATUS 100K, S/N 1-0000",
    "Pixel_size": "172e-6 m x 172e-6 m",
    "Exposure_time": "1.0000000 s",
    "Wavelength": "1.24000 A",
    "Detector_distance": "3.00000 m",
    "Beam_xy": "(50.00, 20.00) pixels",
    "Flux": "1.0e12",
    "Transmission": "0.5",
    "Sample_name": "bsa",
}


@pytest.fixture
def cbf(tmp_path):
    simulate = pytest.importorskip("halos_analysis.simulate")
    pytest.importorskip("halos_analysis.io.frames")
    data = np.random.default_rng(0).poisson(5, (40, 60)).astype(np.int32)

    def make(name, header=HEADER, frame=data):
        path = tmp_path / name
        simulate.write_minicbf(path, frame, header)
        return path

    return make


def test_raw_cbf_against_profile(cbf):
    good = cbf("good.cbf")
    assert validate_file(good) == []
    assert validate_file(good, profile="p12_pilatus_cbf") == []
    no_wavelength = cbf("nowl.cbf", {k: v for k, v in HEADER.items() if k != "Wavelength"})
    assert validate_file(no_wavelength, profile="p12_pilatus_cbf") == [
        "required field 'wavelength' is missing"
    ]
    empty = cbf("empty.cbf", frame=np.zeros((40, 60), np.int32))
    assert any("frame 0: empty" in p for p in validate_file(empty))
    unknown = validate_file(good, profile="no_such_beamline")
    assert len(unknown) == 1 and "unknown" in unknown[0]


def test_truncated_cbf_is_a_problem_not_a_traceback(cbf, tmp_path):
    good = cbf("good.cbf")
    cut = tmp_path / "cut.cbf"
    cut.write_bytes(good.read_bytes()[:-300])
    problems = validate_file(cut, profile="p12_pilatus_cbf")
    assert len(problems) == 1 and "truncated" in problems[0]


def test_real_eiger_data_file_lacks_master_metadata(validation_dir):
    pytest.importorskip("halos_analysis.io.frames")
    data_file = validation_dir / "frames" / "vac_007_data_000001.h5"
    if not data_file.exists():
        pytest.skip("vac_007_data_000001.h5 not present")
    problems = validate_file(data_file, profile="p12_eiger_nexus")
    # A DECTRIS data file without its master file: frames fine, geometry and exposure missing.
    assert "required field 'wavelength' is missing" in problems
    assert "required field 'exposure' is missing" in problems
    assert not any(p.startswith("frame") for p in problems)


def test_zero_or_negative_geometry_is_a_problem(cbf):
    bad = cbf("bad.cbf", HEADER | {"Detector_distance": "0.00000 m"})
    assert "field 'distance' must be positive, found 0.0" in validate_file(bad)
    edge = cbf("edge.cbf", HEADER | {"Beam_xy": "(0.00, -5.00) pixels"})
    assert validate_file(edge) == []  # a beam centre off the detector is allowed


def test_unreadable_frame_is_named_exactly(tmp_path):
    pytest.importorskip("halos_analysis.io.frames")
    # Ten frames, one gzip chunk each; garble the chunk of frame 5 (inside the first batch).
    rng = np.random.default_rng(1)
    path = tmp_path / "run.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(
            "entry/data/data",
            data=rng.poisson(5, (10, 30, 40)).astype(np.int32),
            chunks=(1, 30, 40),
            compression="gzip",
        )
        info = ds.id.get_chunk_info(5)
    with path.open("r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xde\xad\xbe\xef" * (info.size // 4))
    problems = validate_file(path, profile="dectris_nexus")
    unreadable = [p for p in problems if "cannot be read" in p]
    assert len(unreadable) == 1 and unreadable[0].startswith("frame 5 cannot be read"), problems


@pytest.mark.parametrize(("drop", "field"), [("Flux", "monitor"), ("Sample_name", "sample_name")])
def test_p12_cbf_must_carry_monitor_and_sample_name(cbf, drop, field):
    # Issue 5: a P12 file carries the monitor and the sample name; a bare Pilatus file need not.
    bare = cbf("bare.cbf", {k: v for k, v in HEADER.items() if k != drop})
    assert validate_file(bare) == []
    assert validate_file(bare, profile="p12_pilatus_cbf") == [
        f"required field {field!r} is missing"
    ]


def test_side_table_supplies_the_monitor(cbf, tmp_path):
    no_flux = cbf("noflux.cbf", {k: v for k, v in HEADER.items() if k != "Flux"})
    table = tmp_path / "counters.tsv"
    table.write_text("frame\tmonitor\n0\t123456\n")
    assert validate_file(no_flux, profile="p12_pilatus_cbf", side_table=table) == []
