# SPDX-License-Identifier: MIT
"""Per-sample stages as the workflow runs them: pure functions over typed results.

Each function here is one step of one sample: it chains the analysis modules and returns
typed results; reading and writing files is the caller's business (``cli.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import (
    Curve,
    FrameCurves,
    FrameMetadata,
    GuinierResult,
    KratkyResult,
    MWResult,
    PrResult,
    SimilarityResult,
)


@dataclass(frozen=True, eq=False)
class ReducedMeasurement:
    """Average of the frames kept by the similarity test, and the test itself."""

    average: Curve
    similarity: SimilarityResult


@dataclass(frozen=True, eq=False)
class SampleAnalysis:
    """Everything computed from one subtracted curve."""

    curve: Curve
    guinier: GuinierResult
    pr: PrResult | None
    mw: MWResult | None
    kratky: KratkyResult | None
    flags: tuple[str, ...] = ()

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        """JSON view; with ``arrays`` the curve and P(r) arrays are included."""
        return {
            "curve": self.curve.to_dict(arrays) | {"name": self.curve.name},
            "guinier": self.guinier.to_dict(),
            "pr": None if self.pr is None else self.pr.to_dict(arrays),
            "mw": None if self.mw is None else self.mw.to_dict(),
            "kratky": None if self.kratky is None else self.kratky.to_dict(arrays),
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleAnalysis:
        """Inverse of :meth:`to_dict` (``arrays=True``)."""
        return cls(
            curve=Curve.from_dict(d["curve"]),
            guinier=GuinierResult.from_dict(d["guinier"]),
            pr=None if d.get("pr") is None else PrResult.from_dict(d["pr"]),
            mw=None if d.get("mw") is None else MWResult.from_dict(d["mw"]),
            kratky=None if d.get("kratky") is None else KratkyResult.from_dict(d["kratky"]),
            flags=tuple(d.get("flags", ())),
        )


def result_from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Rebuild a result dataclass from its ``to_dict(arrays=True)`` view: ``cls.from_dict(d)``.

    Kept for callers of the older name; the one deserialiser is each type's ``from_dict``
    (:mod:`halos_analysis.types`).
    """
    return cls.from_dict(d)


def reduce_frames(
    frames: FrameCurves | Sequence[Curve],
    *,
    alpha: float = 0.01,
    correction: str = "bonferroni",
    reference: str = "first",
) -> ReducedMeasurement:
    """Select the consistent frames of a measurement (CorMap) and average them.

    Parameters
    ----------
    frames : FrameCurves or sequence of Curve
        The integrated frames of one sample or buffer.
    alpha : float
        Significance level of the CorMap test after the multiple-testing correction.
    correction : {"bonferroni", "holm", "none"}
        Multiple-testing correction.
    reference : {"first", "all"}
        Compare every frame with the first one, or look for the largest mutually
        consistent set.
    """
    from halos_analysis import reduce

    curves = frames.curves() if isinstance(frames, FrameCurves) else list(frames)
    similarity = reduce.select_frames(
        curves, alpha=alpha, correction=correction, reference=reference
    )
    average = reduce.average([curves[i] for i in similarity.selected])
    name = frames.name if isinstance(frames, FrameCurves) else average.name
    return ReducedMeasurement(dataclasses.replace(average, name=name), similarity)


@dataclass(frozen=True, eq=False)
class CombinedBuffer:
    """The buffer actually subtracted: the average of one or more buffer measurements."""

    curve: Curve
    similarity: SimilarityResult | None
    flags: tuple[str, ...] = ()


def combine_buffers(
    buffers: Sequence[Curve], *, alpha: float = 0.01, correction: str = "bonferroni"
) -> CombinedBuffer:
    """Check that buffers measured around a sample agree (CorMap), then average them.

    Buffers that differ (a drifting baseline, a capillary change) are still averaged, so the
    run goes on, but the result carries the flag ``buffers_differ`` and the test, which the
    summary and report show.

    Parameters
    ----------
    buffers : sequence of Curve
        Averaged buffer curves on one q grid (e.g. measured before and after the sample).
    alpha, correction
        As for :func:`reduce_frames`.
    """
    from halos_analysis import reduce

    if len(buffers) == 1:
        return CombinedBuffer(buffers[0], None)
    similarity = reduce.cormap_test(list(buffers), correction=correction, alpha=alpha)
    adjusted = np.asarray(similarity.adjusted)
    off_diagonal = ~np.eye(len(buffers), dtype=bool)
    differ = bool((adjusted[off_diagonal] < alpha).any())
    average = reduce.average(list(buffers))
    name = "+".join(b.name for b in buffers)
    return CombinedBuffer(
        dataclasses.replace(average, name=name),
        similarity,
        ("buffers_differ",) if differ else (),
    )


