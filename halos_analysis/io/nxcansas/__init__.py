# SPDX-License-Identifier: MIT
"""NXcanSAS (the NeXus application definition for reduced SAS data), written and read with h5py.

``frames`` writes the per-frame files of ``halos integrate`` and reads curves back,
``result`` writes and reads one sample's result file; the layout decisions are described in
:mod:`halos_analysis.io.nxcansas.frames`. The h5py helpers the two share live in the
private ``_base`` module, which nothing outside this package imports.
"""

from halos_analysis.io.nxcansas._base import (
    NX_I_UNITS,
    NX_LENGTH_UNITS,
    NX_Q_UNITS,
    decode,
    nx_intensity_unit,
    q_unit_from_nx,
)
from halos_analysis.io.nxcansas.frames import (
    read_frame_results,
    read_frames,
    read_main_curve,
    read_nxcansas,
    write_frames,
)
from halos_analysis.io.nxcansas.result import read_results, write_sample_result

__all__ = [
    "NX_I_UNITS",
    "NX_LENGTH_UNITS",
    "NX_Q_UNITS",
    "decode",
    "nx_intensity_unit",
    "q_unit_from_nx",
    "read_frame_results",
    "read_frames",
    "read_main_curve",
    "read_nxcansas",
    "read_results",
    "write_frames",
    "write_sample_result",
]
