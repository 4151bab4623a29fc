# SPDX-License-Identifier: MIT
"""HALOS Analysis: a bioSAXS pipeline from detector frames to shareable results."""

from halos_analysis.types import (
    Curve,
    GuinierResult,
    IntegrationMethod,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
    units_of,
)

__version__ = "0.1.0"

__all__ = [
    "Curve",
    "GuinierResult",
    "IntegrationMethod",
    "KratkyResult",
    "MWResult",
    "PrResult",
    "SimilarityResult",
    "__version__",
    "units_of",
]
