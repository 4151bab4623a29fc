# SPDX-License-Identifier: MIT
"""NXcanSAS files: round trip, the NeXus validator, SasView's reader, other programs' files."""

from __future__ import annotations

import dataclasses
import math

import h5py
import numpy as np
import pytest

from halos_analysis.errors import HalosInputError
from halos_analysis.io.nxcansas import (
    q_unit_from_nx,
    read_frames,
    read_main_curve,
    read_nxcansas,
    read_results,
    write_frames,
    write_sample_result,
)
from halos_analysis.types import (
    Curve,
    FrameCurves,
    FrameMetadata,
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
)


def sphere_curve(radius: float = 30.0, q_unit: str = "A^-1", n: int = 250) -> Curve:
    """Scattering of a homogeneous sphere (Rg = √(3/5) R) with 1 % noise, seeded."""
    q = np.linspace(0.008, 0.45, n) * (10.0 if q_unit == "nm^-1" else 1.0)
    qr = q * (radius / (10.0 if q_unit == "nm^-1" else 1.0))
    amp = 3 * (np.sin(qr) - qr * np.cos(qr)) / qr**3
    intensity = 50.0 * amp**2 + 1e-3
    sigma = 0.01 * intensity + 1e-4
    noisy = intensity + np.random.default_rng(1).normal(0, sigma)
    return Curve(q, noisy, sigma, q_unit, name="sphere")


def results(curve: Curve) -> dict:
    """Typed results consistent with the sphere above, built directly (no analysis code)."""
    rg = math.sqrt(3 / 5) * 30.0 * (0.1 if curve.q_unit == "nm^-1" else 1.0)
    r = np.linspace(0, 2 * rg / math.sqrt(3 / 5), 60)
    p = r**2 * (1 - 0.75 * r / r[-1] + 0.0625 * (r / r[-1]) ** 3)
    n = 6
    pv = np.full((n, n), 0.5)
    pv[5, :] = pv[:, 5] = 1e-5
    return dict(
        guinier=GuinierResult(rg, 0.2, 50.0, 0.3, 3, 30, 0.2, 1.28, curve.q_unit, r2=0.999),
        pr=PrResult(
            r[-1],
            1.0,
            rg,
            0.1,
            50.1,
            0.2,
            1.02,
            3.0,
            curve.q_unit,
            r,
            p,
            0.05 * p + 1,
            curve.q,
            curve.intensity * 0.99,
        ),
        mw=MWResult(66.1, 63.2, 1.1e5, 600.0, curve.q_unit, mw_consensus_kda=64.6),
        kratky=KratkyResult(
            curve.q * rg,
            (curve.q * rg) ** 2 * curve.intensity / 50,
            np.full(len(curve), 0.01),
            1.75,
            1.10,
        ),
        similarity=SimilarityResult(
            pv, pv, np.zeros((n, n)), 0.01, "holm", (0, 1, 2, 3, 4), {5: "differs from the others"}
        ),
    )


INSTRUMENT = FrameMetadata(
    detector="PILATUS 2M",
    shape=(1679, 1475),
    n_frames=20,
    pixel1_m=172e-6,
    pixel2_m=172e-6,
    wavelength_m=1.24e-10,
    distance_m=3.1,
    beam_center_x_px=720.5,
    beam_center_y_px=810.25,
    count_time_s=0.05,
    source="P12",
)


@pytest.fixture
def result_file(tmp_path):
    sub = sphere_curve()
    res = results(sub)
    sample = Curve(sub.q, sub.intensity + 1.0, sub.sigma * 1.1, sub.q_unit, name="sample")
    buffer = Curve(sub.q, np.full(len(sub), 1.0), sub.sigma * 0.5, sub.q_unit, name="buffer")
    path = write_sample_result(
        tmp_path / "bsa.h5",
        subtracted=sub,
        sample_avg=sample,
        buffer_avg=buffer,
        instrument=INSTRUMENT,
        flags=("aggregation",),
        sample_info={
            "name": "bsa",
            "concentration_mg_ml": 4.5,
            "buffer": "PBS",
            "temperature": 20.0,
            "transmission": 0.45,
        },
        process={
            "parameters": {"guinier": {"qrg_max": 1.3}, "npt": 500},
            "config_text": "samples: config/samples.tsv\nguinier:\n  qrg_max: 1.3\n",
            "provenance": {"inputs": {"frames/a.cbf": "ab" * 32}, "command": "halos x"},
        },
        **res,
    )
    return path, sub, sample, buffer, res


