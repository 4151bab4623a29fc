# SPDX-License-Identifier: MIT
"""Shared fixtures. Helpers may append fixtures here; keep each one small."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Real data with other tools' results (``/work/shared/validation`` next to the repository).
VALIDATION = Path(__file__).resolve().parents[1].parent / "shared" / "validation"


@pytest.fixture(scope="session")
def validation_dir() -> Path:
    """Path of ``../shared/validation``; skips the test when the folder is absent."""
    if not VALIDATION.is_dir():
        pytest.skip("../shared/validation not present")
    return VALIDATION
