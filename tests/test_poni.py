# SPDX-License-Identifier: MIT
"""PONI geometry and mask loading: every version pyFAI writes, clear errors otherwise."""

from __future__ import annotations

import fabio
import h5py
import numpy as np
import pytest
from pyFAI.detectors import detector_factory
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.errors import HalosInputError
from halos_analysis.io.poni import detector_mask, detector_shape, load_mask, load_poni

GEOMETRY = dict(dist=1.234, poni1=0.0421, poni2=0.0532, rot1=0.01, rot2=-0.02, rot3=0.0,
                wavelength=1.0e-10)  # fmt: skip

V1 = """# Nota: C-Order, 1 refers to the Y axis, 2 to the X axis
PixelSize1: 0.000172
PixelSize2: 0.000172
Distance: 1.234
Poni1: 0.0421
Poni2: 0.0532
Rot1: 0.01
Rot2: -0.02
Rot3: 0.0
Wavelength: 1e-10
"""


def _same_geometry(ai):
    for key, value in GEOMETRY.items():
        assert getattr(ai, key) == pytest.approx(value, rel=1e-12), key


def test_poni_v1_with_pixel_sizes(tmp_path):
    path = tmp_path / "v1.poni"
    path.write_text(V1)
    ai = load_poni(path)
    _same_geometry(ai)
    assert ai.detector.pixel1 == pytest.approx(172e-6)
    assert detector_shape(ai) is None  # v1 does not fix the detector size


@pytest.mark.parametrize("version", [2, 2.1])
def test_poni_v2_written_by_pyfai(tmp_path, version):
    ai0 = AzimuthalIntegrator(detector=detector_factory("Pilatus1M"), **GEOMETRY)
    path = tmp_path / "v2.poni"
    ai0.write(str(path))
    text = path.read_text()
    if version == 2:  # pyFAI's v2 has no orientation in the detector config
        text = text.replace("poni_version: 2.1", "poni_version: 2").replace(
            ', "orientation": 3', ""
        )
    path.write_text(text)
    ai = load_poni(path)
    _same_geometry(ai)
    assert detector_shape(ai) == (1043, 981)
    mask = detector_mask(ai, (1043, 981))
    assert mask is not None and mask.any() and not mask.all()  # the module gaps
    assert detector_mask(ai, (10, 10)) is None


@pytest.mark.parametrize("key", ["Distance", "Poni1", "Poni2", "Rot1", "Wavelength"])
def test_missing_key_names_file_and_key(tmp_path, key):
    path = tmp_path / "broken.poni"
    path.write_text("\n".join(li for li in V1.splitlines() if not li.startswith(key + ":")))
    with pytest.raises(HalosInputError) as err:
        load_poni(path)
    assert err.value.path == str(path)
    assert err.value.field == key
    assert "broken.poni" in str(err.value) and key in str(err.value)


def test_bad_values_and_files(tmp_path):
    bad = tmp_path / "bad.poni"
    bad.write_text(V1.replace("Distance: 1.234", "Distance: far"))
    with pytest.raises(HalosInputError, match="Distance"):
        load_poni(bad)
    nodet = tmp_path / "nodet.poni"
    nodet.write_text("\n".join(li for li in V1.splitlines() if "PixelSize" not in li))
    with pytest.raises(HalosInputError, match="pixel size"):
        load_poni(nodet)
    with pytest.raises(HalosInputError, match="not found"):
        load_poni(tmp_path / "missing.poni")
    binary = tmp_path / "binary.poni"
    binary.write_bytes(b"\xff\xfe\x00\x01" * 10)
    with pytest.raises(HalosInputError, match="binary.poni"):
        load_poni(binary)
    unknown = tmp_path / "unknown.poni"
    unknown.write_text(V1 + "Detector: NoSuchDetector9000\n")
    with pytest.raises(HalosInputError, match="Detector"):
        load_poni(unknown)


@pytest.mark.parametrize(
    "line, replacement, key",
    [
        ("Distance: 1.234", "Distance: 0", "Distance"),
        ("Distance: 1.234", "Distance: -1.2", "Distance"),
        ("Wavelength: 1e-10", "Wavelength: -1e-10", "Wavelength"),
        ("Wavelength: 1e-10", "Wavelength: 0.0", "Wavelength"),
        ("Rot1: 0.01", "Rot1: nan", "Rot1"),
        ("Poni2: 0.0532", "Poni2: inf", "Poni2"),
        ("PixelSize2: 0.000172", "PixelSize2: -0.000172", "PixelSize2"),
        ("PixelSize1: 0.000172", "PixelSize1: 0", "PixelSize1"),
    ],
)
def test_impossible_geometry_blames_the_poni_key(tmp_path, line, replacement, key):
    # pyFAI loads these; without the check the integration later blames the frame.
    path = tmp_path / "impossible.poni"
    path.write_text(V1.replace(line, replacement))
    with pytest.raises(HalosInputError) as err:
        load_poni(path)
    assert err.value.path == str(path)
    assert err.value.field == key
    assert "impossible.poni" in str(err.value) and key in str(err.value)


def test_impossible_distance_in_a_pyfai_v2_file(tmp_path):
    ai0 = AzimuthalIntegrator(detector=detector_factory("Pilatus1M"), **GEOMETRY)
    path = tmp_path / "v2.poni"
    ai0.write(str(path))
    text = path.read_text()
    assert "Distance: 1.234" in text
    path.write_text(text.replace("Distance: 1.234", "Distance: 0.0"))
    with pytest.raises(HalosInputError, match="Distance") as err:
        load_poni(path)
    assert err.value.field == "Distance"


@pytest.fixture()
def mask_array():
    m = np.zeros((20, 30), np.uint8)
    m[3:5, 7:9] = 1
    m[10, :] = 255
    return m


@pytest.mark.parametrize("fmt", ["npy", "edf", "tif", "h5", "h5path"])
def test_mask_formats(tmp_path, mask_array, fmt):
    if fmt == "npy":
        path = tmp_path / "m.npy"
        np.save(path, mask_array)
    elif fmt in ("edf", "tif"):
        path = tmp_path / f"m.{fmt}"
        img = fabio.edfimage.EdfImage if fmt == "edf" else fabio.tifimage.TifImage
        img(data=mask_array).write(str(path))
    else:
        path = tmp_path / "m.h5"
        with h5py.File(path, "w") as f:
            f["entry/other"] = np.zeros(5)  # 1D: not a candidate
            f["entry/pixel_mask"] = mask_array
        if fmt == "h5path":
            path = f"{path}::/entry/pixel_mask"
    mask = load_mask(path, shape=(20, 30))
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, mask_array != 0)


def test_mask_errors(tmp_path, mask_array):
    path = tmp_path / "m.npy"
    np.save(path, mask_array)
    with pytest.raises(HalosInputError, match=r"does not match") as err:
        load_mask(path, shape=(30, 20))
    assert err.value.path == str(path)
    with pytest.raises(HalosInputError, match="not found"):
        load_mask(tmp_path / "nope.npy")
    two = tmp_path / "two.h5"
    with h5py.File(two, "w") as f:
        f["a"] = mask_array
        f["b"] = mask_array
    with pytest.raises(HalosInputError, match="FILE.h5::"):
        load_mask(two)
    with pytest.raises(HalosInputError, match="dataset not found"):
        load_mask(f"{two}::/c")
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((2, 3, 4)))
    with pytest.raises(HalosInputError, match="2D"):
        load_mask(cube)