def test_round_trip_curves_and_results(result_file):
    path, sub, sample, buffer, res = result_file
    assert not path.with_name(path.name + ".part").exists()
    curves = {c.name.rsplit("/", 1)[-1]: c for c in read_nxcansas(path)}
    assert set(curves) == {"sasdata", "sasdata_sample", "sasdata_buffer"}
    for got, want in (
        (curves["sasdata"], sub),
        (curves["sasdata_sample"], sample),
        (curves["sasdata_buffer"], buffer),
    ):
        assert got.q_unit == want.q_unit
        np.testing.assert_array_equal(got.q, want.q)
        np.testing.assert_array_equal(got.intensity, want.intensity)
        np.testing.assert_array_equal(got.sigma, want.sigma)
    main = read_main_curve(path)
    np.testing.assert_array_equal(main.intensity, sub.intensity)

    out = read_results(path)
    g = res["guinier"]
    assert out["guinier"]["Rg"] == g.Rg and out["guinier"]["I0_err"] == g.I0_err
    assert (out["guinier"]["first"], out["guinier"]["last"]) == (g.first, g.last)
    assert out["molecular_weight"]["mw_consensus_kda"] == res["mw"].mw_consensus_kda
    assert out["pr"]["Dmax"] == res["pr"].Dmax
    assert list(out["similarity"]["selected"]) == [0, 1, 2, 3, 4]
    assert out["flags"] == ["aggregation"]
    assert "qrg_max: 1.3" in out["config_text"]
    assert out["provenance"]["command"] == "halos x"


def test_layout_follows_nxcansas(result_file):
    path = result_file[0]
    with h5py.File(path) as h5:
        entry = h5[h5.attrs["default"]]
        assert entry.attrs["canSAS_class"] == "SASentry"
        assert entry["definition"][()].decode() == "NXcanSAS"
        data = entry[entry.attrs["default"]]
        assert data.attrs["signal"] == "I" and data.attrs["I_axes"] == "Q"
        assert data.attrs["Q_indices"] == 0 and data.attrs["Q_indices"].dtype.kind == "i"
        assert data["Q"].attrs["units"] == "1/angstrom"
        assert data["I"].attrs["uncertainties"] == "Idev"
        det = entry["sasinstrument/sasdetector"]
        assert det["SDD"][()] == pytest.approx(3.1) and det["SDD"].attrs["units"] == "m"
        # Beam centre is a length in NXcanSAS: pixels x pixel size.
        assert det["beam_center_x"][()] == pytest.approx(720.5 * 0.172)
        src = entry["sasinstrument/sassource"]
        assert src["incident_wavelength"][()] == pytest.approx(1.24)
        assert entry["sassample/concentration"].attrs["units"] == "mg/mL"
        pr = entry["sasprocess02/pr_distribution"]
        assert pr.attrs["NX_class"] == "NXdata" and pr["r"].attrs["units"] == "angstrom"


def test_nm_units_and_absolute_scale(tmp_path):
    sub = sphere_curve(q_unit="nm^-1")
    sub = dataclasses.replace(sub, meta={**sub.meta, "intensity_unit": "cm^-1"})
    path = write_sample_result(tmp_path / "x.h5", subtracted=sub, **results(sub))
    with h5py.File(path) as h5:
        assert h5["sasentry01/sasdata/Q"].attrs["units"] == "1/nm"
        assert h5["sasentry01/sasdata/I"].attrs["units"] == "1/cm"
        assert h5["sasentry01/sasprocess02/guinier/Rg"].attrs["units"] == "nm"
    back = read_main_curve(path)
    assert back.q_unit == "nm^-1" and back.meta["intensity_unit"] == "1/cm"


