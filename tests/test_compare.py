# SPDX-License-Identifier: MIT
"""`halos compare` statistics: common grid, scale fit, verdicts on same / altered curves."""

from __future__ import annotations

import numpy as np
import pytest

from halos_analysis.analysis.compare import (
    MeasuredSample,
    common_grid,
    compare_measurements,
    fit_scale,
    rebin,
)
from halos_analysis.analysis.pipeline import analyse_curve
from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import read_curve
from halos_analysis.simulate import AGGREGATE_N, ProteinModel, default_profile_path
from halos_analysis.types import Curve


@pytest.fixture(scope="module")
def protein() -> ProteinModel:
    return ProteinModel.from_curve(read_curve(default_profile_path(), q_unit="nm^-1"))


def _measure(protein, q, scale, seed, aggregates=0.0, rel=0.004) -> Curve:
    """A noisy measurement of the protein (optionally with 8-mer aggregates) on grid q."""
    big = AGGREGATE_N * protein(q * AGGREGATE_N ** (1 / 3))
    truth = protein(q) + aggregates * (big - protein(q))
    # Poisson-like: sigma grows as sqrt(I), with a floor from the buffer subtraction.
    sigma = rel * np.sqrt(truth * protein.i0) + 2e-4 * protein.i0
    y = truth + np.random.default_rng(seed).normal(0.0, sigma)
    return Curve(q, y * scale, sigma * scale, "nm^-1", name=f"m{seed}")


def _sample(curve: Curve) -> MeasuredSample:
    a = analyse_curve(curve)
    g = a.guinier
    return MeasuredSample(
        curve.name, curve, g.Rg, g.Rg_err, g.I0, g.I0_err,
        a.pr.Dmax if a.pr else None, a.pr.Dmax_err if a.pr else None,
        a.mw.mw_consensus_kda if a.mw else None, a.mw.mw_spread_kda if a.mw else None,
    )  # fmt: skip


def test_rebin_is_unbiased_on_a_smooth_steep_curve():
    def model(q):  # a Guinier-like decay over three decades
        return np.exp(-((q * 3.0) ** 2) / 3.0) + 1e-3 / (1 + q**4)

    fine = np.linspace(0.05, 3.0, 1500)
    c = Curve(fine, model(fine), np.full(fine.size, 1e-3), "nm^-1")
    coarse = Curve(np.linspace(0.06, 2.9, 400), np.ones(400), np.ones(400), "nm^-1")
    edges = common_grid([coarse, c])
    y, s = rebin(c, edges, coarse.q)
    idx = np.searchsorted(edges, fine, "right") - 1
    ok = (idx >= 0) & (idx < 400)
    plain = np.bincount(idx[ok], model(fine[ok]), 400)[1:-1] / np.bincount(idx[ok], None, 400)[1:-1]
    # Moved to the bin's q with the local slope: 10x closer than the plain bin mean.
    err = np.abs(y[1:-1] / model(coarse.q[1:-1]) - 1)
    assert err.max() < 5e-4
    assert np.abs(plain / model(coarse.q[1:-1]) - 1).max() > 10 * err.max()
    assert np.all(s > 0)


def test_scale_fit_with_both_sigmas_recovers_the_scale():
    rng = np.random.default_rng(1)
    x = np.linspace(1, 10, 300)
    sx, sy = 0.05 * np.ones(300), 0.1 * np.ones(300)
    y = 2.5 * x + rng.normal(0, 0.1, 300) + 0.3
    fit = fit_scale(y, sy, x + rng.normal(0, 0.05, 300), sx, background=True)
    assert fit.scale == pytest.approx(2.5, abs=4 * fit.scale_err)
    assert fit.background == pytest.approx(0.3, abs=4 * fit.background_err)
    assert 0.7 < fit.chi2_red < 1.3 and fit.dof == 298


def test_same_sample_on_two_grids_is_consistent_aggregates_differ(protein):
    a = _measure(protein, np.linspace(0.045, 4.5, 736), 1.0, seed=1)
    # Another detector: other q range and spacing, arbitrary intensity scale.
    b = _measure(protein, np.linspace(0.06, 3.2, 560), 3.7, seed=2)
    same = compare_measurements([_sample(a), _sample(b)])
    assert same.consistent, same.verdict
    assert same.verdict == "consistent"
    assert same.fits[1].scale == pytest.approx(1 / 3.7, rel=5e-3)
    assert same.q[0] >= 0.06 and same.q[-1] <= 3.2
    names = [qc.name for qc in same.quantities]
    assert names[:3] == ["curves (CorMap)", "curves (reduced χ², both σ)", "Rg"]
    assert all(qc.consistent for qc in same.quantities if qc.consistent is not None)
    d = same.to_dict()
    assert d["consistent"] and d["fits"][0]["chi2_red"] is None  # JSON-safe
    # 5 % (by mass) aggregates in the second measurement: the curves and Rg differ.
    c = _measure(protein, np.linspace(0.06, 3.2, 560), 3.7, seed=2, aggregates=0.05)
    differ = compare_measurements([_sample(a), _sample(c)])
    assert not differ.consistent and differ.verdict.startswith("differs")
    verdicts = {qc.name: qc for qc in differ.quantities}
    assert verdicts["curves (CorMap)"].consistent is False
    assert verdicts["Rg"].consistent is False and "differs by" in verdicts["Rg"].verdict


def test_compare_needs_two_overlapping_curves(protein):
    a = _measure(protein, np.linspace(0.05, 1.0, 100), 1.0, seed=1)
    b = _measure(protein, np.linspace(1.5, 3.0, 100), 1.0, seed=2)
    with pytest.raises(HalosInputError, match="at least two"):
        compare_measurements([_sample(a)])
    with pytest.raises(HalosInputError, match="share only 0 points"):
        compare_measurements([MeasuredSample("a", a), MeasuredSample("b", b)])


def test_load_measured_reads_the_typed_results(tmp_path):
    import dataclasses

    from test_units import curve, failed_guinier, results

    from halos_analysis.export.compare_report import load_measured
    from halos_analysis.io.nxcansas import write_sample_result

    c = curve("A^-1")
    res = results(c)
    doubtful = dataclasses.replace(res["guinier"], flags=("aggregation", "low_start"))
    path = write_sample_result(tmp_path / "s.h5", subtracted=c, guinier=doubtful, pr=res["pr"],
                               mw=res["mw"])  # fmt: skip
    m = load_measured(path, name="s")
    assert (m.rg, m.rg_err, m.i0, m.i0_err) == (25.0, 0.2, 50.0, 0.3)
    assert (m.dmax, m.dmax_err, m.mw_kda, m.mw_spread_kda) == (75.0, 1.5, 64.6, 2.9)
    # A doubtful Guinier still gives its numbers, and says why it is doubtful.
    assert m.doubts == {"Rg": "aggregation, low_start", "I0": "aggregation, low_start"}
    # No Guinier region: no Rg nor I0 (not NaN), the flag named; no MW given: None.
    pr = dataclasses.replace(res["pr"], Dmax_err=float("nan"))
    path = write_sample_result(tmp_path / "f.h5", subtracted=c, guinier=failed_guinier(), pr=pr)
    m = load_measured(path)
    assert m.rg is None and m.i0 is None and m.mw_kda is None and m.dmax_err is None
    assert m.doubts == {"Rg": "no_guinier_region", "I0": "no_guinier_region"}
    assert m.dmax == 75.0 and m.name == "s"
