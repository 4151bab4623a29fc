# SPDX-License-Identifier: MIT
"""Benchmark of the series (SEC-SAXS) mode on RAW's BSA run stretched to 1000–3000 frames.

The real run (``series/clean_BSA_001.hdf5``, 324 frames × 469 q) is stretched along the
frame axis by linear interpolation to N frames, with fresh Gaussian noise restoring each
frame's σ (interpolation averages noise away), so the peaks keep their shape and the
frames their noise. Timed, as medians over repeats, in one process:

* the whole series analysis as the issue counts it: traces, buffer search and validation,
  subtraction, per-frame Rg/I0/MW of all sliding windows, sample search and validation,
  SVD, EFA (sweeps and rotation);
* the same with the REGALS-class deconvolution and the full analysis of every component
  (what ``halos series`` does), and each step alone;
* CorMap: ``cormap_test`` on 400 frames and the blockwise pair matrix of 2000 frames.

When ``--raw-python`` names an interpreter with BioXTAS RAW installed (GPL: a separate
environment, never imported here), the same stretched data are timed with RAW's API in a
subprocess (``find_buffer_range``, ``set_buffer_range``, ``find_sample_range``, ``svd``,
``efa``); otherwise the RAW figures quoted in issue 11 are printed beside ours.

Usage::

    python benchmarks/bench_series.py [--frames 1000 2000 3000] [--repeats 3]
        [--raw-python /path/to/raw-env/bin/python] [--json] [--validation DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from halos_analysis import reduce as _reduce  # noqa: E402
from halos_analysis.analysis.series import (  # noqa: E402
    SeriesSettings,
    analyse_series,
    average_frames,
    find_buffer_range,
    find_peaks,
    find_sample_range,
    frame_parameters,
    intensity_traces,
    subtract_buffer,
    svd_rank,
)
from halos_analysis.analysis.series.efa import efa  # noqa: E402
from halos_analysis.analysis.series.regals import regals  # noqa: E402
from halos_analysis.analysis.series.svd import bin_q  # noqa: E402
from halos_analysis.io.series import read_series  # noqa: E402
from halos_analysis.reduce.cormap import cormap_pairs  # noqa: E402
from halos_analysis.types import FrameCurves  # noqa: E402

DEFAULT_VALIDATION = Path(
    os.environ.get("HALOS_VALIDATION_DIR", ROOT.parent / "shared" / "validation")
)

#: RAW on the stretched run, 2 cores (issue 11): frames -> seconds per step.
RAW_ISSUE = {
    1000: {"buffer": 1.0, "per_frame": 1.3, "sample": 1.2, "efa": 10.0},
    2000: {"buffer": 3.1, "per_frame": 2.3, "sample": 3.3, "efa": 37.0},
    3000: {"buffer": 9.6, "per_frame": 5.2, "sample": 6.2, "efa": 70.0},
}


def stretch(frames: FrameCurves, n: int, seed: int = 11, rank: int = 4) -> FrameCurves:
    """The run resampled to n frames, each with independent noise of the measured σ.

    The real frames are denoised by truncating their (σ-normalised) SVD to ``rank``
    components — the buffer, the 2–3 species the run holds and a weak extra term: the
    smooth
    series is interpolated linearly along frames, and fresh Gaussian noise of each frame's
    σ is added. (Interpolating the noisy frames instead would correlate neighbouring
    frames' noise, which real frames do not have.)
    """
    rng = np.random.default_rng(seed)
    m = len(frames)
    sbar = frames.sigma.mean(axis=0)
    u, sv, vt = np.linalg.svd(frames.intensity / sbar, full_matrices=False)
    smooth = (u[:, :rank] * sv[:rank]) @ vt[:rank] * sbar
    t = np.linspace(0, m - 1, n)
    i0 = np.clip(np.floor(t).astype(int), 0, m - 2)
    w = (t - i0)[:, None]
    inten = (1 - w) * smooth[i0] + w * smooth[i0 + 1]
    sig = (1 - w) * frames.sigma[i0] + w * frames.sigma[i0 + 1]
    inten = inten + rng.normal(size=inten.shape) * sig
    return FrameCurves(frames.q, inten, sig, frames.q_unit, name=f"bsa_x{n}", meta={"notes": []})


def median_time(fn, repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def elution_region(p, peaks) -> tuple[int, int]:
    """Contiguous frames around the main apex with SNR ≥ 10 (as analyse_series takes)."""
    strong = np.nan_to_num(p.snr) >= 10
    a = b = max(peaks, key=lambda pk: pk.prominence).position
    while a > 0 and strong[a - 1]:
        a -= 1
    while b < len(strong) - 1 and strong[b + 1]:
        b += 1
    return a, b


def issue_pipeline(fr: FrameCurves):
    """Buffer + per-frame Rg/MW + sample + SVD + EFA, the steps the issue's target counts."""
    tr = intensity_traces(fr)
    peaks = find_peaks(tr)
    buf = find_buffer_range(fr, tr, peaks)
    sub = subtract_buffer(fr, average_frames(fr, buf.ranges))
    p = frame_parameters(sub)
    main = max(peaks, key=lambda pk: pk.prominence)
    sample = find_sample_range(sub, p, tr, main)
    a, b = elution_region(p, peaks)
    ib, sb, _ = bin_q(sub.intensity[a : b + 1], sub.sigma[a : b + 1], 100)
    sv = svd_rank(ib, sb, (a, b))
    for n_species in range(max(sv.rank, 2), 1, -1):
        e = efa(sub.intensity[a : b + 1], sub.sigma[a : b + 1], (a, b), n_components=n_species)
        if e.ranges:
            break
    return buf, sample, sv, e, p


def steps(fr: FrameCurves, repeats: int) -> dict[str, float]:
    out: dict[str, float] = {}
    tr = intensity_traces(fr)
    peaks = find_peaks(tr)
    out["traces+peaks"], _ = median_time(lambda: find_peaks(intensity_traces(fr)), repeats)
    out["buffer"], buf = median_time(lambda: find_buffer_range(fr, tr, peaks), repeats)
    sub = subtract_buffer(fr, average_frames(fr, buf.ranges))
    out["per_frame"], p = median_time(lambda: frame_parameters(sub), repeats)
    main = max(peaks, key=lambda pk: pk.prominence)
    out["sample"], _ = median_time(lambda: find_sample_range(sub, p, tr, main), repeats)
    a, b = elution_region(p, peaks)
    block_i, block_s = sub.intensity[a : b + 1], sub.sigma[a : b + 1]
    out["svd"], sv = median_time(
        lambda: svd_rank(*bin_q(block_i, block_s, 100)[:2], (a, b)), repeats
    )

    def placed_efa():
        # As analyse_series: from the SVD rank down to 2 species until EFA places them.
        for n_species in range(max(sv.rank, 2), 1, -1):
            res = efa(block_i, block_s, (a, b), n_components=n_species)
            if res.ranges:
                return res
        return res

    out["efa"], e = median_time(placed_efa, repeats)
    out["efa_species"] = e.n_components if e.ranges else 0
    if e.ranges:
        out["regals"], _ = median_time(lambda: regals(block_i, block_s, (a, b), e.ranges), repeats)
    out["elution_region_frames"] = b - a + 1
    return out


RAW_SCRIPT = r"""
import json, sys, time
import numpy as np
import bioxtasraw.RAWAPI as raw
d = np.load(sys.argv[1])
q, I, S = d["q"], d["I"], d["S"]


def make_series(I, S):
    profiles = [raw.make_profile(q, I[k], S[k], f"f{k:05d}") for k in range(len(I))]
    return raw.profiles_to_series(profiles)


# Warm-up on a decimated copy: numba compiles RAW's kernels on first use (36-57 s).
step = max(1, len(I) // 324)
warm = make_series(I[::step], S[::step])
ok, w0, w1 = raw.find_buffer_range(warm)
raw.set_buffer_range(warm, [[w0, w1]])
raw.find_sample_range(warm)
series = make_series(I, S)
out = {}
def timed(key, fn):
    t = time.perf_counter()
    r = fn()
    out[key] = time.perf_counter() - t
    return r
ok, b0, b1 = timed("buffer", lambda: raw.find_buffer_range(series))
out["buffer_range"] = [int(b0), int(b1)]
timed("per_frame", lambda: raw.set_buffer_range(series, [[b0, b1]]))
ok, s0, s1 = timed("sample", lambda: raw.find_sample_range(series))
out["sample_range"] = [int(s0), int(s1)]
a, b = int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter(); raw.svd(series, framei=a, framef=b); out["svd"] = time.perf_counter() - t
mid = (a + b) // 2
t = time.perf_counter()
try:
    raw.efa(series, [[a, mid + (b - a) // 6], [mid - (b - a) // 6, b]], framei=a, framef=b)
except Exception as exc:
    out["efa_error"] = str(exc)
out["efa_rotation"] = time.perf_counter() - t
# The EFA sweeps (forward and backward), as RAW's EFA panel computes them.
import bioxtasraw.SASCalc as SASCalc
sasms = series.subtracted_sasm_list[a : b + 1]
sweeps = (("efa", True),) + ((("efa_full_q", False),) if sys.argv[4] == "1" else ())
for key, binning in sweeps:
    A = SASCalc.prepareSASMsforSVD(sasms, True, binning, 100)[0]
    t = time.perf_counter()
    SASCalc.runEFA(A, True)
    SASCalc.runEFA(A, False)
    out[key] = time.perf_counter() - t
print(json.dumps(out, default=float))
"""


def run_raw(
    raw_python: str, fr: FrameCurves, region: tuple[int, int], full_q: bool = False
) -> dict[str, Any] | None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "run.npz"
        np.savez(data, q=fr.q, I=fr.intensity, S=fr.sigma)
        script = Path(tmp) / "raw_bench.py"
        script.write_text(RAW_SCRIPT)
        # RAW's numba functions compile on first use (36–57 s): a warm-up run on the real
        # run first, so the timed one measures the analysis, as for ours.
        run = subprocess.run(
            [raw_python, str(script), str(data), str(region[0]), str(region[1]), str(int(full_q))],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            print(f"RAW failed: {run.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
        return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[1000, 2000, 3000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--raw-python", help="python of an environment with bioxtasraw installed")
    ap.add_argument(
        "--raw-full-q",
        action="store_true",
        help="also time RAW's EFA sweeps on the full q grid (minutes per run)",
    )
    ap.add_argument("--validation", type=Path, default=DEFAULT_VALIDATION)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    path = args.validation / "series" / "clean_BSA_001.hdf5"
    if not path.is_file():
        print(f"skipped: {path} not present", file=sys.stderr)
        return 0
    real = read_series(path)
    threads = (
        os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or "default"
    )
    report: dict[str, Any] = {"blas_threads": threads, "cpus": os.cpu_count(), "runs": {}}
    # Warm-up (imports, caches), not timed.
    issue_pipeline(real)
    # CorMap: the old per-pair loop on 400 frames is what cormap_test did before.
    curves400 = stretch(real, 400).curves()
    t_cm, _ = median_time(lambda: _reduce.cormap_test(curves400), args.repeats)
    big = stretch(real, 2000)
    t_pairs, _ = median_time(lambda: cormap_pairs(big.intensity), 1)
    report["cormap"] = {
        "cormap_test_400_s": t_cm,
        "pair_matrix_2000_s": t_pairs,
        "issue_before_400_s": 8.2,
    }
    for n in args.frames:
        fr = stretch(real, n)
        t_issue, (buf, sample, sv, e, p) = median_time(
            lambda fr=fr: issue_pipeline(fr), args.repeats
        )
        t_full, res = median_time(
            lambda fr=fr: analyse_series(fr, SeriesSettings()), max(1, args.repeats // 2)
        )
        row: dict[str, Any] = {
            "issue_pipeline_s": t_issue,
            "halos_series_analysis_s": t_full,
            "steps_s": steps(fr, args.repeats),
            "buffer_range": list(buf.ranges[0]) if buf else None,
            "sample_range": list(sample.ranges[0]) if sample else None,
            "svd_rank": sv.rank,
            "efa_ranges": [list(r) for r in e.ranges],
            "n_components": len(res.components),
            "components": [
                {k: c.summary()[k] for k in ("range", "method", "Rg", "mw_vc_kda")}
                for c in res.components
            ],
            "valid": res.valid,
            "raw_issue_s": RAW_ISSUE.get(n),
        }
        if args.raw_python:
            region = elution_region(p, find_peaks(intensity_traces(fr)))
            row["raw_measured_s"] = run_raw(args.raw_python, fr, region, args.raw_full_q)
        report["runs"][n] = row
        print(f"done {n} frames: {json.dumps(row, default=str)}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"series benchmark, {report['cpus']} CPUs, BLAS threads {threads}; medians")
    cm = report["cormap"]
    print(
        f"CorMap: cormap_test 400 frames {cm['cormap_test_400_s']:.2f} s (issue: 8.2 s before); "
        f"pair matrix 2000 frames {cm['pair_matrix_2000_s']:.2f} s"
    )
    for n, row in report["runs"].items():
        st = row["steps_s"]
        raw_ref = row.get("raw_measured_s") or row["raw_issue_s"] or {}
        src = "RAW measured" if row.get("raw_measured_s") else "RAW (issue)"
        raw_total = sum(raw_ref.get(k, 0.0) for k in ("buffer", "per_frame", "sample", "efa"))
        print(
            f"{n:5d} frames: buffer+per-frame+sample+SVD+EFA {row['issue_pipeline_s']:.2f} s"
            f" ({src} {raw_total:.1f} s: {raw_total / row['issue_pipeline_s']:.0f}x);"
            f" whole halos series analysis {row['halos_series_analysis_s']:.2f} s"
        )
        print(
            "        steps: "
            + ", ".join(
                f"{k} {v:.3f}"
                for k, v in st.items()
                if k not in ("elution_region_frames", "efa_species")
            )
            + f" (elution region {st['elution_region_frames']} frames)"
        )
        print(
            f"        {src}: "
            + ", ".join(
                f"{k} {raw_ref[k]:.2f}"
                for k in ("buffer", "per_frame", "sample", "efa")
                if k in raw_ref
            )
        )
        comps = [(c["method"], round(c["Rg"] or 0, 2)) for c in row["components"]]
        print(
            f"        ranges: buffer {row['buffer_range']}, sample {row['sample_range']},"
            f" rank {row['svd_rank']}, components {comps}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