def test_nexusformat_validator_finds_no_error(result_file, tmp_path):
    nxv = pytest.importorskip("nexusformat.nexus.validate")
    warnings, errors = nxv.validate_application(str(result_file[0]), application="NXcanSAS")
    assert errors == 0
    sub = sphere_curve()
    frames = write_frames(
        tmp_path / "f.h5",
        FrameCurves(
            sub.q, np.tile(sub.intensity, (3, 1)), np.tile(sub.sigma, (3, 1)), "A^-1", name="f"
        ),
    )
    assert nxv.validate_application(str(frames), application="NXcanSAS")[1] == 0


def test_sasview_reads_the_same_numbers(result_file):
    loader = pytest.importorskip("sasdata.dataloader.loader")
    path, sub, sample, buffer, _ = result_file
    data = loader.Loader().load(str(path))
    assert len(data) == 3
    for want in (sub, sample, buffer):
        match = [d for d in data if np.array_equal(d.y, want.intensity)]
        assert len(match) == 1, "each of our curves is one SasView data set"
        np.testing.assert_allclose(match[0].x, want.q, rtol=1e-12)  # SasView converts units
        np.testing.assert_array_equal(match[0].dy, want.sigma)
        assert match[0]._xunit == "A^{-1}"
    d = data[0]
    assert d.title == "bsa" and d.sample.name == "bsa"
    assert d.source.wavelength == pytest.approx(1.24)
    assert d.detector[0].distance == pytest.approx(3.1)


def test_frames_round_trip_shares_q(tmp_path):
    sub = sphere_curve(n=120)
    rng = np.random.default_rng(3)
    n = 40
    intensity = sub.intensity * rng.uniform(0.9, 1.1, (n, 1))
    ids = tuple(range(100, 100 + 2 * n, 2))
    frames = FrameCurves(
        sub.q,
        intensity,
        intensity * 0.02,
        "A^-1",
        name="sec",
        frame_ids=ids,
        meta={"monitor": np.linspace(1, 2, n), "npt": np.int64(120), "unit": "q_A^-1"},
    )
    path = write_frames(tmp_path / "sec.h5", frames, INSTRUMENT, {"command": "halos integrate"})
    back = read_frames(path)
    assert back.frame_ids == ids and back.name == "sec" and back.q_unit == "A^-1"
    np.testing.assert_array_equal(back.intensity, intensity)
    np.testing.assert_array_equal(back.sigma, intensity * 0.02)
    np.testing.assert_array_equal(back.meta["monitor"], np.linspace(1, 2, n))
    assert back.meta["npt"] == 120 and back.meta["unit"] == "q_A^-1"
    with h5py.File(path) as h5:
        e = h5["sasentry01"]
        groups = [k for k in e if e[k].attrs.get("canSAS_class") == "SASdata"]
        assert len(groups) == n
        # One q axis on disk, hard-linked into every frame's SASdata.
        q0 = e[groups[0]]["Q"]
        assert all(e[g]["Q"] == q0 for g in groups)  # h5py: same object, not equal values
    sasview = pytest.importorskip("sasdata.dataloader.loader")
    assert len(sasview.Loader().load(str(path))) == n


def test_failed_write_leaves_nothing(tmp_path):
    sub = sphere_curve()
    target = tmp_path / "x.h5"
    target.write_bytes(b"previous result")
    with pytest.raises(ValueError):
        write_sample_result(target, subtracted=sub, sample_info={"concentration_mg_ml": "five"})
    assert target.read_bytes() == b"previous result"
    assert list(tmp_path.iterdir()) == [target]
    with pytest.raises(HalosInputError, match="does not exist"):
        write_sample_result(tmp_path / "no" / "x.h5", subtracted=sub)


def test_bad_inputs_are_named(tmp_path):
    text = tmp_path / "curve.dat"
    text.write_text("0.1 1 0.1\n")
    with pytest.raises(HalosInputError, match="not an HDF5 file"):
        read_nxcansas(text)
    with pytest.raises(HalosInputError, match="file not found"):
        read_frames(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "empty.h5", "w"):
        pass
    with pytest.raises(HalosInputError, match="no SASentry"):
        read_nxcansas(tmp_path / "empty.h5")


