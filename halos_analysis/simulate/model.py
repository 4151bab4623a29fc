# SPDX-License-Identifier: MIT
"""The scattering and detector model behind :mod:`halos_analysis.simulate`.

The protein (the source profile extended to all q), the solvent and parasitic scattering, the
detector setups with their geometry and masks, and the expected counts per pixel of each kind
of frame. The model itself is described in :mod:`halos_analysis.simulate`, from which every
public name here is also importable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyFAI.detectors
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.types import Curve

#: Scattering cross-section of water at 20 °C (cm⁻¹), the usual absolute-scale standard.
WATER_CM = 0.01632
#: Avogadro's number (1/mol).
N_A = 6.02214076e23
#: Polarisation factor used for the simulation (horizontal, as at an undulator beamline).
POLARIZATION = 0.99
#: Aggregates that appear with radiation damage: n-mers of the monomer's shape.
AGGREGATE_N = 8


@dataclass(frozen=True)
class DetectorSetup:
    """Geometry and exposure of one simulated detector (beam centre in pixels)."""

    name: str
    pyfai_detector: str
    distance_m: float
    beam_x_px: float
    beam_y_px: float
    exposure_s: float
    beamstop_radius_px: float
    arm_width_px: float
    arm_angle_deg: float
    fmt: str  # "cbf" (int32 counts, -1 in gaps) or "nexus" (uint32, 2**32-1 in gaps)


#: The two detectors of the example. Beam centres are off-centre so that one detector covers
#: q ≈ 0.04–4.5 nm⁻¹ at 1.24 Å; beam stops of about 2 mm.
DETECTORS: dict[str, DetectorSetup] = {
    "pilatus2m": DetectorSetup(
        "pilatus2m", "Pilatus2M", 3.0, 730.3, 1540.7, 0.05, 12.0, 8.0, 60.0, "cbf"
    ),
    "eiger4m": DetectorSetup(
        "eiger4m", "Eiger2_4M", 2.0, 1650.4, 1760.2, 0.05, 20.0, 14.0, 200.0, "nexus"
    ),
    # Facility layouts (`halos simulate --facility`): CoSAXS with the 2026 PONI (3.432 m,
    # PONI1 0.0735 m, PONI2 0.00715 m) and the real 0.1 s exposure; BioCAT with RAW's
    # settings (3.669 m, beam centre 2449.9, 2437.7) and the log's 0.5 s.
    "cosaxs_eiger4m": DetectorSetup(
        "cosaxs_eiger4m", "Eiger2_4M", 3.432, 95.33, 980.0, 0.1, 20.0, 14.0, 180.0, "nexus"
    ),
    "biocat_eiger9m": DetectorSetup(
        "biocat_eiger9m", "Eiger2_9M", 3.6687, 2449.94, 2437.75, 0.5, 24.0, 16.0, 90.0, "nexus"
    ),
    # Small detectors, for tests where the layout, not the detector size, is the point.
    "pilatus300k": DetectorSetup(
        "pilatus300k", "Pilatus300k", 1.5, 60.3, 80.7, 0.05, 10.0, 6.0, 225.0, "cbf"
    ),
    "eiger1m": DetectorSetup(
        "eiger1m", "Eiger2_1M", 1.5, 120.4, 140.2, 0.05, 14.0, 10.0, 225.0, "nexus"
    ),
}


def guinier_fit(
    q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray, qrg_max: float = 1.3, n_start: int = 12
) -> tuple[float, float, int]:
    """Weighted Guinier fit ln I = ln I0 − q²Rg²/3 over q·Rg ≤ ``qrg_max`` from the first point.

    A small self-consistent fit (start on the first ``n_start`` points, then keep the points
    with q·Rg ≤ ``qrg_max`` until the range is stable), enough to describe a clean profile.

    Returns
    -------
    Rg, I0, n_points
    """
    ok = (intensity > 0) & np.isfinite(sigma) & (sigma > 0)
    q, intensity, sigma = q[ok], intensity[ok], sigma[ok]
    n = min(n_start, len(q))
    rg = i0 = math.nan
    for _ in range(50):
        x, y = q[:n] ** 2, np.log(intensity[:n])
        w = (intensity[:n] / sigma[:n]) ** 2
        slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))
        if slope >= 0:  # too few points to see the decay: widen the range
            if n >= len(q):
                break
            n = min(2 * n, len(q))
            continue
        rg, i0 = math.sqrt(-3.0 * slope), math.exp(intercept)
        new_n = max(int(np.searchsorted(q, qrg_max / rg, side="right")), 3)
        if new_n == n:
            break
        n = new_n
    return rg, i0, n


@dataclass(frozen=True)
class ProteinModel:
    """The source profile extended to all q, in its own intensity units, q in nm⁻¹."""

    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    rg_nm: float
    i0: float
    porod_k: float

    def __call__(self, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, np.float64)
        out = np.interp(q, self.q, self.intensity)
        low, high = q < self.q[0], q > self.q[-1]
        out[low] = self.i0 * np.exp(-((q[low] * self.rg_nm) ** 2) / 3.0)
        out[high] = self.porod_k / q[high] ** 4
        return out

    @classmethod
    def from_curve(cls, curve: Curve) -> ProteinModel:
        """Fit the Guinier law to the first points and the Porod constant to the last 5%."""
        c = curve.to_unit("nm^-1")
        sigma = np.where(np.isfinite(c.sigma) & (c.sigma > 0), c.sigma, np.abs(c.intensity))
        rg, i0, _ = guinier_fit(c.q, c.intensity, sigma)
        tail = slice(len(c.q) - max(len(c.q) // 20, 5), None)
        w = 1.0 / sigma[tail] ** 2
        k = float(np.sum(w * c.intensity[tail] * c.q[tail] ** 4) / np.sum(w))
        return cls(c.q.copy(), c.intensity.copy(), sigma, rg, i0, max(k, 0.0))


def solvent_cm(q: np.ndarray) -> np.ndarray:
    """Water-like solvent: flat, rising by a few % towards 5 nm⁻¹ (cm⁻¹)."""
    return WATER_CM * (1.0 + 0.0016 * q**2)


def parasitic_cm(q: np.ndarray, amplitude: float = 0.004) -> np.ndarray:
    """Capillary and slit scattering: a q⁻³·⁵ term that matters only at the lowest q."""
    return amplitude * (np.maximum(q, 1e-3) / 0.1) ** -3.5


def make_geometry(setup: DetectorSetup, wavelength_m: float = 1.24e-10) -> AzimuthalIntegrator:
    """pyFAI integrator for a detector setup (no tilt, PONI at the beam centre)."""
    det = pyFAI.detectors.detector_factory(setup.pyfai_detector)
    return AzimuthalIntegrator(
        dist=setup.distance_m,
        poni1=setup.beam_y_px * det.pixel1,
        poni2=setup.beam_x_px * det.pixel2,
        detector=det,
        wavelength=wavelength_m,
    )


def user_mask(setup: DetectorSetup, ai: AzimuthalIntegrator) -> np.ndarray:
    """Module gaps, a round beam stop and its arm (True = masked)."""
    det = ai.detector
    ny, nx = det.shape
    y, x = np.ogrid[:ny, :nx]
    dx, dy = x + 0.5 - setup.beam_x_px, y + 0.5 - setup.beam_y_px
    stop = dx**2 + dy**2 <= setup.beamstop_radius_px**2
    a = math.radians(setup.arm_angle_deg)
    along = dx * math.cos(a) + dy * math.sin(a)
    across = -dx * math.sin(a) + dy * math.cos(a)
    arm = (along > 0) & (np.abs(across) <= setup.arm_width_px / 2)
    gaps = np.asarray(det.mask, bool) if det.mask is not None else np.zeros((ny, nx), bool)
    return gaps | stop | arm


@dataclass
class DetectorModel:
    """Expected counts per unit of monitor·transmission, for each kind of frame."""

    setup: DetectorSetup
    ai: AzimuthalIntegrator
    mask: np.ndarray
    gaps: np.ndarray
    buffer: np.ndarray
    sample: np.ndarray
    damage: np.ndarray  # added to ``sample`` times the aggregate fraction
    absolute_scale: float  # 1 / (d · ΔΩ₀): integrated / (monitor·T) -> cm⁻¹


def build_detector_model(
    setup: DetectorSetup,
    protein: ProteinModel,
    *,
    i0_cm: float,
    volume_fraction: float,
    thickness_cm: float,
    wavelength_m: float = 1.24e-10,
) -> DetectorModel:
    """Compute the expected images of one detector once; frames then only draw Poisson noise."""
    ai = make_geometry(setup, wavelength_m)
    q = ai.qArray()  # nm^-1 at pixel centres
    pix = ai.detector.pixel1 * ai.detector.pixel2 / setup.distance_m**2
    factor = thickness_cm * pix * ai.solidAngleArray() * ai.polarization(factor=POLARIZATION)
    mask = user_mask(setup, ai)
    gaps = np.asarray(ai.detector.mask, bool)
    # The beam stop and its arm shadow the detector: no counts there.
    factor = np.where(mask & ~gaps, 0.0, factor)
    scale = i0_cm / protein.i0
    solvent, parasitic = solvent_cm(q), parasitic_cm(q)
    prot = protein(q) * scale
    s = AGGREGATE_N ** (1.0 / 3.0)
    agg = (AGGREGATE_N * protein(q * s) * scale) - prot
    buffer = factor * (solvent + parasitic)
    sample = factor * ((1.0 - volume_fraction) * solvent + parasitic + prot)
    return DetectorModel(
        setup,
        ai,
        mask,
        gaps,
        np.maximum(buffer, 0.0),
        np.maximum(sample, 0.0),
        factor * agg,
        1.0 / (thickness_cm * pix),
    )


def aggregate_fraction(rg_ratio: float, n: int = AGGREGATE_N) -> float:
    """Mass fraction of n-mers that makes the Guinier Rg of the mixture grow by ``rg_ratio``.

    Rg² of a mixture is the I0-weighted mean of Rg²; an n-mer of the same shape has n times
    the I0 per mass and n^(1/3) times the Rg.
    """
    r2 = rg_ratio**2
    return (r2 - 1.0) / (n ** (5.0 / 3.0) - 1.0 - r2 * (n - 1.0))
