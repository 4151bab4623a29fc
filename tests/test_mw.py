# SPDX-License-Identifier: MIT
"""Molecular weight: Porod volume, volume of correlation, I0 methods, consensus."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad

from halos_analysis.analysis.guinier import auto_guinier
from halos_analysis.analysis.mw import (
    AVOGADRO,
    molecular_weight,
    porod_volume,
    vc_molecular_weight,
    vp_qmax,
)
from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, GuinierResult

RG = 25.0
Q = np.linspace(0.005, 0.4, 800)


def sphere(q, rg=RG, i0=1.0):
    x = q * rg * np.sqrt(5.0 / 3.0)
    return i0 * (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(0)
    inten = sphere(Q)
    sigma = 0.002 * inten + 1e-5
    return Curve(Q, inten + rng.normal(0, sigma), sigma, "A^-1", name="sphere")


def exact_guinier() -> GuinierResult:
    """The sphere's true Rg and I0, as if from a perfect Guinier fit starting at row 0."""
    return GuinierResult(RG, 0.0, 1.0, 0.0, 0, 40, 0.1, 1.0, "A^-1")


def test_porod_invariant_matches_numerical_integral():
    # Noise-free sphere with exact Rg and I0: Vp = 2π² I0 / ∫₀^qmax q² I dq.
    c = Curve(Q, sphere(Q), np.full_like(Q, 1e-6), "A^-1")
    vp, _, qmax = porod_volume(c, exact_guinier(), qmax=0.3)
    q_inv = quad(lambda q: q * q * sphere(np.array([q]))[0], 1e-9, qmax, limit=200)[0]
    assert vp == pytest.approx(2 * math.pi**2 / q_inv, rel=2e-3)


def test_vp_qmax_rule():
    assert vp_qmax(Q, sphere(Q), 40.0, 1.0) == pytest.approx(0.2, abs=Q[1] - Q[0])
    # Very small particles: 8/Rg > 0.5 Å⁻¹ is clamped into the data and the 0.1–0.5 window.
    assert vp_qmax(Q, sphere(Q, 10.0), 10.0, 1.0) <= 0.5


def test_mw_does_not_depend_on_intensity_scale_or_q_unit(curve):
    g = auto_guinier(curve)
    base = molecular_weight(curve, g)
    scaled = dataclasses.replace(curve, intensity=curve.intensity * 7.0, sigma=curve.sigma * 7)
    m2 = molecular_weight(scaled, auto_guinier(scaled))
    assert m2.mw_vp_kda == pytest.approx(base.mw_vp_kda, rel=1e-6)
    assert m2.mw_vc_kda == pytest.approx(base.mw_vc_kda, rel=1e-6)
    nm = curve.to_unit("nm^-1")
    m3 = molecular_weight(nm, auto_guinier(nm))
    assert m3.mw_vp_kda == pytest.approx(base.mw_vp_kda, rel=1e-9)
    assert m3.mw_vc_kda == pytest.approx(base.mw_vc_kda, rel=1e-9)
    assert m3.porod_volume == pytest.approx(base.porod_volume * 1e-3, rel=1e-9)
    assert m3.volume_of_correlation == pytest.approx(base.volume_of_correlation * 1e-2, rel=1e-9)


def test_reference_standard_of_itself_returns_its_mw(curve):
    g = auto_guinier(curve)
    m = molecular_weight(curve, g, concentration_mg_ml=2.0, reference=(g.I0, 2.0, 42.0))
    assert m.mw_ref_kda == pytest.approx(42.0)
    # Twice the I0 per concentration of the standard: twice its MW.
    m = molecular_weight(curve, g, concentration_mg_ml=1.0, reference=(g.I0, 2.0, 42.0))
    assert m.mw_ref_kda == pytest.approx(84.0)


