# SPDX-License-Identifier: MIT
"""Typed results of the series (SEC-SAXS) analysis.

Frame ranges are ``(first, last)`` pairs of 0-based, inclusive frame positions in input
order. Per-frame arrays hold NaN only where the matching ``status`` entry says why no value
exists (never a bare sentinel); ``to_dict`` turns NaN into ``null``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":
            return [str(v) for v in value.tolist()]
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class _Plain:
    """``to_dict()``: plain JSON (NaN → null); array fields only with ``arrays=True``."""

    _array_fields: tuple[str, ...] = ()

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        """Plain-JSON view; ``arrays=False`` leaves out the per-frame / per-q arrays."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not arrays and f.name in self._array_fields:
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out


@dataclass(frozen=True, eq=False)
class SeriesTraces(_Plain):
    """Intensity of every frame: summed over q, over a q range, and at one q.

    ``smoothed`` is ``total`` after a Savitzky–Golay filter; ``baseline`` the straight line
    fitted to the frames outside every peak; ``noise`` the standard deviation of one
    frame's ``total`` from frame-to-frame scatter, ``smoothed_noise`` that of ``smoothed``.
    """

    total: np.ndarray
    mean: np.ndarray
    q_range_sum: np.ndarray
    q_ref_value: np.ndarray
    smoothed: np.ndarray
    baseline: np.ndarray
    q_range: tuple[float, float]
    q_ref: float
    q_unit: str
    noise: float
    smoothed_noise: float
    smooth_window: int

    _array_fields = ("total", "mean", "q_range_sum", "q_ref_value", "smoothed", "baseline")

    def __len__(self) -> int:
        return len(self.total)


@dataclass(frozen=True)
class Peak(_Plain):
    """An elution peak of the smoothed trace (above its baseline).

    ``position`` is the apex frame; ``left``/``right`` the frames where the peak rises above
    and falls back to the baseline noise (its footprint); ``fwhm`` in frames.
    """

    position: int
    left: int
    right: int
    height: float
    prominence: float
    fwhm: float
    significance: float

    @property
    def footprint(self) -> Range:
        return (self.left, self.right)


@dataclass(frozen=True)
class Test(_Plain):
    """One validation test: what was measured, against what, and whether it passed."""

    name: str
    passed: bool
    value: float
    threshold: float
    detail: str = ""


@dataclass(frozen=True, eq=False)
class RangeCheck(_Plain):
    """Validation of a buffer or sample range (one or several sub-ranges).

    Falsy when not valid; ``reasons`` names every failed test.
    """

    kind: str
    ranges: tuple[Range, ...]
    valid: bool
    tests: tuple[Test, ...]
    reasons: tuple[str, ...] = ()

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
class RangeSearch(_Plain):
    """Outcome of an automatic range search: the range found and its validation, or why not.

    Falsy when no valid range was found; ``reason`` then says why, and ``check`` holds the
    validation of the best candidate that failed (None when no candidate existed).
    """

    kind: str
    found: bool
    ranges: tuple[Range, ...]
    check: RangeCheck | None
    reason: str
    candidates_tested: int
    peak: Peak | None = None

    def __bool__(self) -> bool:
        return self.found

    def __str__(self) -> str:
        if not self.found:
            return f"{self.kind} range: none found ({self.reason})"
        return str(self.check)


