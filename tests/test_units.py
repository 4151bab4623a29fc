# SPDX-License-Identifier: MIT
"""Results typed with their units: field metadata, one resolver, one serialiser per type.

Every result goes to JSON and back, and to an NXcanSAS file and back (``read_results(...,
typed=True)``), equal to what was written; the units in the file are those ``units_of`` gives,
checked against the strings NXcanSAS wants, not only against themselves.
"""

from __future__ import annotations

import dataclasses
import json
import math

import h5py
import numpy as np
import pytest

from halos_analysis import units
from halos_analysis.io.nxcansas import read_frames, read_results, write_frames, write_sample_result
from halos_analysis.types import (
    Curve,
    FrameCurves,
    GuinierResult,
    IntegrationMethod,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
    unit_kinds,
    units_of,
)

RESULT_TYPES = (GuinierResult, PrResult, MWResult, KratkyResult, SimilarityResult)


def curve(q_unit: str = "A^-1", intensity_unit: str = "1/cm") -> Curve:
    q = np.linspace(0.01, 0.4, 80) * (10.0 if q_unit == "nm^-1" else 1.0)
    i = 50.0 * np.exp(-((q * 25.0 / (10.0 if q_unit == "nm^-1" else 1.0)) ** 2) / 3) + 1e-3
    return Curve(q, i, 0.01 * i + 1e-4, q_unit, name="s", meta={"intensity_unit": intensity_unit})


def results(c: Curve) -> dict:
    """One result of each type, with NaNs, Nones, flags, skipped rows and arrays."""
    f = 0.1 if c.q_unit == "nm^-1" else 1.0
    r = np.linspace(0.0, 75.0 * f, 40)
    p = r**2 * (1 - r / r[-1])
    n = 5
    pv = np.full((n, n), 0.4)
    pv[4, :] = pv[:, 4] = 1e-6
    return {
        "guinier": GuinierResult(
            25.0 * f,
            0.2 * f,
            50.0,
            0.3,
            2,
            30,
            0.3,
            1.25,
            c.q_unit,
            r2=0.999,
            chi2=1.1,
            quality=0.8,
            flags=("low_start",),
            skipped=(("sigma_not_positive", (0, 1)),),
        ),
        "pr": PrResult(
            75.0 * f,
            1.5 * f,
            25.1 * f,
            0.1 * f,
            50.1,
            0.2,
            1.02,
            3.5e3,
            c.q_unit,
            r,
            p,
            np.full_like(p, np.nan),
            c.q[5:],
            c.intensity[5:] * 0.99,
            evidence=-120.5,
            flags=("pr_rebinned",),
        ),
        "mw": MWResult(
            66.1,
            63.2,
            1.1e5 * f**3,
            600.0 * f**2,
            c.q_unit,
            mw_abs_kda=65.0,
            mw_consensus_kda=64.6,
            mw_spread_kda=2.9,
            vp_qmax=0.25 / f,
            vc_qmax=0.3 / f,
        ),
        "kratky": KratkyResult(
            c.q * 25.0 * f,
            (c.q * 25 * f) ** 2 * c.intensity / 50,
            np.full(len(c), 0.01),
            1.75,
            1.10,
            flags=("globular",),
        ),
        "similarity": SimilarityResult(
            pv,
            pv * 2,
            np.arange(n * n).reshape(n, n),
            0.01,
            "holm",
            (0, 1, 2, 3),
            {4: "differs from frame 0"},
        ),
    }


def failed_guinier(q_unit: str = "A^-1") -> GuinierResult:
    return GuinierResult.not_found(q_unit, "no Guinier region: I rises at low q",
                                   flags=("no_guinier_region",),
                                   skipped=(("beamstop_shadow", (0, 1, 2)),))  # fmt: skip


def method() -> IntegrationMethod:
    return IntegrationMethod(
        method="bbox", engine="csr", error_model="poisson", solid_angle=True,
        polarization_factor=0.99, dark="dark.edf", flat=None, normalisation="monitor",
        scale=2.5, intensity_unit="1/cm", q_unit="nm^-1", npt=500, n_bins=480,
        radial_range=(0.05, 5.0), sigma_clip=None, masked_pixels=1234,
    )  # fmt: skip


def json_round_trip(result):
    text = json.dumps(result.to_dict(arrays=True), allow_nan=False)  # NaN would fail here
    return type(result).from_dict(json.loads(text))


@pytest.mark.parametrize("key", ["guinier", "pr", "mw", "kratky", "similarity"])
def test_json_round_trip_equals(key):
    res = results(curve())[key]
    back = json_round_trip(res)
    assert back == res
    # Equality looks at the values: a changed number or array element is noticed.
    first = dataclasses.fields(res)[0].name
    value = getattr(res, first)
    changed = value + 1 if not isinstance(value, np.ndarray) else np.where(value == 0, 1, 0)
    assert dataclasses.replace(res, **{first: changed}) != res


