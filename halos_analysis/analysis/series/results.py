# SPDX-License-Identifier: MIT
"""Typed results of the series (SEC-SAXS) analysis.

Frame ranges are ``(first, last)`` pairs of 0-based, inclusive frame positions in input
order. Per-frame arrays hold NaN only where the matching ``status`` entry says why no value
exists (never a bare sentinel); ``to_dict`` turns NaN into ``null``.

Like every result of the package (:mod:`halos_analysis.types`), each number field declares
the kind of its unit as field metadata, which :func:`~halos_analysis.types.units_of` spells
for the series' q unit and intensity unit; ``to_dict()`` and ``from_dict()`` are the one
serialiser of each type (the series JSON and the NXcanSAS series notes go through them):

>>> p = Peak(120, 100, 140, 3.5, 3.2, 18.0, 40.0)
>>> units_of(p, "1/cm")["height"], units_of(p)["position"]
('1/cm', '')
>>> Peak.from_dict(p.to_dict()) == p
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from halos_analysis.types import TypedResult, jsonable, length_unit, unit, units_of

__all__ = [
    "Baseline",
    "Component",
    "Deconvolution",
    "EFAResult",
    "FrameParameters",
    "Peak",
    "RangeCheck",
    "RangeSearch",
    "SVDResult",
    "SeriesTraces",
    "Test",
]

Range = tuple[int, int]


class _SeriesResult(TypedResult):
    """Series results include their per-frame / per-q arrays in ``to_dict()`` by default."""

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        """Plain-JSON view; ``arrays=False`` leaves out the per-frame / per-q arrays."""
        return super().to_dict(arrays)


@dataclass(frozen=True, eq=False)
class SeriesTraces(_SeriesResult):
    """Intensity of every frame: summed over q, over a q range, and at one q.

    ``smoothed`` is ``total`` after a Savitzky–Golay filter; ``baseline`` the straight line
    fitted to the frames outside every peak; ``noise`` the standard deviation of one
    frame's ``total`` from frame-to-frame scatter, ``smoothed_noise`` that of ``smoothed``.
    Sums over q bins are in the intensity unit of the frames.
    """

    total: np.ndarray = field(metadata=unit("intensity"))
    mean: np.ndarray = field(metadata=unit("intensity"))
    q_range_sum: np.ndarray = field(metadata=unit("intensity"))
    q_ref_value: np.ndarray = field(metadata=unit("intensity"))
    smoothed: np.ndarray = field(metadata=unit("intensity"))
    baseline: np.ndarray = field(metadata=unit("intensity"))
    q_range: tuple[float, float] = field(metadata=unit("q"))
    q_ref: float = field(metadata=unit("q"))
    q_unit: str
    noise: float = field(metadata=unit("intensity"))
    smoothed_noise: float = field(metadata=unit("intensity"))
    smooth_window: int = field(metadata=unit("count"))

    _array_fields = ("total", "mean", "q_range_sum", "q_ref_value", "smoothed", "baseline")

    def __len__(self) -> int:
        return len(self.total)


@dataclass(frozen=True, eq=False)
class Peak(_SeriesResult):
    """An elution peak of the smoothed trace (above its baseline).

    ``position`` is the apex frame; ``left``/``right`` the frames where the peak rises above
    and falls back to the baseline noise (its footprint); ``fwhm`` in frames.
    """

    position: int = field(metadata=unit("index"))
    left: int = field(metadata=unit("index"))
    right: int = field(metadata=unit("index"))
    height: float = field(metadata=unit("intensity"))
    prominence: float = field(metadata=unit("intensity"))
    fwhm: float = field(metadata=unit("count"))
    significance: float = field(metadata=unit("dimensionless"))

    @property
    def footprint(self) -> Range:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Test(_SeriesResult):
    """One validation test: what was measured, against what, and whether it passed.

    ``value`` and ``threshold`` are p-values, frame counts or ranks: numbers without a unit.
    """

    #: Not a test class for pytest (its name starts with "Test").
    __test__ = False

    name: str
    passed: bool
    value: float = field(metadata=unit("dimensionless"))
    threshold: float = field(metadata=unit("dimensionless"))
    detail: str = ""


@dataclass(frozen=True, eq=False)
class RangeCheck(_SeriesResult):
    """Validation of a buffer or sample range (one or several sub-ranges).

    Falsy when not valid; ``reasons`` names every failed test.
    """

    kind: str
    ranges: tuple[tuple[int, int], ...] = field(metadata=unit("index"))
    valid: bool
    tests: tuple[Test, ...]
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RangeCheck:
        """The check back from its ``to_dict()``, its tests as :class:`Test` (or given so)."""
        tests = [t if isinstance(t, Test) else Test.from_dict(t) for t in d.get("tests", ())]
        return super().from_dict(dict(d, tests=tests))

    def __post_init__(self) -> None:
        # The tests come back from JSON as a list: one type, a tuple, whatever the source.
        object.__setattr__(self, "tests", tuple(self.tests))

    def __bool__(self) -> bool:
        return self.valid

    @property
    def n_frames(self) -> int:
        return sum(b - a + 1 for a, b in self.ranges)

    def test(self, name: str) -> Test | None:
        """The test called ``name``, or None when it was not run."""
        return next((t for t in self.tests if t.name == name), None)

    def __str__(self) -> str:
        r = ", ".join(f"{a}–{b}" for a, b in self.ranges) or "none"
        state = "valid" if self.valid else "NOT valid: " + "; ".join(self.reasons)
        return f"{self.kind} range {r}: {state}"


@dataclass(frozen=True, eq=False)
class RangeSearch(_SeriesResult):
    """Outcome of an automatic range search: the range found and its validation, or why not.

    Falsy when no valid range was found; ``reason`` then says why, and ``check`` holds the
    validation of the best candidate that failed (None when no candidate existed).
    """

    kind: str
    found: bool
    ranges: tuple[tuple[int, int], ...] = field(metadata=unit("index"))
    check: RangeCheck | None
    reason: str
    candidates_tested: int = field(metadata=unit("count"))
    peak: Peak | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RangeSearch:
        """The search back from its ``to_dict()``, its check and peak typed (or given so)."""
        check, peak = d.get("check"), d.get("peak")
        if isinstance(check, Mapping):
            check = RangeCheck.from_dict(check)
        if isinstance(peak, Mapping):
            peak = Peak.from_dict(peak)
        return super().from_dict(dict(d, check=check, peak=peak))

    def __bool__(self) -> bool:
        return self.found

    def __str__(self) -> str:
        if not self.found:
            return f"{self.kind} range: none found ({self.reason})"
        return str(self.check)


@dataclass(frozen=True, eq=False)
class FrameParameters(_SeriesResult):
    """Per-frame Rg, I0, MW of the sliding-window averages of the subtracted frames.

    Frame k's values come from the average of frames k − h .. k + h (``window`` = 2h + 1).
    ``status`` is ``"ok"`` or why the frame has no value: ``"edge"`` (window incomplete),
    ``"low_signal"``, ``"no_guinier"`` (ln I does not fall with q²), ``"imprecise"`` (Rg
    known to worse than ``max_rel_err``), ``"qrg_range"`` (window outside the Guinier
    limits). ``mw_status`` likewise for the MW columns (``"q_range_too_short"``, ...).
    Lengths are in the unit matching ``q_unit``; ``first``/``last`` are the Guinier rows
    (−1 where there is no fit).
    """

    rg: np.ndarray = field(metadata=unit("length"))
    rg_err: np.ndarray = field(metadata=unit("length"))
    i0: np.ndarray = field(metadata=unit("intensity"))
    i0_err: np.ndarray = field(metadata=unit("intensity"))
    first: np.ndarray = field(metadata=unit("index"))
    last: np.ndarray = field(metadata=unit("index"))
    mw_vc_kda: np.ndarray = field(metadata=unit("kDa"))
    mw_vp_kda: np.ndarray = field(metadata=unit("kDa"))
    snr: np.ndarray = field(metadata=unit("dimensionless"))
    status: np.ndarray
    mw_status: np.ndarray
    window: int = field(metadata=unit("count"))
    q_unit: str
    guinier_start: int = field(metadata=unit("index"))
    qrg_max: float = field(metadata=unit("dimensionless"))
    iterations: int = field(metadata=unit("count"))

    _array_fields = (
        "rg",
        "rg_err",
        "i0",
        "i0_err",
        "first",
        "last",
        "mw_vc_kda",
        "mw_vp_kda",
        "snr",
        "status",
        "mw_status",
    )

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of the frames with an Rg."""
        return self.status == "ok"

    def __len__(self) -> int:
        return len(self.rg)


