# SPDX-License-Identifier: MIT
"""Input and output: every file the pipeline reads or writes goes through here.

``curves`` (ATSAS-style ``.dat``, RAW ``### DATA:``, GNOM ``.out``), ``nxcansas/`` (frame and
result files), ``frames/`` (streamed detector-frame readers: Eiger NeXus, HDF5, CBF, EDF,
TIFF), ``profiles`` (facility profiles: where each facility keeps its metadata), ``poni``
(geometry and masks), ``series`` (SEC-SAXS input), ``digest`` (SHA-256 of every raw file
read), ``atomic`` (write to a temporary name, then rename), ``validate`` (raw and NXcanSAS
files checked against their standard). ``frames`` and ``nxcansas`` declare their own API.
"""

from __future__ import annotations

from halos_analysis._lazy import attach

__all__ = [
    "FileDigest",
    "PoniGeometry",
    "ReadLog",
    "ValidationReport",
    "check_curve_arrays",
    "default_cache_dir",
    "default_profile",
    "detector_mask",
    "detector_shape",
    "expand_inputs",
    "format_profiles",
    "geometry_key",
    "get_profile",
    "guess_q_unit",
    "is_curve_input",
    "list_profiles",
    "load_geometry",
    "load_mask",
    "load_poni",
    "normalise_intensity_unit",
    "profiles_listing",
    "read_curve",
    "read_frames",
    "read_image",
    "read_main_curve",
    "read_nxcansas",
    "read_raw_series",
    "read_results",
    "read_series",
    "record_reads",
    "sha256_file",
    "validate_file",
    "validate_nxcansas",
    "validate_raw",
    "validate_report",
    "write_dat",
    "write_frames",
    "write_sample_result",
    "write_text_atomic",
    "require_analysable",
]

# Where each name lives. Imported on first use, so that a light command (``halos guinier``)
# does not load what a heavy module of this room needs (matplotlib, PyYAML, ...).
_API = {
    "write_text_atomic": "atomic",
    "check_curve_arrays": "curves",
    "guess_q_unit": "curves",
    "normalise_intensity_unit": "curves",
    "read_curve": "curves",
    "write_dat": "curves",
    "FileDigest": "digest",
    "ReadLog": "digest",
    "record_reads": "digest",
    "sha256_file": "digest",
    "read_frames": "nxcansas",
    "read_main_curve": "nxcansas",
    "read_nxcansas": "nxcansas",
    "read_results": "nxcansas",
    "write_frames": "nxcansas",
    "write_sample_result": "nxcansas",
    "PoniGeometry": "poni",
    "default_cache_dir": "poni",
    "geometry_key": "poni",
    "load_geometry": "poni",
    "detector_mask": "poni",
    "detector_shape": "poni",
    "load_mask": "poni",
    "load_poni": "poni",
    "read_image": "poni",
    "default_profile": "profiles",
    "get_profile": "profiles",
    "list_profiles": "profiles",
    "expand_inputs": "series",
    "is_curve_input": "series",
    "read_raw_series": "series",
    "read_series": "series",
    "ValidationReport": "validate",
    "format_profiles": "validate",
    "profiles_listing": "validate",
    "validate_file": "validate",
    "validate_nxcansas": "validate",
    "validate_raw": "validate",
    "validate_report": "validate",
    "require_analysable": "curves",
}


__getattr__, __dir__ = attach(__name__, _API, __all__)
