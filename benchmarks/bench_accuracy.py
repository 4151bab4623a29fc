# SPDX-License-Identifier: MIT
"""Accuracy of the analysis core on real curves, beside freesas, in one run.

Every curve of a corpus that has reference values (another tool's Guinier, GNOM/BIFT P(r),
MW) goes through our whole per-curve analysis
(:func:`halos_analysis.analysis.pipeline.analyse_curve`: Guinier, P(r), MW, Kratky and the
consistency checks between them) and through freesas
``autoRg`` and ``auto_bift`` on the same rows. Printed: one line per curve, then per method
the mean / median / max relative deviation from the reference, the number of curves refused,
and the number of **silent failures**: results reported as trustworthy (``valid``, no flag
that casts doubt) but off by more than 10 % in Rg or 25 % in Dmax. freesas has no notion of a
doubtful result beyond autoRg's ``aggregated`` field, so any freesas number off by that much
without that field set counts as silent.

Corpora (a folder with ``reference.json`` in the corpus format: ``{"curves": [{"file",
"q_unit", "guinier": {"Rg", "I0", "tol", "kind"}, "pr": {"Dmax", "Rg", "tol"}, "mw":
{"kDa", "tol", "by"}}]}``):

- ``tests/data/real`` (in the project: the curves whose licence allows copying);
- ``$HALOS_VALIDATION_DIR/corpus`` and ``$HALOS_VALIDATION_DIR/curves`` (default
  ``../shared/validation``), skipped when absent; the ``curves`` folder's references are read
  from the validation folder's own ``reference.json``.

A file present in several corpora (same content) is analysed once.

Usage::

    python benchmarks/bench_accuracy.py [--json] [--corpus DIR ...] [--no-freesas]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from halos_analysis.analysis.pipeline import analyse_curve  # noqa: E402
from halos_analysis.errors import HalosInputError  # noqa: E402
from halos_analysis.io.curves import read_curve  # noqa: E402

#: Thresholds of a silent failure (the issue's definition).
SILENT_RG = 0.10
SILENT_DMAX = 0.25

IN_PROJECT = ROOT / "tests" / "data" / "real"


def validation_dir() -> Path:
    """``$HALOS_VALIDATION_DIR``, default ``../shared/validation`` beside the project."""
    return Path(os.environ.get("HALOS_VALIDATION_DIR", ROOT.parent / "shared" / "validation"))


@dataclass
class Entry:
    """One curve of a corpus with its references (lengths in the unit matching q)."""

    path: Path
    q_unit: str
    name: str
    guinier: dict[str, Any] | None = None
    pr: dict[str, Any] | None = None
    mw: dict[str, Any] | None = None
    corpus: str = ""


def _entries_from_corpus(folder: Path) -> list[Entry]:
    ref = json.loads((folder / "reference.json").read_text())
    out = []
    for c in ref["curves"]:
        out.append(
            Entry(
                folder / c["file"],
                c["q_unit"],
                Path(c["file"]).name,
                c.get("guinier"),
                c.get("pr"),
                c.get("mw"),
                corpus=folder.name,
            )
        )
    return out


def _entries_from_validation_curves(validation: Path) -> list[Entry]:
    """The ``curves/`` folder: references from the validation folder's ``reference.json``."""
    path = validation / "reference.json"
    if not path.is_file():
        return []
    cases = json.loads(path.read_text())["cases"]
    out = []
    if "bsa_bm29_2013" in cases:
        c = cases["bsa_bm29_2013"]
        a, b = c["autorg_ATSAS_2.6.1"], c["bift_freesas"]
        out.append(
            Entry(
                validation / c["file"],
                c["q_unit"],
                Path(c["file"]).name,
                {"Rg": a["Rg"], "I0": a["I0"], "tol": 0.03, "kind": "Guinier", "by": "autorg"},
                {"Dmax": b["Dmax"], "Rg": None, "tol": 0.1, "by": "freesas BIFT"},
                {"kDa": 66.4, "tol": 0.2, "by": "sequence (BSA monomer)", "kind": "sequence"},
            )
        )
    if "glucose_isomerase" in cases:
        c = cases["glucose_isomerase"]
        gnom = c["ift"]["GNOM"]
        for file in ("curves/glucose_isomerase.dat", "curves/glucose_isomerase.out"):
            out.append(
                Entry(
                    validation / file,
                    c["q_unit"],
                    Path(file).name,
                    # RAW's auto-Guinier stored in the file header (as in the corpus copy).
                    {"Rg": 33.6078, "I0": 0.0612246, "tol": 0.03, "kind": "Guinier", "by": "RAW"},
                    {"Dmax": gnom["Dmax"], "Rg": gnom["Rg"], "tol": 0.1, "by": "GNOM"},
                    {
                        "kDa": c["mw_kDa_RAW"]["porod_volume"],
                        "method": "vp",
                        "tol": 0.1,
                        "by": "RAW Porod volume",
                    },
                )
            )
    if "lysozyme_standard" in cases:
        c = cases["lysozyme_standard"]
        g = c["guinier_RAW_header"]
        out.append(
            Entry(
                validation / c["file"],
                c["q_unit"],
                Path(c["file"]).name,
                {"Rg": g["Rg"], "I0": g["I0"], "tol": 0.03, "kind": "Guinier", "by": "RAW"},
                None,
                {"kDa": 14.3, "tol": 0.2, "by": "sequence (lysozyme)", "kind": "sequence"},
            )
        )
    if "bsa_bm29_2022" in cases:
        c = cases["bsa_bm29_2022"]
        out.append(Entry(validation / c["file"], c["q_unit"], Path(c["file"]).name))
    for e in out:
        e.corpus = "curves"
    return [e for e in out if e.path.is_file()]


