# SPDX-License-Identifier: MIT
"""``halos compare``: read result files, plot the comparison, write its report page and JSON.

The statistics are in :mod:`halos_analysis.analysis.compare`; this module reads the
NXcanSAS result files the workflow writes (``results/<sample>/<sample>.h5``), draws the
figure (scaled curves overlaid with normalised residuals, Guinier and dimensionless Kratky
overlays) and writes a self-contained HTML page (the figure embedded) and a JSON file.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from halos_analysis.analysis.compare import Comparison, MeasuredSample
from halos_analysis.errors import HalosInputError
from halos_analysis.export.plots import save_figure
from halos_analysis.io.atomic import write_text_atomic
from halos_analysis.units import unit_of_kind

__all__ = [
    "comparison_html",
    "comparison_section",
    "load_measured",
    "plot_comparison",
    "write_comparison",
]


def _number(value: float | None) -> float | None:
    """A result's number for the comparison: None where the result has none (NaN)."""
    return None if value is None or not math.isfinite(value) else float(value)


def load_measured(path: str | Path, name: str | None = None) -> MeasuredSample:
    """The subtracted curve and the Guinier, P(r) and MW results of a result file.

    The results are read typed (``read_results(typed=True)``): their fields, NaN where a
    number was not found, and their own ``found``/``valid``.

    Raises
    ------
    HalosInputError
        When the file is not a result file (no subtracted curve, no analysis).
    """
    from halos_analysis.io.nxcansas import read_main_curve, read_results

    path = Path(path)
    curve = read_main_curve(path)
    res = read_results(path, typed=True)
    if not res:
        raise HalosInputError(
            "no analysis results: give the result file `halos export` wrote "
            "(results/<sample>/<sample>.h5)",
            path,
            "sasprocess02",
        )
    g, pr, mw = res.get("guinier"), res.get("pr"), res.get("molecular_weight")
    found = g is not None and g.found
    # A doubtful result (flagged) still has numbers: compare them, and say it is doubtful.
    doubts = {}
    for key, r in (("Rg", g), ("I0", g), ("Dmax", pr), ("MW", mw)):
        if r is not None and not getattr(r, "valid", True) and r.flags:
            doubts[key] = ", ".join(r.flags)
    return MeasuredSample(
        name=name or curve.meta.get("title") or path.stem,
        curve=curve,
        rg=_number(g.Rg) if found else None,
        rg_err=_number(g.Rg_err) if found else None,
        i0=_number(g.I0) if found else None,
        i0_err=_number(g.I0_err) if found else None,
        dmax=None if pr is None else _number(pr.Dmax),
        dmax_err=None if pr is None else _number(pr.Dmax_err),
        mw_kda=None if mw is None else _number(mw.mw_consensus_kda),
        mw_spread_kda=None if mw is None else _number(mw.mw_spread_kda),
        source=str(path),
        doubts=doubts,
    )