def test_failed_guinier_is_null_in_json_and_comes_back_falsy():
    res = failed_guinier()
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["Rg"] is None and d["I0"] is None and d["first"] is None and d["last"] is None
    assert d["found"] is False and d["reason"] == res.reason and d["n_points"] == 0
    back = GuinierResult.from_dict(d)
    assert back == res and not back and math.isnan(back.Rg) and back.first is None
    assert back.skipped == (("beamstop_shadow", (0, 1, 2)),)


def test_integration_method_and_curve_round_trip():
    m = method()
    assert json_round_trip(m) == m
    assert m.corrections == ("dark", "solid_angle", "polarisation")
    assert m.to_dict()["corrections"] == ["dark", "solid_angle", "polarisation"]
    c = curve()
    assert json_round_trip(c).q_unit == c.q_unit
    np.testing.assert_array_equal(json_round_trip(c).intensity, c.intensity)


def test_every_number_field_declares_its_unit():
    for cls in (*RESULT_TYPES, IntegrationMethod, Curve, FrameCurves):
        for f in dataclasses.fields(cls):
            t = str(f.type)
            if any(k in t for k in ("float", "int", "ndarray")) and "str" not in t:
                assert f.metadata.get("unit") in units.KINDS, f"{cls.__name__}.{f.name}"


@pytest.mark.parametrize(
    ("q_unit", "length", "q"), [("A^-1", "angstrom", "1/angstrom"), ("nm^-1", "nm", "1/nm")]
)
def test_units_of_spells_nxcansas_units(q_unit, length, q):
    res = results(curve(q_unit))
    g = units_of(res["guinier"], "1/cm", spelling="nexus")
    got = (g["Rg"], g["Rg_err"], g["I0"], g["qRg_max"], g["first"])
    assert got == (length, length, "1/cm", "", "")
    mw = units_of(res["mw"], spelling="nexus")
    assert mw["porod_volume"] == f"{length}^3" and mw["volume_of_correlation"] == f"{length}^2"
    assert mw["vp_qmax"] == q and mw["mw_vp_kda"] == "kDa"
    pr = units_of(res["pr"], "1/cm", spelling="nexus")
    assert (pr["r"], pr["q_fit"], pr["i_fit"], pr["pr"]) == (length, q, "1/cm", "arbitrary")
    # Ours and for people.
    ours = units_of(res["guinier"])
    assert ours["Rg"] == ("A" if q_unit == "A^-1" else "nm") and ours["I0"] == "arbitrary"
    assert units_of(res["mw"], spelling="text")["porod_volume"] in ("Å³", "nm³")
    assert units_of(curve(q_unit))["intensity"] == "1/cm"  # from the curve's meta
    assert set(units_of(res["guinier"])) == set(unit_kinds(res["guinier"]))


def write(path, c, res, guinier=None, integration=None):
    return write_sample_result(
        path, subtracted=c, guinier=res["guinier"] if guinier is None else guinier, pr=res["pr"],
        mw=res["mw"], kratky=res["kratky"], similarity=res["similarity"], integration=integration,
    )  # fmt: skip


@pytest.mark.parametrize("q_unit", ["A^-1", "nm^-1"])
def test_nxcansas_write_read_typed_equals(tmp_path, q_unit):
    c = curve(q_unit)
    res = results(c)
    path = write(tmp_path / "r.h5", c, res, integration={"bsa": method(), "buffer 1": method()})
    back = read_results(path, typed=True)
    for key, name in (("guinier", "guinier"), ("pr", "pr"), ("mw", "molecular_weight"),
                      ("kratky", "kratky"), ("similarity", "similarity")):  # fmt: skip
        assert type(back[name]) is type(res[key]), name
        assert back[name] == res[key], name
    np.testing.assert_array_equal(back["pr"].r, res["pr"].r)  # the arrays came back
    assert back["integration"] == {"bsa": method(), "buffer 1": method()}
    # The plain view is still there for readers of the numbers.
    plain = read_results(path)
    assert plain["guinier"]["Rg"] == res["guinier"].Rg and plain["flags"] == []


def test_failed_guinier_nxcansas_round_trip(tmp_path):
    c = curve()
    res = results(c)
    path = write(tmp_path / "f.h5", c, res, guinier=failed_guinier())
    with h5py.File(path) as h5:
        note = h5["sasentry01/sasprocess02/guinier"]
        # Nothing is written for what was not found: no NaN, no -1 row index.
        assert "Rg" not in note and "first" not in note and "last" not in note
        assert note["reason"][()].decode() == failed_guinier().reason
    back = read_results(path, typed=True)["guinier"]
    assert back == failed_guinier() and not back


