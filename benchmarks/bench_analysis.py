# SPDX-License-Identifier: MIT
"""Benchmark of the analysis core against freesas on the real validation curves.

Times, in one process and as medians over repeats: (a) our automatic Guinier against freesas
``autoRg``, (b) our P(r) (``bift``) against freesas ``auto_bift``, and (c) the whole
per-sample analysis (frame selection + average + buffer subtraction + Guinier + MW + P(r)) on
20 frames of the BSA SEC run. Prints our Rg / Dmax beside freesas' and the reference values,
and the speed ratios freesas_time / our_time.

Usage::

    python benchmarks/bench_analysis.py [--json] [--repeats N] [--validation DIR]

Not a test: it needs ``../shared/validation`` (skipped with a message when absent) and
freesas (for the comparison columns only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from halos_analysis import reduce as _reduce  # noqa: E402
from halos_analysis.analysis.guinier import auto_guinier  # noqa: E402
from halos_analysis.analysis.mw import molecular_weight  # noqa: E402
from halos_analysis.analysis.pr import bift  # noqa: E402
from halos_analysis.io.curves import read_curve  # noqa: E402
from halos_analysis.types import Curve  # noqa: E402

try:  # optional: only for the comparison columns
    from freesas.autorg import autoRg
    from freesas.bift import auto_bift
except ImportError:
    autoRg = auto_bift = None

DEFAULT_VALIDATION = ROOT.parent / "shared" / "validation"

#: (case key in reference.json, file, q unit, Guinier reference, P(r) references)
CASES = (
    (
        "glucose_isomerase",
        "curves/glucose_isomerase.dat",
        "A^-1",
        ("autorg_RAW", "Rg"),
        {"GNOM": ("ift", "GNOM"), "RAW_BIFT": ("ift", "BIFT_RAW")},
    ),
    (
        "bsa_bm29_2013",
        "curves/bsa_005_sub.dat",
        "nm^-1",
        ("autorg_ATSAS_2.6.1", "Rg"),
        {"freesas_BIFT": ("bift_freesas",)},
    ),
    ("bsa_bm29_2022", "curves/bm29_bsa_5mg_sub.dat", "nm^-1", None, {}),
    ("lysozyme_standard", "curves/lys_saxs.dat", "A^-1", ("guinier_RAW_header", "Rg"), {}),
)


def _median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of ``fn()`` over ``repeats`` calls (after one warm-up) and its result."""
    out = fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _dig(d: dict, keys: tuple[str, ...]) -> Any:
    for k in keys:
        d = d[k]
    return d


def _ratio(theirs: float | None, ours: float | None) -> float | None:
    if theirs is None or ours is None or ours <= 0:
        return None
    return theirs / ours


def bench_curves(validation: Path, repeats: int, fs_repeats: int) -> list[dict[str, Any]]:
    ref = json.loads((validation / "reference.json").read_text())["cases"]
    rows = []
    for key, rel, unit, g_ref, pr_refs in CASES:
        path = validation / rel
        if not path.is_file():
            continue
        curve = read_curve(path, q_unit=unit)
        data = np.column_stack([curve.q, curve.intensity, curve.sigma])
        row: dict[str, Any] = {"curve": rel, "q_unit": unit, "n_points": len(curve)}
        case = ref.get(key, {})
        row["ref_guinier_Rg"] = _dig(case, g_ref) if g_ref else None
        row["ref_pr"] = {
            name: {"Dmax": _dig(case, p).get("Dmax"), "Rg": _dig(case, p).get("Rg")}
            for name, p in pr_refs.items()
        }

        t, g = _median_time(lambda c=curve: auto_guinier(c), repeats * 4)
        row.update(guinier_s=t, guinier_Rg=g.Rg, guinier_flags=list(g.flags))
        if autoRg is not None:
            t, fr = _median_time(lambda d=data: autoRg(d), repeats * 4)
            row.update(freesas_autorg_s=t, freesas_autorg_Rg=float(fr.Rg))
        row["guinier_speedup"] = _ratio(row.get("freesas_autorg_s"), row.get("guinier_s"))

        t, pr = _median_time(lambda c=curve: bift(c), repeats)
        row.update(
            bift_s=t,
            bift_Dmax=pr.Dmax,
            bift_Dmax_err=pr.Dmax_err,
            bift_Rg=pr.Rg,
            bift_Rg_err=pr.Rg_err,
            bift_chi2=pr.chi2,
            bift_flags=list(pr.flags),
        )
        if auto_bift is not None:
            t, fb = _median_time(lambda d=data: auto_bift(d), fs_repeats)
            st = fb.calc_stats()
            row.update(
                freesas_bift_s=t,
                freesas_Dmax=float(st.Dmax_avg),
                freesas_Dmax_err=float(st.Dmax_std),
                freesas_bift_Rg=float(st.Rg_avg),
            )
        row["bift_speedup"] = _ratio(row.get("freesas_bift_s"), row.get("bift_s"))
        rows.append(row)
    return rows


