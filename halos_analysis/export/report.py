# SPDX-License-Identifier: MIT
"""A self-contained HTML report of a run: one file, no network needed to read it.

PNG figures are embedded as base64 ``data:`` URIs, SVG figures inline; styles are inline; no
script, font or image is fetched from anywhere. The report holds the run's summary table,
one section per sample (its figures and flags) and the provenance (versions, inputs with
their SHA-256, command, configuration).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from halos_analysis.io.atomic import write_text_atomic

#: Order and titles of the per-sample figures (keys are the plot kinds of ``plots.py``).
#: Size of a report page up to which samples' figures are embedded (see ``write_report``).
EMBED_BUDGET_MB = 25.0

PLOT_TITLES: dict[str, str] = {
    "intensity": "Scattering curves I(q)",
    "guinier": "Guinier fit",
    "kratky": "Dimensionless Kratky plot",
    "pr": "Pair-distance distribution P(r)",
    "similarity": "Frame similarity (CorMap)",
    # SEC series (halos_analysis.export.series_plots.SERIES_PLOT_KINDS).
    "series_trace": "Series: intensity and Rg per frame, buffer (blue) and sample (red) ranges",
    "series_svd": "Series: singular values of the elution region",
    "series_efa": "Series: evolving factor analysis (forward, backward)",
    "series_concentrations": "Series: concentrations of the separated species",
    "series_components": "Series: curves of the components",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;
color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:.25em .5em;
text-align:right}th{background:#f0f0f0}td.text{text-align:left}
.flag{display:inline-block;background:#fde2e1;color:#8a1c12;border-radius:3px;
padding:0 .4em;margin:0 .2em .2em 0;font-size:.85em}
.flag.note{background:#eef1f5;color:#3a4a5c}
.ok{color:#1b6e20}figure{display:inline-block;margin:.5em;vertical-align:top}
figure{max-width:100%}figure img,figure svg{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}
pre{background:#f6f6f6;padding:.7em;overflow-x:auto;font-size:.8em}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return _esc(value)


def _pm(value: Any, err: Any) -> str:
    if value is None:
        return "–"
    return _fmt(value) + (f" ± {_fmt(err, 2)}" if err is not None else "")


def embed_image(path: str | Path, alt: str = "") -> str:
    """HTML for an image file embedded in the page: PNG as a data URI, SVG inline."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        text = path.read_text()
        # Drop the XML prologue and doctype: not allowed inside an HTML body.
        text = re.sub(r"<\?xml[^>]*\?>", "", text)
        text = re.sub(r"<!DOCTYPE[^>]*>", "", text, flags=re.S)
        return f'<div role="img" aria-label="{_esc(alt)}">{text.strip()}</div>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    return f'<img alt="{_esc(alt)}" src="data:{mime};base64,{data}">'


def _link_image(path: Path, page_dir: Path, alt: str) -> str:
    """An image referenced by its path relative to the page (not embedded)."""
    try:
        src = Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows): an absolute file URI
        src = path.resolve().as_uri()
    return f'<img alt="{_esc(alt)}" src="{_esc(src)}" loading="lazy">'


def _flags(flags: Sequence[str] | str | None) -> str:
    """Flags as labels: doubts red, notes grey, each with its meaning as a tooltip."""
    from halos_analysis.flags import describe, is_doubt

    if isinstance(flags, str):
        flags = [f for f in flags.split(";") if f]
    if not flags:
        return '<span class="ok">none</span>'
    return "".join(
        f'<span class="flag{"" if is_doubt(f) else " note"}" title="{_esc(describe(f))}">'
        f"{_esc(f)}</span>"
        for f in flags
    )


