# SPDX-License-Identifier: MIT
"""The application room: the ``halos`` command and its subcommands (``cli``, ``commands``,
``series_cli``), config and sample-sheet loading (``config``), the run manifest
(``manifest``), the workflow runner (``runner``), live mode (``watch``) and
``halos reproduce`` (``reproduce``).

The library rooms do not import from here; ``simulate.example`` (beside the library, not
in it) writes its sample sheet with ``config.SHEET_COLUMNS``. The Snakemake rules
(``workflow/rules/common.smk``) use the config and manifest names below.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SHEET_COLUMNS",
    "build_parser",
    "load_samples",
    "main",
    "manifest_params",
    "sync_frame_list",
    "sync_manifest",
    "validate_config",
    "workflow_dir",
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
}


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
