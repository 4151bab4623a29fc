# SPDX-License-Identifier: MIT
"""One sample measured twice (two detectors, facilities or beamtimes): are the results the same?

:func:`compare_measurements` takes the subtracted curves and the analysis results of two or
more measurements of the same sample and

1. puts the curves on a common q grid over their common q range: the bins of the most
   coarsely sampled curve (merged where another curve has no point), each curve averaged
   within a bin with 1/σ² weights and corrected to the bin's q with its local slope (a
   straight-line fit over ±10 bins), so that no interpolation correlates neighbouring points
   (which would lengthen CorMap runs and inflate χ²);
2. fits one scale factor (and optionally a flat background) of each curve onto the first,
   minimising Σ (I₁ − s·I − b)² / (σ₁² + s²σ²) — the errors of both curves count;
3. tests the scaled curves' similarity: CorMap (:func:`halos_analysis.reduce.cormap_test`,
   Bonferroni over the pairs) and the reduced χ² with both σ (its p-value);
4. compares Rg, I0 (after the scale), Dmax and MW with their uncertainties: the difference in
   units of its combined standard uncertainty, k = |x − x₁| / √(σ² + σ₁²);
5. gives a verdict per quantity ("consistent" when k < ``k_sigma`` and the curve tests pass
   at ``alpha``, else "differs by kσ") and an overall one (consistent when every compared
   quantity is).

MW has no uncertainty of its own (the MW code gives the spread between its methods): its
uncertainty is taken as half that spread, at least :data:`MW_RELATIVE_ACCURACY` of the value
(the accuracy the Porod-volume and Vc methods are known to reach).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, SimilarityResult

__all__ = [
    "MW_RELATIVE_ACCURACY",
    "Comparison",
    "MeasuredSample",
    "QuantityComparison",
    "ScaleFit",
    "common_grid",
    "compare_measurements",
    "fit_scale",
    "rebin",
]

#: Relative accuracy of an MW estimate from the Porod volume or Vc (~10 %), the floor of the
#: MW uncertainty used in a comparison.
MW_RELATIVE_ACCURACY = 0.10


@dataclass(frozen=True)
class MeasuredSample:
    """What a comparison needs of one measurement: its curve and its results (None = absent).

    Lengths are in the length unit of ``curve.q_unit``; ``mw_kda`` is the consensus MW and
    ``mw_spread_kda`` the range between the MW methods.
    """

    name: str
    curve: Curve
    rg: float | None = None
    rg_err: float | None = None
    i0: float | None = None
    i0_err: float | None = None
    dmax: float | None = None
    dmax_err: float | None = None
    mw_kda: float | None = None
    mw_spread_kda: float | None = None
    source: str = ""
    #: Quantity ("Rg", "I0", "Dmax", "MW") -> the flags that cast doubt on it in this result.
    doubts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScaleFit:
    """Scale (and background) of one curve onto the reference: I_ref ≈ scale·I + background."""

    scale: float
    scale_err: float
    background: float
    background_err: float
    chi2_red: float
    dof: int
    p_value: float


@dataclass(frozen=True)
class QuantityComparison:
    """One quantity across the measurements, the first being the reference.

    ``k`` holds |x − x_ref| / σ_combined for every other measurement (None where it could not
    be computed); ``consistent`` is None when the quantity could not be compared at all.
    """

    name: str
    unit: str
    values: tuple[float | None, ...]
    errors: tuple[float | None, ...]
    k: tuple[float | None, ...]
    consistent: bool | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "values": list(self.values),
            "errors": list(self.errors),
            "k_sigma": list(self.k),
            "consistent": self.consistent,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, eq=False)
class Comparison:
    """The comparison of measurements of one sample (see the module description).

    ``intensity``/``sigma`` are the curves on the common grid ``q``, each already multiplied
    by its scale and shifted by its background (the reference unchanged); ``fits[0]`` is the
    reference's own (scale 1).
    """

    names: tuple[str, ...]
    q: np.ndarray
    q_unit: str
    intensity: np.ndarray
    sigma: np.ndarray
    fits: tuple[ScaleFit, ...]
    cormap: SimilarityResult
    quantities: tuple[QuantityComparison, ...]
    consistent: bool
    verdict: str
    alpha: float
    k_sigma: float
    background: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "names": list(self.names),
            "q_unit": self.q_unit,
            "q_range": [float(self.q[0]), float(self.q[-1])],
            "n_points": int(len(self.q)),
            "alpha": self.alpha,
            "k_sigma": self.k_sigma,
            "background_fitted": self.background,
            "fits": [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in vars(f).items()
                }  # fmt: skip
                for f in self.fits
            ],
            "cormap_pvalues": np.asarray(self.cormap.pvalues).tolist(),
            "cormap_adjusted": np.asarray(self.cormap.adjusted).tolist(),
            "cormap_longest_run": np.asarray(self.cormap.longest_run).tolist(),
            "quantities": [qc.to_dict() for qc in self.quantities],
            "consistent": self.consistent,
            "verdict": self.verdict,
            "notes": list(self.notes),
        }
        if arrays:
            d["q"] = self.q.tolist()
            d["intensity"] = self.intensity.tolist()
            d["sigma"] = self.sigma.tolist()
        return d


def _usable(c: Curve) -> np.ndarray:
    return np.isfinite(c.q) & np.isfinite(c.intensity) & np.isfinite(c.sigma) & (c.sigma > 0)


def common_grid(curves: Sequence[Curve]) -> np.ndarray:
    """Bin edges of the common grid over the common q range (all curves in one q unit).

    The bins are those of the curve with the fewest points in the common range, merged
    where another curve has no point in a bin.

    Raises
    ------
    HalosInputError
        When the curves' q ranges do not overlap in at least 10 points.
    """
    qs = [c.q[_usable(c)] for c in curves]
    lo = max(float(q.min()) for q in qs)
    hi = min(float(q.max()) for q in qs)
    inside = [q[(q >= lo) & (q <= hi)] for q in qs]
    ref = min(inside, key=len)
    if len(ref) < 10:
        raise HalosInputError(
            f"the curves share only {len(ref)} points of q range ({lo:.4g} to {hi:.4g})",
            field="q range",
        )
    mids = 0.5 * (ref[1:] + ref[:-1])
    edges = np.concatenate(([lo], mids, [hi]))
    edges[-1] = np.nextafter(hi, np.inf)  # the last point belongs to the last bin
    while True:
        counts = [np.histogram(q, edges)[0] for q in inside]
        empty = np.zeros(len(edges) - 1, bool)
        for cnt in counts:
            empty |= cnt == 0
        if not empty.any():
            return edges
        k = int(np.argmax(empty))
        # Merge the empty bin with its neighbour (the right one, or the left at the end).
        drop = k + 1 if k + 1 < len(edges) - 1 else k
        edges = np.delete(edges, drop)
        if len(edges) < 11:
            raise HalosInputError("the curves have too few points in common", field="q grid")


def rebin(curve: Curve, edges: np.ndarray, q_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intensity and σ of ``curve`` in each bin, corrected to ``q_out`` with its local slope.

    Parameters
    ----------
    curve : Curve
        In the unit of ``edges``.
    edges : ndarray
        Bin edges (n + 1).
    q_out : ndarray
        The q each bin's value is given at (n).

    Returns
    -------
    intensity, sigma : ndarray
        Weighted (1/σ²) means of the points in each bin, moved from their mean q to
        ``q_out`` along the local slope (a straight-line fit over the neighbouring bins).
    """
    ok = _usable(curve)
    q, y, s = curve.q[ok], curve.intensity[ok], curve.sigma[ok]
    idx = np.searchsorted(edges, q, side="right") - 1
    n = len(edges) - 1
    keep = (idx >= 0) & (idx < n)
    idx, q, y, s = idx[keep], q[keep], y[keep], s[keep]
    w = 1.0 / s**2
    sw = np.bincount(idx, w, n)
    mean_y = np.bincount(idx, w * y, n) / sw
    mean_q = np.bincount(idx, w * q, n) / sw
    sigma = 1.0 / np.sqrt(sw)
    slope = _local_slope(mean_q, mean_y, sw, _SLOPE_HALF_WIDTH)
    return mean_y + slope * (q_out - mean_q), sigma


