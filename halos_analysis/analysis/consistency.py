# SPDX-License-Identifier: MIT
"""Cross-checks between the Guinier and P(r) results of one curve.

The Guinier fit and the indirect Fourier transform see the same particle through different
parts of the curve (the lowest q, and the whole curve). For a monodisperse sample their Rg
agree to 1–3 % and their I0 to about 1 %; more than 10 % apart, at least one of them is
wrong (a range past the Guinier region, aggregates at the lowest q, a Dmax far off) and
nothing in either result alone says which. Both then carry a flag that makes them not
``valid``, so that no number that fails this check an expert would make is reported as
trustworthy.
"""

from __future__ import annotations

import dataclasses
import math

from halos_analysis.types import GuinierResult, PrResult

__all__ = ["RELATIVE_TOLERANCE", "cross_check"]

#: Largest relative difference of Rg (and of I0) between Guinier and P(r) that passes.
RELATIVE_TOLERANCE = 0.10


def _differ(a: float, b: float, tolerance: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0:
        return False
    return abs(b - a) / a > tolerance


def cross_check(
    guinier: GuinierResult, pr: PrResult | None, tolerance: float = RELATIVE_TOLERANCE
) -> tuple[GuinierResult, PrResult | None]:
    """Flag a Guinier and a P(r) result of one curve that disagree on Rg or I0.

    Parameters
    ----------
    guinier : GuinierResult
        Guinier result of the curve.
    pr : PrResult or None
        P(r) of the same curve (None when it could not be computed: nothing to compare).
    tolerance : float
        Largest accepted relative difference, of Rg and of I0 separately.

    Returns
    -------
    (GuinierResult, PrResult or None)
        The same results, each with ``"rg_guinier_pr_differ"`` and/or
        ``"i0_guinier_pr_differ"`` added to its flags when the check fails.

    Examples
    --------
    >>> import numpy as np
    >>> from halos_analysis.types import GuinierResult, PrResult
    >>> g = GuinierResult(30.0, 0.3, 1.0, 0.01, 0, 40, 0.3, 1.3, "A^-1")
    >>> z = np.zeros(3)
    >>> p = PrResult(95.0, 2.0, 34.0, 0.2, 1.0, 0.01, 1.0, 1.0, "A^-1", z, z, z, z, z)
    >>> g2, p2 = cross_check(g, p)
    >>> g2.flags, g2.valid, p2.valid
    (('rg_guinier_pr_differ',), False, False)
    """
    if pr is None or not guinier.found:
        return guinier, pr
    added = []
    if _differ(guinier.Rg, pr.Rg, tolerance):
        added.append("rg_guinier_pr_differ")
    if _differ(guinier.I0, pr.I0, tolerance):
        added.append("i0_guinier_pr_differ")
    if not added:
        return guinier, pr

    def with_flags(result):
        new = tuple(f for f in added if f not in result.flags)
        return dataclasses.replace(result, flags=(*result.flags, *new))

    return with_flags(guinier), with_flags(pr)