def _frames_from_series(validation: Path) -> tuple[list[Curve], list[Curve], str] | None:
    """10 sample frames (peak of the BSA SEC run) and 10 buffer frames, as curves."""
    h5 = validation / "series" / "clean_BSA_001.hdf5"
    if h5.is_file():
        import h5py

        with h5py.File(h5, "r") as f:
            q = f["profiles/q"][()]

            def frame(i: int) -> Curve:
                arr = f[f"profiles/{i:06d}"][()]
                return Curve(q, arr[:, 0], arr[:, 1], "A^-1", name=f"BSA_001_{i:04d}")

            sample = [frame(i) for i in range(195, 205)]
            buffer = [frame(i) for i in range(20, 30)]
        return sample, buffer, "series/clean_BSA_001.hdf5 frames 195-204, buffer 20-29"
    dats = sorted((validation / "series").glob("BSA_001_*.dat"))
    if len(dats) >= 4:
        curves = [read_curve(p, q_unit="A^-1") for p in dats]
        half = len(curves) // 2
        return curves[half:], curves[:half], "series/BSA_001_*.dat (timing only)"
    return None


def bench_pipeline(validation: Path, repeats: int) -> dict[str, Any]:
    frames = _frames_from_series(validation)
    if frames is None:
        return {"missing": ["series frames"]}
    sample, buffer, what = frames

    def run() -> dict[str, Any]:
        steps: dict[str, float] = {}
        t = time.perf_counter()
        sel_s = _reduce.select_frames(sample)
        sel_b = _reduce.select_frames(buffer)
        steps["select"] = time.perf_counter() - t
        t = time.perf_counter()
        avg_s = _reduce.average([sample[i] for i in sel_s.selected])
        avg_b = _reduce.average([buffer[i] for i in sel_b.selected])
        sub = _reduce.subtract(avg_s, avg_b)
        steps["average_subtract"] = time.perf_counter() - t
        t = time.perf_counter()
        g = auto_guinier(sub)
        steps["guinier"] = time.perf_counter() - t
        t = time.perf_counter()
        pr = bift(sub, g) if g.found else bift(sub)
        steps["bift"] = time.perf_counter() - t
        t = time.perf_counter()
        mw = molecular_weight(sub, g, pr=pr) if g.found else None
        steps["mw"] = time.perf_counter() - t
        return {
            "steps": steps,
            "Rg": g.Rg,
            "Dmax": pr.Dmax,
            "pr_Rg": pr.Rg,
            "mw_vc_kda": None if mw is None else mw.mw_vc_kda,
            "mw_vp_kda": None if mw is None else mw.mw_vp_kda,
            "frames_kept": [len(sel_s.selected), len(sel_b.selected)],
        }

    t_total, out = _median_time(run, repeats)
    out["total_s"] = t_total
    out["frames"] = what
    out["n_frames"] = len(sample) + len(buffer)
    return out