# Half width (bins) of the local linear fit that gives the slope of a rebinned curve. The
# correction moves a bin's mean by up to half a bin along this slope: from the two nearest
# neighbours alone its noise would add ~0.35 σ to the point (and correlate neighbours); over
# ±10 bins it adds < 0.01 σ, and a symmetric window keeps the curvature out of the slope.
_SLOPE_HALF_WIDTH = 10


def _local_slope(x: np.ndarray, y: np.ndarray, w: np.ndarray, half: int) -> np.ndarray:
    """Slope of a weighted straight-line fit over ±``half`` points around each point."""
    n = len(x)
    if n < 3:
        return np.zeros(n)
    x0 = x - x.mean()

    def window(v: np.ndarray) -> np.ndarray:
        c = np.concatenate(([0.0], np.cumsum(v)))
        lo = np.clip(np.arange(n) - half, 0, n)
        hi = np.clip(np.arange(n) + half + 1, 0, n)
        return c[hi] - c[lo]

    s0, s1, s2 = window(w), window(w * x0), window(w * x0 * x0)
    sy, sxy = window(w * y), window(w * x0 * y)
    det = s0 * s2 - s1 * s1
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (s0 * sxy - s1 * sy) / det
    return np.where(np.isfinite(slope), slope, 0.0)