def plot_comparison(
    out_base: str | Path,
    comp: Comparison,
    samples: Sequence[MeasuredSample],
    formats: Sequence[str] = ("png", "svg"),
) -> list[Path]:
    """Four panels: scaled curves, residuals (I − I_ref)/σ, Guinier and Kratky overlays."""
    fig = Figure(figsize=(11, 8))
    ax_i, ax_g = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    ax_r, ax_k = fig.add_subplot(2, 2, 3, sharex=ax_i), fig.add_subplot(2, 2, 4)
    q = comp.q
    qu = unit_of_kind("q", comp.q_unit, spelling="label")
    ref_rg = samples[0].rg
    for k, name in enumerate(comp.names):
        y, s = comp.intensity[k], comp.sigma[k]
        fit = comp.fits[k]
        label = name if k == 0 else f"{name} ×{fit.scale:.5g}"
        pos = y > 0
        ax_i.errorbar(q[pos], y[pos], s[pos], fmt=".", ms=2, lw=0.5, label=label)
        if k:
            res = (y - comp.intensity[0]) / np.hypot(s, comp.sigma[0])
            ax_r.plot(q, res, ".", ms=2, label=f"{name} − {comp.names[0]}")
        # Guinier overlay over q·Rg < 1.3 of the reference's Rg.
        if ref_rg:
            g = pos & (q * ref_rg < 1.3)
            ax_g.errorbar(q[g] ** 2, np.log(y[g]), s[g] / y[g], fmt=".", ms=3, lw=0.5,
                          label=label)  # fmt: skip
        # Dimensionless Kratky with each measurement's own Rg, and I0 after its scale.
        rg, i0 = samples[k].rg, samples[k].i0
        if rg and i0:
            i0s = fit.scale * i0 + fit.background
            ax_k.plot(q * rg, (q * rg) ** 2 * y / i0s, ".", ms=2, label=label)
    ax_i.set(xscale="log", yscale="log", ylabel="I (scaled)", title="Curves on the common grid")
    ax_r.axhline(0, color="k", lw=0.5)
    for level in (-3, 3):
        ax_r.axhline(level, color="grey", lw=0.5, ls="--")
    ax_r.set(xlabel=f"q ({qu})", ylabel="(I − I$_{ref}$)/σ", title="Normalised residuals")
    q2u = unit_of_kind("q^2", comp.q_unit, spelling="label")
    ax_g.set(xlabel=f"q$^2$ ({q2u})", ylabel="ln I", title="Guinier (qRg$_{ref}$ < 1.3)")
    if not ref_rg:
        ax_g.text(0.5, 0.5, "no Guinier region in the reference", ha="center",
                  transform=ax_g.transAxes)  # fmt: skip
    ax_k.axvline(math.sqrt(3), color="grey", lw=0.5, ls="--")
    ax_k.axhline(3 / math.e, color="grey", lw=0.5, ls="--")
    ax_k.set(xlabel="qRg", ylabel="(qRg)$^2$ I/I$_0$", title="Dimensionless Kratky",
             xlim=(0, 8))  # fmt: skip
    for ax in (ax_i, ax_r, ax_g, ax_k):
        ax.legend(fontsize=7)
    fig.suptitle(f"{' vs '.join(comp.names)}: {comp.verdict.split(' — ')[0]}")
    fig.tight_layout()
    # The whole 2x2 page as laid out by tight_layout, not cropped to its ink.
    return save_figure(fig, out_base, formats, dpi=100, bbox_inches=None)


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return html.escape(str(v))


def comparison_html(comp: Comparison, samples: Sequence[MeasuredSample], figure: str = "") -> str:
    """HTML fragment (tables, verdicts, the figure given as HTML) of one comparison."""
    esc = html.escape
    cls = "ok" if comp.consistent else "flag"
    parts = [
        f'<p class="verdict"><b>Verdict:</b> <span class="{cls}">{esc(comp.verdict)}</span></p>',
        f"<p>Common grid: {len(comp.q)} points, q {comp.q[0]:.4g}–{comp.q[-1]:.4g} "
        f"{esc(comp.q_unit)}; reference {esc(comp.names[0])}; α = {comp.alpha:g}, "
        f"k = {comp.k_sigma:g}σ{'; flat background fitted' if comp.background else ''}.</p>",
        "<table><tr><th>measurement</th><th>file</th><th>scale</th><th>background</th>"
        "<th>χ²<sub>red</sub></th><th>CorMap adj. p</th></tr>",
    ]
    adj = np.asarray(comp.cormap.adjusted)
    for k, (name, fit) in enumerate(zip(comp.names, comp.fits, strict=True)):
        parts.append(
            f'<tr><td class="text">{esc(name)}</td><td class="text">{esc(samples[k].source)}'
            f"</td><td>{_fmt(fit.scale)} ± {_fmt(fit.scale_err, 2)}</td>"
            f"<td>{_fmt(fit.background, 3)}</td><td>{'–' if k == 0 else _fmt(fit.chi2_red)}</td>"
            f"<td>{'–' if k == 0 else _fmt(float(adj[0, k]), 3)}</td></tr>"
        )
    parts.append("</table>")
    parts.append(
        "<table><tr><th>quantity</th>"
        + "".join(f"<th>{esc(n)}</th>" for n in comp.names)
        + "<th>verdict</th></tr>"
    )
    for qc in comp.quantities:
        cells = []
        for v, e in zip(qc.values, qc.errors, strict=True):
            cells.append(f"<td>{_fmt(v)}" + (f" ± {_fmt(e, 2)}" if e is not None else "") + "</td>")
        mark = "ok" if qc.consistent else ("flag" if qc.consistent is False else "")
        unit = f" ({esc(qc.unit)})" if qc.unit and qc.unit != "p" else ""
        parts.append(
            f'<tr><td class="text">{esc(qc.name)}{unit}</td>{"".join(cells)}'
            f'<td class="text"><span class="{mark}">{esc(qc.verdict)}</span></td></tr>'
        )
    parts.append("</table>")
    for note in comp.notes:
        parts.append(f"<p>Note: {esc(note)}</p>")
    if figure:
        parts.append(f"<figure>{figure}<figcaption>Scaled curves, residuals, Guinier and "
                     "Kratky overlays</figcaption></figure>")  # fmt: skip
    return "\n".join(parts)


