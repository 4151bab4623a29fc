# SPDX-License-Identifier: MIT
"""HALOS Analysis: a bioSAXS pipeline from detector frames to shareable results."""

from halos_analysis._lazy import attach

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

# The result types load numpy: imported on first use, so that a ``halos`` process that hands
# its step to the warm worker of ``halos watch`` (``app.worker``) starts in milliseconds.
_API = {
    name: "types"
    for name in ("Curve", "GuinierResult", "IntegrationMethod", "KratkyResult", "MWResult",
                 "PrResult", "SimilarityResult", "units_of")
}  # fmt: skip

__getattr__, __dir__ = attach(__name__, _API, __all__)