def fit_scale(
    y_ref: np.ndarray,
    s_ref: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    background: bool = False,
) -> ScaleFit:
    """Fit y_ref ≈ scale·y (+ background) with the errors of both curves.

    Minimises Σ (y_ref − a·y − b)² / (s_ref² + a²s²) by iterated weighted least squares
    (the weights depend on a). Uncertainties are those of the last weighted fit.
    """
    from scipy import stats

    a, b = float(np.sum(y_ref * y / s_ref**2) / np.sum(y * y / s_ref**2)), 0.0
    cols = 2 if background else 1
    cov = np.full((cols, cols), np.nan)
    for _ in range(50):
        w = 1.0 / (s_ref**2 + a**2 * s**2)
        design = np.stack([y, np.ones_like(y)], axis=1)[:, :cols]
        ata = design.T @ (design * w[:, None])
        atb = design.T @ (w * y_ref)
        try:
            sol = np.linalg.solve(ata, atb)
            cov = np.linalg.inv(ata)
        except np.linalg.LinAlgError:
            raise HalosInputError("the scale fit is singular (curves of zeros?)") from None
        new_a, new_b = float(sol[0]), float(sol[1]) if background else 0.0
        done = abs(new_a - a) <= 1e-12 * abs(a) and abs(new_b - b) <= 1e-12 * (abs(b) + 1e-300)
        a, b = new_a, new_b
        if done:
            break
    w = 1.0 / (s_ref**2 + a**2 * s**2)
    chi2 = float(np.sum(w * (y_ref - a * y - b) ** 2))
    dof = len(y) - cols
    return ScaleFit(
        scale=a,
        scale_err=float(math.sqrt(cov[0, 0])),
        background=b,
        background_err=float(math.sqrt(cov[1, 1])) if background else 0.0,
        chi2_red=chi2 / dof,
        dof=dof,
        p_value=float(stats.chi2.sf(chi2, dof)),
    )


