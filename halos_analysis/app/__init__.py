# SPDX-License-Identifier: MIT
"""The application room: the ``halos`` command (``cli``) and its subcommands (``commands``,
one module each), config and sample-sheet loading (``config``), the run manifest
(``manifest``), the workflow runner (``runner``), live mode (``watch``) and
``halos reproduce`` (``reproduce``), and the warm worker of live mode (``worker``: also the
``halos`` entry point, which looks for that worker before importing the command line).

The library rooms do not import from here; ``simulate.example`` (beside the library, not
in it) writes its sample sheet with ``config.SHEET_COLUMNS``. The Snakemake rules
(``workflow/rules/common.smk``) use the config and manifest names below.
"""

from __future__ import annotations

from halos_analysis._lazy import attach

__all__ = [
    "SHEET_COLUMNS",
    "WORKER_ENV",
    "Worker",
    "build_parser",
    "forward_if_warm",
    "halos_main",
    "load_samples",
    "main",
    "manifest_params",
    "sync_frame_list",
    "sync_manifest",
    "validate_config",
    "workflow_dir",
    "read_config_file",
]

# Where each name lives. Imported on first use, so that a light command (``halos guinier``)
# does not load what a heavy module of this room needs (matplotlib, PyYAML, ...).
_API = {
    "build_parser": "cli",
    "main": "cli",
    "SHEET_COLUMNS": "config",
    "load_samples": "config",
    "validate_config": "config",
    "manifest_params": "manifest",
    "sync_frame_list": "manifest",
    "sync_manifest": "manifest",
    "workflow_dir": "runner",
    "read_config_file": "config",
    "WORKER_ENV": "worker",
    "Worker": "worker",
    "forward_if_warm": "worker",
    "halos_main": "worker",
}


__getattr__, __dir__ = attach(__name__, _API, __all__)