def test_absolute_scale_contrast_and_units():
    # A 66.4 kDa protein at 5 mg/ml with ν̄ 0.7425 in water: I0 = c·M·(Δρ_M)²/N_A (cm⁻¹).
    drho = (3.22e23 - 3.34e23 * 0.7425) * 2.8179403e-13  # cm/g
    i0 = 5.0 * 66.4 * drho**2 / AVOGADRO
    assert 0.1 < i0 < 0.5  # the textbook order of magnitude for 5 mg/ml BSA in cm⁻¹
    c = Curve(Q, sphere(Q, i0=i0), np.full_like(Q, 1e-6), "A^-1")
    g = dataclasses.replace(exact_guinier(), I0=i0)
    m = molecular_weight(c, g, concentration_mg_ml=5.0, absolute_scale=True)
    assert m.mw_abs_kda == pytest.approx(66.4, rel=1e-6)
    # A lower partial specific volume means more contrast, so a smaller MW for the same I0.
    m2 = molecular_weight(c, g, concentration_mg_ml=5.0, absolute_scale=True, psv_cm3_g=0.7)
    assert m2.mw_abs_kda < m.mw_abs_kda


def test_consensus_is_median_and_spread_is_range(curve):
    g = auto_guinier(curve)
    m = molecular_weight(curve, g, concentration_mg_ml=1.0, reference=(g.I0, 1.0, 50.0))
    vals = [m.mw_vp_kda, m.mw_vc_kda, m.mw_ref_kda]
    assert m.mw_consensus_kda == pytest.approx(np.median(vals))
    assert m.mw_spread_kda == pytest.approx(max(vals) - min(vals))
    assert math.isnan(m.mw_abs_kda)


def test_rna_uses_other_vc_coefficients(curve):
    g = auto_guinier(curve)
    prot, vc = vc_molecular_weight(curve, g, "protein")
    rna, vc2 = vc_molecular_weight(curve, g, "rna")
    assert vc == vc2
    qr = vc**2 / g.Rg
    assert prot == pytest.approx(qr / 0.1231 / 1000)
    assert rna == pytest.approx((qr / 0.00934) ** 0.808 / 1000)


def test_bad_inputs_raise_or_flag(curve):
    g = auto_guinier(curve)
    # No concentration: the I0-based estimates cannot be made (NaN, flagged), the rest is.
    for kwargs in ({"absolute_scale": True}, {"reference": (0.05, 4.0, 14.3)}):
        for conc in (None, 0.0, math.nan):
            m = molecular_weight(curve, g, concentration_mg_ml=conc, **kwargs)
            assert math.isnan(m.mw_abs_kda) and math.isnan(m.mw_ref_kda)
            assert "no_concentration" in m.flags
            assert math.isfinite(m.mw_vp_kda) and math.isfinite(m.mw_vc_kda)
            assert math.isfinite(m.mw_consensus_kda)
    with pytest.raises(HalosInputError, match="concentration"):
        molecular_weight(curve, g, concentration_mg_ml=-1.0, absolute_scale=True)
    with pytest.raises(HalosInputError, match="macromolecule"):
        molecular_weight(curve, g, macromolecule="dna")
    nan = math.nan
    invalid = GuinierResult(nan, nan, nan, nan, -1, -1, nan, nan, "A^-1")
    m = molecular_weight(curve, invalid)
    assert math.isnan(m.mw_vp_kda) and "no_guinier" in m.flags


def test_too_short_q_range_gives_nan_not_nonsense():
    q = np.linspace(0.005, 0.1, 100)  # qRg only up to 2.5
    c = Curve(q, sphere(q), 0.01 * sphere(q), "A^-1")
    m = molecular_weight(c, exact_guinier())
    assert math.isnan(m.mw_vp_kda) and math.isnan(m.mw_vc_kda)
    assert "q_range_too_short" in m.flags


@pytest.mark.parametrize("psv", [0.3, 0.97, 1.233, 0.0])
def test_implausible_partial_specific_volume_is_an_input_error(curve, psv):
    # 1.233 is a protein's ν̄ in Å³/Da, 0.97 is where the protein contrast vanishes.
    g = auto_guinier(curve)
    with pytest.raises(HalosInputError) as err:
        molecular_weight(curve, g, concentration_mg_ml=1.0, absolute_scale=True, psv_cm3_g=psv)
    assert err.value.field == "--psv"


def test_concentration_is_not_needed_without_i0_methods(curve):
    g = auto_guinier(curve)
    m = molecular_weight(curve, g, concentration_mg_ml=None)
    assert "no_concentration" not in m.flags