@pytest.mark.parametrize(
    "unit, expected",
    [
        ("1/A", ("A^-1", 1.0)),
        ("1/angstrom", ("A^-1", 1.0)),
        ("A^{-1}", ("A^-1", 1.0)),
        ("1/nm", ("nm^-1", 1.0)),
        ("1/m", ("nm^-1", 1e-9)),
        ("furlongs", None),
    ],
)
def test_q_units_of_other_programs(unit, expected):
    assert q_unit_from_nx(unit) == expected


def test_reads_other_programs_files(validation_dir):
    files = sorted((validation_dir / "nxcansas").glob("*.h5*"))
    if not files:
        pytest.skip("no NXcanSAS files in validation/nxcansas")
    loader = pytest.importorskip("sasdata.dataloader.loader").Loader()
    for path in files:
        with h5py.File(path) as h5:
            one_d = [
                o
                for o in _walk(h5)
                if isinstance(o, h5py.Group)
                and o.attrs.get("canSAS_class") in ("SASdata", b"SASdata")
                and "I" in o
                and o["I"].ndim == 1
            ]
            if not one_d:
                # A template file (NeXus autogenerated example): scalar placeholders only.
                with pytest.raises(HalosInputError):
                    read_nxcansas(path)
                continue
            curves = read_nxcansas(path)
            assert len(curves) == len(one_d), path.name
            by_path = {c.meta["nxpath"]: c for c in curves}
            for g in one_d:
                c = by_path[g.name]
                factor = q_unit_from_nx(g["Q"].attrs["units"])[1]
                np.testing.assert_array_equal(c.q, g["Q"][()] * factor)
                np.testing.assert_array_equal(c.intensity, g["I"][()])
        try:
            theirs = [d for d in loader.load(str(path)) if hasattr(d, "y") and d.y is not None]
        except Exception:  # SasView cannot read some of these files; ours must
            continue
        for d in theirs:
            if np.ndim(d.y) == 1 and len(d.y) > 1:
                assert any(np.array_equal(c.intensity, d.y) for c in curves), path.name


def _walk(group):
    for key in group:
        obj = group[key]
        yield obj
        if isinstance(obj, h5py.Group):
            yield from _walk(obj)


def test_curve_without_sigma_has_no_idev(tmp_path):
    sub = sphere_curve()
    bare = Curve(sub.q, sub.intensity, np.full(len(sub), np.nan), "A^-1", name="two_columns")
    path = write_sample_result(tmp_path / "bare.h5", subtracted=bare)
    with h5py.File(path) as h5:
        data = h5["sasentry01/sasdata"]
        assert "Idev" not in data and "uncertainties" not in data["I"].attrs
    back = read_main_curve(path)
    assert np.isnan(back.sigma).all()
    np.testing.assert_array_equal(back.intensity, sub.intensity)


@pytest.mark.parametrize(("given", "written"), [("cm^-1", "1/cm"), (None, "arbitrary")])
def test_frames_carry_the_intensity_unit(tmp_path, given, written):
    sub = sphere_curve(n=50)
    meta = {} if given is None else {"intensity_unit": given}
    frames = FrameCurves(sub.q, np.vstack([sub.intensity] * 3), np.vstack([sub.sigma] * 3),
                         "A^-1", name="abs", meta=meta)  # fmt: skip
    path = write_frames(tmp_path / "abs.h5", frames)
    with h5py.File(path) as h5:
        e = h5["sasentry01"]
        units = {e[k]["I"].attrs["units"] for k in e if k.startswith("sasdata_")}
        assert units == {written}
    assert read_frames(path).meta["intensity_unit"] == written


def test_frames_from_another_programs_file_keep_a_common_intensity_unit(tmp_path):
    sub = sphere_curve(n=50)
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        entry = h5.create_group("entry")
        entry.attrs.update({"NX_class": "NXentry", "canSAS_class": "SASentry"})
        for k in range(2):
            g = entry.create_group(f"data{k}")
            g.attrs.update({"NX_class": "NXdata", "canSAS_class": "SASdata", "signal": "I"})
            g.attrs["I_axes"] = "Q"
            g.create_dataset("Q", data=sub.q).attrs["units"] = "1/A"
            g.create_dataset("I", data=sub.intensity).attrs["units"] = "1/cm"
    frames = read_frames(path)
    assert len(frames) == 2 and frames.meta["intensity_unit"] == "1/cm"
