# SPDX-License-Identifier: MIT
"""Series mode on the real SEC run (BSA, RAW test data) against BioXTAS RAW's results.

Reads ``$HALOS_VALIDATION_DIR/series/clean_BSA_001.hdf5`` (GPL: read in place, never
copied); skips cleanly without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from halos_analysis.analysis.series import (
    SeriesSettings,
    analyse_series,
    average_frames,
    find_peaks,
    frame_parameters,
    intensity_traces,
    subtract_buffer,
    validate_buffer_range,
    validate_sample_range,
)
from halos_analysis.io.series import read_series


def _validation_dir() -> Path:
    env = os.environ.get("HALOS_VALIDATION_DIR")
    d = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "validation"
    if not (d / "series" / "clean_BSA_001.hdf5").is_file():
        pytest.skip(f"{d}/series/clean_BSA_001.hdf5 not present")
    return d


@pytest.fixture(scope="module")
def run():
    d = _validation_dir()
    ref = json.loads((d / "reference.json").read_text())["cases"]["bsa_sec_series"]
    return read_series(d / "series" / "clean_BSA_001.hdf5"), ref


@pytest.fixture(scope="module")
def auto(run):
    return analyse_series(run[0])


def rel(a, b):
    return abs(a - b) / abs(b)


def test_frame_200_with_raws_buffer_matches_raw(run):
    frames, ref = run
    r = ref["with_buffer_frames"]
    sub = subtract_buffer(frames, average_frames(frames, [tuple(r["buffer"])]))
    p = frame_parameters(sub, window=5)
    k = r["frame"]
    assert p.status[k] == "ok"
    assert rel(p.rg[k], r["Rg"]) < 0.01
    assert rel(p.i0[k], r["I0"]) < 0.01
    assert rel(p.mw_vc_kda[k], r["MW_Vc_kDa"]) < 0.03
    assert rel(p.mw_vp_kda[k], r["MW_Vp_kDa"]) < 0.03


def test_raws_buffer_ranges_validate_as_raw_says(run):
    frames, _ = run
    tr = intensity_traces(frames)
    assert validate_buffer_range(frames, [(81, 116)], traces=tr).valid  # RAW: valid
    bad = validate_buffer_range(frames, [(50, 100)], traces=tr)  # RAW: trend, p = 0.0008
    assert not bad and bad.reasons[0].startswith("trend")


def test_automatic_buffer_is_on_the_flat_baseline_before_the_peak(run, auto):
    frames, ref = run
    peaks = find_peaks(auto.traces)
    assert len(peaks) >= 1
    main = max(peaks, key=lambda p: p.prominence)
    assert auto.buffer_check.valid
    ((a, b),) = auto.buffer_ranges
    assert b < main.left and b - a + 1 >= 10
    # The rise of the peak has not started within the range: at most noise above the
    # level of the first frames.
    t = auto.traces.total
    assert abs(t[a : b + 1].mean() - t[:20].mean()) < 3 * auto.traces.noise
    k = ref["with_buffer_frames"]["frame"]
    assert rel(auto.params.rg[k], ref["with_buffer_frames"]["Rg"]) < 0.02


def test_automatic_sample_range_overlaps_raws_and_validates(auto):
    (a, b) = auto.sample_range
    assert auto.sample_check.valid
    assert a <= 206 and b >= 188  # RAW: 188–206
    c = auto.sample_average.summary()
    assert rel(c["Rg"], 28.36) < 0.03
    assert 55 < c["mw_vc_kda"] < 80 and 55 < c["mw_vp_kda"] < 80  # BSA monomer 66.4 kDa
    assert c["Dmax"] is not None


def test_raws_sample_ranges_validate_as_raw_says(run, auto):
    sub, p = auto.subtracted, auto.params
    assert validate_sample_range(sub, p, [(188, 206)]).valid  # RAW: valid
    bad = validate_sample_range(sub, p, [(190, 210)])  # RAW: Rg and Vp trends
    assert not bad and any(r.startswith("rg_trend") for r in bad.reasons)


def test_given_buffer_is_used_and_validated(run):
    frames, _ = run
    r = analyse_series(frames, SeriesSettings(buffer=((18, 53),)))
    assert r.buffer_ranges == ((18, 53),) and r.buffer_check.valid
    assert r.valid


def test_efa_on_raws_ranges_matches_raw(run):
    from halos_analysis.analysis.series.efa import efa

    frames, _ = run
    sub = subtract_buffer(frames, average_frames(frames, [(81, 116)]))
    a, b = 130, 230
    res = efa(
        sub.intensity[a : b + 1], sub.sigma[a : b + 1], (a, b), ranges=[(130, 187), (149, 230)]
    )
    assert res.converged and res.n_components == 2
    # RAW: sum of the first EFA profile 75885.4 (its own subtraction of the same frames).
    assert rel(res.profiles[:, 0].sum(), 75885.43573919893) < 0.01


def test_regals_smooth_concentrations_auto_lambda_chi2_matches_raw(run):
    from halos_analysis.analysis.series.regals import regals

    frames, _ = run
    sub = subtract_buffer(frames, average_frames(frames, [(81, 116)]))
    a, b = 130, 230
    res = regals(sub.intensity[a : b + 1], sub.sigma[a : b + 1], (a, b), [(130, 187), (149, 230)])
    assert res.converged
    assert res.chi2 == pytest.approx(0.9948, abs=0.01)  # RAW: x2 0.99484
    # RAW: first profile sums to 200.48 (normalised to unit RMS like ours).
    p0 = res.profiles[:, 0] / np.sqrt(np.mean(res.profiles[:, 0] ** 2))
    assert rel(p0.sum(), 200.47569599218787) < 0.02


def test_automatic_deconvolution_separates_dimer_and_monomer(auto):
    assert auto.svd.rank == 2 and len(auto.components) == 2
    dimer, monomer = (c.summary() for c in auto.components)
    assert dimer["range"][0] < monomer["range"][0]
    assert rel(monomer["Rg"], 28.36) < 0.03 and rel(monomer["mw_vc_kda"], 66.4) < 0.05
    assert dimer["Rg"] > 1.3 * monomer["Rg"] and 110 < dimer["mw_vc_kda"] < 170


# --- larger real tier: molass-data (GPL data; only in the test/bench environment) -------------


@pytest.mark.slow
def test_molass_aldolase_ovalbumin_mixture_is_separated():
    molass_data = pytest.importorskip("molass_data")
    frames = read_series([f"{molass_data.SAMPLE1}/PREFIX1_0*.dat"], q_unit="A^-1")
    assert any("dropped" in n for n in frames.meta["notes"])  # a σ = 0 bin in the files
    r = analyse_series(frames, SeriesSettings(subtracted=True))
    assert r.valid, r.problems
    rgs = sorted(c.summary()["Rg"] for c in r.components)
    mws = sorted(c.summary()["mw_vc_kda"] for c in r.components)
    assert len(rgs) == 2
    assert 22 < rgs[0] < 26 and 32 < rgs[1] < 38  # ovalbumin ~23-24 Å, aldolase ~34-35 Å
    assert 35 < mws[0] < 55 and 120 < mws[1] < 180  # 43-45 kDa and 158 kDa


@pytest.mark.slow
def test_molass_run_without_a_trend_free_range_says_so():
    molass_data = pytest.importorskip("molass_data")
    frames = read_series([f"{molass_data.SAMPLE4}/PREFIX4_0*.dat"], q_unit="A^-1")
    r = analyse_series(frames, SeriesSettings(subtracted=True))
    assert not r.valid and r.sample_check is None
    assert any("no valid sample range" in p for p in r.problems)
    assert r.params is not None and r.params.valid.sum() > 50  # the per-frame table is there