@dataclass(frozen=True, eq=False)
class FrameParameters(_Plain):
    """Per-frame Rg, I0, MW of the sliding-window averages of the subtracted frames.

    Frame k's values come from the average of frames k − h .. k + h (``window`` = 2h + 1).
    ``status`` is ``"ok"`` or why the frame has no value: ``"edge"`` (window incomplete),
    ``"low_signal"``, ``"no_guinier"`` (ln I does not fall with q²), ``"imprecise"`` (Rg
    known to worse than ``max_rel_err``), ``"qrg_range"`` (window outside the Guinier
    limits). ``mw_status`` likewise for the MW columns (``"q_range_too_short"``, ...).
    Lengths are in the unit matching ``q_unit``.
    """

    rg: np.ndarray
    rg_err: np.ndarray
    i0: np.ndarray
    i0_err: np.ndarray
    first: np.ndarray
    last: np.ndarray
    mw_vc_kda: np.ndarray
    mw_vp_kda: np.ndarray
    snr: np.ndarray
    status: np.ndarray
    mw_status: np.ndarray
    window: int
    q_unit: str
    guinier_start: int
    qrg_max: float
    iterations: int

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
class SVDResult(_Plain):
    """Singular value decomposition of a block of frames (σ-normalised) and its rank.

    ``singular_values`` are those of the matrix I/σ̄ (σ̄ the mean σ of each q bin);
    ``u_autocorr`` / ``v_autocorr`` the lag-1 autocorrelation of each left (q) and right
    (frame) vector; ``threshold`` the optimal hard threshold (Gavish & Donoho 2014) the
    values were compared with.
    """

    frames: Range
    singular_values: np.ndarray
    u_autocorr: np.ndarray
    v_autocorr: np.ndarray
    threshold: float
    rank: int
    u: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    v: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    _array_fields = ("singular_values", "u_autocorr", "v_autocorr", "u", "v")


@dataclass(frozen=True, eq=False)
class EFAResult(_Plain):
    """Evolving factor analysis of a frame range and its rotation to concentrations.

    ``forward[k]`` / ``backward[k]`` hold the top singular values of frames
    first..first+k / last−k..last; ``ranges`` each component's existence range (frames);
    ``concentrations`` (n_frames × n_components) and ``profiles`` (n_q × n_components, with
    ``profile_sigma``) the rotated solution; ``chi2`` its reduced χ² against the data.
    """

    frames: Range
    n_components: int
    forward: np.ndarray
    backward: np.ndarray
    noise_level: float
    ranges: tuple[Range, ...]
    concentrations: np.ndarray
    profiles: np.ndarray
    profile_sigma: np.ndarray
    converged: bool
    iterations: int
    chi2: float
    flags: tuple[str, ...] = ()

    _array_fields = ("forward", "backward", "concentrations", "profiles", "profile_sigma")

    def __bool__(self) -> bool:
        return self.converged and self.n_components > 0


@dataclass(frozen=True, eq=False)
class Deconvolution(_Plain):
    """Regularised alternating least squares (REGALS-class) separation of a frame range.

    Concentrations are smooth (second-difference penalty) and zero outside each
    component's range; λ per component is chosen automatically (``lambdas``).
    ``chi2`` is the reduced χ² of the fit against the frames' σ.
    """

    frames: Range
    ranges: tuple[Range, ...]
    lambdas: tuple[float, ...]
    concentrations: np.ndarray
    profiles: np.ndarray
    profile_sigma: np.ndarray
    chi2: float
    iterations: int
    converged: bool
    flags: tuple[str, ...] = ()

    _array_fields = ("concentrations", "profiles", "profile_sigma")

    def __bool__(self) -> bool:
        return self.converged


@dataclass(frozen=True, eq=False)
class Baseline(_Plain):
    """A q-dependent baseline subtracted frame by frame (linear or integral).

    ``correction`` is (n_frames × n_q); ``converged``/``iterations`` describe the integral
    method's fixed-point iteration (always True/0 for the linear one).
    """

    method: str
    start_range: Range
    end_range: Range
    correction: np.ndarray
    converged: bool
    iterations: int
    change: float
    flags: tuple[str, ...] = ()

    _array_fields = ("correction",)


@dataclass(frozen=True, eq=False)
class Component(_Plain):
    """One separated species: where it elutes and the analysis of its averaged curve.

    ``analysis`` is a :class:`halos_analysis.analysis.pipeline.SampleAnalysis` of the subtracted
    averaged (or deconvolved) curve; ``method`` says how the curve was made
    (``"average"``, ``"efa"``, ``"regals"``).
    """

    index: int
    range: Range
    method: str
    analysis: Any
    flags: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The keys of the ``halos series --json`` contract for this component."""
        a = self.analysis
        g, pr, mw = a.guinier, a.pr, a.mw
        return _plain(
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
                "length_unit": "A" if g.q_unit == "A^-1" else "nm",
                "flags": list(dict.fromkeys([*self.flags, *a.flags])),
            }
        )

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        d = self.summary()
        d["analysis"] = self.analysis.to_dict(arrays)
        return d
