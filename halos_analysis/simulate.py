# SPDX-License-Identifier: MIT
"""Realistic example data: a P12-style batch measurement simulated from a real 1D profile.

The protein's scattering is the given profile (extended below its first point by a Guinier
law fitted to it, and beyond its last point by a Porod q⁻⁴ decay), put on an absolute scale
from the concentration and molecular weight. The buffer is water (flat, 0.01632 cm⁻¹) plus a
low-q capillary/parasitic term; the sample is the buffer with the protein's volume fraction of
water displaced, plus the protein. For every detector pixel::

    counts ~ Poisson(monitor · transmission · d · ΔΩ₀ · Ω_rel · P · dΣ/dΩ(q))

with ``d`` the sample thickness, ``ΔΩ₀`` the solid angle of a pixel at the point of normal
incidence, ``Ω_rel`` and ``P`` pyFAI's relative solid angle and polarisation factor. So
integrating a frame with pyFAI (solid angle on, the same polarisation factor) and dividing by
monitor · transmission gives ``d · ΔΩ₀ · dΣ/dΩ``; ``truth.json`` carries the factor
``1 / (d · ΔΩ₀)`` that turns it into cm⁻¹.

The last frames of the sample carry radiation damage: a growing fraction of aggregates
(8-mers of the same shape), so their Guinier Rg grows by a few percent per frame.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import fabio.cbfimage
import h5py
import hdf5plugin
import numpy as np
import pyFAI.detectors
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.io.curves import read_curve, write_dat
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
    fmt: str  # "cbf" or "nexus"


#: The two detectors of the example. Beam centres are off-centre so that one detector covers
#: q ≈ 0.04–4.5 nm⁻¹ at 1.24 Å; beam stops of about 2 mm.
DETECTORS: dict[str, DetectorSetup] = {
    "pilatus2m": DetectorSetup(
        "pilatus2m", "Pilatus2M", 3.0, 730.3, 1540.7, 0.05, 12.0, 8.0, 60.0, "cbf"
    ),
    "eiger4m": DetectorSetup(
        "eiger4m", "Eiger2_4M", 2.0, 1650.4, 1760.2, 0.05, 20.0, 14.0, 200.0, "nexus"
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


# ----------------------------------------------------------------------------- writers


def write_minicbf(path: str | Path, data: np.ndarray, header: dict[str, str]) -> None:
    """Write an int32 frame as a miniCBF file (byte-offset compression, PILATUS_1.2 header).

    ``header`` items become ``# Key value`` lines of ``_array_data.header_contents``.
    """
    lines = "\r\n".join(f"# {k} {v}" if v != "" else f"# {k}" for k, v in header.items())
    img = fabio.cbfimage.CbfImage(
        data=np.ascontiguousarray(data, np.int32),
        header={
            "_array_data.header_convention": "PILATUS_1.2",
            "_array_data.header_contents": lines,
        },
    )
    img.write(str(path))


def _nx(group: h5py.Group, nx_class: str) -> h5py.Group:
    group.attrs["NX_class"] = nx_class
    return group


def _value(group: h5py.Group, name: str, value: Any, units: str | None = None) -> None:
    ds = group.create_dataset(name, data=value)
    if units:
        ds.attrs["units"] = units


def write_eiger_master(
    outdir: Path,
    name: str,
    setup: DetectorSetup,
    ai: AzimuthalIntegrator,
    data_files: Sequence[tuple[str, int]],
    monitor: np.ndarray,
    transmission: np.ndarray,
    pixel_mask: np.ndarray,
    sample: str,
) -> Path:
    """DECTRIS-style NeXus master file linking the data files ``(file name, n frames)``.

    Monitor counts per frame go to ``/entry/monitor/data`` (NXmonitor), sample transmission
    per frame to ``/entry/sample/transmission`` (NXsample).
    """
    path = outdir / f"{name}_master.h5"
    det = ai.detector
    cx, cy = setup.beam_x_px, setup.beam_y_px
    with h5py.File(path, "w") as f:
        entry = _nx(f.create_group("entry"), "NXentry")
        data = _nx(entry.create_group("data"), "NXdata")
        for i, (fname, _) in enumerate(data_files, start=1):
            data[f"data_{i:06d}"] = h5py.ExternalLink(fname, "/entry/data/data")
        inst = _nx(entry.create_group("instrument"), "NXinstrument")
        beam = _nx(inst.create_group("beam"), "NXbeam")
        _value(beam, "incident_wavelength", ai.wavelength * 1e10, "angstrom")
        d = _nx(inst.create_group("detector"), "NXdetector")
        _value(d, "description", "Dectris EIGER2 X 4M (simulated by HALOS Analysis)")
        _value(d, "x_pixel_size", det.pixel2, "m")
        _value(d, "y_pixel_size", det.pixel1, "m")
        _value(d, "detector_distance", setup.distance_m, "m")
        _value(d, "beam_center_x", cx, "pixel")
        _value(d, "beam_center_y", cy, "pixel")
        _value(d, "count_time", setup.exposure_s, "s")
        _value(d, "frame_time", setup.exposure_s, "s")
        _value(d, "bit_depth_image", np.uint32(32))
        _value(d, "sensor_material", "Si")
        _value(d, "sensor_thickness", 450e-6, "m")
        d.create_dataset(
            "pixel_mask", data=pixel_mask.astype(np.uint32), **hdf5plugin.Bitshuffle(cname="lz4")
        )
        spec = _nx(d.create_group("detectorSpecific"), "NXcollection")
        _value(spec, "nimages", np.uint32(sum(n for _, n in data_files)))
        _value(spec, "ntrigger", np.uint32(1))
        _value(spec, "x_pixels_in_detector", np.uint32(det.shape[1]))
        _value(spec, "y_pixels_in_detector", np.uint32(det.shape[0]))
        mon = _nx(entry.create_group("monitor"), "NXmonitor")
        _value(mon, "mode", "monitor")
        _value(mon, "data", np.asarray(monitor, np.float64), "counts")
        smp = _nx(entry.create_group("sample"), "NXsample")
        _value(smp, "name", sample)
        _value(smp, "transmission", np.asarray(transmission, np.float64))
    return path


def _write_eiger_data(
    path: Path, frames: Iterable[np.ndarray], n: int, shape: tuple[int, int], first: int
) -> None:
    """Write ``n`` frames as they come (one chunk each), never holding them all."""
    ny, nx = shape
    with h5py.File(path, "w") as f:
        entry = _nx(f.create_group("entry"), "NXentry")
        data = _nx(entry.create_group("data"), "NXdata")
        ds = data.create_dataset(
            "data",
            shape=(n, ny, nx),
            dtype=np.uint32,
            chunks=(1, ny, nx),
            **hdf5plugin.Bitshuffle(cname="lz4"),
        )
        for i, frame in enumerate(frames):
            ds[i] = frame
        ds.attrs["image_nr_low"] = np.uint32(first + 1)
        ds.attrs["image_nr_high"] = np.uint32(first + n)


# ----------------------------------------------------------------------------- simulation


def _draw(
    model: DetectorModel,
    base: np.ndarray,
    scale: float,
    damage_w: float,
    seq: np.random.SeedSequence,
) -> np.ndarray:
    lam = base * scale
    if damage_w:
        lam += model.damage * (damage_w * scale)
        np.maximum(lam, 0.0, out=lam)
    counts = np.random.default_rng(seq).poisson(lam)
    if model.setup.fmt == "cbf":
        out = counts.astype(np.int32)
        out[model.gaps] = -1  # Pilatus convention for module gaps
    else:
        out = counts.astype(np.uint32)
        out[model.gaps] = np.uint32(2**32 - 1)  # Eiger: 2**bit_depth - 1 marks gaps
    return out


def _frame(
    model: DetectorModel,
    base: np.ndarray,
    scale: np.ndarray,
    ws: Sequence[float],
    seed: int,
    key: tuple[int, int],
    k: int,
) -> np.ndarray:
    # One seed sequence per (detector, sample, frame): the counts of a frame do not depend on
    # the number of threads or on which other frames are drawn.
    seq = np.random.SeedSequence(seed, spawn_key=key + (k,))
    return _draw(model, base, float(scale[k]), ws[k], seq)


def _counters(
    seed: int, key: tuple[int, ...], n: int, monitor0: float, t0: float
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key + (2**20,)))
    # Beam intensity drifts by ~1% frame to frame; transmission is steadier.
    monitor = monitor0 * (1.0 + np.clip(rng.normal(0.0, 0.01, n), -0.03, 0.03))
    trans = t0 * (1.0 + np.clip(rng.normal(0.0, 0.002, n), -0.006, 0.006))
    return monitor, trans


def default_profile_path() -> Path:
    """``example_data/bsa_profile.dat`` of the source tree (BSA 5 mg/ml, BM29, CC0)."""
    return Path(__file__).resolve().parents[1] / "example_data" / "bsa_profile.dat"


def damaged_rg(protein: ProteinModel, fractions: Sequence[float]) -> list[float]:
    """Guinier Rg of the noise-free monomer + aggregate curve for each aggregate fraction."""
    q = protein.q
    s = AGGREGATE_N ** (1.0 / 3.0)
    out = []
    for w in fractions:
        i = protein(q) + w * (AGGREGATE_N * protein(q * s) - protein(q))
        out.append(guinier_fit(q, i, protein.sigma)[0])
    return out


def simulate_measurement(
    outdir: str | Path,
    profile: Curve,
    *,
    seed: int = 0,
    n_frames: int = 20,
    detectors: Sequence[str] = ("pilatus2m", "eiger4m"),
    damaged_frames: int = 3,
    damage_rg_start: float = 0.10,
    damage_rg_step: float = 0.04,
    sample_name: str = "bsa",
    buffer_name: str = "buffer",
    concentration_mg_ml: float = 5.0,
    mw_kda: float = 66.4,
    contrast_cm_per_g: float | None = None,
    partial_specific_volume: float = 0.7425,
    flux_ph_s: float = 5e12,
    transmission: float = 0.40,
    thickness_cm: float = 0.17,
    wavelength_m: float = 1.24e-10,
    frames_per_data_file: int = 100,
    workers: int | None = None,
) -> dict[str, Any]:
    """Simulate a sample and its buffer on each detector and write them with their geometry.

    Parameters
    ----------
    outdir : str or Path
        Folder to write into (created). Layout: ``<det>.poni``, ``<det>_mask.npy``,
        ``pilatus2m/<sample>/frame_00001.cbf``..., ``eiger4m/<sample>_master.h5`` +
        ``<sample>_data_000001.h5``, ``expected_subtracted.dat``, ``truth.json``.
    profile : Curve
        Buffer-subtracted protein profile (any q unit) used as the protein's scattering.
    seed : int
        Seed of every random draw: the same seed writes the same counts.
    n_frames : int
        Frames per sample and per buffer.
    detectors : sequence of str
        Keys of :data:`DETECTORS`.
    damaged_frames : int
        The last this many sample frames carry radiation damage (aggregates).
    damage_rg_start, damage_rg_step : float
        Growth of the mixture's Rg in the first damaged frame, and per further damaged frame
        (0.10, 0.04: +10 %, +14 %, +18 %). A Guinier fit over q·Rg < 1.3 sees a bit less than
        half of it (about +4 %, +6 %, +8 % for the BSA profile), enough for CorMap.
    concentration_mg_ml, mw_kda, contrast_cm_per_g, partial_specific_volume : float
        Put the protein on an absolute scale, I(0) = c·MW·Δρ_M²/N_A, and set the volume
        fraction of displaced solvent, c·v̄. The contrast defaults to that of a protein of
        this v̄ in water (:func:`halos_analysis.analysis.mw.protein_mass_contrast`).
    flux_ph_s, transmission, thickness_cm, wavelength_m : float
        Beam and sample; each frame lasts the detector's ``exposure_s``. The monitor of a frame
        is flux × exposure (± 1 %), the transmission varies by ± 0.2 %.
    frames_per_data_file : int
        Frames per Eiger data file (DECTRIS writes 100 by default).
    workers : int, optional
        Threads drawing frames in parallel (default: up to 2). Results do not depend on it.

    Returns
    -------
    dict
        The manifest, also written to ``outdir/truth.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if damaged_frames > n_frames:
        raise ValueError("damaged_frames must not exceed n_frames")
    protein = ProteinModel.from_curve(profile)
    if contrast_cm_per_g is None:
        # The same protein contrast the MW-from-absolute-I0 estimate uses.
        from halos_analysis.analysis.mw import protein_mass_contrast

        contrast_cm_per_g = protein_mass_contrast(partial_specific_volume)
    conc_g_ml = concentration_mg_ml * 1e-3
    i0_cm = conc_g_ml * mw_kda * 1e3 * contrast_cm_per_g**2 / N_A
    phi = conc_g_ml * partial_specific_volume
    damage_w = [0.0] * (n_frames - damaged_frames) + [
        aggregate_fraction(1.0 + damage_rg_start + damage_rg_step * k)
        for k in range(damaged_frames)
    ]
    workers = workers or min(2, os.cpu_count() or 1)
    manifest: dict[str, Any] = {
        "generator": "halos_analysis.simulate.simulate_measurement",
        "seed": seed,
        "n_frames": n_frames,
        "sample_name": sample_name,
        "buffer_name": buffer_name,
        "source_profile": {
            "name": profile.name,
            "source": profile.meta.get("source"),
            "q_unit": "nm^-1",
            "q_min": float(protein.q[0]),
            "q_max": float(protein.q[-1]),
            "rg_nm": protein.rg_nm,
            "i0": protein.i0,
            "rg_method": "weighted Guinier fit, q*Rg <= 1.3 from the first point",
        },
        "sample": {
            "concentration_mg_ml": concentration_mg_ml,
            "mw_kda": mw_kda,
            "contrast_cm_per_g": contrast_cm_per_g,
            "partial_specific_volume_ml_per_g": partial_specific_volume,
            "volume_fraction": phi,
            "i0_cm": i0_cm,
            "thickness_cm": thickness_cm,
            "solvent": f"water-like, {WATER_CM} cm^-1 (1 + 0.0016 q^2)",
            "parasitic": "0.004 cm^-1 (q / 0.1 nm^-1)^-3.5 in sample and buffer",
        },
        "expected": {
            "rg_nm": protein.rg_nm,
            "subtracted_curve": "expected_subtracted.dat",
            "subtracted": "protein - volume_fraction * solvent, cm^-1",
        },
        "damage": {
            "damaged_frames": list(range(n_frames - damaged_frames, n_frames)),
            "aggregate": f"{AGGREGATE_N}-mers of the monomer's shape",
            "aggregate_fraction": damage_w[n_frames - damaged_frames :],
            "rg_nm": damaged_rg(protein, damage_w[n_frames - damaged_frames :]),
        },
        "polarization_factor": POLARIZATION,
        "wavelength_m": wavelength_m,
        "detectors": {},
    }
    # The expected buffer-subtracted curve on the source q grid, in cm^-1.
    scale = i0_cm / protein.i0
    c = profile.to_unit("nm^-1")
    sub = Curve(
        c.q,
        c.intensity * scale - phi * solvent_cm(c.q),
        np.abs(c.sigma) * scale,
        "nm^-1",
        name=f"{sample_name}_expected",
    )
    write_dat(sub, outdir / "expected_subtracted.dat", {"unit": "cm^-1 (absolute)"})

    with ThreadPoolExecutor(workers) as pool:
        for det_name in detectors:
            if det_name not in DETECTORS:
                raise ValueError(f"unknown detector {det_name!r} (known: {sorted(DETECTORS)})")
            d_idx = list(DETECTORS).index(det_name)  # stable: same counts whatever the subset
            setup = DETECTORS[det_name]
            model = build_detector_model(
                setup,
                protein,
                i0_cm=i0_cm,
                volume_fraction=phi,
                thickness_cm=thickness_cm,
                wavelength_m=wavelength_m,
            )
            model.ai.write(str(outdir / f"{det_name}.poni"))
            np.save(outdir / f"{det_name}_mask.npy", model.mask)
            info = _detector_info(setup, model, det_name)
            for s_idx, (name, base) in enumerate(
                ((sample_name, model.sample), (buffer_name, model.buffer))
            ):
                monitor, trans = _counters(
                    seed, (d_idx, s_idx), n_frames, flux_ph_s * setup.exposure_s, transmission
                )
                ws = damage_w if s_idx == 0 else [0.0] * n_frames

                frame = partial(_frame, model, base, monitor * trans, ws, seed, (d_idx, s_idx))

                info["monitor"][name] = monitor.tolist()
                info["transmission"][name] = trans.tolist()
                if setup.fmt == "cbf":
                    folder = outdir / det_name / name
                    folder.mkdir(parents=True, exist_ok=True)
                    for k, data in enumerate(pool.map(frame, range(n_frames))):
                        write_minicbf(
                            folder / f"frame_{k + 1:05d}.cbf",
                            data,
                            _cbf_header(setup, model, name, k, monitor[k], trans[k]),
                        )
                    info["frames"][name] = f"{det_name}/{name}"
                else:
                    folder = outdir / det_name
                    folder.mkdir(parents=True, exist_ok=True)
                    files = []
                    for first in range(0, n_frames, frames_per_data_file):
                        idx = range(first, min(first + frames_per_data_file, n_frames))
                        fname = f"{name}_data_{first // frames_per_data_file + 1:06d}.h5"
                        _write_eiger_data(
                            folder / fname, pool.map(frame, idx), len(idx), model.gaps.shape, first
                        )
                        files.append((fname, len(idx)))
                    write_eiger_master(
                        folder, name, setup, model.ai, files, monitor, trans, model.gaps, name
                    )
                    info["frames"][name] = f"{det_name}/{name}_master.h5"
            manifest["detectors"][det_name] = info
    manifest["summary"] = (
        f"{len(detectors)} detector(s) x ({sample_name} + {buffer_name}) x {n_frames} frames, "
        f"seed {seed}, damaged frames {manifest['damage']['damaged_frames']}, "
        f"profile Rg {protein.rg_nm:.3f} nm"
    )
    (outdir / "truth.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _detector_info(setup: DetectorSetup, model: DetectorModel, name: str) -> dict[str, Any]:
    ai = model.ai
    q = ai.qArray()[~model.mask]
    return {
        "setup": asdict(setup),
        "shape": list(ai.detector.shape),
        "pixel_size_m": [ai.detector.pixel1, ai.detector.pixel2],
        "poni": f"{name}.poni",
        "mask": f"{name}_mask.npy",
        "q_range_nm^-1": [float(q.min()), float(q.max())],
        "absolute_scale": model.absolute_scale,
        "absolute_scale_meaning": "I [cm^-1] = integrated I / (monitor * transmission) * this",
        "frames": {},
        "monitor": {},
        "transmission": {},
    }


def _cbf_header(
    setup: DetectorSetup, model: DetectorModel, sample: str, k: int, monitor: float, trans: float
) -> dict[str, str]:
    px = model.ai.detector.pixel1
    # A fixed start time keeps the files byte-identical for a given seed.
    seconds = k * setup.exposure_s
    return {
        "Detector:": "PILATUS 2M, S/N 24-0000 (simulated by HALOS Analysis)",
        f"2026-01-01T00:00:{seconds:06.3f}": "",
        "Pixel_size": f"{px * 1e6:.0f}e-6 m x {px * 1e6:.0f}e-6 m",
        "Silicon sensor, thickness 0.001000 m": "",
        "Exposure_time": f"{setup.exposure_s:.7f} s",
        "Exposure_period": f"{setup.exposure_s:.7f} s",
        "Count_cutoff": "1048576 counts",
        "Wavelength": f"{model.ai.wavelength * 1e10:.5f} A",
        "Detector_distance": f"{setup.distance_m:.5f} m",
        "Beam_xy": f"({setup.beam_x_px:.2f}, {setup.beam_y_px:.2f}) pixels",
        "Flux": f"{monitor / setup.exposure_s:.9e}",
        "Filter_transmission": "1.0000",
        "Transmission": f"{trans:.9f}",
        "Sample_name": sample,
        "Image_number": f"{k + 1}",
    }


def simulate_example(outdir: str | Path, **kwargs: Any) -> dict[str, Any]:
    """:func:`simulate_measurement` on ``example_data/bsa_profile.dat``."""
    path = default_profile_path()
    if not path.exists():
        raise FileNotFoundError(f"example profile {path} not found (run from the source tree)")
    return simulate_measurement(
        outdir, read_curve(path, q_unit="nm^-1", name="bsa_profile"), **kwargs
    )
