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