_CSS = (
    "body{font-family:system-ui,Helvetica,Arial,sans-serif;margin:2em;max-width:1200px;"
    "color:#222}table{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}th{background:#f0f0f0}"
    "td.text{text-align:left}.flag{color:#8a1c12;font-weight:bold}.ok{color:#1b6e20}"
    "figure img{max-width:100%}"
)


def write_comparison(
    out: str | Path,
    comp: Comparison,
    samples: Sequence[MeasuredSample],
    title: str | None = None,
) -> dict[str, Path]:
    """Write ``<out>.html`` (self-contained), ``<out>.json`` and the figure ``<out>.png/.svg``.

    ``out`` may end in ``.html``; the other files take its stem.
    """
    from halos_analysis.export.report import embed_image

    out = Path(out)
    base = out.with_suffix("") if out.suffix.lower() in (".html", ".htm", ".json") else out
    figs = plot_comparison(base, comp, samples)
    png = next(p for p in figs if p.suffix == ".png")
    title = title or f"Comparison: {' vs '.join(comp.names)}"
    body = comparison_html(comp, samples, embed_image(png, title))
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
    html_path = write_text_atomic(page, base.with_suffix(".html"))
    d = comp.to_dict()
    d["files"] = [s.source for s in samples]
    json_path = write_text_atomic(
        json.dumps(d, indent=2, allow_nan=False) + "\n", base.with_suffix(".json")
    )
    return {"html": html_path, "json": json_path, **{f"plot_{p.suffix[1:]}": p for p in figs}}


def comparison_section(json_path: str | Path) -> tuple[str, str]:
    """(title, HTML) of a comparison for the run report, from its JSON and figure."""
    from halos_analysis.export.report import embed_image

    json_path = Path(json_path)
    d = json.loads(json_path.read_text())
    esc = html.escape
    names = d["names"]
    cls = "ok" if d["consistent"] else "flag"
    parts = [
        f'<p><b>Verdict:</b> <span class="{cls}">{esc(d["verdict"])}</span> '
        f"(reference {esc(names[0])}; {d['n_points']} common points, q "
        f"{d['q_range'][0]:.4g}–{d['q_range'][1]:.4g} {esc(d['q_unit'])}; "
        + ", ".join(
            f"{esc(n)} scale {f['scale']:.5g}"
            for n, f in zip(names[1:], d["fits"][1:], strict=True)
        )
        + ")</p>",
        "<table><tr><th>quantity</th>"
        + "".join(f"<th>{esc(n)}</th>" for n in names)
        + "<th>verdict</th></tr>",
    ]
    for qc in d["quantities"]:
        cells = "".join(
            f"<td>{_fmt(v)}" + (f" ± {_fmt(e, 2)}" if e is not None else "") + "</td>"
            for v, e in zip(qc["values"], qc["errors"], strict=True)
        )
        mark = "ok" if qc["consistent"] else ("flag" if qc["consistent"] is False else "")
        parts.append(
            f'<tr><td class="text">{esc(qc["name"])}</td>{cells}'
            f'<td class="text"><span class="{mark}">{esc(qc["verdict"])}</span></td></tr>'
        )
    parts.append("</table>")
    png = json_path.with_suffix(".png")
    if png.is_file():
        parts.append(f"<figure>{embed_image(png, 'comparison')}<figcaption>Scaled curves, "
                     "residuals, Guinier and Kratky overlays</figcaption></figure>")  # fmt: skip
    title = f"Comparison {json_path.stem.removesuffix('_compare')}: {' vs '.join(names)}"
    return title, "\n".join(parts)
