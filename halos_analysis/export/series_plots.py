# SPDX-License-Identifier: MIT
"""Figures of a series analysis, each as PNG and SVG.

``<name>_series_trace``: intensity and Rg against frame with the buffer (blue) and sample
(red) ranges shaded; ``<name>_series_svd``: singular values of the elution region with the
rank threshold; ``<name>_series_efa``: forward and backward EFA sweeps;
``<name>_series_concentrations``: the separated species' concentrations over the trace;
``<name>_series_components``: the component curves. A figure whose analysis did not run
states why instead of being left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from halos_analysis.units import axis_label

__all__ = ["SERIES_PLOT_KINDS", "plot_series"]

#: Plot kinds (file name suffixes) and their captions.
SERIES_PLOT_KINDS = {
    "series_trace": "Series: intensity and Rg per frame, buffer (blue) and sample (red) ranges",
    "series_svd": "Series: singular values of the elution region",
    "series_efa": "Series: evolving factor analysis (forward, backward)",
    "series_concentrations": "Series: concentrations of the separated species",
    "series_components": "Series: curves of the components",
}


def _save(fig, base: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    out = []
    for fmt in ("png", "svg"):
        p = base.with_suffix(f".{fmt}")
        fig.savefig(p, dpi=110, bbox_inches="tight")
        out.append(p)
    plt.close(fig)
    return out


def _note(base: Path, text: str, title: str) -> list[Path]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.set_title(title)
    return _save(fig, base)


def plot_series(result, folder: str | Path) -> dict[str, list[Path]]:
    """Write every series figure of a :class:`~halos_analysis.analysis.series.SeriesAnalysis`.

    Parameters
    ----------
    result : SeriesAnalysis
    folder : str or Path
        Output folder (created).

    Returns
    -------
    dict
        Plot kind → files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = result.frames.name
    out: dict[str, list[Path]] = {}
    q_unit = result.frames.q_unit
    n = len(result.frames)
    x = np.arange(n)

    # Trace + Rg.
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(x, result.traces.total, lw=0.8, color="0.3", label="total intensity")
    ax.plot(x, result.traces.baseline, lw=0.8, ls="--", color="0.6", label="baseline")
    for a, b in result.buffer_ranges:
        ax.axvspan(a, b, color="tab:blue", alpha=0.2, label="buffer")
    if result.sample_check is not None:
        for a, b in result.sample_check.ranges:
            ax.axvspan(a, b, color="tab:red", alpha=0.2, label="sample")
    for p in result.peaks:
        ax.axvline(p.position, color="0.5", lw=0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("Σ I(q)")
    if result.params is not None and result.params.valid.any():
        ax2 = ax.twinx()
        ok = result.params.valid
        ax2.errorbar(
            x[ok],
            result.params.rg[ok],
            result.params.rg_err[ok],
            fmt=".",
            ms=2,
            lw=0.5,
            color="tab:green",
            label="Rg",
        )
        ax2.set_ylabel(axis_label("Rg", "length", q_unit), color="tab:green")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="upper left")
    ax.set_title(f"{name}: {n} frames" + ("" if result.valid else " (not valid: see problems)"))
    out["series_trace"] = _save(fig, folder / f"{name}_series_trace")

    base = folder / f"{name}_series_svd"
    if result.svd is not None and len(result.svd.singular_values):
        s = result.svd.singular_values[:20]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.semilogy(np.arange(1, len(s) + 1), s, "o-", ms=4)
        ax.axhline(result.svd.threshold, color="tab:red", lw=0.8, label="threshold")
        a, b = result.svd.frames
        ax.set_title(f"SVD of frames {a}-{b}: rank {result.svd.rank}")
        ax.set_xlabel("index")
        ax.set_ylabel("singular value")
        ax.legend(fontsize=8)
        out["series_svd"] = _save(fig, base)
    else:
        out["series_svd"] = _note(base, "no elution region to decompose", "SVD")

    base = folder / f"{name}_series_efa"
    if result.efa is not None:
        e = result.efa
        a, b = e.frames
        fr = np.arange(a, b + 1)
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
        for i in range(min(4, e.forward.shape[1])):
            ax1.semilogy(
                fr, np.where(e.forward[:, i] > 0, e.forward[:, i], np.nan), label=f"{i + 1}"
            )
            ax2.semilogy(fr[::-1], np.where(e.backward[:, i] > 0, e.backward[:, i], np.nan))
        for ra, rb in e.ranges:
            ax1.axvline(ra, color="0.5", lw=0.6)
            ax2.axvline(rb, color="0.5", lw=0.6)
        ax1.set_title("forward")
        ax2.set_title("backward")
        ax1.set_xlabel("frame")
        ax2.set_xlabel("frame")
        ax1.legend(fontsize=7, title="value")
        out["series_efa"] = _save(fig, base)
    else:
        out["series_efa"] = _note(base, "one species (or no elution region): no EFA", "EFA")

    base = folder / f"{name}_series_concentrations"
    sep = result.deconvolution if result.deconvolution is not None else result.efa
    if sep is not None and getattr(sep, "concentrations", np.zeros(0)).size:
        a, b = sep.frames
        fr = np.arange(a, b + 1)
        fig, ax = plt.subplots(figsize=(8, 3.5))
        sub_total = (
            result.subtracted.intensity[a : b + 1].sum(axis=1)
            if result.subtracted is not None
            else None
        )
        conc = sep.concentrations
        scale = sep.profiles.sum(axis=0)
        for i in range(conc.shape[1]):
            ax.plot(fr, conc[:, i] * scale[i], label=f"species {i + 1}")
        if sub_total is not None:
            ax.plot(fr, sub_total, color="0.3", lw=0.8, ls=":", label="Σ I (data)")
        ax.set_xlabel("frame")
        ax.set_ylabel("Σ I(q) of each species")
        ax.legend(fontsize=8)
        kind = "REGALS" if sep is result.deconvolution else "EFA"
        ax.set_title(f"{kind}: χ² = {sep.chi2:.3f}")
        out["series_concentrations"] = _save(fig, base)
    else:
        out["series_concentrations"] = _note(
            base, "no overlapping species to separate", "Separation"
        )

    base = folder / f"{name}_series_components"
    if result.components:
        fig, ax = plt.subplots(figsize=(6, 4))
        for c in result.components:
            cv = c.analysis.curve
            ok = cv.intensity > 0
            ax.loglog(
                cv.q[ok],
                cv.intensity[ok],
                lw=0.8,
                label=f"{c.index}: frames {c.range[0]}-{c.range[1]} ({c.method})",
            )
        ax.set_xlabel(axis_label("q", "q", q_unit))
        ax.set_ylabel("I(q)")
        ax.legend(fontsize=7)
        out["series_components"] = _save(fig, base)
    else:
        why = "; ".join(result.problems) or "no component"
        out["series_components"] = _note(base, why, "Components")
    return out
