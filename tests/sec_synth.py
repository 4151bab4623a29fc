# SPDX-License-Identifier: MIT
"""Small realistic SEC-SAXS runs for the series tests (not a test module itself).

Frames are buffer + Σ c_k(t)·F_k(q) with spheres as species (their Rg known exactly), a
buffer profile with the water-like shape of real runs, Gaussian elution peaks and Poisson-
like noise σ = √(I/counts). Sizes are small (a few hundred frames, ~300 q points) to keep
the tests lean; the benchmark uses the real run stretched.
"""

from __future__ import annotations

import numpy as np

from halos_analysis.types import FrameCurves


def sphere(q: np.ndarray, rg: float) -> np.ndarray:
    """Normalised sphere form factor P(q) (P(0) = 1) of radius of gyration ``rg``."""
    r = rg * np.sqrt(5.0 / 3.0)
    x = q * r
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(x > 1e-6, 3.0 * (np.sin(x) - x * np.cos(x)) / x**3, 1.0)
    return f * f


def sec_run(
    n_frames: int = 300,
    n_q: int = 300,
    species: tuple[tuple[float, float, float, float], ...] = ((28.0, 150.0, 12.0, 60.0),),
    drift: float = 0.0,
    counts: float = 2.0e5,
    seed: int = 7,
    q_max: float = 0.3,
) -> FrameCurves:
    """A simulated run, q in Å⁻¹.

    Parameters
    ----------
    species : tuples (Rg Å, apex frame, σ frames, I0 at the apex)
    drift : float
        Relative rise of the buffer intensity from the first to the last frame (fouling).
    counts : float
        Photon counts per unit intensity (noise level).
    """
    rng = np.random.default_rng(seed)
    q = np.linspace(0.008, q_max, n_q)
    buffer = 40.0 * (1.0 + 0.3 * np.exp(-q / 0.05)) + 5.0 * q
    t = np.arange(n_frames)[:, None]
    clean = np.broadcast_to(buffer, (n_frames, n_q)) * (1.0 + drift * t / max(n_frames - 1, 1))
    for rg, apex, width, i0 in species:
        conc = np.exp(-0.5 * ((t - apex) / width) ** 2)
        clean = clean + conc * i0 * sphere(q, rg)[None, :]
    sigma = np.sqrt(clean / counts) * 10.0
    intensity = clean + rng.normal(size=clean.shape) * sigma
    return FrameCurves(q, intensity, sigma, "A^-1", name="synthetic", meta={"notes": []})