def default_corpora() -> list[Path]:
    """Folders searched when no ``--corpus`` is given (those that exist)."""
    v = validation_dir()
    return [p for p in (IN_PROJECT, v / "corpus", v / "curves") if p.is_dir()]


def load_entries(folders: Iterable[Path]) -> list[Entry]:
    """All entries of the given corpora, each file content once."""
    seen: set[str] = set()
    out = []
    for folder in folders:
        folder = Path(folder)
        if (folder / "reference.json").is_file() and folder.name != "curves":
            entries = _entries_from_corpus(folder)
        else:
            entries = _entries_from_validation_curves(folder.parent)
        for e in entries:
            digest = hashlib.sha256(e.path.read_bytes()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append(e)
    return out


def _rel(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or not math.isfinite(value) or not ref:
        return None
    return (value - ref) / ref


@dataclass
class Outcome:
    """What one tool gave on one curve."""

    refused: str | None = None
    rg: float | None = None
    i0: float | None = None
    rg_trusted: bool = False
    dmax: float | None = None
    pr_rg: float | None = None
    pr_trusted: bool = False
    mw: float | None = None
    flags: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)


def run_ours(entry: Entry) -> Outcome:
    """Our whole per-curve analysis of one entry."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = read_curve(entry.path, q_unit=entry.q_unit)
        # Timed twice, the faster kept: the first call of a process also pays imports.
        elapsed = math.inf
        for _ in range(2):
            t0 = time.perf_counter()
            res = analyse_curve(curve)
            elapsed = min(elapsed, time.perf_counter() - t0)
    except HalosInputError as exc:
        return Outcome(refused=str(exc))
    g, pr, mw = res.guinier, res.pr, res.mw
    out = Outcome(flags=res.flags, seconds={"analysis": elapsed})
    if math.isfinite(g.Rg):
        out.rg, out.i0, out.rg_trusted = g.Rg, g.I0, bool(g.valid)
    if pr is not None:
        out.dmax, out.pr_rg, out.pr_trusted = pr.Dmax, pr.Rg, bool(pr.valid)
    if mw is not None and entry.mw is not None:
        method = entry.mw.get("method", "consensus")
        value = {"vp": mw.mw_vp_kda, "vc": mw.mw_vc_kda}.get(method, mw.mw_consensus_kda)
        out.mw = value if math.isfinite(value) else None
    return out


@contextlib.contextmanager
def _c_stdout_to_stderr():
    """Route what compiled code writes on file descriptor 1 to stderr (LAPACK's messages
    inside freesas would otherwise break ``--json`` output)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_freesas(entry: Entry, pr: bool = True) -> Outcome | None:
    """freesas ``autoRg`` (and with ``pr`` ``auto_bift`` and Rambo–Tainer MW) on the rows as
    read; None without freesas."""
    try:
        from freesas.autorg import autoRg
        from freesas.bift import auto_bift
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = read_curve(entry.path, q_unit=entry.q_unit)
    except HalosInputError as exc:
        return Outcome(refused=f"file not readable: {exc}")
    data = np.column_stack([curve.q, curve.intensity, curve.sigma])
    out = Outcome()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rg = autoRg(data)
        out.rg, out.i0 = float(rg.Rg), float(rg.I0)
        out.rg_trusted = not bool(rg.aggregated)
    except Exception as exc:  # noqa: BLE001 - any failure of the other tool is a refusal
        out.refused = f"autoRg: {type(exc).__name__}: {exc}"
    out.seconds["autoRg"] = time.perf_counter() - t0
    if not pr:
        return out
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = auto_bift(data).calc_stats()
        out.dmax, out.pr_rg = float(stats.Dmax_avg), float(stats.Rg_avg)
        out.pr_trusted = True
    except Exception as exc:  # noqa: BLE001
        out.refused = (out.refused + "; " if out.refused else "") + (
            f"auto_bift: {type(exc).__name__}: {exc}"
        )
    out.seconds["auto_bift"] = time.perf_counter() - t0
    try:
        # freesas' Rambo–Tainer MW works in nm⁻¹ (its default q max 2 nm⁻¹).
        from freesas.invariants import calc_Rambo_Tainer

        k = 10.0 if entry.q_unit == "A^-1" else 1.0
        data_nm = np.column_stack([curve.q * k, curve.intensity, curve.sigma])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rt = calc_Rambo_Tainer(data_nm, autoRg(data_nm))
        out.mw = float(rt.mass) if rt is not None else None
    except Exception:  # noqa: BLE001 - no MW from freesas on this curve
        out.mw = None
    return out


def judge(entry: Entry, o: Outcome) -> dict[str, Any]:
    """Deviations from the references and whether a wrong number went unflagged."""
    g, p, m = entry.guinier or {}, entry.pr or {}, entry.mw or {}
    seq = m.get("kind") == "sequence"
    d = {
        "refused": o.refused,
        "rg": o.rg,
        "d_rg": _rel(o.rg, g.get("Rg")),
        "d_i0": _rel(o.i0, g.get("I0")),
        "dmax": o.dmax,
        "d_dmax": _rel(o.dmax, p.get("Dmax")),
        "d_pr_rg": _rel(o.pr_rg, p.get("Rg")),
        "d_mw": None if seq else _rel(o.mw, m.get("kDa")),
        "d_mw_seq": _rel(o.mw, m.get("kDa")) if seq else None,
        "rg_trusted": o.rg_trusted,
        "pr_trusted": o.pr_trusted,
        "flags": list(o.flags),
    }
    silent = []
    if o.rg_trusted and d["d_rg"] is not None and abs(d["d_rg"]) > SILENT_RG:
        silent.append("guinier_rg")
    if o.pr_trusted and d["d_dmax"] is not None and abs(d["d_dmax"]) > SILENT_DMAX:
        silent.append("pr_dmax")
    if o.pr_trusted and d["d_pr_rg"] is not None and abs(d["d_pr_rg"]) > SILENT_RG:
        silent.append("pr_rg")
    d["silent"] = silent
    d["within_tol"] = {
        "rg": None if d["d_rg"] is None else abs(d["d_rg"]) <= g.get("tol", 0.03),
        "dmax": None if d["d_dmax"] is None else abs(d["d_dmax"]) <= p.get("tol", 0.1),
    }
    return d


def _stats(values: list[float]) -> dict[str, float | int | None]:
    v = [abs(x) for x in values if x is not None]
    if not v:
        return {"n": 0, "mean": None, "median": None, "max": None}
    return {"n": len(v), "mean": statistics.fmean(v), "median": statistics.median(v), "max": max(v)}


def summarise(rows: list[dict[str, Any]], tool: str) -> dict[str, Any]:
    """Summary of one tool's judged rows."""
    judged = [r[tool] for r in rows if r.get(tool) is not None]
    dmax_tol = [j["within_tol"]["dmax"] for j in judged if j["within_tol"]["dmax"] is not None]
    return {
        "curves": len(judged),
        "refused": sum(1 for j in judged if j["refused"]),
        "guinier_rg": _stats([j["d_rg"] for j in judged]),
        "guinier_i0": _stats([j["d_i0"] for j in judged]),
        "pr_dmax": _stats([j["d_dmax"] for j in judged]),
        "pr_dmax_within_tol": f"{sum(dmax_tol)}/{len(dmax_tol)}",
        "pr_rg": _stats([j["d_pr_rg"] for j in judged]),
        "mw": _stats([j["d_mw"] for j in judged]),
        "mw_vs_sequence": _stats([j["d_mw_seq"] for j in judged]),
        "silent_failures": sum(len(j["silent"]) for j in judged),
        "silent_curves": [r["curve"] for r in rows if r.get(tool) and r[tool]["silent"]],
    }


def _n_rows(entry: Entry) -> int | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(read_curve(entry.path, q_unit=entry.q_unit))
    except HalosInputError:
        return None


def _timing(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-curve wall time of our whole analysis and of freesas autoRg + auto_bift."""
    ours = [r["halos_seconds"] for r in rows if r.get("halos_seconds") is not None]
    theirs = [sum(r["freesas_seconds"].values()) for r in rows if r.get("freesas_seconds")]
    dense = max((r for r in rows if r.get("points")), key=lambda r: r["points"], default=None)
    out: dict[str, Any] = {
        "halos_median_s": statistics.median(ours) if ours else None,
        "halos_max_s": max(ours) if ours else None,
        "freesas_median_s": statistics.median(theirs) if theirs else None,
    }
    if dense is not None:
        out["densest"] = {
            "curve": dense["curve"],
            "points": dense["points"],
            "halos_s": dense.get("halos_seconds"),
        }
    return out


def run(folders: list[Path], with_freesas: bool = True, freesas_pr: bool = True) -> dict[str, Any]:
    """Judge every entry of the corpora; returns rows and summaries (JSON-ready).

    ``freesas_pr=False`` runs only freesas' autoRg beside ours (its P(r) takes ~0.5 s a curve).
    """
    rows = []
    for entry in load_entries(folders):
        ours = run_ours(entry)
        row: dict[str, Any] = {
            "curve": entry.name,
            "corpus": entry.corpus,
            "points": _n_rows(entry),
            "halos": judge(entry, ours),
            "halos_seconds": ours.seconds.get("analysis"),
        }
        with _c_stdout_to_stderr():
            fs = run_freesas(entry, freesas_pr) if with_freesas else None
        if fs is not None:
            row["freesas"] = judge(entry, fs)
            row["freesas_seconds"] = fs.seconds
        rows.append(row)
    summary = {"halos": summarise(rows, "halos")}
    if any("freesas" in r for r in rows):
        summary["freesas"] = summarise(rows, "freesas")
    summary["timing"] = _timing(rows)
    return {"rows": rows, "summary": summary}


def _pct(x: float | None) -> str:
    return "      –" if x is None else f"{100 * x:+6.1f}%"


def print_table(result: dict[str, Any]) -> None:
    tools = [t for t in ("halos", "freesas") if t in result["summary"]]
    timing = result["summary"].get("timing", {})
    print(
        f"{'curve':44s} {'tool':8s} {'ΔRg':>7s} {'ΔI0':>7s} {'ΔDmax':>7s} {'ΔRg(P)':>7s} "
        f"{'ΔMW':>7s}  trusted  notes"
    )
    for r in result["rows"]:
        for t in tools:
            j = r.get(t)
            if j is None:
                continue
            note = (
                f"refused: {j['refused'][:60]}"
                if j["refused"] and j["rg"] is None
                else " ".join(j["flags"])
            )
            if j["silent"]:
                note = "SILENT " + ",".join(j["silent"]) + " " + note
            trusted = ("G" if j["rg_trusted"] else "-") + ("P" if j["pr_trusted"] else "-")
            print(
                f"{r['curve'][:44]:44s} {t:8s} {_pct(j['d_rg'])} {_pct(j['d_i0'])} "
                f"{_pct(j['d_dmax'])} {_pct(j['d_pr_rg'])} {_pct(j['d_mw'] or j['d_mw_seq'])}  "
                f"{trusted:7s}  "
                f"{note[:70]}"
            )
    print()
    for t in tools:
        s = result["summary"][t]
        print(
            f"{t}: {s['curves']} curves, {s['refused']} refused, "
            f"{s['silent_failures']} silent failures {s['silent_curves']}"
        )
        for key in ("guinier_rg", "guinier_i0", "pr_dmax", "pr_rg", "mw", "mw_vs_sequence"):
            st = s[key]
            if st["n"]:
                print(
                    f"  |Δ{key}|: mean {100 * st['mean']:.2f} %, median {100 * st['median']:.2f} %,"
                    f" max {100 * st['max']:.2f} % (n={st['n']})"
                )
        print(f"  Dmax within the reference's tolerance: {s['pr_dmax_within_tol']}")
    if timing.get("halos_median_s") is not None:
        dense = timing.get("densest") or {}
        fs = timing.get("freesas_median_s")
        print(
            f"time per curve (whole analysis): median {timing['halos_median_s']:.3f} s, max "
            f"{timing['halos_max_s']:.3f} s; densest curve {dense.get('curve')} "
            f"({dense.get('points')} points) {dense.get('halos_s', float('nan')):.3f} s"
            + (f"; freesas autoRg + auto_bift median {fs:.3f} s" if fs is not None else "")
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--corpus", action="append", type=Path, help="corpus folder (repeatable)")
    ap.add_argument("--no-freesas", action="store_true", help="leave freesas out")
    ap.add_argument(
        "--stress", action="store_true", help="also apply real files' quirks to every curve"
    )
    args = ap.parse_args(argv)
    folders = args.corpus or default_corpora()
    if not folders:
        print("no corpus found (set HALOS_VALIDATION_DIR or pass --corpus)", file=sys.stderr)
        return 1
    result = run(folders, with_freesas=not args.no_freesas)
    if args.stress:
        result["stress"] = stress(folders)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print_table(result)
    if args.stress:
        st = result["stress"]
        print(
            f"\nstress: {st['cases']} perturbed curves, {st['refused']} refused, "
            f"{st['silent_failures']} silent failures"
        )
        for r in st["rows"]:
            if r.get("silent") or "refused" in r:
                what = ",".join(r.get("silent", ())) or "refused: " + r.get("refused", "")[:60]
                print(
                    f"  {r['curve'][:40]:40s} {r['quirk']:16s} ΔRg {_pct(r.get('d_rg'))} "
                    f"ΔDmax {_pct(r.get('d_dmax'))}  {what}  {' '.join(r.get('flags', []))}"
                )
    return 0


# --- stress: the quirks of real files, applied to real curves -----------------------------


def _perturbations(rg: float, i0: float) -> dict[str, Any]:
    """Functions curve -> curve that add one quirk of real files or samples each.

    ``rg`` and ``i0`` are the curve's reference (or unperturbed) values: they set where the
    quirk acts (aggregates and a structure factor act at low q·Rg).
    """
    import dataclasses as dc

    def rows(c, **kw):
        return dc.replace(c, **kw)

    def shadow_point(c):
        i, s = c.intensity.copy(), c.sigma.copy()
        i[0], s[0] = i[0] * 0.01, s[0] * 1000.0
        return rows(c, intensity=i, sigma=s)

    def shadow_ramp(c):
        i = c.intensity.copy()
        i[:3] *= np.array([0.2, 0.5, 0.8])
        return rows(c, intensity=i)

    def sigma_zero_first(c):
        s = c.sigma.copy()
        s[0] = 0.0
        return rows(c, sigma=s)

    def nan_sigma(c):
        s = c.sigma.copy()
        s[len(s) // 7] = np.nan
        return rows(c, sigma=s)

    def late_start(c):
        return c.select(c.q * rg >= 0.45)

    def short_q(c):
        return c.select(c.q * rg <= 4.0)

    def background(c):
        return rows(c, intensity=c.intensity + 0.01 * i0)

    def aggregates(c):
        agg = 0.02 * 20.0 * i0 * np.exp(-((c.q * 4.0 * rg) ** 2) / 3.0)
        return rows(c, intensity=c.intensity + agg)

    def repulsion(c):
        s_q = 1.0 - 0.25 * np.exp(-((c.q * 1.5 * rg) ** 2))
        return rows(c, intensity=c.intensity * s_q, sigma=c.sigma * s_q)

    def noisier(c):
        rng = np.random.default_rng(11)
        s = c.sigma * 3.0
        return rows(c, intensity=c.intensity + rng.normal(0.0, np.sqrt(8.0) * c.sigma), sigma=s)

    def no_sigma(c):
        return rows(c, sigma=np.full(len(c), np.nan))

    return {
        "shadow_point": shadow_point,
        "shadow_ramp": shadow_ramp,
        "sigma_zero_first": sigma_zero_first,
        "nan_sigma": nan_sigma,
        "late_start": late_start,
        "short_q": short_q,
        "background": background,
        "aggregates": aggregates,
        "repulsion": repulsion,
        "noisier": noisier,
        "no_sigma": no_sigma,
    }


def stress(folders: list[Path]) -> dict[str, Any]:
    """Every perturbation on every curve that has a Guinier reference: wrong-and-unflagged?

    The truth of a perturbed curve is the unperturbed sample's: the reference Rg (Guinier),
    and the reference Dmax where there is one (else our Dmax on the clean curve). A result
    further off than 10 % (Rg) or 25 % (Dmax) must carry a doubt flag.
    """
    out = []
    for entry in load_entries(folders):
        g = entry.guinier or {}
        if g.get("Rg") is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            curve = read_curve(entry.path, q_unit=entry.q_unit)
            clean = analyse_curve(curve)
        i0 = g.get("I0") or (clean.guinier.I0 if clean.guinier.found else 1.0)
        dmax_ref = (entry.pr or {}).get("Dmax") or (clean.pr.Dmax if clean.pr else None)
        for name, fn in _perturbations(g["Rg"], i0).items():
            row: dict[str, Any] = {"curve": entry.name, "quirk": name}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = analyse_curve(fn(curve))
            except HalosInputError as exc:
                row["refused"] = str(exc)
                out.append(row)
                continue
            silent = []
            if res.guinier.found:
                d = _rel(res.guinier.Rg, g["Rg"])
                row["d_rg"] = d
                if res.guinier.valid and abs(d) > SILENT_RG:
                    silent.append("guinier_rg")
            if res.pr is not None and dmax_ref:
                d = _rel(res.pr.Dmax, dmax_ref)
                row["d_dmax"] = d
                if res.pr.valid and abs(d) > SILENT_DMAX:
                    silent.append("pr_dmax")
            row["valid"] = [res.guinier.valid, res.pr is not None and res.pr.valid]
            row["flags"] = list(res.flags)
            row["silent"] = silent
            out.append(row)
    return {
        "rows": out,
        "cases": len(out),
        "refused": sum(1 for r in out if "refused" in r),
        "silent_failures": sum(len(r.get("silent", ())) for r in out),
    }


if __name__ == "__main__":
    sys.exit(main())