def _fmt(v: Any, spec: str = ".4g") -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats (median)")
    ap.add_argument(
        "--freesas-repeats", type=int, default=1, help="timed repeats of auto_bift (slow)"
    )
    ap.add_argument("--validation", type=Path, default=DEFAULT_VALIDATION)
    args = ap.parse_args(argv)

    if not args.validation.is_dir():
        print(f"validation data not found at {args.validation}: nothing to benchmark")
        return 0
    rows = bench_curves(args.validation, args.repeats, args.freesas_repeats)
    pipe = bench_pipeline(args.validation, args.repeats)
    speed_pr = [r["bift_speedup"] for r in rows if r.get("bift_speedup")]
    speed_g = [r["guinier_speedup"] for r in rows if r.get("guinier_speedup")]
    summary = {
        "median_bift_speedup": statistics.median(speed_pr) if speed_pr else None,
        "min_bift_speedup": min(speed_pr) if speed_pr else None,
        "median_guinier_speedup": statistics.median(speed_g) if speed_g else None,
        "median_bift_ms": 1e3 * statistics.median(r["bift_s"] for r in rows) if rows else None,
        "freesas_available": auto_bift is not None,
    }
    if args.json:
        print(json.dumps({"curves": rows, "pipeline": pipe, "summary": summary}, default=float))
        return 0

    print("Guinier (ours vs freesas autoRg), medians per curve")
    print(
        f"{'curve':34s} {'Rg ours':>9s} {'freesas':>9s} {'ref':>9s} {'ms ours':>8s} "
        f"{'ms fs':>8s} {'speedup':>8s}"
    )
    for r in rows:
        print(
            f"{r['curve']:34s} {_fmt(r.get('guinier_Rg')):>9s} "
            f"{_fmt(r.get('freesas_autorg_Rg')):>9s} {_fmt(r['ref_guinier_Rg']):>9s} "
            f"{_fmt(r.get('guinier_s') and 1e3 * r['guinier_s'], '.2f'):>8s} "
            f"{_fmt(r.get('freesas_autorg_s') and 1e3 * r['freesas_autorg_s'], '.2f'):>8s} "
            f"{_fmt(r.get('guinier_speedup'), '.1f'):>8s}"
        )
    print("\nP(r) (ours bift vs freesas auto_bift), medians per curve")
    print(
        f"{'curve':34s} {'Dmax ours':>14s} {'freesas':>14s} {'ref Dmax':>18s} "
        f"{'Rg ours':>8s} {'fs':>7s} {'ref Rg':>14s} {'ms ours':>8s} {'ms fs':>8s} {'x':>5s}"
    )
    for r in rows:
        refd = ", ".join(f"{v['Dmax']:.4g}" for v in r["ref_pr"].values() if v["Dmax"]) or "-"
        refr = ", ".join(f"{v['Rg']:.4g}" for v in r["ref_pr"].values() if v["Rg"]) or "-"
        ours = f"{r['bift_Dmax']:.4g}±{r['bift_Dmax_err']:.2g}"
        fs = f"{r['freesas_Dmax']:.4g}±{r['freesas_Dmax_err']:.2g}" if "freesas_Dmax" in r else "-"
        print(
            f"{r['curve']:34s} {ours:>14s} {fs:>14s} {refd:>18s} {r['bift_Rg']:8.4g} "
            f"{_fmt(r.get('freesas_bift_Rg')):>7s} {refr:>14s} {1e3 * r['bift_s']:8.1f} "
            f"{_fmt(r.get('freesas_bift_s') and 1e3 * r['freesas_bift_s'], '.1f'):>8s} "
            f"{_fmt(r.get('bift_speedup'), '.1f'):>5s}"
        )
    print("\nPer-sample analysis (select + average + subtract + Guinier + MW + P(r))")
    if "missing" in pipe:
        print(f"  skipped, missing: {', '.join(pipe['missing'])}")
    else:
        steps = ", ".join(f"{k} {1e3 * v:.1f} ms" for k, v in pipe["steps"].items())
        print(
            f"  {pipe['n_frames']} frames ({pipe['frames']}): total {1e3 * pipe['total_s']:.1f} "
            f"ms [{steps}]"
        )
        print(
            f"  Rg {pipe['Rg']:.4g}, P(r) Rg {pipe['pr_Rg']:.4g}, Dmax {pipe['Dmax']:.4g}, "
            f"MW Vc {_fmt(pipe['mw_vc_kda'], '.1f')} / Vp {_fmt(pipe['mw_vp_kda'], '.1f')} kDa, "
            f"frames kept {pipe['frames_kept']}"
        )
    print(f"\nsummary: {json.dumps(summary, default=float)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
