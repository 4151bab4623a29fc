# SPDX-License-Identifier: MIT
"""Export: what a run hands to people and to other programs.

Per sample (``bundle.export_sample``): NXcanSAS, ``.dat``, ``summary.json``, provenance
(``export_sample_data``) and plots (``export_sample_figures``); per run
(``bundle.export_run``): ``summary.csv``/``.json`` (``export_run_tables``), the overview
figure (``export_run_overview``), the HTML report (``export_run_report``; ``report``), the
Workflow Run RO-Crate (``crate``); comparisons (``compare_report``) and SEC series
(``series_bundle``) likewise. Plots need matplotlib.
"""

from __future__ import annotations

from halos_analysis._lazy import attach

__all__ = [
    "PLOT_KINDS",
    "RUN_PARTS",
    "SAMPLE_PARTS",
    "build_provenance",
    "check_inputs",
    "compare_results",
    "export_run",
    "export_run_overview",
    "export_run_report",
    "export_run_tables",
    "export_sample",
    "export_sample_data",
    "export_sample_figures",
    "export_series",
    "load_measured",
    "package_versions",
    "read_run_summary",
    "run_provenance",
    "sample_provenance",
    "sample_summary",
    "write_comparison",
    "write_pr_table",
    "write_report",
    "write_run_crate",
    "write_run_summary",
    "write_sample_summary",
]

# Where each name lives. Imported on first use, so that a light command (``halos guinier``)
# does not load what a heavy module of this room needs (matplotlib, PyYAML, ...).
_API = {
    "PLOT_KINDS": "parts",
    "RUN_PARTS": "parts",
    "SAMPLE_PARTS": "parts",
    "export_run": "bundle",
    "export_run_overview": "bundle",
    "export_run_report": "bundle",
    "export_run_tables": "bundle",
    "export_sample": "bundle",
    "export_sample_data": "bundle",
    "export_sample_figures": "bundle",
    "load_measured": "compare_report",
    "write_comparison": "compare_report",
    "write_run_crate": "crate",
    "build_provenance": "provenance",
    "check_inputs": "provenance",
    "compare_results": "provenance",
    "package_versions": "provenance",
    "run_provenance": "provenance",
    "sample_provenance": "provenance",
    "write_report": "report",
    "export_series": "series_bundle",
    "read_run_summary": "summary",
    "sample_summary": "summary",
    "write_pr_table": "summary",
    "write_run_summary": "summary",
    "write_sample_summary": "summary",
}


__getattr__, __dir__ = attach(__name__, _API, __all__)
