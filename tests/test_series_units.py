# SPDX-License-Identifier: MIT
"""Series results typed with their units: metadata, JSON and NXcanSAS round trips, labels.

Every series result goes to JSON and back and into the subtracted series' NXcanSAS file and
back (``read_series_nxcansas``), equal to what was written; the units in the files are
those ``units_of`` gives, checked against the literal strings NXcanSAS wants.
"""

from __future__ import annotations

import csv
import dataclasses
import json

import h5py
import numpy as np
import pytest
from sec_synth import sec_run

from halos_analysis import units
from halos_analysis.analysis.series import (
    Baseline,
    Component,
    Deconvolution,
    EFAResult,
    FrameParameters,
    Peak,
    RangeCheck,
    RangeSearch,
    SeriesSettings,
    SeriesTraces,
    SVDResult,
    Test,
    analyse_series,
)
from halos_analysis.export.series import (
    frame_table_units,
    read_series_nxcansas,
    series_results,
    write_frame_table_csv,
    write_frame_table_json,
    write_series_summary,
)
from halos_analysis.io.nxcansas import read_frames, write_frames
from halos_analysis.types import units_of

SERIES_TYPES = (SeriesTraces, Peak, Test, RangeCheck, RangeSearch, FrameParameters, SVDResult,
                EFAResult, Deconvolution, Baseline, Component)  # fmt: skip
#: Arrays of text (a status per frame): no unit.
TEXT_ARRAYS = {("FrameParameters", "status"), ("FrameParameters", "mw_status")}


@pytest.fixture(scope="module")
def run():
    """Two overlapping species with a linear baseline: every series result exists."""
    fr = sec_run(n_frames=260, species=((22.0, 115.0, 10.0, 60.0), (40.0, 140.0, 10.0, 30.0)))
    fr = dataclasses.replace(fr, meta={**fr.meta, "intensity_unit": "1/cm"})
    return analyse_series(fr, SeriesSettings(baseline="linear"))


def each_result(r) -> dict:
    """One result of each series type (nested ones included) from a run."""
    found = {
        "traces": r.traces,
        "peak": r.peaks[0],
        "test": r.buffer_check.tests[0],
        "buffer_check": r.buffer_check,
        "buffer": r.buffer,
        "sample_search": r.samples[0],
        "params": r.params,
        "svd": r.svd,
        "efa": r.efa,
        "deconvolution": r.deconvolution,
        "baseline": r.baseline,
        "component": r.components[0],
    }
    assert all(v is not None for v in found.values()), found
    assert {type(v) for v in found.values()} == set(SERIES_TYPES)
    return found


def test_every_number_field_of_the_series_results_declares_its_unit():
    for cls in SERIES_TYPES:
        for f in dataclasses.fields(cls):
            t = str(f.type)
            number = any(k in t for k in ("float", "int", "ndarray")) and "str" not in t
            if number and (cls.__name__, f.name) not in TEXT_ARRAYS:
                assert f.metadata.get("unit") in units.KINDS, f"{cls.__name__}.{f.name}"


@pytest.mark.parametrize(
    "key",
    ["traces", "peak", "test", "buffer_check", "buffer", "sample_search", "params", "svd",
     "efa", "deconvolution", "baseline", "component"],
)  # fmt: skip
def test_series_json_round_trip_equals(run, key):
    res = each_result(run)[key]
    text = json.dumps(res.to_dict(), allow_nan=False)  # NaN would fail here
    back = type(res).from_dict(json.loads(text))
    assert type(back) is type(res) and back == res
    # Equality looks at the values: a changed number (or frame range) is noticed.
    declared = [f.name for f in dataclasses.fields(res) if f.metadata.get("unit")]
    scalars = [n for n in declared if isinstance(getattr(res, n), (int, float))]
    if scalars:
        changed = {scalars[0]: getattr(res, scalars[0]) + 1}
    else:  # a range check holds only frame ranges
        changed = {"ranges": tuple((a + 1, b + 1) for a, b in res.ranges)}
    assert dataclasses.replace(res, **changed) != res


def test_nested_results_come_back_typed(run):
    back = RangeSearch.from_dict(json.loads(json.dumps(run.samples[0].to_dict())))
    assert isinstance(back.check, RangeCheck) and isinstance(back.check.tests[0], Test)
    assert isinstance(back.peak, Peak) and back.ranges == run.samples[0].ranges
    assert all(isinstance(r, tuple) for r in back.ranges)
    params = FrameParameters.from_dict(json.loads(json.dumps(run.params.to_dict())))
    assert params.status.dtype.kind == "U" and params.first.dtype == np.int64
    assert (params.valid == run.params.valid).all()


