# SPDX-License-Identifier: MIT
"""Shared fixtures. Helpers may append fixtures here; keep each one small."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Real data with other tools' results: ``$HALOS_VALIDATION_DIR``, by default
#: ``../shared/validation`` beside the repository.
VALIDATION = Path(
    os.environ.get(
        "HALOS_VALIDATION_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "validation"
    )
)


@pytest.fixture(scope="session")
def validation_dir() -> Path:
    """Path of the validation data; skips the test when it is absent."""
    if not VALIDATION.is_dir():
        pytest.skip(f"validation data not present ({VALIDATION}; set HALOS_VALIDATION_DIR)")
    return VALIDATION


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """The small workflow (``tests/small_workflow.py``: one Pilatus 300K sample and its buffer,
    5 frames each) run once; its working folder, results included. Several test modules
    share it: read it and copy from it, never change it."""
    from small_workflow import make_small_example, run_workflow

    work = make_small_example(tmp_path_factory.mktemp("small_run"))
    run = run_workflow(work)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return work
