# SPDX-License-Identifier: MIT
"""Realistic example data: a bioSAXS batch measurement simulated from a real 1D profile.

``example`` writes the measurement (frames, geometry, mask, sample sheet, ``truth.json``),
``model`` is the scattering and detector model behind it, ``writers`` the miniCBF and
DECTRIS-style NeXus writers, ``facility`` the other facilities' raw-file layouts.
Needs the ``integrate`` extra (pyFAI, fabio, hdf5plugin).
"""

from halos_analysis.simulate.example import (
    damaged_rg,
    default_profile_path,
    simulate_example,
    simulate_measurement,
)
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
    make_geometry,
    parasitic_cm,
    solvent_cm,
    user_mask,
)
from halos_analysis.simulate.writers import write_eiger_data, write_eiger_master, write_minicbf

__all__ = [
    "AGGREGATE_N",
    "DETECTORS",
    "N_A",
    "POLARIZATION",
    "WATER_CM",
    "DetectorModel",
    "DetectorSetup",
    "ProteinModel",
    "aggregate_fraction",
    "build_detector_model",
    "damaged_rg",
    "default_profile_path",
    "guinier_fit",
    "make_geometry",
    "parasitic_cm",
    "simulate_example",
    "simulate_measurement",
    "solvent_cm",
    "user_mask",
    "write_eiger_data",
    "write_eiger_master",
    "write_minicbf",
]
