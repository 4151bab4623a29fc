# SPDX-License-Identifier: MIT
"""Figures of a sample and of a run, as PNG and SVG, with matplotlib (no display needed).

Every function takes typed results, writes ``<out_base>.png`` and ``<out_base>.svg`` (or the
``formats`` asked for) and returns the paths written. Figures are built on
:class:`matplotlib.figure.Figure` directly, not through ``pyplot``, so no global state is kept
and nothing needs a display. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from halos_analysis.types import (
    Curve,
    GuinierResult,
    KratkyResult,
    PrResult,
    SimilarityResult,
)
from halos_analysis.units import Q_UNITS as Q_UNIT_REGISTRY
from halos_analysis.units import axis_label, unit_of_kind

FORMATS: tuple[str, ...] = ("png", "svg")
#: Peak of the dimensionless Kratky plot of a compact globular particle: (√3, 3/e).
GLOBULAR_PEAK = (math.sqrt(3.0), 3.0 / math.e)

# Axis labels of q and q² in each q unit, spelled by the units registry.
_Q_LABEL = {u: axis_label("q", "q", u) for u in Q_UNIT_REGISTRY}
_Q2_LABEL = {u: axis_label("q$^2$", "q^2", u) for u in Q_UNIT_REGISTRY}


def save_figure(
    fig: Figure,
    out_base: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    dpi: float = 110,
    bbox_inches: str | None = "tight",
) -> list[Path]:
    """Write ``fig`` as ``<out_base>.<fmt>`` for each format, each to a temporary name first
    and renamed (a reader never sees half a figure); the paths written.

    Examples
    --------
    >>> import tempfile
    >>> fig = Figure(figsize=(2, 2))
    >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_figure(fig, Path(tmp) / "sub" / "line", ("png", "svg"))]
    ['line.png', 'line.svg']
    """
    out_base = Path(out_base)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = out_base.with_name(f"{out_base.name}.{fmt}")
        tmp = path.with_name(path.name + ".part")
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=bbox_inches)
        tmp.replace(path)
        paths.append(path)
    return paths


#: The parameters and the return value every figure function shares, documented once and
#: filled into each docstring (where it says ``{out_base}`` and ``{formats_and_returns}``).
_SHARED_DOC = {
    "{out_base}": """out_base : str or Path
    Output path without extension; ``<out_base>.<fmt>`` is written for each format.""",
    "{formats_and_returns}": """formats : sequence of str
    Matplotlib file formats to write (default PNG and SVG).

