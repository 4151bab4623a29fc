# SPDX-License-Identifier: MIT
"""Analysis of a subtracted curve: Guinier → P(r) → MW → Kratky, their cross-checks, the
comparison of one sample measured several times, and the per-sample chain that runs them.

One module per analysis (``guinier``, ``pr``, ``mw``, ``kratky``, ``consistency``,
``compare``); ``pipeline`` strings them together for one measurement (frames selected and
averaged, buffers checked and combined, the curve analysed); ``series/`` is SEC-SAXS and
declares its own API. ``_pr_evidence`` is private to this package.
"""

from __future__ import annotations

from halos_analysis._lazy import attach

__all__ = [
    "CombinedBuffer",
    "Comparison",
    "MeasuredSample",
    "ReducedMeasurement",
    "SampleAnalysis",
    "analyse_curve",
    "auto_guinier",
    "bift",
    "combine_buffers",
    "compare_measurements",
    "cross_check",
    "dimensionless_kratky",
    "fit_guinier",
    "guinier_and_pr",
    "instrument_from_meta",
    "molecular_weight",
    "porod_volume",
    "protein_mass_contrast",
    "reduce_frames",
    "result_from_dict",
    "vc_molecular_weight",
]

# Where each name lives. Imported on first use, so that a light command (``halos guinier``)
# does not load what a heavy module of this room needs (matplotlib, PyYAML, ...).
_API = {
    "Comparison": "compare",
    "MeasuredSample": "compare",
    "compare_measurements": "compare",
    "cross_check": "consistency",
    "auto_guinier": "guinier",
    "fit_guinier": "guinier",
    "dimensionless_kratky": "kratky",
    "molecular_weight": "mw",
    "porod_volume": "mw",
    "protein_mass_contrast": "mw",
    "vc_molecular_weight": "mw",
    "CombinedBuffer": "pipeline",
    "ReducedMeasurement": "pipeline",
    "SampleAnalysis": "pipeline",
    "analyse_curve": "pipeline",
    "combine_buffers": "pipeline",
    "guinier_and_pr": "pipeline",
    "instrument_from_meta": "pipeline",
    "reduce_frames": "pipeline",
    "result_from_dict": "pipeline",
    "bift": "pr",
}


__getattr__, __dir__ = attach(__name__, _API, __all__)
