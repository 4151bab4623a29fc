# SPDX-License-Identifier: MIT
"""Every quality flag the analysis can raise, what it means, and whether it casts doubt.

One table for all writers (JSON, summary, report) and for the ``valid`` property of the
results: a result is ``valid`` only when none of its flags is a *doubt*. A *note* tells
something worth knowing about the sample or the data (a mild concentration effect, the
shape class from the Kratky plot, a missing concentration) without making the number less
trustworthy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

__all__ = ["FLAGS", "describe", "doubts", "is_doubt"]

Severity = Literal["doubt", "note"]

#: name -> (severity, what it means for the user)
FLAGS: dict[str, tuple[Severity, str]] = {
    # Guinier
    "no_guinier_region": ("doubt", "no range of the curve follows Guinier's law"),
    "few_points": ("doubt", "the range holds fewer points than a reliable fit needs"),
    "aggregation": (
        "doubt",
        "the lowest q rise above the Guinier fit: aggregates or a large "
        "contaminant, Rg and I0 are biased",
    ),
    "strong_repulsion": (
        "doubt",
        "the lowest q fall far below the Guinier fit: a strong "
        "structure factor (concentration effect) biases Rg and I0 low",
    ),
    "repulsion": (
        "note",
        "the lowest q fall slightly below the Guinier fit: a weak concentration effect",
    ),
    "residual_structure": (
        "doubt",
        "the residuals of the Guinier fit run in long same-sign "
        "stretches: the range is not linear in ln I vs q²",
    ),
    "short_guinier_range": (
        "doubt",
        "qmax·Rg of the range is below 1.0: the range covers too "
        "little of the Guinier region to fix Rg robustly",
    ),
    "low_start": ("note", "the first usable rows were left out of the Guinier range"),
    "unweighted": ("note", "the curve has no σ: fits are unweighted, errors from the scatter"),
    "beamstop_shadow": ("note", "leading rows in the beam-stop shadow were left out"),
    # Consistency between methods
    "rg_guinier_pr_differ": ("doubt", "Rg from Guinier and from P(r) differ by more than 10 %"),
    "i0_guinier_pr_differ": ("doubt", "I0 from Guinier and from P(r) differ by more than 10 %"),
    # P(r)
    "no_guinier_estimate": ("doubt", "no Guinier Rg to guide the Dmax search"),
    "dmax_at_search_limit": (
        "doubt",
        "the Dmax posterior runs into the edge of the search: the data do not bound Dmax",
    ),
    "pr_tail_not_smooth": (
        "doubt",
        "P(r) does not fall smoothly to zero at Dmax (a long low "
        "tail or a step): Dmax is not determined by the data",
    ),
    "dmax_rg_ratio_high": ("doubt", "Dmax/Rg is beyond what a compact particle allows"),
    "poor_fit": (
        "doubt",
        "the P(r) fit leaves reduced χ² above 10: the transform does not describe the curve",
    ),
    "pr_chi2_high": (
        "note",
        "the P(r) fit leaves reduced χ² of 3–10 (σ too small, or points correlated by the binning)",
    ),
    "pr_few_points": ("doubt", "fewer points than twice the Shannon channels of the P(r)"),
    "pr_failed": ("doubt", "P(r) could not be computed"),
    "pr_unphysical": (
        "doubt",
        "P(r) has a shape no particle has (a spike at r → 0 from a "
        "background left in the curve, or ripples of three or more maxima)",
    ),
    "pr_rebinned": ("note", "the dense curve was rebinned to fewer points for the P(r)"),
    # MW
    "no_guinier": ("doubt", "no Guinier result: MW cannot be computed"),
    "q_range_too_short": ("doubt", "the data stop before q·Rg = 3.5: Vp and Vc are not reported"),
    "vp_qmax_beyond_data": ("note", "the curve stops before the Porod-volume qmax rule's limit"),
    "vp_outside_validated_range": (
        "note",
        "qmax·Rg or qmax of the Porod volume lies outside "
        "the range its correction was calibrated on",
    ),
    "vc_outside_validated_range": (
        "note",
        "the Vc estimate is used outside the range it was calibrated on",
    ),
    "vp_density_for_protein": ("note", "the Porod-volume density is that of proteins"),
    "abs_contrast_for_protein": ("note", "the absolute-scale contrast is that of proteins"),
    "no_concentration": ("note", "no concentration given: no MW from I0"),
    # Kratky
    "globular": ("note", "dimensionless Kratky peak of a compact globular particle"),
    "flexible": ("note", "dimensionless Kratky plot of a flexible or extended particle"),
    "unfolded": ("note", "dimensionless Kratky plot of an unfolded chain"),
    "limited_q_range": ("note", "the curve stops before qRg 4: the Kratky shape is partial"),
    # Reduction
    "buffers_differ": ("doubt", "the buffers measured around the sample differ"),
}


def is_doubt(flag: str) -> bool:
    """True for a flag that makes a result not ``valid`` (unknown flags count as doubts)."""
    return FLAGS.get(flag, ("doubt", ""))[0] == "doubt"


def doubts(flags: Iterable[str]) -> tuple[str, ...]:
    """The flags among ``flags`` that cast doubt, in order."""
    return tuple(f for f in flags if is_doubt(f))


def describe(flag: str) -> str:
    """One line for people: what the flag means."""
    return FLAGS.get(flag, ("doubt", "unknown flag"))[1]