@dataclass(frozen=True, eq=False)
class SVDResult(_SeriesResult):
    """Singular value decomposition of a block of frames (σ-normalised) and its rank.

    ``singular_values`` are those of the matrix I/σ̄ (σ̄ the mean σ of each q bin);
    ``u_autocorr`` / ``v_autocorr`` the lag-1 autocorrelation of each left (q) and right
    (frame) vector; ``threshold`` the optimal hard threshold (Gavish & Donoho 2014) the
    values were compared with.
    """

    frames: tuple[int, int] = field(metadata=unit("index"))
    singular_values: np.ndarray = field(metadata=unit("dimensionless"))
    u_autocorr: np.ndarray = field(metadata=unit("dimensionless"))
    v_autocorr: np.ndarray = field(metadata=unit("dimensionless"))
    threshold: float = field(metadata=unit("dimensionless"))
    rank: int = field(metadata=unit("count"))
    u: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), metadata=unit("dimensionless"))
    v: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), metadata=unit("dimensionless"))

    _array_fields = ("singular_values", "u_autocorr", "v_autocorr", "u", "v")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SVDResult:
        """The SVD back from its ``to_dict()``; vectors not kept come back as (0, 0) arrays."""
        back = super().from_dict(d)
        for name in ("u", "v"):
            if getattr(back, name).size == 0:  # JSON keeps no shape of an empty matrix
                object.__setattr__(back, name, np.zeros((0, 0)))
        return back