Returns
-------
list of Path
    The files written, one per format.""",
}


def _figure_doc(func):
    """Fill the shared entries of :data:`_SHARED_DOC` into ``func``'s docstring, indented
    as the line that names them."""
    lines = []
    for line in (func.__doc__ or "").splitlines():
        shared = _SHARED_DOC.get(line.strip())
        if shared is None:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines += [indent + text if text else "" for text in shared.splitlines()]
    func.__doc__ = "\n".join(lines)
    return func


def _figure(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A figure of ``width`` x ``height`` inches (no pyplot, no display) and its axes, as
    :meth:`~matplotlib.figure.Figure.subplots` returns them."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(nrows, ncols, **kwargs)


#: Above this many points a curve's errors are drawn as a band, not as bars: 800 bars per
#: curve cost ~0.4 s per figure and format to draw and hide the points they belong to.
MAX_ERROR_BARS = 200
#: More samples than this in a run overview are coloured by order instead of named.
MAX_LEGEND_ENTRIES = 20


def _points_with_errors(
    ax,
    x,
    y,
    err,
    *,
    color: str,
    label: str,
    ms: float = 2.0,
    lw=0.5,
    alpha: float = 0.8,
    log_y: bool = False,
) -> None:
    """Points with their ±σ: error bars for sparse curves, a shaded band for dense ones."""
    err = np.nan_to_num(np.asarray(err, dtype=float))
    if len(x) <= MAX_ERROR_BARS:
        ax.errorbar(
            x,
            y,
            yerr=err,
            fmt=".",
            ms=ms,
            lw=lw,
            color=color,
            ecolor=color,
            alpha=alpha,
            label=label,
        )
        return
    low = y - err
    if log_y:
        # A band reaching zero or below cannot be drawn on a log axis: clip it at the point.
        low = np.where(low > 0, low, y)
    ax.fill_between(x, low, y + err, color=color, alpha=0.25, lw=0)
    ax.plot(x, y, ".", ms=ms, color=color, alpha=alpha, label=label)


def _positive(curve: Curve) -> np.ndarray:
    return np.isfinite(curve.intensity) & (curve.intensity > 0) & (curve.q > 0)


@_figure_doc
def plot_intensity(
    out_base: str | Path,
    *,
    subtracted: Curve,
    sample: Curve | None = None,
    buffer: Curve | None = None,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """I(q) on log-log axes with error bars: sample, buffer and the subtracted curve.

    Points with I ≤ 0 (normal at high q after subtraction) cannot be shown on a log axis and
    are left out of the plot, not of the data.

    Parameters
    ----------
    {out_base}
    subtracted : Curve
        Buffer-subtracted curve; its q unit (Å⁻¹ or nm⁻¹) labels the q axis.
    sample, buffer : Curve, optional
        Averaged sample and buffer curves, drawn as they are (not converted, so they should
        be in the same q unit as ``subtracted``).
    title : str
        Figure title; the subtracted curve's name when empty.
    {formats_and_returns}
    """
    fig, ax = _figure(6.0, 4.5)
    for curve, label, color in (
        (sample, "sample", "tab:blue"),
        (buffer, "buffer", "tab:gray"),
        (subtracted, "subtracted", "tab:red"),
    ):
        if curve is None:
            continue
        ok = _positive(curve)
        _points_with_errors(
            ax,
            curve.q[ok],
            curve.intensity[ok],
            curve.sigma[ok],
            color=color,
            label=label,
            log_y=True,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_Q_LABEL[subtracted.q_unit])
    ax.set_ylabel("I(q)")
    ax.set_title(title or subtracted.name)
    ax.legend(frameon=False)
    return save_figure(fig, out_base, formats)


@_figure_doc
def plot_guinier(
    out_base: str | Path,
    curve: Curve,
    guinier: GuinierResult,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Guinier plot ln I against q² with the fit, its range, and the normalised residuals.

    Parameters
    ----------
    {out_base}
    curve : Curve
        The curve the fit was made on (``guinier.first``/``last`` index its points).
    guinier : GuinierResult
        The fit; when not valid only the data (first ~40 points) are shown.
    title : str
        Figure title; the curve's name when empty. The fit's qRg range is appended.
    {formats_and_returns}
    """
    fig, (ax, res) = _figure(6.0, 5.5, 2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    lu = unit_of_kind("length", curve.q_unit, spelling="label")
    if guinier.found:
        first, last = guinier.first, guinier.last
        qmax_show = curve.q[min(len(curve) - 1, last + max(5, (last - first) // 2))]
    else:
        first, last = 0, -1
        qmax_show = curve.q[min(len(curve) - 1, 40)]
    show = _positive(curve) & (curve.q <= qmax_show)
    q2 = curve.q**2
    ln_i = np.log(curve.intensity[show])
    ln_err = curve.sigma[show] / curve.intensity[show]
    ax.errorbar(q2[show], ln_i, yerr=ln_err, fmt=".", ms=3, lw=0.5, color="tab:gray", label="data")
    if guinier.found:
        fit = slice(first, last + 1)
        ax.errorbar(
            q2[fit],
            np.log(curve.intensity[fit]),
            yerr=curve.sigma[fit] / curve.intensity[fit],
            fmt="o",
            ms=3,
            lw=0.5,
            color="tab:blue",
            label=f"fit range {first}–{last}",
        )
        model = math.log(guinier.I0) - q2 * guinier.Rg**2 / 3.0
        ax.plot(
            q2[show],
            model[show],
            "-",
            color="tab:red",
            label=f"Rg = {guinier.Rg:.4g} ± {guinier.Rg_err:.2g} {lu}",
        )
        for x in (q2[first], q2[last]):
            ax.axvline(x, color="tab:blue", lw=0.6, ls=":")
        resid = (np.log(curve.intensity[fit]) - model[fit]) / (
            curve.sigma[fit] / curve.intensity[fit]
        )
        res.plot(q2[fit], resid, "o", ms=3, color="tab:blue")
        res.axhline(0.0, color="tab:red", lw=0.8)
        ax.set_title((title or curve.name) + f"   qRg {guinier.qRg_min:.2f}–{guinier.qRg_max:.2f}")
    else:
        ax.set_title((title or curve.name) + "   no Guinier region found")
    ax.set_ylabel("ln I(q)")
    ax.legend(frameon=False, fontsize=8)
    res.set_xlabel(_Q2_LABEL[curve.q_unit])
    res.set_ylabel("residual / σ")
    return save_figure(fig, out_base, formats)


@_figure_doc
def plot_kratky(
    out_base: str | Path,
    kratky: KratkyResult,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Dimensionless Kratky plot (qRg)²·I/I0 against qRg, with the globular reference.

    Parameters
    ----------
    {out_base}
    kratky : KratkyResult
        Dimensionless Kratky curve; shown up to qRg = 10, its flags appended to the title.
    title : str
        Figure title; "dimensionless Kratky" when empty.
    {formats_and_returns}
    """
    fig, ax = _figure(6.0, 4.5)
    ok = np.isfinite(kratky.kratky)
    _points_with_errors(
        ax,
        kratky.qrg[ok],
        kratky.kratky[ok],
        kratky.kratky_err[ok],
        color="tab:blue",
        label="data",
        ms=3,
        lw=0.4,
        alpha=1.0,
    )
    ax.plot(*GLOBULAR_PEAK, "+", ms=14, mew=2, color="tab:red", label="globular peak (√3, 3/e)")
    ax.axvline(GLOBULAR_PEAK[0], color="tab:red", lw=0.5, ls=":")
    ax.axhline(GLOBULAR_PEAK[1], color="tab:red", lw=0.5, ls=":")
    ax.set_xlim(0, min(float(np.nanmax(kratky.qrg)) if ok.any() else 10.0, 10.0))
    ax.set_ylim(
        bottom=min(-0.1, float(np.nanmin(kratky.kratky[ok])) if ok.any() else 0.0),
        top=max(2.0, GLOBULAR_PEAK[1] * 1.5),
    )
    ax.set_xlabel("qRg")
    ax.set_ylabel("(qRg)$^2$ I(q)/I(0)")
    extra = f" [{', '.join(kratky.flags)}]" if kratky.flags else ""
    ax.set_title((title or "dimensionless Kratky") + extra)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, out_base, formats)


@_figure_doc
def plot_pr(
    out_base: str | Path,
    pr: PrResult,
    curve: Curve | None = None,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """P(r) with its error band, and the data against the transform of P(r).

    Parameters
    ----------
    {out_base}
    pr : PrResult
        P(r); r, Dmax and Rg are in the length unit matching ``pr.q_unit`` (Å or nm).
    curve : Curve, optional
        The data, converted to ``pr.q_unit`` and shown over the fitted q range.
    title : str
        Prefix of the P(r) panel's title (Dmax and Rg follow).
    {formats_and_returns}
    """
    lu = unit_of_kind("length", pr.q_unit, spelling="label")
    fig, (ax, fit) = _figure(10.0, 4.2, 1, 2)
    ax.plot(pr.r, pr.pr, "-", color="tab:blue")
    ax.fill_between(pr.r, pr.pr - pr.pr_err, pr.pr + pr.pr_err, color="tab:blue", alpha=0.25)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel(axis_label("r", "length", pr.q_unit))
    ax.set_ylabel("P(r)")
    ax.set_title(f"{title}  Dmax = {pr.Dmax:.4g} {lu}, Rg = {pr.Rg:.4g} {lu}".strip())
    if curve is not None:
        c = curve.to_unit(pr.q_unit)
        ok = _positive(c) & (c.q >= pr.q_fit.min()) & (c.q <= pr.q_fit.max())
        _points_with_errors(
            fit,
            c.q[ok],
            c.intensity[ok],
            c.sigma[ok],
            color="tab:gray",
            label="data",
            lw=0.4,
            alpha=1.0,
            log_y=True,
        )
    good = pr.i_fit > 0
    fit.plot(
        pr.q_fit[good], pr.i_fit[good], "-", color="tab:red", label=f"P(r) fit, χ² = {pr.chi2:.3g}"
    )
    fit.set_yscale("log")
    fit.set_xlabel(_Q_LABEL[pr.q_unit])
    fit.set_ylabel("I(q)")
    fit.legend(frameon=False, fontsize=8)
    return save_figure(fig, out_base, formats)


@_figure_doc
def plot_similarity(
    out_base: str | Path,
    similarity: SimilarityResult,
    frame_ids: Sequence[int] | None = None,
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """CorMap matrix of adjusted pairwise p-values (log scale), rejected frames marked.

    Parameters
    ----------
    {out_base}
    similarity : SimilarityResult
        Pairwise test; adjusted p-values are clipped to [1e-6, 1] for the colour scale.
    frame_ids : sequence of int, optional
        Frame numbers for the axis labels; positions in the test when not given.
    title : str
        Figure title; "frame similarity (CorMap)" when empty. Counts kept, α and the
        correction follow on a second line.
    {formats_and_returns}
    """
    n = len(similarity.adjusted)
    ids = list(frame_ids) if frame_ids is not None else list(range(n))
    fig, ax = _figure(6.0, 5.0)
    with np.errstate(divide="ignore"):
        logp = np.log10(np.clip(np.asarray(similarity.adjusted, dtype=float), 1e-6, 1.0))
    im = ax.imshow(logp, vmin=-6, vmax=0, cmap="viridis", origin="upper", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="log$_{10}$ adjusted p")
    rejected = sorted(similarity.rejected)
    for i in rejected:
        ax.axhline(i, color="tab:red", lw=0.8, alpha=0.7)
        ax.axvline(i, color="tab:red", lw=0.8, alpha=0.7)
    if rejected:
        ax.plot(rejected, rejected, "x", color="tab:red", ms=8, mew=2, label="rejected")
        ax.legend(frameon=False, fontsize=8, loc="upper right")
    step = max(1, n // 12)
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [str(ids[t]) for t in ticks])
    ax.set_yticks(ticks, [str(ids[t]) for t in ticks])
    ax.set_xlabel("frame")
    ax.set_ylabel("frame")
    ax.set_title(
        (title or "frame similarity (CorMap)")
        + f"\n{len(similarity.selected)}/{n} kept, α = {similarity.alpha:g}, "
        + f"{similarity.correction}"
    )
    return save_figure(fig, out_base, formats)


@_figure_doc
def plot_overview(
    out_base: str | Path,
    samples: Sequence[tuple[str, Curve, GuinierResult | None]],
    title: str = "",
    formats: Sequence[str] = FORMATS,
) -> list[Path]:
    """Every sample of a run: I(q)/I(0) on log-log axes, and dimensionless Kratky plots.

    Curves are normalised by their Guinier I(0) (by the median of their first 10 positive
    points when there is no valid Guinier fit); samples without a valid Guinier fit are left
    out of the Kratky panel.

    Parameters
    ----------
    {out_base}
    samples : sequence of (str, Curve, GuinierResult or None)
        Name, subtracted curve and Guinier fit of each sample. Curves are converted to the
        first sample's q unit.
    title : str
        Title of the I(q) panel; "all samples" when empty.
    {formats_and_returns}
    """
    fig, (ax, kr) = _figure(11.0, 4.5, 1, 2)
    q_unit = samples[0][1].q_unit if samples else "nm^-1"
    # A shift's run holds hundreds of samples: beyond a legible legend the curves are coloured
    # by their order in the run instead (laying out a 200-entry legend took 4 of 6 s).
    many = len(samples) > MAX_LEGEND_ENTRIES
    colours = matplotlib.colormaps["viridis"](np.linspace(0.0, 1.0, max(len(samples), 1)))
    for k, (name, curve, guinier) in enumerate(samples):
        style = {"color": colours[k], "lw": 0.6, "alpha": 0.7} if many else {"lw": 1}
        c = curve.to_unit(q_unit)
        ok = _positive(c)
        valid = guinier is not None and guinier.found
        i0 = guinier.I0 if valid else float(np.nanmedian(c.intensity[ok][:10]))
        ax.plot(c.q[ok], c.intensity[ok] / i0, "-", label=name, **style)
        if valid:
            rg = guinier.Rg * (
                1.0 if guinier.q_unit == q_unit else (0.1 if q_unit == "nm^-1" else 10.0)
            )
            x = c.q * rg
            kr.plot(x, x**2 * c.intensity / i0, "-", label=name, **style)
    kr.plot(*GLOBULAR_PEAK, "+", ms=14, mew=2, color="k", label="(√3, 3/e)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_Q_LABEL[q_unit])
    ax.set_ylabel("I(q)/I(0)")
    if many:
        ax.set_title(f"{title or 'all samples'} ({len(samples)}, colour: first → last)")
    else:
        ax.set_title(title or "all samples")
        ax.legend(frameon=False, fontsize=7)
    kr.set_xlim(0, 10)
    kr.set_ylim(-0.1, 2.0)
    kr.set_xlabel("qRg")
    kr.set_ylabel("(qRg)$^2$ I(q)/I(0)")
    kr.set_title("dimensionless Kratky")
    return save_figure(fig, out_base, formats)