def _k(x: float | None, e: float | None, x0: float | None, e0: float | None) -> float | None:
    if None in (x, e, x0, e0) or not all(map(math.isfinite, (x, e, x0, e0))):
        return None
    comb = math.hypot(e, e0)
    if comb <= 0:
        return None
    return abs(x - x0) / comb


def _quantity(
    name: str,
    unit: str,
    values: list,
    errors: list,
    k_sigma: float,
    samples: Sequence[MeasuredSample] = (),
) -> QuantityComparison:
    ks = tuple(_k(values[j], errors[j], values[0], errors[0]) for j in range(1, len(values)))
    known = [k for k in ks if k is not None]
    key = name.split(" ")[0]
    doubt = "; ".join(
        f"doubtful in {s.name}: {s.doubts[key]}" for s in samples if s.doubts.get(key)
    )
    if not known:
        missing = [samples[i].name if samples else str(i)
                   for i, v in enumerate(values) if v is None]  # fmt: skip
        why = "missing in " + ", ".join(missing) if missing else "no uncertainty"
        return QuantityComparison(name, unit, tuple(values), tuple(errors), ks, None,
                                  f"not compared ({why})")  # fmt: skip
    worst = max(known)
    ok = worst < k_sigma
    verdict = f"consistent ({worst:.1f}σ)" if ok else f"differs by {worst:.1f}σ"
    if doubt:
        verdict += f" ({doubt})"
    return QuantityComparison(name, unit, tuple(values), tuple(errors), ks, ok, verdict)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def compare_measurements(
    samples: Sequence[MeasuredSample],
    *,
    background: bool = False,
    alpha: float = 0.01,
    k_sigma: float = 3.0,
) -> Comparison:
    """Compare measurements of one sample; the first is the reference (see module doc).

    Parameters
    ----------
    samples : sequence of MeasuredSample
        Two or more; their curves may be in different q units (converted to the first's).
    background : bool
        Also fit a flat background of each curve onto the reference.
    alpha : float
        Level of the CorMap test (Bonferroni-adjusted over the pairs) and of the χ² test.
    k_sigma : float
        A quantity differs when its difference exceeds this many combined standard
        uncertainties.

    Returns
    -------
    Comparison

    Raises
    ------
    HalosInputError
        Fewer than two samples, or curves without a common q range.
    """
    from halos_analysis.reduce import cormap_test

    if len(samples) < 2:
        raise HalosInputError("a comparison needs at least two results", field="results")
    if not 0 < alpha < 1:
        raise HalosInputError(f"alpha must be between 0 and 1, got {alpha}", field="alpha")
    unit = samples[0].curve.q_unit
    curves = [s.curve.to_unit(unit) for s in samples]
    notes = []
    i_units = {c.meta.get("intensity_unit") for c in curves}
    if len(i_units) > 1:
        notes.append(f"intensity units differ ({', '.join(map(str, i_units))}): the scale "
                     "factor absorbs it")  # fmt: skip
    edges = common_grid(curves)
    # Each bin's q: the reference grid's own point where a bin holds one.
    ref_curve = min(curves, key=lambda c: np.histogram(c.q[_usable(c)], edges)[0].sum())
    ok = _usable(ref_curve)
    idx = np.searchsorted(edges, ref_curve.q[ok], side="right") - 1
    inside = (idx >= 0) & (idx < len(edges) - 1)
    n_bins = len(edges) - 1
    q_out = np.bincount(idx[inside], ref_curve.q[ok][inside], n_bins) / np.bincount(
        idx[inside], None, n_bins
    )
    grid = [rebin(c, edges, q_out) for c in curves]
    y0, s0 = grid[0]
    fits = [ScaleFit(1.0, 0.0, 0.0, 0.0, math.nan, 0, math.nan)]
    scaled_i, scaled_s = [y0], [s0]
    for y, s in grid[1:]:
        fit = fit_scale(y0, s0, y, s, background)
        fits.append(fit)
        scaled_i.append(fit.scale * y + fit.background)
        scaled_s.append(abs(fit.scale) * s)
    on_grid = [
        Curve(q_out, yi, si, unit, name=samples[k].name)
        for k, (yi, si) in enumerate(zip(scaled_i, scaled_s, strict=True))
    ]
    cormap = cormap_test(on_grid, correction="bonferroni", alpha=alpha)
    lu = samples[0].curve.length_unit
    other = range(1, len(samples))
    quantities = []
    adj = np.asarray(cormap.adjusted)
    p_ref = [float(adj[0, j]) for j in other]
    worst_p = min(p_ref)
    quantities.append(
        QuantityComparison(
            "curves (CorMap)",
            "p",
            (None, *p_ref),
            tuple(None for _ in samples),
            tuple(None for _ in other),
            worst_p >= alpha,
            f"consistent (adjusted p = {worst_p:.3g})"
            if worst_p >= alpha
            else f"differs (adjusted p = {worst_p:.2g} < {alpha:g})",
        )
    )
    chi = [f.chi2_red for f in fits[1:]]
    pch = [f.p_value for f in fits[1:]]
    worst = int(np.argmin(pch))
    quantities.append(
        QuantityComparison(
            "curves (reduced χ², both σ)",
            "",
            (None, *chi),
            tuple(None for _ in samples),
            tuple(None for _ in other),
            pch[worst] >= alpha,
            (
                f"consistent (χ²_red = {chi[worst]:.3f}, p = {pch[worst]:.3g})"
                if pch[worst] >= alpha
                else f"differs (χ²_red = {chi[worst]:.3f}, p = {pch[worst]:.2g})"
            ),
        )
    )
    rg = [_num(s.rg) for s in samples]
    rg_e = [_num(s.rg_err) for s in samples]
    quantities.append(_quantity("Rg", lu, rg, rg_e, k_sigma, samples))
    # I0 of the scaled curve: scale·I0 + background, with the scale's own uncertainty.
    i0, i0_e = [], []
    for s, fit in zip(samples, fits, strict=True):
        v, e = _num(s.i0), _num(s.i0_err)
        if v is None or e is None:
            i0.append(v if v is None else fit.scale * v + fit.background)
            i0_e.append(None)
            continue
        i0.append(fit.scale * v + fit.background)
        i0_e.append(math.hypot(fit.scale * e, v * fit.scale_err, fit.background_err))
    iu = samples[0].curve.meta.get("intensity_unit") or "arbitrary"
    quantities.append(_quantity("I0 (after scale)", iu, i0, i0_e, k_sigma, samples))
    quantities.append(
        _quantity(
            "Dmax",
            lu,
            [_num(s.dmax) for s in samples],
            [_num(s.dmax_err) for s in samples],
            k_sigma,
            samples,
        )  # fmt: skip
    )
    mw, mw_e = [], []
    for s in samples:
        v = _num(s.mw_kda)
        mw.append(v)
        spread = _num(s.mw_spread_kda) or 0.0
        mw_e.append(None if v is None else max(0.5 * spread, MW_RELATIVE_ACCURACY * abs(v)))
    quantities.append(_quantity("MW (consensus)", "kDa", mw, mw_e, k_sigma, samples))
    compared = [qc for qc in quantities if qc.consistent is not None]
    consistent = all(qc.consistent for qc in compared)
    bad = [f"{qc.name}: {qc.verdict}" for qc in compared if not qc.consistent]
    verdict = "consistent" if consistent else "differs — " + "; ".join(bad)
    return Comparison(
        names=tuple(s.name for s in samples),
        q=q_out,
        q_unit=unit,
        intensity=np.vstack(scaled_i),
        sigma=np.vstack(scaled_s),
        fits=tuple(fits),
        cormap=cormap,
        quantities=tuple(quantities),
        consistent=consistent,
        verdict=verdict,
        alpha=alpha,
        k_sigma=k_sigma,
        background=background,
        notes=tuple(notes),
    )
