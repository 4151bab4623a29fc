# SPDX-License-Identifier: MIT
"""Molecular weight from a SAXS curve: Porod volume, volume of correlation, I0.

Formulas are evaluated in Å (the curve is converted with :meth:`Curve.to_unit`); volumes
are reported back in the curve's length unit.

- **Porod volume** Vp = 2π² I0 / Q with the Porod invariant Q = ∫ q² I(q) dq from 0 to
  qmax. Below the first point of the Guinier range the integrand is the Guinier curve
  (integrated analytically), above it the data (trapezoid). qmax follows the usual rule
  qmax = 8/Rg; if that falls outside 0.1–0.5 Å⁻¹ the q where log10(I0/I) = 2.25 is used,
  clamped to 0.1–0.5 Å⁻¹. Truncating the invariant at finite q biases Vp; the bias is
  removed with the q-dependent linear correction V = A(qmax) + B(qmax)·Vp of Piiadov et al.
  (2019, Protein Sci. 28:454, SAXSMoW 2), as BioXTAS RAW does, and MW = V·ρ with the
  protein density ρ = 0.83 kDa/nm³. No constant is subtracted from the data: the published
  correction was calibrated without it.
- **Volume of correlation** (Rambo & Tainer 2013, Nature 496:477): Vc = I0 / ∫ q I(q) dq
  (0 to 0.3 Å⁻¹ or the last point), Qr = Vc²/Rg and MW = (Qr/B)^A / 1000 kDa with
  A = 1, B = 0.1231 (protein) or A = 0.808, B = 0.00934 (RNA).
- **Absolute scale**: I0/c = MW·(Δρ_M)²/N_A, with Δρ_M = (n_e − ρ_solvent·ν̄)·r_e the
  scattering contrast per gram (n_e = 3.22·10²³ electrons/g of protein, ρ_solvent =
  3.34·10²³ electrons/cm³ for water, r_e = 2.8179·10⁻¹³ cm). With I0 in cm⁻¹ and c in mg/ml
  the result comes out in kDa. The electron density is that of proteins; for RNA the
  result is flagged ``"abs_contrast_for_protein"``.
- **Reference standard**: MW = MW_ref · (I0/c) / (I0_ref/c_ref).

The consensus is the median of the estimates available, the spread their range (max − min):
the median is robust to one method failing on a given sample (e.g. Vc on a flexible one).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, GuinierResult, MWResult, PrResult, q_scale

__all__ = ["molecular_weight", "porod_volume", "vc_molecular_weight", "vp_qmax"]

AVOGADRO = 6.02214076e23
ELECTRON_RADIUS_CM = 2.8179403e-13
ELECTRONS_PER_G_PROTEIN = 3.22e23
ELECTRONS_PER_CM3_WATER = 3.34e23

#: Below this last-point qRg, the Porod and Vc integrals are too truncated to report (a
#: globular protein's ∫q·I dq is ~95 % complete at qRg 3.5, its Porod invariant less).
_MIN_QRG_INTEGRALS = 3.5
#: qmax (Å⁻¹) of the Porod volume within which the Piiadov et al. correction was tabulated
#: (RAW warns outside it).
_VP_VALIDATED = (0.15, 0.45)
#: Rambo & Tainer integrate q·I to 0.3 Å⁻¹; a curve that stops before this uses an
#: integral they did not calibrate.
_VC_QMAX = 0.3
_VC_VALIDATED_QMIN = 0.25

#: Accepted partial specific volumes (cm³/g). Biomolecules lie well inside: proteins
#: 0.70–0.76, nucleic acids 0.50–0.60, glycoproteins and protein–detergent complexes up to
#: ~0.85. The upper end also keeps clear of ν̄ = n_e/ρ_water ≈ 0.96 cm³/g, where the
#: protein contrast vanishes and the absolute-scale MW diverges; values outside are
#: almost always a unit mistake (Å³/Da, ml/g of solution).
_PSV_RANGE = (0.5, 0.9)

#: Rambo–Tainer power-law coefficients (A, B): MW[Da] = (Qr/B)^A.
VC_COEFFICIENTS = {"protein": (1.0, 0.1231), "rna": (0.808, 0.00934)}


def protein_mass_contrast(psv_cm3_g: float = 0.7425) -> float:
    """Scattering contrast per gram of protein in water, Δρ_M in cm/g.

    Δρ_M = r_e · (n_e − ρ_water · v̄): about 2.09·10¹⁰ cm/g for v̄ = 0.7425 cm³/g.

    Parameters
    ----------
    psv_cm3_g : float
        Partial specific volume v̄ of the protein, cm³/g.

    Returns
    -------
    float
        Δρ_M in cm/g.
    """
    return (ELECTRONS_PER_G_PROTEIN - ELECTRONS_PER_CM3_WATER * psv_cm3_g) * ELECTRON_RADIUS_CM


def _piiadov_ab(qmax: float) -> tuple[float, float]:
    """Coefficients of the corrected Porod volume V = A + B·Vp (qmax in Å⁻¹, V in Å³).

    Polynomial fits of Piiadov et al. (2019), valid for 0.1 ≤ qmax ≤ 0.5 Å⁻¹; outside that
    range no correction is applied (A = 0, B = 1).
    """
    if not 0.1 <= qmax <= 0.5:
        return 0.0, 1.0
    a = np.polyval([-2.114e6, 2.920e6, -1.472e6, 3.349e5, -3.577e4], qmax)
    b = np.polyval([12.09, -9.39, 3.03, 0.29], qmax)
    return float(a), float(b)


def vp_qmax(q: np.ndarray, intensity: np.ndarray, rg: float, i0: float) -> float:
    """qmax (Å⁻¹) for the Porod volume: 8/Rg, else log10(I0/I) = 2.25, within 0.1–0.5 Å⁻¹.

    8/Rg is used when it falls in 0.1–0.5 Å⁻¹; otherwise the point where log10(I0/I) is
    closest to 2.25, clamped into that range. The result is the point of ``q`` nearest it.

    Parameters
    ----------
    q : numpy.ndarray
        Scattering vector, Å⁻¹.
    intensity : numpy.ndarray
        I(q), same scale as ``i0``.
    rg : float
        Radius of gyration, Å.
    i0 : float
        Forward scattering I(0).

    Returns
    -------
    float
        qmax in Å⁻¹, a value of ``q``.
    """
    qmax = 8.0 / rg
    if not 0.1 <= qmax <= 0.5:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(np.log10(i0 / intensity) - 2.25)
        ratio = np.where(np.isfinite(ratio), ratio, np.inf)
        qmax = float(q[int(np.argmin(ratio))])
    qmax = min(max(qmax, 0.1), 0.5)
    return float(q[int(np.argmin(np.abs(q - qmax)))])


def _guinier_moment(k: int, q1: float, rg: float, i0: float) -> float:
    """∫₀^q1 q^k · I0 exp(−q²Rg²/3) dq for k = 1 or 2, analytically."""
    a = rg * rg / 3.0
    if k == 1:
        return i0 * (1.0 - math.exp(-a * q1 * q1)) / (2.0 * a)
    # ∫ q² e^{−a q²} = √π erf(√a q)/(4 a^{3/2}) − q e^{−a q²}/(2a)
    return i0 * (
        math.sqrt(math.pi) * erf(math.sqrt(a) * q1) / (4.0 * a**1.5)
        - q1 * math.exp(-a * q1 * q1) / (2.0 * a)
    )


def _cleaned(curve: Curve, guinier: GuinierResult) -> tuple[Curve, int]:
    """The curve in Å⁻¹ with only its usable rows, and the Guinier range's first row in it.

    The rows the Guinier and P(r) analyses leave out (σ ≤ 0 or NaN, NaN I, a repeated q;
    :meth:`Curve.rows`) are left out of the integrals too; the trapezoid bridges them.
    """
    c = curve.to_unit("A^-1")
    use = c.rows().usable
    start = max(guinier.first if guinier.first is not None else 0, 0)
    start = int(np.count_nonzero(use[:start]))
    return c.select(use), start


def _integral(
    k: int, q: np.ndarray, inten: np.ndarray, start: int, stop: int, rg, i0, extrapolate=True
) -> float:
    """∫₀^q[stop] q^k I dq: Guinier curve below q[start], data (trapezoid) above.

    Without ``extrapolate``, only the measured points from row 0 are integrated.
    """
    if not extrapolate:
        start = 0
    qs, ys = q[start : stop + 1], inten[start : stop + 1]
    finite = np.isfinite(ys)  # missing points are bridged by the trapezoid
    qs, ys = qs[finite], ys[finite]
    data = float(np.trapezoid(qs**k * ys, qs)) if len(qs) > 1 else 0.0
    low = _guinier_moment(k, float(q[start]), rg, i0) if extrapolate else 0.0
    return low + data


def porod_volume(
    curve: Curve, guinier: GuinierResult, qmax: float | None = None
) -> tuple[float, float, float]:
    """Porod volume (uncorrected and corrected, Å³) and the qmax used (Å⁻¹).

    Parameters
    ----------
    curve : Curve
        Subtracted curve, any q unit.
    guinier : GuinierResult
        Supplies Rg, I0 and the first usable row.
    qmax : float, optional
        Upper integration limit in Å⁻¹; :func:`vp_qmax` (the 8/Rg rule) when None.

    Returns
    -------
    vp : float
        Porod volume in Å³ (Guinier curve below the first row, data above); NaN when the
        Porod invariant is not positive.
    vp_corrected : float
        Vp corrected by Piiadov et al. (2019), Å³; equal to ``vp`` when qmax is outside
        0.1–0.5 Å⁻¹.
    qmax : float
        The point of the curve used as upper limit, Å⁻¹.
    """
    c, start = _cleaned(curve, guinier)
    rg = guinier.Rg * (10.0 if curve.q_unit == "nm^-1" else 1.0)
    qmax = vp_qmax(c.q, c.intensity, rg, guinier.I0) if qmax is None else qmax
    stop = int(np.argmin(np.abs(c.q - qmax)))
    qmax = float(c.q[stop])
    inv = _integral(2, c.q, c.intensity, start, stop, rg, guinier.I0)
    vp = 2.0 * math.pi**2 * guinier.I0 / inv if inv > 0 else math.nan
    a, b = _piiadov_ab(qmax)
    return vp, a + b * vp, qmax


def vc_molecular_weight(
    curve: Curve,
    guinier: GuinierResult,
    macromolecule: str = "protein",
    qmax: float = 0.3,
    extrapolate: bool = True,
) -> tuple[float, float]:
    """MW (kDa) and volume of correlation (Å²) by Rambo & Tainer (qmax in Å⁻¹).

    ``extrapolate=False`` integrates only the measured points (no Guinier curve below the
    first one). That underestimates ∫q·I by about I0·qmin²/2 and is not the default; it is
    what BioXTAS RAW's scripting API (``raw.mw_vc``) computes, so it is kept for
    comparisons with RAW.

    Parameters
    ----------
    curve : Curve
        Subtracted curve, any q unit (converted to Å⁻¹).
    guinier : GuinierResult
        Supplies Rg, I0 and the first usable row.
    macromolecule : str
        ``"protein"`` or ``"rna"`` (:data:`VC_COEFFICIENTS`).
    qmax : float
        Upper integration limit in Å⁻¹ (the last point when the curve stops before it).
    extrapolate : bool
        Integrate the Guinier curve below the first usable row.

    Returns
    -------
    mw_kda : float
        Molecular weight, kDa.
    vc : float
        Volume of correlation, Å². Both are NaN when ∫q·I dq is not positive.
    """
    c, start = _cleaned(curve, guinier)
    rg = guinier.Rg * (10.0 if curve.q_unit == "nm^-1" else 1.0)
    stop = int(np.argmin(np.abs(c.q - min(qmax, c.q[-1]))))
    tot = _integral(1, c.q, c.intensity, start, stop, rg, guinier.I0, extrapolate)
    if tot <= 0:
        return math.nan, math.nan
    vc = guinier.I0 / tot
    a, b = VC_COEFFICIENTS[macromolecule]
    return (vc * vc / rg / b) ** a / 1000.0, vc


def molecular_weight(
    curve: Curve,
    guinier: GuinierResult,
    *,
    concentration_mg_ml: float | None = None,
    absolute_scale: bool = False,
    psv_cm3_g: float = 0.7425,
    reference: tuple[float, float, float] | None = None,
    macromolecule: str = "protein",
    qmax_vp: float | None = None,
    density_kda_per_A3: float = 0.83e-3,
    pr: PrResult | None = None,
) -> MWResult:
    """Molecular weight by every method the inputs allow, and their consensus.

    Parameters
    ----------
    curve : Curve
        Buffer-subtracted curve, any q unit.
    guinier : GuinierResult
        Rg and I0 (and the first row of the Guinier range, below which the Guinier curve
        replaces the data in the integrals).
    concentration_mg_ml : float, optional
        Sample concentration (mg/ml); needed for ``absolute_scale`` and ``reference``.
        When absent (None, 0 or NaN) those two estimates are NaN, flag
        ``"no_concentration"``, and the rest is computed.
    absolute_scale : bool
        I0 is in cm⁻¹ (absolute scale): compute MW from I0, c and ``psv_cm3_g``.
    psv_cm3_g : float
        Partial specific volume ν̄ (cm³/g), 0.5–0.9.
    reference : (I0_ref, conc_ref_mg_ml, mw_ref_kda), optional
        A standard measured in the same conditions (e.g. lysozyme).
    macromolecule : {"protein", "rna"}
        Selects the Vc coefficients. The Vp density is for proteins.
    qmax_vp : float, optional
        Porod-volume integration limit in the curve's q unit (default: 8/Rg rule).
    density_kda_per_A3 : float
        Protein density for Vp → MW (0.83e-3 kDa/Å³ = 0.83 kDa/nm³).
    pr : PrResult, optional
        When given, its I0 and Rg replace the Guinier ones (often more precise).

    Returns
    -------
    MWResult
        Estimates in kDa (NaN when not computable; Vp and Vc are NaN, flag
        ``"q_range_too_short"``, when the data stop before qRg = 4); ``porod_volume``
        (uncorrected) in the curve's length unit cubed, ``volume_of_correlation`` in it
        squared.

    Raises
    ------
    HalosInputError
        Unknown macromolecule; ``psv_cm3_g`` outside 0.5–0.9 cm³/g (field ``--psv``); a
        negative concentration; a reference with non-positive values.
    """
    macromolecule = macromolecule.lower()
    if macromolecule not in VC_COEFFICIENTS:
        raise HalosInputError(
            f"unknown macromolecule {macromolecule!r} (use 'protein' or 'rna')",
            field="macromolecule",
        )
    if not _PSV_RANGE[0] <= psv_cm3_g <= _PSV_RANGE[1]:
        raise HalosInputError(
            f"partial specific volume {psv_cm3_g} cm³/g is outside {_PSV_RANGE[0]}–"
            f"{_PSV_RANGE[1]} cm³/g (proteins ≈ 0.73, nucleic acids ≈ 0.55; "
            "1.23 would be Å³/Da, not cm³/g)",
            field="--psv",
        )
    c = concentration_mg_ml
    if c is not None and (c < 0 or math.isinf(c)):
        raise HalosInputError(
            f"concentration {c} mg/ml: must be positive (or 0 / absent if not known)",
            curve.meta.get("source"),
            "concentration",
        )
    # A missing concentration (None, 0, NaN: not measured) only rules out the I0-based MW.
    has_conc = c is not None and c > 0
    if reference is not None and not all(v > 0 for v in reference):
        raise HalosInputError(
            f"reference standard (I0, conc, MW) must be positive, got {reference}",
            field="reference",
        )
    nan = math.nan
    flags: list[str] = []
    rg_i0 = guinier
    if pr is not None and math.isfinite(pr.Rg) and pr.Rg > 0 and pr.I0 > 0:
        rg_i0 = GuinierResult(
            pr.Rg,
            pr.Rg_err,
            pr.I0,
            pr.I0_err,
            guinier.first,
            guinier.last,
            guinier.qRg_min,
            guinier.qRg_max,
            curve.q_unit,
        )
    if not (rg_i0.found and rg_i0.I0 > 0):
        return MWResult(
            nan, nan, nan, nan, curve.q_unit, macromolecule=macromolecule, flags=("no_guinier",)
        )
    lscale = 0.1 if curve.q_unit == "nm^-1" else 1.0  # Å → curve's length unit

    qmax_a = None if qmax_vp is None else qmax_vp * q_scale(curve.q_unit, "A^-1")
    vp, vp_corr, qmax_used = porod_volume(curve, rg_i0, qmax_a)
    mw_vp = vp_corr * density_kda_per_A3 if math.isfinite(vp_corr) and vp_corr > 0 else nan
    if macromolecule != "protein":
        flags.append("vp_density_for_protein")
    if qmax_vp is None and qmax_used < 0.98 * min(8.0 * lscale / rg_i0.Rg, 0.5):
        # The curve stops before the 8/Rg rule's qmax: Vp is less reliable.
        flags.append("vp_qmax_beyond_data")
    if not _VP_VALIDATED[0] <= qmax_used <= _VP_VALIDATED[1]:
        flags.append("vp_outside_validated_range")
    mw_vc, vc = vc_molecular_weight(curve, rg_i0, macromolecule)
    usable_q = curve.q[curve.rows().usable]
    vc_qmax_a = min(_VC_QMAX, float(usable_q[-1]) * q_scale(curve.q_unit, "A^-1"))
    if vc_qmax_a < _VC_VALIDATED_QMIN:
        flags.append("vc_outside_validated_range")
    if usable_q.size == 0 or usable_q[-1] * rg_i0.Rg < _MIN_QRG_INTEGRALS:
        # Neither integral has converged this early: the numbers would be meaningless.
        mw_vp = mw_vc = vp = vc = nan
        flags.append("q_range_too_short")
    if absolute_scale and macromolecule != "protein":
        flags.append("abs_contrast_for_protein")

    if (absolute_scale or reference is not None) and not has_conc:
        flags.append("no_concentration")
    mw_abs = nan
    if absolute_scale and has_conc:
        contrast = protein_mass_contrast(psv_cm3_g)
        mw_abs = AVOGADRO * (rg_i0.I0 / c) / contrast**2
    mw_ref = nan
    if reference is not None and has_conc:
        i0_ref, c_ref, m_ref = reference
        mw_ref = m_ref * (rg_i0.I0 / c) / (i0_ref / c_ref)

    est = np.array([v for v in (mw_vp, mw_vc, mw_abs, mw_ref) if math.isfinite(v)])
    consensus = float(np.median(est)) if est.size else nan
    spread = float(est.max() - est.min()) if est.size else nan
    return MWResult(
        mw_vp_kda=float(mw_vp),
        mw_vc_kda=float(mw_vc),
        porod_volume=float(vp * lscale**3),
        volume_of_correlation=float(vc * lscale**2),
        q_unit=curve.q_unit,
        mw_abs_kda=float(mw_abs),
        mw_ref_kda=float(mw_ref),
        mw_consensus_kda=consensus,
        mw_spread_kda=spread,
        macromolecule=macromolecule,
        flags=tuple(flags),
        vp_qmax=qmax_used * q_scale("A^-1", curve.q_unit),
        vc_qmax=vc_qmax_a * q_scale("A^-1", curve.q_unit),
    )
