# SPDX-License-Identifier: MIT
"""Dimensionless Kratky plot and its shape flags on model curves."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from halos_analysis.analysis.kratky import dimensionless_kratky
from halos_analysis.types import Curve, GuinierResult

RG = 30.0
Q = np.linspace(0.005, 0.3, 600)  # qRg up to 9


def guinier(rg=RG, i0=1.0) -> GuinierResult:
    return GuinierResult(rg, 0.1, i0, 0.001, 0, 40, 0.15, 1.3, "A^-1")


def curve(intensity: np.ndarray, seed: int = 0) -> Curve:
    rng = np.random.default_rng(seed)
    sigma = 0.01 * intensity + 1e-5
    return Curve(Q, intensity + rng.normal(0, sigma), sigma, "A^-1")


def sphere(q, rg=RG):
    x = q * rg * np.sqrt(5.0 / 3.0)
    return (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2


def debye(q, rg=RG):
    u = (q * rg) ** 2
    return 2 * (np.expm1(-u) + u) / u**2


def test_globular_sphere_peaks_near_sqrt3():
    res = dimensionless_kratky(curve(sphere(Q)), guinier())
    assert "globular" in res.flags and "flexible" not in res.flags
    assert res.peak_qrg == pytest.approx(math.sqrt(3), abs=0.3)
    assert res.peak_height == pytest.approx(3 / math.e, abs=0.12)
    np.testing.assert_allclose(res.qrg, Q * RG)


def test_gaussian_chain_is_unfolded():
    res = dimensionless_kratky(curve(debye(Q)), guinier())
    assert "unfolded" in res.flags and "flexible" in res.flags
    assert "globular" not in res.flags


def test_two_domains_on_a_linker_show_a_plateau_as_flexible():
    # Half globular, half chain-like scattering: decays, but only to a plateau.
    res = dimensionless_kratky(curve(0.5 * sphere(Q) + 0.5 * debye(Q)), guinier())
    assert "flexible" in res.flags and "globular" not in res.flags


def test_short_q_range_is_flagged():
    short = curve(sphere(Q)).select(Q * RG < 3.0)
    res = dimensionless_kratky(short, guinier())
    assert "limited_q_range" in res.flags


def test_invalid_guinier_gives_empty_plot():
    nan = math.nan
    bad = GuinierResult(nan, nan, nan, nan, -1, -1, nan, nan, "A^-1")
    res = dimensionless_kratky(curve(sphere(Q)), bad)
    assert res.qrg.size == 0 and res.flags == ("no_guinier",)


def test_points_without_sigma_are_not_given_an_arbitrary_weight():
    # Noisy high-q data (σ dominated by a flat background) and a few points with no σ that
    # hold garbage: they must not steer the bin means, so the result is the same as with
    # those points removed, and the sphere stays globular.
    rng = np.random.default_rng(3)
    inten = sphere(Q)
    sigma = 0.01 * inten + 0.02
    meas = inten + rng.normal(0, sigma)
    no_sigma = np.zeros(Q.size, bool)
    no_sigma[::7] = True
    meas[no_sigma] = 1.0
    sigma[no_sigma] = np.nan
    res = dimensionless_kratky(Curve(Q, meas, sigma, "A^-1"), guinier())
    ref = dimensionless_kratky(
        Curve(Q[~no_sigma], meas[~no_sigma], sigma[~no_sigma], "A^-1"), guinier()
    )
    assert res.flags == ref.flags and "globular" in res.flags
    assert res.peak_height == pytest.approx(ref.peak_height, rel=1e-12)
    assert res.peak_qrg == ref.peak_qrg


def test_no_sigma_anywhere_gives_plain_bin_means():
    res = dimensionless_kratky(Curve(Q, sphere(Q), np.full_like(Q, np.nan), "A^-1"), guinier())
    assert "globular" in res.flags
    assert res.peak_height == pytest.approx(3 / math.e, abs=0.12)


def test_gap_over_qrg_4_to_6_is_limited_range_without_warning():
    # Data on both sides of qRg 4–6 but none inside (e.g. a detector gap): no mean of an
    # empty selection, the decay is simply not judged.
    c = curve(sphere(Q))
    gap = c.select((Q * RG < 3.9) | (Q * RG > 6.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = dimensionless_kratky(gap, guinier())
    assert "limited_q_range" in res.flags
    assert res.peak_qrg == pytest.approx(math.sqrt(3), abs=0.3)
