# SPDX-License-Identifier: MIT
"""Series (SEC-SAXS) mode on simulated runs: reader, CorMap at scale, per-frame fits, ranges."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from sec_synth import sec_run

from halos_analysis import reduce
from halos_analysis.analysis.guinier import fit_guinier
from halos_analysis.analysis.mw import molecular_weight
from halos_analysis.analysis.series import (
    SeriesSettings,
    analyse_series,
    average_frames,
    find_buffer_range,
    find_peaks,
    frame_parameters,
    intensity_traces,
    sliding_average,
    subtract_buffer,
    svd_rank,
    validate_buffer_range,
)
from halos_analysis.analysis.series.ranges import spearman_windows
from halos_analysis.app.cli import main
from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import write_dat
from halos_analysis.io.nxcansas import write_frames
from halos_analysis.io.series import read_series
from halos_analysis.reduce.cormap import (
    adjust_pvalues,
    cormap_against_reference,
    cormap_pairs,
    longest_runs,
    pvalue_table,
)
from halos_analysis.types import Curve

# --- CorMap at series scale -------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 7, 60, 469])
def test_pvalue_table_equals_exact_pvalues(n):
    table = pvalue_table(n)
    exact = np.array([reduce.cormap_pvalue(n, c) for c in range(n + 2)])
    np.testing.assert_allclose(table, exact, rtol=0, atol=1e-12)


def test_longest_runs_matches_scalar_version_with_zeros():
    rng = np.random.default_rng(3)
    d = np.sign(rng.normal(size=(300, 40))) * rng.integers(0, 3, size=(300, 40))
    expected = [reduce.longest_run(row) for row in d]
    assert longest_runs(d).tolist() == expected


def test_cormap_pairs_and_reference_agree_with_cormap_test():
    fr = sec_run(n_frames=12, n_q=120, species=())
    curves = fr.curves()
    res = reduce.cormap_test(curves)
    runs, p = cormap_pairs(fr.intensity, block=5)  # several blocks
    assert (runs == res.longest_run).all()
    np.testing.assert_allclose(p, res.pvalues, atol=1e-12)
    p0, adj, r0 = cormap_against_reference(fr.intensity[1:], fr.intensity[0])
    np.testing.assert_allclose(p0, res.pvalues[0, 1:], atol=1e-12)
    np.testing.assert_allclose(adj, np.minimum(1, p0 * 11))


def test_holm_adjustment_matches_reduce():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), reduce.similarity._adjust(p, "holm"))


# --- reader -------------------------------------------------------------------------------------


def _write_raw_series(path, fr, n_write=None):
    with h5py.File(path, "w") as h5:
        h5.attrs["file_type"] = "RAW_Series"
        g = h5.create_group("profiles")
        g["q"] = fr.q
        for i in range(len(fr) if n_write is None else n_write):
            g[f"{i:06d}"] = np.stack([fr.intensity[i], fr.sigma[i]], axis=1)


def test_reader_raw_series_dat_glob_and_nxcansas_agree(tmp_path):
    fr = sec_run(n_frames=15, n_q=80, species=((25.0, 7.0, 3.0, 20.0),))
    _write_raw_series(tmp_path / "run.hdf5", fr)
    (tmp_path / "dat").mkdir()
    for i, c in enumerate(fr.curves()):
        write_dat(c, tmp_path / "dat" / f"run_{i}.dat")  # not zero-padded: natural order
    write_frames(tmp_path / "frames.h5", fr)
    a = read_series(tmp_path / "run.hdf5")
    b = read_series([str(tmp_path / "dat" / "run_*.dat")])
    c = read_series(tmp_path / "frames.h5")
    for got in (a, b, c):
        assert len(got) == 15 and got.q_unit == "A^-1"
        np.testing.assert_allclose(got.intensity, fr.intensity, rtol=1e-6)
    assert b.meta["file_names"][10].endswith("run_10.dat")


def test_reader_truncated_run_keeps_the_frames_before(tmp_path):
    fr = sec_run(n_frames=10, n_q=60, species=())
    _write_raw_series(tmp_path / "run.hdf5", fr)
    with h5py.File(tmp_path / "run.hdf5", "a") as h5:
        del h5["profiles/000007"]
        h5["profiles/000007"] = np.zeros((5, 2))  # half-written frame
    got = read_series(tmp_path / "run.hdf5")
    assert len(got) == 7
    assert any("cut short" in n for n in got.meta["notes"])


def test_reader_refuses_different_q_grids_naming_the_file(tmp_path):
    fr = sec_run(n_frames=3, n_q=60, species=())
    for i, c in enumerate(fr.curves()):
        if i == 2:
            c = Curve(c.q * 1.01, c.intensity, c.sigma, "A^-1")
        write_dat(c, tmp_path / f"f_{i}.dat")
    with pytest.raises(HalosInputError, match=r"f_2\.dat \[q\]"):
        read_series([str(tmp_path / "f_*.dat")])


def test_reader_cuts_frames_to_their_common_q_points(tmp_path):
    fr = sec_run(n_frames=3, n_q=60, species=())
    for i, c in enumerate(fr.curves()):
        write_dat(c.select(slice(0, 50)) if i == 1 else c, tmp_path / f"f_{i}.dat")
    got = read_series([str(tmp_path / "f_*.dat")])
    assert got.intensity.shape == (3, 50)
    assert any("common points" in n for n in got.meta["notes"])


# --- per-frame parameters ----------------------------------------------------------------------


def test_sliding_average_equals_explicit_means():
    fr = sec_run(n_frames=20, n_q=30, species=())
    avg, sig, centre = sliding_average(fr.intensity, fr.sigma, 5)
    assert centre[0] == 2 and len(avg) == 16
    np.testing.assert_allclose(avg[3], fr.intensity[3:8].mean(axis=0))
    np.testing.assert_allclose(sig[3], np.sqrt((fr.sigma[3:8] ** 2).sum(axis=0)) / 5)


def test_frame_parameters_equal_the_core_fit_and_mw_frame_by_frame():
    fr = sec_run(n_frames=200, n_q=300, species=((28.0, 100.0, 10.0, 60.0),))
    sub = subtract_buffer(fr, average_frames(fr, [(0, 40)]))
    p = frame_parameters(sub, window=5)
    ok = np.flatnonzero(p.valid)
    assert 60 < ok.min() < 100 < ok.max() < 140
    for k in (ok[0], 100, ok[-1]):
        avg = average_frames(sub, [(k - 2, k + 2)])
        g = fit_guinier(avg, int(p.first[k]), int(p.last[k]))
        assert p.rg[k] == pytest.approx(g.Rg, rel=1e-9)
        assert p.i0[k] == pytest.approx(g.I0, rel=1e-9)
        assert p.rg_err[k] == pytest.approx(g.Rg_err, rel=1e-6)
        assert q_rg_max(avg.q, p.last[k], p.rg[k]) <= 1.3
        mw = molecular_weight(avg, g)
        assert p.mw_vc_kda[k] == pytest.approx(mw.mw_vc_kda, rel=1e-6)
        assert p.mw_vp_kda[k] == pytest.approx(mw.mw_vp_kda, rel=1e-6)
    # Away from the peak the frames say why they have no value.
    assert set(p.status[:50]) <= {"edge", "low_signal"}


def q_rg_max(q, last, rg):
    return q[int(last)] * rg


def test_frame_parameters_follow_a_changing_rg_across_overlapping_species():
    fr = sec_run(n_frames=260, species=((22.0, 110.0, 10.0, 50.0), (40.0, 150.0, 10.0, 50.0)))
    sub = subtract_buffer(fr, average_frames(fr, [(0, 40)]))
    p = frame_parameters(sub)
    assert p.rg[105] < 25 < 37 < p.rg[155]


# --- ranges ------------------------------------------------------------------------------------


def test_spearman_windows_equals_scipy():
    from scipy import stats

    rng = np.random.default_rng(1)
    v = rng.normal(size=(5, 30)) + np.linspace(0, 1, 30)
    rho, p = spearman_windows(v)
    for i in range(5):
        r = stats.spearmanr(v[i], np.arange(30))
        assert rho[i] == pytest.approx(r.statistic) and p[i] == pytest.approx(r.pvalue)


def test_buffer_search_lies_before_the_peak_and_validates():
    fr = sec_run()
    tr = intensity_traces(fr)
    peaks = find_peaks(tr)
    assert len(peaks) == 1 and abs(peaks[0].position - 150) <= 2
    found = find_buffer_range(fr, tr, peaks)
    assert found and found.ranges[0][1] < peaks[0].left
    assert validate_buffer_range(fr, found.ranges, traces=tr).valid
    # A range across the rising edge of the peak fails (trend, CorMap and SVD rank).
    bad = validate_buffer_range(fr, [(100, 140)], traces=tr)
    assert not bad and {"trend", "svd_rank"} <= {r.split(":")[0] for r in bad.reasons}


def test_svd_rank_counts_overlapping_species():
    one = sec_run(species=((28.0, 150.0, 12.0, 60.0),))
    two = sec_run(species=((22.0, 140.0, 10.0, 60.0), (45.0, 160.0, 10.0, 30.0)))
    for fr, rank in ((one, 1), (two, 2)):
        sub = subtract_buffer(fr, average_frames(fr, [(0, 60)]))
        assert svd_rank(sub.intensity[110:190], sub.sigma[110:190]).rank == rank


def test_analyse_series_finds_buffer_sample_and_component():
    r = analyse_series(sec_run())
    assert r.valid, r.problems
    (_a, b), (c, d) = r.buffer_ranges[0], r.sample_range
    assert b < 120 and c <= 150 <= d
    comp = r.components[0]
    assert comp.summary()["Rg"] == pytest.approx(28.8, rel=0.02)  # sphere's Guinier Rg


def test_run_without_peak_says_so_and_keeps_the_trace():
    r = analyse_series(sec_run(species=()))
    assert not r.valid and not r.components
    assert any("no elution peak" in p for p in r.problems)
    assert len(r.traces) == 300


def test_run_without_flat_buffer_says_so():
    r = analyse_series(sec_run(drift=0.05))
    assert not r.valid and r.subtracted is None
    assert any("no valid buffer range" in p for p in r.problems)


def test_buffer_outside_the_run_is_an_input_error_not_a_crash():
    r = analyse_series(sec_run(n_frames=100), SeriesSettings(buffer=((90, 120),)))
    assert r.input_errors and "outside the run" in r.input_errors[0]
    assert r.subtracted is None and len(r.traces) == 100


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_json_contract_and_outputs(tmp_path, capsys):
    fr = sec_run()
    _write_raw_series(tmp_path / "run.hdf5", fr)
    rc = main(
        ["series", str(tmp_path / "run.hdf5"), "--json", "-o", str(tmp_path / "out"), "--no-plots"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    for key in ("n_frames", "buffer_range", "sample_range", "n_components", "components"):
        assert key in out
    assert out["n_frames"] == 300 and out["n_components"] == len(out["components"]) >= 1
    comp = out["components"][0]
    for key in ("range", "Rg", "Rg_err", "I0", "Dmax", "mw_vc_kda", "mw_vp_kda"):
        assert comp[key] is not None
    table = (tmp_path / "out" / "run_frames.csv").read_text().splitlines()
    assert len(table) == 302 and table[1].startswith("frame,frame_id,")
    assert (tmp_path / "out" / "run_component1" / "run_component1.dat").exists()
    assert (tmp_path / "out" / "run_subtracted.h5").exists()


def test_cli_buffer_outside_run_exits_1_and_still_writes_the_table(tmp_path, capsys):
    _write_raw_series(
        tmp_path / "run.hdf5", sec_run(n_frames=80, species=((28.0, 40.0, 5.0, 60.0),))
    )
    rc = main(
        [
            "series",
            str(tmp_path / "run.hdf5"),
            "--buffer",
            "70-90",
            "-o",
            str(tmp_path / "o"),
            "--no-plots",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "outside the run" in err and "Traceback" not in err
    rows = (tmp_path / "o" / "run_frames.csv").read_text().splitlines()[2:]
    assert len(rows) == 80 and rows[0].split(",")[-4] == "no_buffer"


def test_cli_bad_range_syntax_and_q_grid_mismatch_are_one_line_errors(tmp_path, capsys):
    _write_raw_series(tmp_path / "run.hdf5", sec_run(n_frames=30, species=()))
    assert main(["series", str(tmp_path / "run.hdf5"), "--buffer", "5..9"]) == 1
    assert "[--buffer]" in capsys.readouterr().err
    assert main(["series", str(tmp_path / "missing_*.dat")]) == 1
    assert "matches no file" in capsys.readouterr().err


# --- EFA, REGALS-class deconvolution, baseline -----------------------------------------------


def _two_species():
    fr = sec_run(n_frames=260, species=((22.0, 115.0, 10.0, 60.0), (40.0, 140.0, 10.0, 30.0)))
    return subtract_buffer(fr, average_frames(fr, [(0, 50)]))


def test_efa_finds_and_separates_two_overlapping_species():
    from halos_analysis.analysis.series.efa import efa

    sub = _two_species()
    a, b = 80, 180
    res = efa(sub.intensity[a : b + 1], sub.sigma[a : b + 1], (a, b))
    assert res and res.n_components == 2
    (s1, e1), (s2, e2) = res.ranges
    assert s1 < s2 < e1 < e2  # first in, first out
    assert abs(s1 - 90) < 15 and abs(e2 - 165) < 15
    assert 0.9 < res.chi2 < 2.0  # EFA ranges are conservative; REGALS fits better
    # Forward sweep: the second value rises only after the second species appears.
    k2 = np.flatnonzero(res.forward[:, 1] > 3 * res.forward[5, 1])[0] + a
    assert 110 < k2 < 140


def test_regals_recovers_each_species_rg():
    from sec_synth import sphere

    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.series.regals import regals

    sub = _two_species()
    a, b = 80, 180
    res = regals(sub.intensity[a : b + 1], sub.sigma[a : b + 1], (a, b), [(82, 150), (105, 178)])
    assert res.converged and 0.95 < res.chi2 < 1.1
    for i, rg in enumerate((22.0, 40.0)):
        c = res.concentrations[:, i].max()
        curve = Curve(sub.q, res.profiles[:, i] * c, res.profile_sigma[:, i] * c, "A^-1")
        truth = auto_guinier(
            Curve(sub.q, 60 * sphere(sub.q, rg), 1e-3 * np.ones_like(sub.q), "A^-1")
        )
        assert auto_guinier(curve).Rg == pytest.approx(truth.Rg, rel=0.03)


def test_analyse_series_separates_overlapping_species_into_components():
    fr = sec_run(n_frames=260, species=((22.0, 115.0, 10.0, 60.0), (40.0, 140.0, 10.0, 30.0)))
    r = analyse_series(fr)
    assert r.svd.rank == 2 and len(r.components) == 2
    assert {c.method for c in r.components} <= {"regals", "efa"}
    rgs = sorted(c.summary()["Rg"] for c in r.components)
    assert rgs[0] == pytest.approx(22.6, rel=0.04) and rgs[1] == pytest.approx(41.0, rel=0.05)


def test_integral_baseline_converges_and_recovers_fouling():
    from halos_analysis.analysis.series.baseline import correct_baseline

    fr = sec_run(n_frames=300)
    t = np.arange(300)
    eluted = np.cumsum(np.exp(-0.5 * ((t - 150) / 12.0) ** 2))
    fouling = 0.4 * np.exp(-fr.q / 0.05)  # capillary deposit: small-angle scattering
    truth = (eluted / eluted[-1])[:, None] * fouling[None, :]
    fouled = dataclasses_replace(fr, intensity=fr.intensity + truth)
    sub = subtract_buffer(fouled, average_frames(fouled, [(40, 90)]))
    bl = correct_baseline(sub, (40, 90), (230, 290), method="integral")
    assert bl.converged and bl.iterations < 100
    lo = 60  # before the peak nothing is corrected, after it the full offset
    assert np.abs(bl.correction[lo]).max() == 0.0
    # The deposit's profile is measured to the noise of two buffer averages...
    sd = np.sqrt(sub.sigma[40:91].mean(0) ** 2 / 51 + sub.sigma[230:291].mean(0) ** 2 / 61)
    assert np.abs((bl.correction[260] - fouling) / sd).max() < 5
    # ... and its growth follows the eluted protein.
    frac = bl.correction[90:231, 0] / bl.correction[260, 0]
    assert np.abs(frac - (eluted / eluted[-1])[90:231]).max() < 0.05
    lin = correct_baseline(sub, (40, 90), (230, 290), method="linear")
    assert lin.converged and lin.correction.shape == sub.intensity.shape


def dataclasses_replace(obj, **kw):
    import dataclasses

    return dataclasses.replace(obj, **kw)


# --- workflow: the `sec` measurement type ------------------------------------------------------


@pytest.mark.slow
def test_workflow_sec_row_runs_one_series_job_and_reports_it(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    work = tmp_path / "wf"
    (work / "config").mkdir(parents=True)
    _write_raw_series(work / "run.hdf5", sec_run())
    cfg = (root / "config" / "config.yaml").read_text()
    (work / "config" / "config.yaml").write_text(cfg)
    (work / "config" / "samples.tsv").write_text(
        "name\ttype\tframes\tdescription\nbsa_sec\tsec\trun.hdf5\tsimulated SEC run\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "halos_analysis", "run", "--cores", "2", "--directory", str(work)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    res = work / "results"
    summary = json.loads((res / "bsa_sec" / "bsa_sec_series.json").read_text())
    assert summary["valid"] and summary["n_components"] == 1
    rows = json.loads((res / "summary.json").read_text())
    rows = rows["samples"] if isinstance(rows, dict) else rows
    assert any(r["sample"] == "bsa_sec" and r["guinier_rg"] for r in rows)
    html = (res / "report.html").read_text()
    assert "Series: intensity and Rg per frame" in html
    assert (res / "logs" / "series" / "bsa_sec.log").exists()