def analyse_curve(
    curve: Curve,
    *,
    concentration_mg_ml: float | None = None,
    absolute_scale: bool = False,
    macromolecule: str = "protein",
    psv_cm3_g: float = 0.7425,
    qrg_max: float = 1.3,
    reference: tuple[float, float, float] | None = None,
) -> SampleAnalysis:
    """Guinier, P(r), MW and Kratky on one subtracted curve.

    P(r), MW and Kratky need a Guinier region; without one they are ``None`` and the flags
    say why. No exception for data that simply has no Guinier region.

    Parameters
    ----------
    curve : Curve
        Buffer-subtracted curve.
    concentration_mg_ml : float, optional
        Concentration, for MW from I0 (absolute scale or reference standard).
    absolute_scale : bool
        The curve is in cm⁻¹.
    macromolecule : {"protein", "rna"}
        Selects the Vc coefficients.
    psv_cm3_g : float
        Partial specific volume for MW from absolute I0.
    qrg_max : float
        Upper qRg limit of the Guinier range.
    reference : (I0, concentration mg/ml, MW kDa), optional
        A standard measured under the same conditions, for MW from relative I0.
    """
    from halos_analysis.analysis import guinier as guinier_mod
    from halos_analysis.analysis import kratky as kratky_mod
    from halos_analysis.analysis import mw as mw_mod

    guinier = guinier_mod.auto_guinier(curve, qrg_max=qrg_max)
    # Flags raised upstream (e.g. buffers that differ) travel with the curve file.
    upstream = list(curve.meta.get("flags", ()))
    guinier, pr = guinier_and_pr(curve, guinier)
    if not guinier.found:
        # No Guinier region (data that start too late, no σ, a power law): the P(r) can
        # still say something, flagged without its Guinier guide; MW and Kratky need I0.
        flags = list(dict.fromkeys([*upstream, *guinier.flags]))
        flags += [f for f in (() if pr is None else pr.flags) if f not in flags]
        return SampleAnalysis(curve, guinier, pr, None, None, tuple(flags))
    mw = mw_mod.molecular_weight(
        curve,
        guinier,
        concentration_mg_ml=concentration_mg_ml,
        absolute_scale=absolute_scale,
        psv_cm3_g=psv_cm3_g,
        reference=reference,
        macromolecule=macromolecule,
    )
    kratky = kratky_mod.dimensionless_kratky(curve, guinier)
    flags = list(dict.fromkeys([*upstream, *guinier.flags]))
    if pr is None:
        flags.append("pr_failed")
    for extra in (() if pr is None else pr.flags, mw.flags, kratky.flags):
        flags.extend(f for f in extra if f not in flags)
    return SampleAnalysis(curve, guinier, pr, mw, kratky, tuple(flags))


def guinier_and_pr(curve: Curve, guinier: GuinierResult) -> tuple[GuinierResult, PrResult | None]:
    """P(r) of a curve guided by its Guinier result, and both after their cross-check.

    The P(r) is ``None`` when the curve has too few usable points for an IFT (then the
    Guinier result is returned unchecked). See :mod:`halos_analysis.analysis.consistency`.
    """
    from halos_analysis.analysis import pr as pr_mod
    from halos_analysis.analysis.consistency import cross_check

    try:
        pr = pr_mod.bift(curve, guinier)
    except HalosInputError:
        # E.g. too few usable points for an IFT: keep Guinier and MW, flag the missing P(r).
        return guinier, None
    return cross_check(guinier, pr)


def instrument_from_meta(meta: dict[str, Any]) -> FrameMetadata:
    """Instrument description from the ``meta`` of integrated frames (for ``SASinstrument``)."""
    names = {f.name for f in dataclasses.fields(FrameMetadata)}

    def value(key: str) -> Any:
        v = meta.get(key)
        if isinstance(v, np.ndarray):
            v = v.tolist()
        if isinstance(v, list):
            v = tuple(v)
        if isinstance(v, bytes):
            v = v.decode()
        return v

    return FrameMetadata(**{k: value(k) for k in names if meta.get(k) is not None})