def _summary_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>sample</th><th>buffer</th><th>conc. (mg/ml)</th><th>frames used / rejected"
        "</th><th>Rg</th><th>I(0)</th><th>qRg range</th><th>Dmax</th><th>MW Vp</th>"
        "<th>MW Vc</th><th>MW I(0)</th><th>MW consensus (kDa)</th><th>flags</th></tr>"
    )
    rows = []
    for s in summaries:
        unit = _column_units(s)
        lu = unit("guinier_rg")
        frames = (
            f"{_fmt(s.get('frames_used'))} / {_fmt(s.get('frames_rejected'))}"
            if s.get("frames_used") is not None
            else "–"
        )
        qrg = (
            f"{_fmt(s.get('guinier_qrg_min'), 3)}–{_fmt(s.get('guinier_qrg_max'), 3)}"
            if s.get("guinier_qrg_min") is not None
            else "–"
        )
        rows.append(
            "<tr>"
            f'<td class="text"><a href="#sample-{_esc(s.get("sample"))}">'
            f"{_esc(s.get('sample'))}</a></td>"
            f'<td class="text">{_esc(s.get("buffer") or "–")}</td>'
            f"<td>{_fmt(s.get('concentration'))}</td><td>{frames}</td>"
            f"<td>{_pm(s.get('guinier_rg'), s.get('guinier_rg_error'))} {lu}</td>"
            f"<td>{_pm(s.get('guinier_i0'), s.get('guinier_i0_error'))}"
            f"{_unit_after(s.get('guinier_i0'), unit('guinier_i0'))}</td><td>{qrg}</td>"
            f"<td>{_fmt(s.get('pddf_dmax'))}{_unit_after(s.get('pddf_dmax'), unit('pddf_dmax'))}"
            "</td>"
            f"<td>{_fmt(s.get('porod_mw'), 3)}</td>"
            f"<td>{_fmt(s.get('vc_mw'), 3)}</td>"
            f"<td>{_fmt(s.get('guinier_i0_mw') or s.get('reference_i0_mw'), 3)}</td>"
            f"<td>{_fmt(s.get('experimental_mw'), 3)}</td>"
            f'<td class="text">{_flags(s.get("flags"))}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _column_units(summary: Mapping[str, Any]):
    """The unit of a summary column for people (``Å``, ``nm³``), from the summary's ``units``
    (:func:`halos_analysis.types.units_of`); a summary written before it had them gives its
    lengths from ``q_unit``. Arbitrary units are not shown."""
    from halos_analysis import units as _units

    given, q = summary.get("units"), summary.get("q_unit")
    if given is None and q:  # an older summary.json: only its lengths are known
        length = _units.unit_of_kind("length", q)
        given = {"guinier_rg": length, "pddf_dmax": length}

    def unit(column: str) -> str:
        text = (given or {}).get(column) or ""
        return "" if text == "arbitrary" else _units.respell(text, "text")

    return unit


def _unit_after(value: Any, unit: str) -> str:
    return f" {_esc(unit)}" if value is not None and unit else ""


def _provenance(prov: Mapping[str, Any]) -> str:
    parts = ["<table>"]
    for key in ("program", "version", "date", "host", "python", "platform", "command"):
        if key in prov:
            parts.append(f'<tr><th>{_esc(key)}</th><td class="text">{_esc(prov[key])}</td></tr>')
    parts.append("</table>")
    deps = prov.get("dependencies") or {}
    if deps:
        parts.append("<h3>Dependencies</h3><table>")
        parts += [
            f'<tr><th>{_esc(k)}</th><td class="text">{_esc(v or "not installed")}</td></tr>'
            for k, v in deps.items()
        ]
        parts.append("</table>")
    inputs = prov.get("inputs") or []
    if isinstance(inputs, Mapping):  # the older {path: digest} form
        inputs = [{"path": k, "sha256": v} for k, v in inputs.items()]
    if inputs:
        parts.append("<h3>Input files (SHA-256)</h3><table>")
        parts += [
            f'<tr><td class="text">{_esc(r.get("path"))}</td>'
            f'<td class="text"><code>{_esc(r.get("sha256"))}</code></td></tr>'
            for r in inputs
        ]
        parts.append("</table>")
    config_text = prov.get("config_text") or (
        json.dumps(prov["config"], indent=2) if prov.get("config") else ""
    )
    if config_text:
        parts.append(f"<h3>Configuration</h3><pre>{_esc(config_text)}</pre>")
    return "".join(parts)


def write_report(
    path: str | Path,
    summaries: Sequence[Mapping[str, Any]],
    *,
    plots: Mapping[str, Mapping[str, str | Path]] | None = None,
    overview: Sequence[str | Path] = (),
    provenance: Mapping[str, Any] | None = None,
    title: str = "HALOS Analysis report",
    sections: Sequence[tuple[str, str]] = (),
    refresh_s: float | None = None,
    embed_budget_mb: float = EMBED_BUDGET_MB,
) -> Path:
    """Write the run's self-contained HTML report.

    Parameters
    ----------
    path : str or Path
        Output file (``results/report.html``); written to a temporary name and renamed.
    summaries : sequence of dict
        One summary per sample (:func:`halos_analysis.export.summary.sample_summary`).
    plots : mapping, optional
        Sample name -> plot kind (``intensity``, ``guinier``, ``kratky``, ``pr``,
        ``similarity`` or any other) -> image file (PNG or SVG).
    overview : sequence of path
        Run-level figures shown above the samples.
    provenance : dict, optional
        Provenance of the run (:func:`halos_analysis.export.provenance.build_provenance`).
    title : str
        Page title.
    sections : sequence of (str, str)
        Further sections (title, HTML body), e.g. the comparisons of ``halos compare``,
        shown after the summary table.
    refresh_s : float, optional
        A browser showing the page reloads it every this many seconds (live mode, while the
        report is rewritten after each sample); never when None or 0.
    embed_budget_mb : float
        Samples' figures are embedded while the page stays below this size; the figures of
        the samples after that are linked (relative to the report, so they show while the
        results folder travels with it) and the page says from which sample on. A shift of
        hundreds of samples would otherwise give a page of ~0.25 MB per sample, reloaded
        whole at every refresh.

    Returns
    -------
    Path
    """
    path = Path(path)
    plots = plots or {}
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    body = [
        f"<h1>{_esc(title)}</h1>",
        f"<p>{len(summaries)} sample(s); report written {_esc(now)}.</p>",
        "<h2>Summary</h2>",
        _summary_table(summaries),
    ]
    for sec_title, sec_html in sections:
        body.append(f"<h2>{_esc(sec_title)}</h2>")
        body.append(sec_html)
    if overview:
        body.append("<h2>Overview</h2>")
        body += [
            f"<figure>{embed_image(p, 'run overview')}</figure>"
            for p in overview
            if Path(p).is_file()
        ]
    size = sum(len(part) for part in body)
    budget = embed_budget_mb * 1e6
    first_linked = None
    for s in summaries:
        name = str(s.get("sample"))
        body.append(f'<h2 id="sample-{_esc(name)}">{_esc(name)}</h2>')
        body.append(f"<p>Flags: {_flags(s.get('flags'))}</p>")
        sample_plots = dict(plots.get(name, {}))
        kinds = [k for k in PLOT_TITLES if k in sample_plots]
        kinds += [k for k in sample_plots if k not in PLOT_TITLES]
        for kind in kinds:
            p = Path(sample_plots[kind])
            if not p.is_file():
                continue
            caption = PLOT_TITLES.get(kind, kind)
            if first_linked is None and size + 1.37 * p.stat().st_size > budget:
                first_linked = name
            if first_linked is None:
                image = embed_image(p, f"{name}: {caption}")
                size += len(image)
            else:
                image = _link_image(p, path.parent, f"{name}: {caption}")
            body.append(f"<figure>{image}<figcaption>{_esc(caption)}</figcaption></figure>")
    if first_linked is not None:
        body.insert(
            2,
            f'<p class="note">The figures from sample {_esc(first_linked)} on are linked, not'
            f" embedded (this page is kept under {embed_budget_mb:g} MB): they show where the"
            " results folder is beside this file.</p>",
        )
    if provenance:
        body.append("<h2>Provenance</h2>")
        body.append(_provenance(provenance))
    reload = f'<meta http-equiv="refresh" content="{refresh_s:g}">' if refresh_s else ""
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"{reload}<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    return write_text_atomic(page, path)


def find_plots(folder: str | Path, sample: str) -> dict[str, Path]:
    """Plot files of a sample in a folder: ``<sample>_<kind>.png`` (or ``.svg``) -> kind.

    PNG is preferred over SVG when both exist (smaller in a page with many figures).
    """
    folder = Path(folder)
    found: dict[str, Path] = {}
    for suffix in (".svg", ".png"):
        for p in sorted(folder.glob(f"{sample}_*{suffix}")):
            found[p.stem[len(sample) + 1 :]] = p
    return found
