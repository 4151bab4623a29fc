# SPDX-License-Identifier: MIT
"""The whole series analysis of one SEC run, as one pure function over typed results.

:func:`analyse_series` chains: traces and peaks → buffer range (given and validated, or
found) → subtraction (→ optional baseline correction) → per-frame Rg/I0/MW → sample range
per peak → SVD of the elution region → EFA and regularised deconvolution when a peak holds
more than one species → the averaged (or separated) curve of each species through the full
analysis of a static sample (:func:`halos_analysis.analysis.pipeline.analyse_curve`).

Nothing here raises for a run that simply lacks something (no peak, no flat buffer, no
valid sample range, ranges outside the run): the result says what is missing and why in
``problems``, is not ``valid``, and still holds the traces and whatever per-frame table
could be computed.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from halos_analysis.analysis.series.frames import (
    average_frames,
    frame_parameters,
    subtract_buffer,
)
from halos_analysis.analysis.series.ranges import (
    find_buffer_range,
    find_sample_range,
    validate_buffer_range,
    validate_sample_range,
)
from halos_analysis.analysis.series.results import (
    Baseline,
    Component,
    Deconvolution,
    EFAResult,
    FrameParameters,
    Peak,
    RangeCheck,
    RangeSearch,
    SeriesTraces,
    SVDResult,
)
from halos_analysis.analysis.series.svd import bin_q, svd_rank
from halos_analysis.analysis.series.traces import find_peaks, intensity_traces
from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, FrameCurves

__all__ = ["SeriesAnalysis", "SeriesSettings", "analyse_series"]

log = logging.getLogger(__name__)

Range = tuple[int, int]


@dataclass(frozen=True)
class SeriesSettings:
    """Options of :func:`analyse_series` (defaults as RAW's where both have one).

    Parameters
    ----------
    subtracted : bool
        The frames are already buffer-subtracted.
    buffer : sequence of (first, last), optional
        Buffer sub-ranges to use (validated, used even when not valid, with a problem noted).
    sample : (first, last), optional
        Sample range of the main peak to use instead of searching.
    window : int
        Frames per sliding average for the per-frame parameters.
    alpha, correction, trend_alpha : float, str, float
        CorMap level, its multiple-testing correction, Spearman trend level.
    buffer_min_frames, sample_min_frames : int
        Shortest automatic ranges.
    baseline : {"none", "linear", "integral"}
        Baseline correction between a buffer range before and one after the peaks.
    deconvolve : bool
        Separate overlapping species (EFA, REGALS-class) when the SVD finds several.
    efa_q_bins : int
        q bins the EFA sweeps work on.
    macromolecule : {"protein", "rna"}
        Vc coefficients.
    qrg_max : float
        Upper q·Rg limit of Guinier fits.
    """

    subtracted: bool = False
    buffer: tuple[Range, ...] | None = None
    sample: Range | None = None
    window: int = 5
    alpha: float = 0.01
    correction: str = "bonferroni"
    trend_alpha: float = 0.05
    buffer_min_frames: int = 10
    sample_min_frames: int = 5
    baseline: str = "none"
    deconvolve: bool = True
    efa_q_bins: int = 100
    macromolecule: str = "protein"
    qrg_max: float = 1.3


@dataclass(frozen=True, eq=False)
class SeriesAnalysis:
    """Everything computed from one series; see :func:`analyse_series`."""

    frames: FrameCurves
    settings: SeriesSettings
    traces: SeriesTraces
    peaks: tuple[Peak, ...]
    buffer: RangeSearch | None
    buffer_check: RangeCheck | None
    post_buffer: RangeSearch | None
    buffer_curve: Curve | None
    subtracted: FrameCurves | None
    baseline: Baseline | None
    params: FrameParameters | None
    samples: tuple[RangeSearch, ...]
    sample_check: RangeCheck | None
    svd: SVDResult | None
    efa: EFAResult | None
    deconvolution: Deconvolution | None
    components: tuple[Component, ...]
    sample_average: Component | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: Problems caused by the caller's options (a range outside the run): the CLI exits 1.
    input_errors: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buffer_ranges(self) -> tuple[Range, ...]:
        if self.buffer_check is not None:
            return self.buffer_check.ranges
        return ()

    @property
    def sample_range(self) -> Range | None:
        if self.sample_check is not None and self.sample_check.ranges:
            r = self.sample_check.ranges
            return (r[0][0], r[-1][1])
        return None

    @property
    def valid(self) -> bool:
        """A buffer and a sample range that pass validation, and analysed components."""
        buffer_ok = self.settings.subtracted or bool(self.buffer_check)
        return buffer_ok and bool(self.sample_check) and bool(self.components) and not self.problems

    def summary(self) -> dict[str, Any]:
        """The ``halos series --json`` object (contract of issue 11, plus context)."""
        br: Any = None
        if self.buffer_ranges:
            br = [list(r) for r in self.buffer_ranges]
            br = br[0] if len(br) == 1 else br
        return {
            "n_frames": len(self.frames),
            "q_unit": self.frames.q_unit,
            "n_q": len(self.frames.q),
            "subtracted_input": self.settings.subtracted,
            "buffer_range": br,
            "buffer_valid": None if self.buffer_check is None else self.buffer_check.valid,
            "buffer_source": None
            if self.buffer is None
            else ("auto" if self.settings.buffer is None else "given"),
            "sample_range": None if self.sample_range is None else list(self.sample_range),
            "sample_valid": None if self.sample_check is None else self.sample_check.valid,
            "n_components": len(self.components),
            "components": [c.summary() for c in self.components],
            "sample_average": (
                None if self.sample_average is None else self.sample_average.summary()
            ),
            "peaks": [p.to_dict() for p in self.peaks],
            "rank": None if self.svd is None else self.svd.rank,
            "baseline": None if self.baseline is None else self.baseline.method,
            "valid": self.valid,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def _elution_region(params: FrameParameters, peaks: Sequence[Peak]) -> Range | None:
    """Frames around the main peak whose averages carry a particle signal (SNR ≥ limit)."""
    if not peaks:
        return None
    from halos_analysis.analysis.series.frames import MIN_SNR

    main = max(peaks, key=lambda p: p.prominence)
    strong = np.nan_to_num(params.snr, nan=0.0) >= MIN_SNR
    if not strong[main.position]:
        return None
    a = b = main.position
    while a > 0 and strong[a - 1]:
        a -= 1
    while b < len(strong) - 1 and strong[b + 1]:
        b += 1
    return (a, b) if b - a + 1 >= 10 else None


#: A separated species and the validated sample range's average must agree on Rg to
#: 3 combined σ plus this relative margin (tools differ by ~1–2 % on one curve).
_RG_MARGIN = 0.02


def _implausible(separated: Sequence[Component]) -> str:
    """Why a separation is not a set of distinct particles ('' if it is).

    Every species needs a Guinier region and an Rg above the resolution π/q_max of the data
    (a smaller "species" is a background term, not a particle the data can see); no two
    species may have the same Rg within 3 combined σ plus :data:`_RG_MARGIN` (then one
    species has been split in two by the rotational ambiguity, not separated from another).
    """
    for c in separated:
        g = c.analysis.guinier
        q = c.analysis.curve.q
        if not g.valid:
            return f"species {c.index} has no Guinier region"
        if g.Rg < np.pi / float(q[-1]):
            return (
                f"species {c.index} Rg {g.Rg:.3g} is below the resolution π/q_max "
                f"{np.pi / float(q[-1]):.3g}: a background term, not a particle"
            )
    for i, c in enumerate(separated):
        for d in separated[i + 1 :]:
            gc, gd = c.analysis.guinier, d.analysis.guinier
            tol = 3.0 * float(np.hypot(gc.Rg_err, gd.Rg_err)) + _RG_MARGIN * max(gc.Rg, gd.Rg)
            if abs(gc.Rg - gd.Rg) <= tol:
                return (
                    f"species {c.index} and {d.index} have the same Rg ({gc.Rg:.4g}, "
                    f"{gd.Rg:.4g}): one species split in two"
                )
    return ""


def _disagreement(separated: Sequence[Component], average: Component) -> str:
    """Why the separated species at the sample range contradict its average ('' if not).

    The sample range passed the one-species tests, so the species that dominates there must
    have the average's Rg; when it does not, the separation split that species (EFA ranges
    blurred by a weak systematic term, rotational ambiguity) and is not to be trusted.
    """
    a, b = average.range
    g_avg = average.analysis.guinier
    inside = [c for c in separated if c.range[0] <= b and c.range[1] >= a] or list(separated)
    # Of the species present there, the one with most signal (curves are scaled to each
    # species' highest concentration).
    main = max(inside, key=lambda c: float(np.nanmean(c.analysis.curve.intensity[:10])))
    g = main.analysis.guinier
    if not (g.valid and g_avg.valid):
        return f"species {main.index} has no Guinier region" if g_avg.valid else ""
    tol = 3.0 * float(np.hypot(g.Rg_err, g_avg.Rg_err)) + _RG_MARGIN * g_avg.Rg
    if abs(g.Rg - g_avg.Rg) > tol:
        return (
            f"species {main.index} Rg {g.Rg:.4g} vs {g_avg.Rg:.4g} of frames {a}-{b}, "
            f"beyond {tol:.2g}"
        )
    return ""


def _deconvolve(
    subtracted: FrameCurves, region: Range, rank: int, s, problems: list[str], notes: list[str]
):
    """EFA ranges, then REGALS-class separation; components of the separated species."""
    from halos_analysis.analysis.pipeline import analyse_curve
    from halos_analysis.analysis.series.efa import efa as run_efa
    from halos_analysis.analysis.series.regals import regals

    a, b = region
    block_i, block_s = subtracted.intensity[a : b + 1], subtracted.sigma[a : b + 1]
    # The SVD counts any systematic component (a weak inter-particle term, a baseline
    # change); EFA only places species that appear and disappear in elution order. Fewer
    # species are tried when the count cannot be placed, down to two.
    for n_species in range(rank, 1, -1):
        efa_res = run_efa(block_i, block_s, region, n_components=n_species, q_bins=s.efa_q_bins)
        if efa_res.ranges:
            break
    if not efa_res.ranges:
        problems.append(
            f"SVD finds {rank} components in frames {a}-{b} but EFA cannot place 2 or more "
            f"species in elution order ({', '.join(efa_res.flags)}): not separated"
        )
        return efa_res, None, []
    if efa_res.n_components < rank:
        notes.append(
            f"SVD finds {rank} components in frames {a}-{b}; EFA places {efa_res.n_components} "
            "species in elution order: the others are not separated"
        )
    ranges = efa_res.ranges
    deconv = regals(block_i, block_s, region, ranges)
    if deconv:
        conc, prof, psig, method = (
            deconv.concentrations,
            deconv.profiles,
            deconv.profile_sigma,
            "regals",
        )
    elif efa_res:
        conc, prof, psig, method = (
            efa_res.concentrations,
            efa_res.profiles,
            efa_res.profile_sigma,
            "efa",
        )
    else:
        problems.append(
            f"{rank} overlapping species in frames {a}-{b}: neither REGALS nor the EFA rotation "
            "converged; not separated"
        )
        return efa_res, deconv, []
    comps = []
    for i, (ra, rb) in enumerate(ranges):
        peak_conc = float(conc[:, i].max())
        curve = Curve(
            subtracted.q,
            prof[:, i] * peak_conc,
            psig[:, i] * peak_conc,
            subtracted.q_unit,
            name=f"{subtracted.name}_species{i + 1}",
            meta={
                "source": f"{subtracted.name} frames {ra}-{rb} ({method})",
                "scaled_to": "the species' highest concentration in the run",
            },
        )
        analysis = analyse_curve(curve, macromolecule=s.macromolecule, qrg_max=s.qrg_max)
        flags = tuple(deconv.flags if method == "regals" else efa_res.flags)
        comps.append(Component(i + 1, (ra, rb), method, analysis, flags))
    return efa_res, deconv, comps


def analyse_series(frames: FrameCurves, settings: SeriesSettings | None = None) -> SeriesAnalysis:
    """Analyse one SEC-SAXS run.

    Parameters
    ----------
    frames : FrameCurves
        The series in input order (unsubtracted unless ``settings.subtracted``).
    settings : SeriesSettings, optional
        Options (defaults: see :class:`SeriesSettings`).

    Returns
    -------
    SeriesAnalysis
        ``valid`` when a valid buffer (unless subtracted input) and sample range were found
        and the components analysed; ``problems`` says what is missing otherwise.
    """
    from halos_analysis.analysis.pipeline import analyse_curve

    s = settings or SeriesSettings()
    problems: list[str] = []
    errors: list[str] = []
    notes = [str(x) for x in frames.meta.get("notes", [])]
    n = len(frames)
    traces = intensity_traces(frames)
    peaks = tuple(find_peaks(traces))
    if not peaks:
        problems.append(
            f"no elution peak: the intensity never rises {10:g}σ above the baseline of the run "
            f"({n} frames)"
        )
    buffer = post = None
    buffer_check = None
    buffer_curve = None
    subtracted: FrameCurves | None = frames if s.subtracted else None
    if not s.subtracted:
        buffer, buffer_check, post = _buffer(frames, traces, peaks, s, problems, errors)
        if buffer_check is not None:
            buffer_curve = average_frames(
                frames, buffer_check.ranges, name=f"{frames.name}_buffer", what="buffer"
            )
            subtracted = subtract_buffer(frames, buffer_curve)
    baseline = None
    if subtracted is not None and s.baseline != "none":
        baseline, subtracted = _baseline(frames, subtracted, buffer_check, post, s, problems)
    params = None
    samples: list[RangeSearch] = []
    sample_check = None
    svd = efa = deconv = None
    components: list[Component] = []
    averages: list[Component] = []
    if subtracted is not None:
        params = frame_parameters(
            subtracted, window=s.window, qrg_max=s.qrg_max, macromolecule=s.macromolecule
        )
        if not params.valid.any():
            problems.append("no frame has a Guinier region after subtraction: no per-frame Rg")
        sample_check, samples = _samples(subtracted, params, traces, peaks, s, problems, errors)
        region = _elution_region(params, peaks)
        if region is not None:
            a, b = region
            ib, sb, _ = bin_q(
                subtracted.intensity[a : b + 1], subtracted.sigma[a : b + 1], s.efa_q_bins
            )
            svd = svd_rank(ib, sb, region, keep_vectors=min(5, b - a + 1))
            if s.deconvolve and svd.rank >= 2:
                efa, deconv, separated = _deconvolve(
                    subtracted, region, svd.rank, s, problems, notes
                )
                components.extend(separated)
        for k, found in enumerate(samples):
            check = found.check if found else None
            if not found or check is None:
                continue
            curve = average_frames(
                subtracted, check.ranges, name=f"{frames.name}_component{k + 1}", what="sample"
            )
            source = f"{frames.name} frames {check.ranges[0][0]}-{check.ranges[-1][1]}"
            curve = dataclasses.replace(curve, meta={**curve.meta, "source": source})
            analysis = analyse_curve(curve, macromolecule=s.macromolecule, qrg_max=s.qrg_max)
            averages.append(
                Component(k + 1, (check.ranges[0][0], check.ranges[-1][1]), "average", analysis)
            )
        if components:
            why = _implausible(components)
            if not why and averages:
                why = _disagreement(components, averages[0])
            if why:
                notes.append(
                    f"separation of {len(components)} species not used ({why}); "
                    + (
                        "the validated sample ranges' averages are reported"
                        if averages
                        else "no validated sample range to report instead"
                    )
                )
                components = []
        if not components:
            # One species per peak, or no separation possible: the validated averages.
            components = list(averages)
        elif averages:
            notes.append(
                f"{len(components)} species separated ({components[0].method}); the validated "
                f"sample range {averages[0].range[0]}-{averages[0].range[1]} is reported as "
                "sample_average"
            )
    for c in components:
        if not c.analysis.guinier.valid:
            problems.append(
                f"component {c.index} (frames {c.range[0]}-{c.range[1]}): no Guinier region"
            )
    return SeriesAnalysis(
        frames=frames,
        settings=s,
        traces=traces,
        peaks=peaks,
        buffer=buffer,
        buffer_check=buffer_check,
        post_buffer=post,
        buffer_curve=buffer_curve,
        subtracted=subtracted,
        baseline=baseline,
        params=params,
        samples=tuple(samples),
        sample_check=sample_check,
        svd=svd,
        efa=efa,
        deconvolution=deconv,
        components=tuple(components),
        sample_average=averages[0] if averages else None,
        problems=tuple(problems),
        notes=tuple(notes),
        input_errors=tuple(errors),
    )


def _buffer(frames, traces, peaks, s: SeriesSettings, problems: list[str], errors: list[str]):
    n = len(frames)
    kw = {"alpha": s.alpha, "correction": s.correction, "trend_alpha": s.trend_alpha}
    post = None
    if s.buffer is not None:
        given = tuple(s.buffer)
        if s.baseline != "none" and len(given) >= 2:
            # With a baseline correction the first range is the buffer subtracted and the
            # last one the end of the baseline.
            given, post_given = given[:1], given[-1:]
        else:
            post_given = None
        try:
            check = validate_buffer_range(frames, given, traces=traces, **kw)
            if post_given is not None:
                pc = validate_buffer_range(frames, post_given, traces=traces, **kw)
                post = RangeSearch("buffer", True, pc.ranges, pc, "given", 0)
        except HalosInputError as exc:
            problems.append(f"--buffer: {exc.reason}")
            errors.append(f"--buffer: {exc.reason}")
            return None, None, None
        if not check:
            problems.append(
                f"the given buffer range is not valid ({'; '.join(check.reasons)}); used anyway"
            )
        if post is None and s.baseline != "none" and peaks:
            post = find_buffer_range(
                frames, traces, peaks, min_frames=s.buffer_min_frames, region="after", **kw
            )
        found = RangeSearch("buffer", True, check.ranges, check, "given", 0)
        return found, check, post
    found = find_buffer_range(frames, traces, peaks, min_frames=s.buffer_min_frames, **kw)
    if not found:
        problems.append(f"no valid buffer range: {found.reason}")
        return found, None, None
    if peaks:
        # A second buffer after the peaks tells whether the baseline moved during the run.
        post = find_buffer_range(
            frames, traces, peaks, min_frames=s.buffer_min_frames, region="after", **kw
        )
        if post and found.ranges[0][0] < post.ranges[0][0]:
            both = validate_buffer_range(frames, [*found.ranges, *post.ranges], traces=traces, **kw)
            if not both:
                problems_txt = "; ".join(both.reasons)
                log.info("buffer before and after the peaks differ: %s", problems_txt)
                # Not an error: the pre-peak buffer is used; the drift is reported.
                post = RangeSearch(
                    "buffer",
                    True,
                    post.ranges,
                    post.check,
                    f"differs from the buffer before the peaks ({problems_txt}): the baseline "
                    "moved during the run (consider --baseline integral)",
                    post.candidates_tested,
                )
    del n
    return found, found.check, post


def _baseline(frames, subtracted, buffer_check, post, s, problems):
    from halos_analysis.analysis.series.baseline import correct_baseline

    if buffer_check is None or post is None or not post:
        problems.append(
            f"--baseline {s.baseline}: needs a buffer range before and one after the peaks; "
            "not corrected"
        )
        return None, subtracted
    bl = correct_baseline(subtracted, buffer_check.ranges[0], post.ranges[0], method=s.baseline)
    if not bl.converged:
        problems.append(f"{s.baseline} baseline did not converge in {bl.iterations} iterations")
    corrected = FrameCurves(
        subtracted.q,
        subtracted.intensity - bl.correction,
        subtracted.sigma,
        subtracted.q_unit,
        name=subtracted.name,
        frame_ids=subtracted.frame_ids,
        meta=dict(subtracted.meta, baseline=bl.method),
    )
    return bl, corrected


def _samples(subtracted, params, traces, peaks, s: SeriesSettings, problems, errors):
    kw = {"alpha": s.alpha, "correction": s.correction, "trend_alpha": s.trend_alpha}
    if s.sample is not None:
        try:
            check = validate_sample_range(subtracted, params, [s.sample], **kw)
        except HalosInputError as exc:
            problems.append(f"--sample: {exc.reason}")
            errors.append(f"--sample: {exc.reason}")
            return None, []
        if not check:
            problems.append(
                f"the given sample range is not valid ({'; '.join(check.reasons)}); used anyway"
            )
        return check, [RangeSearch("sample", True, check.ranges, check, "given", 0)]
    if not peaks:
        return None, []
    ordered = sorted(peaks, key=lambda p: -p.prominence)
    found = [
        find_sample_range(subtracted, params, traces, p, min_frames=s.sample_min_frames, **kw)
        for p in ordered
    ]
    main = found[0]
    if not main:
        problems.append(f"no valid sample range: {main.reason}")
    for f in found[1:]:
        if not f:
            log.info("no sample range for the minor peak: %s", f.reason)
    return (main.check if main else None), found