@dataclass(frozen=True, eq=False)
class EFAResult(_SeriesResult):
    """Evolving factor analysis of a frame range and its rotation to concentrations.

    ``forward[k]`` / ``backward[k]`` hold the top singular values of frames
    first..first+k / last−k..last (of the σ-normalised frames, like ``noise_level``);
    ``ranges`` each component's existence range (frames); ``concentrations`` (n_frames ×
    n_components, each summing to 1) and ``profiles`` (n_q × n_components, with
    ``profile_sigma``, in the frames' intensity unit) the rotated solution; ``chi2`` its
    reduced χ² against the data.
    """

    frames: tuple[int, int] = field(metadata=unit("index"))
    n_components: int = field(metadata=unit("count"))
    forward: np.ndarray = field(metadata=unit("dimensionless"))
    backward: np.ndarray = field(metadata=unit("dimensionless"))
    noise_level: float = field(metadata=unit("dimensionless"))
    ranges: tuple[tuple[int, int], ...] = field(metadata=unit("index"))
    concentrations: np.ndarray = field(metadata=unit("dimensionless"))
    profiles: np.ndarray = field(metadata=unit("intensity"))
    profile_sigma: np.ndarray = field(metadata=unit("intensity"))
    converged: bool
    iterations: int = field(metadata=unit("count"))
    chi2: float = field(metadata=unit("dimensionless"))
    flags: tuple[str, ...] = ()

    _array_fields = ("forward", "backward", "concentrations", "profiles", "profile_sigma")

    def __bool__(self) -> bool:
        return self.converged and self.n_components > 0


@dataclass(frozen=True, eq=False)
class Deconvolution(_SeriesResult):
    """Regularised alternating least squares (REGALS-class) separation of a frame range.

    Concentrations are smooth (second-difference penalty) and zero outside each
    component's range; λ per component is chosen automatically (``lambdas``).
    Profiles are normalised to unit RMS (a scale of their own); the concentrations carry
    the intensity. ``chi2`` is the reduced χ² of the fit against the frames' σ.
    """

    frames: tuple[int, int] = field(metadata=unit("index"))
    ranges: tuple[tuple[int, int], ...] = field(metadata=unit("index"))
    lambdas: tuple[float, ...] = field(metadata=unit("dimensionless"))
    concentrations: np.ndarray = field(metadata=unit("intensity"))
    profiles: np.ndarray = field(metadata=unit("arbitrary"))
    profile_sigma: np.ndarray = field(metadata=unit("arbitrary"))
    chi2: float = field(metadata=unit("dimensionless"))
    iterations: int = field(metadata=unit("count"))
    converged: bool
    flags: tuple[str, ...] = ()

    _array_fields = ("concentrations", "profiles", "profile_sigma")

    def __bool__(self) -> bool:
        return self.converged