def test_nxcansas_series_round_trip_and_literal_units(tmp_path, run):
    named = series_results(run)
    path = write_frames(tmp_path / "s_subtracted.h5", run.subtracted, results=named)
    back = read_series_nxcansas(path)
    assert set(back) == set(named)
    for name, res in named.items():
        assert type(back[name]) is type(res) and back[name] == res, name
    # The frames are still the frames.
    np.testing.assert_array_equal(read_frames(path).intensity, run.subtracted.intensity)
    with h5py.File(path) as h5:
        an = h5["sasentry01/sasprocess02"]
        fp, tr, pk = an["frame_parameters"], an["traces"], an["peak01"]
        assert fp.attrs["result_type"] == "FrameParameters"
        assert fp["rg"].attrs["units"] == "angstrom" and fp["i0_err"].attrs["units"] == "1/cm"
        assert fp["mw_vc_kda"].attrs["units"] == "kDa"
        assert "units" not in fp["first"].attrs and "units" not in fp["snr"].attrs
        assert fp["status"].asstr()[0] in ("ok", "edge", "low_signal")
        assert tr["q_ref"].attrs["units"] == "1/angstrom" and tr["total"].attrs["units"] == "1/cm"
        assert pk["height"].attrs["units"] == "1/cm" and "units" not in pk["position"].attrs
        assert an["baseline_correction/correction"].attrs["units"] == "1/cm"
        assert an["efa/profiles"].attrs["units"] == "1/cm"
        assert an["deconvolution/profiles"].attrs["units"] == "arbitrary"
        # A result inside a result is a note inside the note.
        assert an["sample_search01/check"].attrs["NX_class"] == "NXcollection"
        # Every unit written is the one units_of gives for that result.
        for name, res in named.items():
            want = units_of(res, "1/cm", spelling="nexus")
            for key, ds in an[name].items():
                if isinstance(ds, h5py.Dataset) and ds.dtype.kind in "iuf":
                    assert ds.attrs.get("units", "") == want.get(key, ""), f"{name}/{key}"


def test_lengths_follow_the_q_unit_in_nm():
    p = Peak(10, 5, 20, 1.0, 1.0, 4.0, 9.0)
    assert units_of(p, "1/cm", spelling="nexus") == {
        "position": "", "left": "", "right": "", "height": "1/cm", "prominence": "1/cm",
        "fwhm": "", "significance": "",
    }  # fmt: skip
    # A result type's units before any result exists: lengths from the q unit given.
    nm = units_of(FrameParameters, "1/cm", spelling="nexus", q_unit="nm^-1")
    assert (nm["rg"], nm["i0"], nm["mw_vp_kda"], nm["window"]) == ("nm", "1/cm", "kDa", "")
    tr = units_of(SeriesTraces, spelling="nexus", q_unit="nm^-1")
    assert tr["q_range"] == tr["q_ref"] == "1/nm" and tr["noise"] == "arbitrary"


def test_series_files_carry_units(tmp_path, run):
    table = json.loads(write_frame_table_json(run, tmp_path / "f.json").read_text())
    assert table["units"]["rg"] == "A" and table["units"]["i0"] == "1/cm"
    assert table["units"]["intensity_total"] == "1/cm" and table["units"]["frame"] == ""
    assert set(table["units"]) <= set(table["columns"])
    assert frame_table_units(run, "nexus")["rg_err"] == "angstrom"
    lines = write_frame_table_csv(run, tmp_path / "f.csv").read_text().splitlines()
    assert "Rg in A," in lines[0]
    assert next(csv.reader(lines[1:2]))[6] == "rg"
    summary = json.loads(write_series_summary(run, tmp_path / "s.json").read_text())
    u = summary["units"]
    assert u["frame_parameters"]["rg"] == "A" and u["components"]["Dmax"] == "A"
    assert u["peaks"]["height"] == "1/cm" and u["components"]["mw_vc_kda"] == "kDa"
    assert summary["components"][0]["length_unit"] == "A"


@pytest.mark.parametrize(
    ("q_unit", "q", "q2", "length"),
    [("A^-1", "Å$^{-1}$", "Å$^{-2}$", "Å"), ("nm^-1", "nm$^{-1}$", "nm$^{-2}$", "nm")],
)
def test_axis_labels_are_spelled_by_the_registry(q_unit, q, q2, length):
    from halos_analysis.export import plots

    # The strings the figures were drawn with before the registry spelled them.
    assert plots._Q_LABEL[q_unit] == f"q ({q})"
    assert plots._Q2_LABEL[q_unit] == f"q$^2$ ({q2})"
    assert units.axis_label("r", "length", q_unit) == f"r ({length})"
    assert units.unit_of_kind("q^2", q_unit, spelling="nexus") == (
        "1/angstrom^2" if q_unit == "A^-1" else "1/nm^2"
    )
    assert units.respell(units.unit_of_kind("q^2", q_unit)) in ("Å⁻²", "nm⁻²")
