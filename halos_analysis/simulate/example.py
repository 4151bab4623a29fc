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
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.io.curves import read_curve, write_dat
from halos_analysis.simulate.model import (
    AGGREGATE_N,
    DETECTORS,
    N_A,
    POLARIZATION,
    WATER_CM,
    DetectorModel,
    DetectorSetup,
    ProteinModel,
    aggregate_fraction,
    build_detector_model,
    guinier_fit,
    solvent_cm,
)
from halos_analysis.simulate.writers import (
    cbf_header,
    write_eiger_data,
    write_eiger_master,
    write_minicbf,
)
from halos_analysis.types import Curve

__all__ = ["damaged_rg", "default_profile_path", "simulate_example", "simulate_measurement"]

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
    """``example_data/bsa_profile.dat`` (BSA 5 mg/ml, BM29, CC0): the copy a wheel ships in
    ``halos_analysis/data``, else the source tree's."""
    packaged = Path(__file__).resolve().parents[1] / "data" / "bsa_profile.dat"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "example_data" / "bsa_profile.dat"


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
    detectors: Sequence[str] | None = None,
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
    wavelength_m: float | None = None,
    frames_per_data_file: int = 100,
    workers: int | None = None,
    facility: str | None = None,
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
    detectors : sequence of str, optional
        Keys of :data:`DETECTORS` (default: the Pilatus 2M and the Eiger2 4M, or the
        facility's detector).
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
        is flux × exposure (± 1 %), the transmission varies by ± 0.2 %. The wavelength
        defaults to 1.24 Å, or the facility's.
    frames_per_data_file : int
        Frames per Eiger data file (DECTRIS writes 100 by default).
    workers : int, optional
        Threads drawing frames in parallel (default: up to 2). Results do not depend on it.
    facility : str, optional
        Write the frames in that facility's raw-file layout (``cosaxs``, ``bm29``, ``p12``,
        ``biocat``, ``b21``; see :mod:`halos_analysis.simulate.facility`) under
        ``outdir/<facility>/``, and a sample sheet ``outdir/samples_<facility>.tsv``.

    Returns
    -------
    dict
        The manifest, also written to ``outdir/truth.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    writer = None
    if facility is not None:
        from halos_analysis.simulate.facility import FACILITIES, FacilityWriter

        writer = FacilityWriter(facility, outdir, frames_per_data_file)
        detectors = detectors or (FACILITIES[facility]["detector"],)
        wavelength_m = wavelength_m or FACILITIES[facility]["wavelength_m"]
    detectors = tuple(detectors or ("pilatus2m", "eiger4m"))
    wavelength_m = wavelength_m or 1.24e-10
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
                if writer is not None:
                    written = writer.write(
                        s_idx,
                        name,
                        partial(pool.map, frame),
                        n_frames,
                        setup,
                        model,
                        monitor,
                        trans,
                    )
                    info["frames"][name] = written.pop("frames")
                    info.setdefault("layout", {})[name] = written
                elif setup.fmt == "cbf":
                    folder = outdir / det_name / name
                    folder.mkdir(parents=True, exist_ok=True)
                    for k, data in enumerate(pool.map(frame, range(n_frames))):
                        write_minicbf(
                            folder / f"frame_{k + 1:05d}.cbf",
                            data,
                            cbf_header(setup, model, name, k, monitor[k], trans[k]),
                        )
                    info["frames"][name] = f"{det_name}/{name}"
                else:
                    folder = outdir / det_name
                    folder.mkdir(parents=True, exist_ok=True)
                    files = []
                    for first in range(0, n_frames, frames_per_data_file):
                        idx = range(first, min(first + frames_per_data_file, n_frames))
                        fname = f"{name}_data_{first // frames_per_data_file + 1:06d}.h5"
                        write_eiger_data(
                            folder / fname, pool.map(frame, idx), len(idx), model.gaps.shape, first
                        )
                        files.append((fname, len(idx)))
                    write_eiger_master(
                        folder, name, setup, model.ai, files, monitor, trans, model.gaps, name
                    )
                    info["frames"][name] = f"{det_name}/{name}_master.h5"
            manifest["detectors"][det_name] = info
    if writer is not None:
        manifest["facility"] = {
            "name": facility,
            "layout": FACILITIES[facility]["layout"],
            "profile": FACILITIES[facility]["profile"],
            "chosen_names": writer.chosen_names,
        }
        _facility_sheet(outdir, manifest, concentration_mg_ml)
    manifest["summary"] = (
        f"{len(detectors)} detector(s) x ({sample_name} + {buffer_name}) x {n_frames} frames, "
        f"seed {seed}, damaged frames {manifest['damage']['damaged_frames']}, "
        f"profile Rg {protein.rg_nm:.3f} nm"
    )
    (outdir / "truth.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _facility_sheet(outdir: Path, manifest: dict[str, Any], conc: float) -> Path:
    """``samples_<facility>.tsv``: the simulated sample and buffer, ready for ``halos run``."""
    from halos_analysis.app.config import SHEET_COLUMNS

    facility = manifest["facility"]["name"]
    sample, buffer = manifest["sample_name"], manifest["buffer_name"]
    lines = ["\t".join(SHEET_COLUMNS)]
    for det, info in manifest["detectors"].items():
        for kind, name in (("sample", sample), ("buffer", buffer)):
            lay = info["layout"][name]
            row = {
                "name": f"{name}_{facility}",
                "type": kind,
                "buffer": f"{buffer}_{facility}" if kind == "sample" else "",
                "frames": info["frames"][name],
                "poni": str((outdir / info["poni"]).resolve()),
                "mask": str((outdir / info["mask"]).resolve()),
                "side_table": lay.get("side_table", ""),
                "scale": f"{lay['absolute_scale']:.6g}",
                "concentration_mg_ml": f"{conc:g}" if kind == "sample" else "",
                "description": f"simulated {facility} layout, {det}",
                "profile": lay["profile"],
                "compare_group": sample if kind == "sample" else "",
            }
            lines.append("\t".join(str(row.get(c, "")) for c in SHEET_COLUMNS))
    path = outdir / f"samples_{facility}.tsv"
    path.write_text("\n".join(lines) + "\n")
    return path


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


def simulate_example(outdir: str | Path, **kwargs: Any) -> dict[str, Any]:
    """:func:`simulate_measurement` on ``example_data/bsa_profile.dat``."""
    path = default_profile_path()
    if not path.exists():
        raise FileNotFoundError(f"example profile {path} not found (run from the source tree)")
    return simulate_measurement(
        outdir, read_curve(path, q_unit="nm^-1", name="bsa_profile"), **kwargs
    )