@dataclass(frozen=True, eq=False)
class Baseline(_SeriesResult):
    """A q-dependent baseline subtracted frame by frame (linear or integral).

    ``correction`` is (n_frames × n_q); ``converged``/``iterations`` describe the integral
    method's fixed-point iteration (always True/0 for the linear one); ``change`` is its
    last change of the eluted fraction.
    """

    method: str
    start_range: tuple[int, int] = field(metadata=unit("index"))
    end_range: tuple[int, int] = field(metadata=unit("index"))
    correction: np.ndarray = field(metadata=unit("intensity"))
    converged: bool
    iterations: int = field(metadata=unit("count"))
    change: float = field(metadata=unit("dimensionless"))
    flags: tuple[str, ...] = ()

    _array_fields = ("correction",)


@dataclass(frozen=True, eq=False)
class Component(_SeriesResult):
    """One separated species: where it elutes and the analysis of its averaged curve.

    ``analysis`` is a :class:`halos_analysis.analysis.pipeline.SampleAnalysis` of the subtracted
    averaged (or deconvolved) curve; ``method`` says how the curve was made
    (``"average"``, ``"efa"``, ``"regals"``). Lengths are in the unit matching the curve's
    q unit (``q_unit``), intensities in its intensity unit.
    """

    index: int = field(metadata=unit("index"))
    range: tuple[int, int] = field(metadata=unit("index"))
    method: str
    analysis: Any
    flags: tuple[str, ...] = ()

    #: The summary's keys that are no field, with the kind of their unit.
    _derived_units = {
        "Rg": "length", "Rg_err": "length", "I0": "intensity", "I0_err": "intensity",
        "Dmax": "length", "Dmax_err": "length", "mw_vc_kda": "kDa", "mw_vp_kda": "kDa",
    }  # fmt: skip

    @property
    def q_unit(self) -> str:
        """q unit of the component's curve (its lengths follow it)."""
        return self.analysis.curve.q_unit

    @property
    def meta(self) -> Mapping[str, Any]:
        """The curve's metadata (its ``intensity_unit`` is the component's)."""
        return self.analysis.curve.meta

    def summary(self) -> dict[str, Any]:
        """The keys of the ``halos series --json`` contract for this component."""
        a = self.analysis
        g, pr, mw = a.guinier, a.pr, a.mw
        return jsonable(
            {
                "index": self.index,
                "range": list(self.range),
                "method": self.method,
                "Rg": g.Rg if g.valid else None,
                "Rg_err": g.Rg_err if g.valid else None,
                "I0": g.I0 if g.valid else None,
                "I0_err": g.I0_err if g.valid else None,
                "Dmax": None if pr is None else pr.Dmax,
                "Dmax_err": None if pr is None else pr.Dmax_err,
                "mw_vc_kda": None if mw is None else mw.mw_vc_kda,
                "mw_vp_kda": None if mw is None else mw.mw_vp_kda,
                "length_unit": length_unit(g.q_unit),
                "flags": list(dict.fromkeys([*self.flags, *a.flags])),
            }
        )

    def units(self, spelling: str = "halos") -> dict[str, str]:
        """Unit of each number of :meth:`summary` (``units_of`` of the component)."""
        return units_of(self, spelling=spelling)

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        d = self.summary()
        d["analysis"] = self.analysis.to_dict(arrays)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Component:
        """The component back from its ``to_dict(arrays=True)``.

        The summary merges the component's flags with its analysis's: the component keeps
        those its analysis does not have (its summary is the same).
        """
        from halos_analysis.analysis.pipeline import SampleAnalysis

        analysis = SampleAnalysis.from_dict(d["analysis"])
        own = tuple(f for f in d.get("flags", ()) if f not in analysis.flags)
        return cls(int(d["index"]), tuple(d["range"]), d["method"], analysis, own)

    def __eq__(self, other: object) -> bool:
        # The analysis has no value equality of its own: compare its JSON view.
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.index, self.range, self.method))