def test_units_in_the_file_are_those_of_units_of(tmp_path):
    c = curve("nm^-1")
    res = results(c)
    path = write(tmp_path / "u.h5", c, res, integration={"bsa": method()})
    written = {}
    with h5py.File(path) as h5:
        an = h5["sasentry01/sasprocess02"]
        for note, key in (("guinier", "guinier"), ("pr", "pr"), ("molecular_weight", "mw"),
                          ("kratky", "kratky"), ("similarity", "similarity")):  # fmt: skip
            want = units_of(res[key], "1/cm", spelling="nexus")
            for name, ds in an[note].items():
                if ds.dtype.kind in "iuf":
                    assert ds.attrs.get("units", "") == want.get(name, ""), f"{note}/{name}"
                    written[f"{note}/{name}"] = ds.attrs.get("units", "")
        for group in ("pr_distribution", "pr_fit"):
            for name, ds in an[group].items():
                written[f"{group}/{name}"] = ds.attrs["units"]
        integ = h5["sasentry01/sasprocess03/bsa"]
        assert integ["npt"][()] == 500 and "units" not in integ["npt"].attrs
        assert integ.attrs["measurement"] == "bsa"
    # The strings themselves, as NXcanSAS spells them.
    assert written["guinier/Rg"] == "nm" and written["guinier/I0_err"] == "1/cm"
    assert written["molecular_weight/porod_volume"] == "nm^3"
    assert written["molecular_weight/volume_of_correlation"] == "nm^2"
    assert written["molecular_weight/vc_qmax"] == "1/nm"
    assert written["pr/Dmax"] == "nm" and written["pr/I0"] == "1/cm"
    assert written["pr_distribution/r"] == "nm" and written["pr_fit/Q"] == "1/nm"
    assert written["pr_fit/I_fit"] == "1/cm" and written["pr_distribution/P"] == "arbitrary"
    assert written["guinier/qRg_max"] == "" and written["similarity/longest_run"] == ""


def test_summary_and_report_take_the_units_of_the_results(tmp_path):
    from halos_analysis.export.report import write_report
    from halos_analysis.export.summary import COLUMNS, sample_summary

    c = curve("A^-1")
    res = results(c)
    row = sample_summary("s", **res, intensity_unit="1/cm")
    assert row["units"]["guinier_rg"] == "A" and row["units"]["pddf_dmax"] == "A"
    assert row["units"]["guinier_i0"] == "1/cm" and row["units"]["porod_volume"] == "A^3"
    assert row["units"]["porod_mw"] == "kDa" and "guinier_qrg_max" not in row["units"]
    assert set(row["units"]) <= set(COLUMNS)
    assert row["guinier_rg"] == res["guinier"].Rg and row["reference_i0_mw"] is None
    page = write_report(tmp_path / "r.html", [row]).read_text()
    assert "25 ± 0.2 Å" in page and "50 ± 0.3 1/cm" in page and "75 Å" in page
    failed = sample_summary("f", guinier=failed_guinier(), q_unit="A^-1")
    assert failed["guinier_rg"] is None and failed["guinier_first"] is None
    assert failed["guinier_points"] == 0 and failed["guinier_valid"] is False


def test_integrator_names_how_it_integrated(tmp_path):
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from halos_analysis.integrate import ArrayFrames, IntegrationSettings, Integrator

    det = detector_factory("Pilatus100k")
    ai = AzimuthalIntegrator(dist=1.0, poni1=0.01, poni2=0.02, wavelength=1e-10, detector=det)
    mask = np.zeros(det.shape, bool)
    mask[:10] = True
    frames = np.random.default_rng(3).poisson(5.0, (3, *det.shape)).astype(np.int32)
    st = IntegrationSettings(npt=120, polarization_factor=None, absolute=True, scale=3.0)
    integ = Integrator(ai, det.shape, mask, st, cache_dir=False)
    fc = integ.integrate_source(ArrayFrames(frames, monitor=np.ones(3), name="m"), "sync")
    m = fc.meta["integration"]
    assert isinstance(m, IntegrationMethod)
    assert (m.method, m.error_model, m.npt, m.n_bins) == ("no", "poisson", 120, len(fc.q))
    assert m.corrections == ("solid_angle",) and m.polarization_factor is None
    assert m.normalisation == fc.meta["normalisation"] == "monitor"
    assert m.intensity_unit == "1/cm" and m.scale == 3.0 and m.q_unit == "nm^-1"
    assert m.masked_pixels == int(mask.sum())
    # Through the frames file and back, typed.
    path = write_frames(tmp_path / "m_frames.h5", fc)
    assert read_frames(path).meta["integration"] == m
