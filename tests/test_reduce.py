# SPDX-License-Identifier: MIT
"""CorMap, frame selection, averaging and subtraction on simulated frames."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from halos_analysis import reduce
from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import read_curve, write_dat
from halos_analysis.types import Curve

Q = np.linspace(0.01, 0.3, 400)


def _profile(q: np.ndarray) -> np.ndarray:
    # Sphere-like protein curve plus a flat background, in arbitrary units.
    x = q * 30.0
    return 100.0 * (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2 + 0.5


def _frames(n: int, seed: int = 0, rel_noise: float = 0.01) -> list[Curve]:
    rng = np.random.default_rng(seed)
    truth = _profile(Q)
    sigma = rel_noise * truth + 0.01
    return [
        Curve(Q, truth + rng.normal(0, sigma), sigma, "A^-1", name=f"frame_{i:02d}")
        for i in range(n)
    ]


def _brute_force_pvalue(n: int, c: int) -> float:
    """P(longest run of equal signs ≥ c) by enumerating all 2ⁿ sign sequences."""
    hits = 0
    for seq in itertools.product((1, -1), repeat=n):
        run = best = 1
        for a, b in itertools.pairwise(seq):
            run = run + 1 if a == b else 1
            best = max(best, run)
        hits += best >= c
    return hits / 2**n


@pytest.mark.parametrize("n", [1, 2, 7, 12])
def test_cormap_pvalue_matches_enumeration(n):
    for c in range(0, n + 2):
        expected = 1.0 if c <= 1 else _brute_force_pvalue(n, c)
        assert reduce.cormap_pvalue(n, c) == pytest.approx(expected, abs=1e-12)


def test_longest_run_counts_signs_and_zero_breaks_runs():
    assert reduce.longest_run(np.array([1, 2, -1, -1, -1, 3])) == 3
    assert reduce.longest_run(np.array([1, 1, 0, 1, 1])) == 2
    assert reduce.longest_run(np.zeros(5)) == 0


def test_cormap_same_noise_gives_uniformish_pvalues_and_symmetric_matrix():
    frames = _frames(8)
    res = reduce.cormap_test(frames)
    assert res.pvalues.shape == (8, 8)
    np.testing.assert_array_equal(res.pvalues, res.pvalues.T)
    np.testing.assert_array_equal(np.diag(res.pvalues), 1.0)
    # Frames that differ by noise only: no pair fails after Bonferroni.
    assert (res.adjusted >= 0.01).all()
    assert (res.adjusted >= res.pvalues).all()


def test_select_frames_rejects_drifting_late_frames():
    frames = _frames(10, seed=1)
    # Radiation damage: the last three frames gain a growing low-q excess (aggregates).
    for k, i in enumerate(range(7, 10), start=1):
        f = frames[i]
        extra = 0.05 * k * _profile(Q) * np.exp(-((Q / 0.05) ** 2))
        frames[i] = Curve(Q, f.intensity + extra, f.sigma, "A^-1", name=f.name)
    res = reduce.select_frames(frames, alpha=0.01)
    assert res.selected == tuple(range(7))
    assert set(res.rejected) == {7, 8, 9}
    assert all("reference frame 0" in why for why in res.rejected.values())


def test_select_frames_all_mode_drops_single_bubble_frame():
    frames = _frames(8, seed=2)
    f = frames[3]
    frames[3] = Curve(Q, f.intensity * 0.9, f.sigma, "A^-1", name=f.name)  # bubble: less sample
    res = reduce.select_frames(frames, reference="all")
    assert res.selected == (0, 1, 2, 4, 5, 6, 7)
    assert list(res.rejected) == [3]


def test_select_frames_first_frame_outlier_is_not_the_reference():
    frames = _frames(8, seed=3)
    f = frames[0]
    frames[0] = Curve(Q, f.intensity * 0.9, f.sigma, "A^-1", name=f.name)
    res = reduce.select_frames(frames)
    assert res.selected == tuple(range(1, 8))
    assert "outlier" in res.rejected[0]


def test_holm_is_never_more_conservative_than_bonferroni():
    frames = _frames(6, seed=4)
    f = frames[5]
    frames[5] = Curve(Q, f.intensity * 1.01, f.sigma, "A^-1", name=f.name)
    bonf = reduce.cormap_test(frames, "bonferroni").adjusted
    holm = reduce.cormap_test(frames, "holm").adjusted
    assert (holm <= bonf + 1e-15).all()


def test_cormap_rejects_different_grids_and_bad_correction():
    a, b = _frames(2)
    short = a.select(slice(0, 300))
    with pytest.raises(HalosInputError, match="q grid"):
        reduce.cormap_test([a, short])
    with pytest.raises(HalosInputError, match="correction"):
        reduce.cormap_test([a, b], correction="sidak")


def test_average_error_shrinks_as_one_over_sqrt_n():
    truth = _profile(Q)
    n = 16
    frames = _frames(n, seed=5)
    avg = reduce.average(frames)
    np.testing.assert_allclose(avg.sigma, frames[0].sigma / np.sqrt(n), rtol=1e-12)
    # The reported σ describes the actual scatter of the mean around the truth.
    z = (avg.intensity - truth) / avg.sigma
    assert 0.85 < z.std() < 1.15
    assert avg.meta["averaged_from"][-1] == "frame_15"


def test_average_names_the_curve_on_another_grid():
    frames = _frames(3)
    frames[2] = Curve(Q * 1.01, frames[2].intensity, frames[2].sigma, "A^-1", name="odd_one")
    with pytest.raises(HalosInputError, match="odd_one"):
        reduce.average(frames)
    nm = frames[0].to_unit("nm^-1")
    with pytest.raises(HalosInputError, match="q unit"):
        reduce.average([frames[0], nm])


def test_subtract_propagates_errors_and_applies_scale():
    s, b = _frames(2, seed=6)
    out = reduce.subtract(s, b, scale=0.98)
    np.testing.assert_allclose(out.intensity, s.intensity - 0.98 * b.intensity)
    np.testing.assert_allclose(out.sigma, np.hypot(s.sigma, 0.98 * b.sigma))
    assert out.q_unit == "A^-1"


def test_subtract_unit_mismatch_names_both_curves():
    s = Curve(Q, _profile(Q), np.ones_like(Q), "A^-1", name="lysozyme", meta={"source": "lys.dat"})
    b = Curve(Q * 10, np.ones_like(Q), np.ones_like(Q), "nm^-1", name="buf", meta={})
    with pytest.raises(HalosInputError) as exc:
        reduce.subtract(s, b)
    assert "lys.dat" in str(exc.value) and "buf" in str(exc.value)
    assert "unit" in str(exc.value)


def test_subtract_grid_mismatch_is_refused_with_the_row():
    s, b = _frames(2)
    shifted = Curve(Q + 1e-3, b.intensity, b.sigma, "A^-1", name="buffer_b")
    with pytest.raises(HalosInputError, match="row 0"):
        reduce.subtract(s, shifted)


def _with_unit(curves: list[Curve], unit: str | None) -> list[Curve]:
    meta = {} if unit is None else {"intensity_unit": unit}
    return [dataclasses.replace(c, meta={**c.meta, **meta}) for c in curves]


def test_average_and_subtract_carry_the_intensity_unit():
    sample = reduce.average(_with_unit(_frames(3, seed=7), "1/cm"))
    buffer = reduce.average(_with_unit(_frames(3, seed=8), "cm^-1"))
    assert sample.meta["intensity_unit"] == "1/cm"
    assert reduce.subtract(sample, buffer).meta["intensity_unit"] == "1/cm"


def test_intensity_unit_is_dropped_when_one_curve_does_not_state_it():
    frames = _with_unit(_frames(2, seed=9), "1/cm") + _frames(1, seed=10)
    assert "intensity_unit" not in reduce.average(frames).meta
    s = _with_unit(_frames(1, seed=11), "1/cm")[0]
    assert "intensity_unit" not in reduce.subtract(s, _frames(1, seed=12)[0]).meta


def test_subtract_refuses_different_intensity_units_naming_both():
    s = _with_unit([_frames(1, seed=13)[0]], "1/cm")[0]
    b = _with_unit([_frames(1, seed=14)[0]], "arbitrary")[0]
    s = dataclasses.replace(s, meta={**s.meta, "source": "lys_abs.dat"})
    b = dataclasses.replace(b, meta={**b.meta, "source": "buffer_raw.dat"})
    with pytest.raises(HalosInputError) as exc:
        reduce.subtract(s, b)
    msg = str(exc.value)
    assert "lys_abs.dat" in msg and "buffer_raw.dat" in msg
    assert "1/cm" in msg and "arbitrary" in msg


def test_average_refuses_frames_on_different_intensity_scales():
    frames = _with_unit(_frames(2, seed=15), "1/cm") + _with_unit(_frames(1, seed=16), "arbitrary")
    with pytest.raises(HalosInputError, match="intensity unit"):
        reduce.average(frames)


def test_average_skips_a_bin_missing_in_some_frames_only():
    frames = _frames(4, seed=17)
    data = [(c.intensity.copy(), c.sigma.copy()) for c in frames]
    data[1][0][10] = data[1][1][10] = np.nan  # bin 10 lost all pixels in frame 1
    for i, s in data:
        i[20] = s[20] = np.nan  # bin 20 has no data in any frame
    holed = [Curve(Q, i, s, "A^-1", name=c.name) for c, (i, s) in zip(frames, data, strict=True)]
    avg = reduce.average(holed)
    others = [frames[k] for k in (0, 2, 3)]
    assert avg.intensity[10] == pytest.approx(np.mean([c.intensity[10] for c in others]))
    assert avg.sigma[10] == pytest.approx(np.sqrt(sum(c.sigma[10] ** 2 for c in others)) / 3)
    # Every other bin is the plain average of all four frames.
    full = reduce.average(frames)
    rest = np.ones(len(Q), bool)
    rest[[10, 20]] = False
    np.testing.assert_allclose(avg.intensity[rest], full.intensity[rest])
    np.testing.assert_allclose(avg.sigma[rest], full.sigma[rest])
    assert np.isnan(avg.intensity[20]) and np.isnan(avg.sigma[20])
    assert (avg.meta["bins_partly_averaged"], avg.meta["empty_bins"]) == (1, 1)


def test_average_with_an_empty_bin_writes_and_reads_back(tmp_path):
    frames = _frames(2, seed=18)
    for c in frames:
        c.intensity[5] = np.nan
    avg = reduce.average(frames)
    back = read_curve(write_dat(avg, tmp_path / "avg.dat"))
    assert len(back) == len(Q) - 1 and np.isfinite(back.intensity).all()
