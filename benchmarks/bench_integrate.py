# SPDX-License-Identifier: MIT
"""Integration speed: HALOS engine vs a plain pyFAI ``integrate1d`` loop, same frames, same run.

Usage::

    python benchmarks/bench_integrate.py [--json] [--quick] [--cases memory,eiger_h5,stream]
    python benchmarks/bench_integrate.py --write-eiger DIR [--frames 60] [--level bright]

Every ratio is measured in this process against the same frames (medians of repeats; the
machine is shared, so ratios are the figures to quote). Geometry: beam off centre, detector
tilted by 0.6° and 0.9°, 1000 q bins, solid angle and polarisation corrections, no pixel
splitting, Poisson errors.

Cases:

* ``memory``: Pilatus 2M (1679×1475, int32) and Eiger2 4M (2167×2070, uint32) frames in
  memory, each at three levels: ``dim`` (SEC-like, ~0.2–40 counts/pixel), ``bright``
  (~1000 counts/pixel: total counts > 2**31) and ``bright_bad`` (bright with 5 random extra
  bad pixels per frame outside the static mask: Pilatus −2, Eiger 2**32−1). HALOS
  ``Integrator.integrate_source`` (Dask threads) vs the loop
  ``ai.integrate1d(frame, npt, method="no", mask=mask | bad pixels of the frame, ...)``.
  Dim frames also against the fastest pyFAI CPU engine (unless ``--quick``). The levels are
  timed in turn, round after round, so that a shared machine's drift hits them alike;
  ``speed_vs_dim`` is the median over rounds of dim's time over the level's.
* ``eiger_h5``: Eiger2 4M DECTRIS-style NeXus (master + bitshuffle-LZ4 data file, written by
  :mod:`halos_analysis.simulate.writers`) at the same three levels: read + decompress +
  integrate, HALOS (``open_frames`` + ``integrate_source``) vs the loop that reads each frame
  with h5py and integrates it; also reading alone (HALOS's raw-chunk reader vs h5py) and
  HALOS with reading through h5py (``HALOS_H5PY_READ=1``).
* ``stream``: 2000 Eiger2 4M frames (200 with ``--quick``) from one bitshuffle-LZ4 file, in a
  child process so that its peak RSS is its own.
* ``setup``: bin-map build, cold and from the cache.

``--write-eiger DIR`` writes a measurement (master + data files, ``eiger4m.poni`` with the
tilted geometry, ``eiger4m_mask.npy``) for whole-process timing of ``halos integrate``
against ``benchmarks/pyfai_loop.py`` on the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

NPT = 1000
POL = 0.99
ENGINES = [("no", m, "cython") for m in ("csr", "csc", "lut", "histogram")]
DETECTORS = {"pilatus2m": ("Pilatus2M", np.int32), "eiger4m": ("Eiger2_4M", np.uint32)}
LEVELS = ("dim", "bright", "bright_bad")
EXTRA_BAD = 5  # random bad pixels per frame outside the static mask (bright_bad)


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def geometry(name: str):
    """pyFAI integrator (beam off centre, tilted detector), shape and static mask."""
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = detector_factory(name)
    ny, nx = det.shape
    ai = AzimuthalIntegrator(dist=3.0, poni1=0.45 * ny * det.pixel1, poni2=0.55 * nx * det.pixel2,
                             rot1=0.010, rot2=-0.015, wavelength=1.0e-10, detector=det)  # fmt: skip
    return ai, det.shape, np.asarray(det.mask, bool)


def invalid_of(dtype) -> int:
    """The value a detector writes into a bad pixel: Eiger 2**32−1, Pilatus −2."""
    return int(np.iinfo(dtype).max) if np.dtype(dtype).kind == "u" else -2


def frames_for(ai, shape, mask, n: int, level: str, dtype, seed: int, distinct: int = 4):
    """``n`` Poisson frames of a SAXS-like image (``distinct`` different ones, tiled).

    Gaps (the static mask) hold the detector's gap value (Eiger 2**32−1, Pilatus −1);
    ``bright_bad`` frames get :data:`EXTRA_BAD` random bad pixels each outside it.
    """
    q = ai.center_array(shape, unit="q_nm^-1")
    profile = 200.0 * np.exp(-((q * 3.0) ** 2) / 3) + 1.0
    if level == "dim":
        lam = 0.2 * profile
    else:  # ~1000 counts per pixel on average: a concentrated sample, long exposure
        lam = 1000.0 * profile / profile[~mask].mean()
    lam = lam * ai.solidAngleArray(shape)
    rng = np.random.default_rng(seed)
    base = rng.poisson(lam, size=(distinct, *shape)).astype(dtype)
    base[:, mask] = np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else -1
    frames = base[np.arange(n) % distinct]  # a copy: each frame its own memory
    if level == "bright_bad":
        ys, xs = np.nonzero(~mask)
        for f in frames:
            pick = rng.choice(len(ys), EXTRA_BAD, replace=False)
            f[ys[pick], xs[pick]] = invalid_of(dtype)
    return frames


def total_counts(frame, mask) -> float:
    good = frame[~mask]
    return (
        float(good[good >= 0].sum(dtype=np.float64))
        if good.dtype.kind == "i"
        else float(good[good != np.iinfo(good.dtype).max].sum(dtype=np.float64))
    )


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rates(n_frames: int, npix: int, seconds: float) -> dict:
    return {"fps": n_frames / seconds, "mpix_s": n_frames * npix / seconds / 1e6, "s": seconds}


def frame_mask(mask, frame):
    """The static mask plus the frame's own bad pixels, as a pyFAI user passes it."""
    bad = frame == np.iinfo(frame.dtype).max if frame.dtype.kind == "u" else frame < 0
    return mask | bad


def pyfai_one(ai, frame, mask, method="no"):
    return ai.integrate1d(frame, NPT, method=method, error_model="poisson", mask=mask,
                          polarization_factor=POL, unit="q_nm^-1")  # fmt: skip


def pyfai_loop_fps(ai, frames, mask, repeats: int, method="no") -> float:
    """Frames per second of the plain loop: median over frames of each frame's time."""
    pyfai_one(ai, frames[0], frame_mask(mask, frames[0]), method)  # engine set-up
    times = []
    for _ in range(repeats):
        for f in frames:
            t0 = time.perf_counter()
            pyfai_one(ai, f, frame_mask(mask, f), method)
            times.append(time.perf_counter() - t0)
    return 1.0 / statistics.median(times)


def fastest_engine(ai, frames, mask, found: dict):
    best = None
    for method in ENGINES:
        fps = pyfai_loop_fps(ai, frames[:3], mask, 1, method)
        found["/".join(method)] = fps
        log(f"  pyFAI {method}: {fps:.1f} frames/s")
        if best is None or fps > best[1]:
            best = (method, fps)
    return best


def setup_times(ai, shape, mask, settings) -> dict:
    from halos_analysis.integrate import Integrator

    with tempfile.TemporaryDirectory() as cache:
        cold = Integrator(ai, shape, mask, settings, cache_dir=cache)
        warm = Integrator(ai, shape, mask, settings, cache_dir=cache)
        assert warm.from_cache
        return {"cold_s": cold.setup_seconds, "cached_s": warm.setup_seconds}


def interleaved(cases: dict, halos, pyfai_frame, repeats: int, per_repeat: int) -> dict:
    """Time every case in turn, round after round, so that drift of a shared machine hits
    them alike: per round, ``halos(case)`` once and ``pyfai_frame(case, i)`` on
    ``per_repeat`` frames. Returns per case the medians and the per-round ratios."""
    t_halos: dict = {c: [] for c in cases}
    t_pyfai: dict = {c: [] for c in cases}
    for r in range(repeats):
        for c in cases:
            t0 = time.perf_counter()
            halos(c)
            t_halos[c].append(time.perf_counter() - t0)
            for i in range(r * per_repeat, (r + 1) * per_repeat):
                t0 = time.perf_counter()
                pyfai_frame(c, i)
                t_pyfai[c].append(time.perf_counter() - t0)
    return {"halos_s": t_halos, "pyfai_frame_s": t_pyfai}


def level_results(t: dict, n: int, npix: int) -> dict:
    out: dict = {}
    for level in t["halos_s"]:
        res = rates(n, npix, statistics.median(t["halos_s"][level]))
        res["pyfai_loop_fps"] = 1.0 / statistics.median(t["pyfai_frame_s"][level])
        res["ratio_vs_pyfai_loop"] = res["fps"] / res["pyfai_loop_fps"]
        out[level] = res
    # Speed of bright (and bad) against dim, round by round (the rounds are interleaved).
    for level in ("bright", "bright_bad"):
        pairs = zip(t["halos_s"]["dim"], t["halos_s"][level], strict=True)
        out[level]["speed_vs_dim"] = statistics.median(d / b for d, b in pairs)
    return out


def case_memory(key: str, repeats: int, n: int, n_pyfai: int, engines: bool) -> dict:
    from halos_analysis.integrate import ArrayFrames, IntegrationSettings, Integrator

    name, dtype = DETECTORS[key]
    ai, shape, mask = geometry(name)
    npix = shape[0] * shape[1]
    settings = IntegrationSettings(npt=NPT, polarization_factor=POL)
    out: dict = {"setup": setup_times(ai, shape, mask, settings)}
    integ = Integrator(ai, shape, mask, settings, cache_dir=False, invalid_value=invalid_of(dtype))
    frames = {lv: frames_for(ai, shape, mask, n, lv, dtype, seed=10 + k)
              for k, lv in enumerate(LEVELS)}  # fmt: skip
    srcs = {lv: ArrayFrames(f, invalid_value=invalid_of(dtype)) for lv, f in frames.items()}
    for lv in LEVELS:  # warm-up: HALOS, and pyFAI's engine set-up
        integ.integrate_source(srcs[lv])
        pyfai_one(ai, frames[lv][0], frame_mask(mask, frames[lv][0]))
    per = -(-n_pyfai // repeats)

    def pyfai_frame(lv, i):
        f = frames[lv][i % n]
        pyfai_one(ai, f, frame_mask(mask, f))

    t = interleaved(LEVELS, lambda lv: integ.integrate_source(srcs[lv]), pyfai_frame, repeats, per)
    out.update(level_results(t, n, npix))
    for lv in LEVELS:
        res = out[lv]
        res["total_counts"] = total_counts(frames[lv][0], mask)
        log(
            f"{key} {lv}: HALOS {res['fps']:.1f} fps, pyFAI loop"
            f" {res['pyfai_loop_fps']:.2f} fps: {res['ratio_vs_pyfai_loop']:.1f}x"
            f" (total counts {res['total_counts']:.3g})"
        )
    dim = frames["dim"]
    out["dim"]["sum_fps"] = n / timed(lambda: [x.sum() for x in dim], repeats)
    if engines:
        found: dict = {}
        method, fps = fastest_engine(ai, dim, mask, found)
        out["dim"]["pyfai_engines_fps"] = found
        out["dim"]["pyfai_best"] = {"method": list(method), "fps": fps}
    return out


def write_measurement(outdir: Path, name: str, frames, ai, mask) -> Path:
    """A DECTRIS-style NeXus measurement with the project's simulate writers."""
    # The data-file writer is the simulation's own (private to the package, used here as the
    # simulation uses it): bitshuffle-LZ4, one chunk per frame, as the detector writes.
    from halos_analysis.simulate import DETECTORS as SETUPS
    from halos_analysis.simulate import write_eiger_master
    from halos_analysis.simulate.writers import write_eiger_data

    n = len(frames)
    outdir.mkdir(parents=True, exist_ok=True)
    fname = f"{name}_data_000001.h5"
    write_eiger_data(outdir / fname, iter(frames), n, frames.shape[1:], 0)
    monitor = np.full(n, 1.0e6)
    trans = np.full(n, 0.4)
    return write_eiger_master(outdir, name, SETUPS["eiger4m"], ai, [(fname, n)], monitor, trans,
                              mask, name)  # fmt: skip


def case_eiger_h5(tmp: Path, repeats: int, n: int, n_pyfai: int) -> dict:
    import h5py

    from halos_analysis.integrate import IntegrationSettings, Integrator
    from halos_analysis.io.frames import open_frames

    ai, shape, mask = geometry("Eiger2_4M")
    npix = shape[0] * shape[1]
    settings = IntegrationSettings(npt=NPT, polarization_factor=POL)
    masters, counts = {}, {}
    for k, level in enumerate(LEVELS):
        frames = frames_for(ai, shape, mask, n, level, np.uint32, seed=20 + k)
        masters[level] = write_measurement(tmp / level, level, frames, ai, mask)
        counts[level] = total_counts(frames[0], mask)
        del frames
    data_files = {lv: m.parent / f"{lv}_data_000001.h5" for lv, m in masters.items()}
    srcs = {lv: open_frames(str(m)) for lv, m in masters.items()}
    first = srcs["dim"]
    integ = Integrator(ai, shape, mask | first.pixel_mask, settings, cache_dir=False,
                       invalid_value=first.invalid_value)  # fmt: skip
    handles = {lv: h5py.File(p, "r") for lv, p in data_files.items()}
    try:
        dsets = {lv: h["entry/data/data"] for lv, h in handles.items()}
        for lv in LEVELS:  # warm-up, and the files in the page cache
            integ.integrate_source(srcs[lv])
            pyfai_one(ai, dsets[lv][0], frame_mask(mask, dsets[lv][0]))

        def pyfai_frame(lv, i):  # the plain loop: h5py reads the frame, pyFAI integrates it
            frame = dsets[lv][i % n]
            pyfai_one(ai, frame, frame_mask(mask, frame))

        per = -(-n_pyfai // repeats)
        halos = lambda lv: integ.integrate_source(srcs[lv])  # noqa: E731
        out = level_results(interleaved(LEVELS, halos, pyfai_frame, repeats, per), n, npix)
        buf = np.empty((16, *shape), np.uint32)
        for lv in LEVELS:
            res = out[lv]
            res["total_counts"] = counts[lv]
            res["file_mb"] = data_files[lv].stat().st_size / 1e6

            def read_halos(src=srcs[lv]):  # as the engine reads: 16 frames into one buffer
                for s in range(0, n, 16):
                    src.read_into(s, min(s + 16, n), buf[: min(16, n - s)])

            def read_h5py(dset=dsets[lv]):
                for i in range(len(dset)):
                    dset[i]

            t_halos, t_h5py = [], []
            for _ in range(repeats):  # in turn, as above
                t_halos.append(timed(read_halos, 1))
                t_h5py.append(timed(read_h5py, 1))
            res["read_fps_halos"] = n / statistics.median(t_halos)
            res["read_fps_h5py"] = n / statistics.median(t_h5py)
        os.environ["HALOS_H5PY_READ"] = "1"
        try:
            for lv in LEVELS:
                plain = open_frames(str(masters[lv]))
                out[lv]["fps_halos_h5py_read"] = n / timed(
                    lambda p=plain: integ.integrate_source(p), repeats
                )
                plain.close()
        finally:
            del os.environ["HALOS_H5PY_READ"]
    finally:
        for h in handles.values():
            h.close()
        for src in srcs.values():
            src.close()
    for lv in LEVELS:
        r = out[lv]
        log(
            f"eiger4m h5 {lv}: HALOS {r['fps']:.1f} fps (through h5py"
            f" {r['fps_halos_h5py_read']:.1f}), pyFAI loop {r['pyfai_loop_fps']:.2f} fps:"
            f" {r['ratio_vs_pyfai_loop']:.1f}x; reading alone {r['read_fps_halos']:.0f} fps,"
            f" h5py {r['read_fps_h5py']:.0f} fps"
        )
    return out


def write_stream_file(path: Path, frames, repeat: int) -> None:
    """Bitshuffle-LZ4 HDF5 of ``repeat`` frames cycling the compressed chunks of ``frames``
    (direct chunk writes: no recompression)."""
    import h5py
    import hdf5plugin

    n, ny, nx = frames.shape
    comp = hdf5plugin.Bitshuffle(cname="lz4")
    small = path.with_suffix(".seed.h5")
    with h5py.File(small, "w") as f:
        f.create_dataset("entry/data/data", data=frames, chunks=(1, ny, nx), **comp)
    with h5py.File(small, "r") as f:
        dset = f["entry/data/data"]
        chunks = [dset.id.read_direct_chunk((i, 0, 0))[1] for i in range(n)]
    small.unlink()
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("entry/data/data", shape=(repeat, ny, nx), dtype=frames.dtype,
                                chunks=(1, ny, nx), **comp)  # fmt: skip
        for i in range(repeat):
            dset.id.write_direct_chunk((i, 0, 0), chunks[i % n], filter_mask=0)


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; getrusage's ru_maxrss keeps the parent's across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def stream_child(path: str, n: int) -> None:
    """Run in a child process: integrate the stream file, print fps and peak RSS as JSON."""
    from halos_analysis.integrate import IntegrationSettings, Integrator
    from halos_analysis.io.frames import open_frames

    ai, shape, mask = geometry("Eiger2_4M")
    src = open_frames(f"{path}::/entry/data/data")
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=NPT, polarization_factor=POL),
                       cache_dir=False, invalid_value=src.invalid_value)  # fmt: skip
    t0 = time.perf_counter()
    curves = integ.integrate_source(src, check_frames=False)
    dt = time.perf_counter() - t0
    assert curves.intensity.shape[0] == n
    rss = peak_rss_mb()
    print(json.dumps({"fps": n / dt, "s": dt, "peak_rss_mb": rss,
                      "mpix_s": n * shape[0] * shape[1] / dt / 1e6}))  # fmt: skip


def case_stream(tmp: Path, n: int) -> dict:
    ai, shape, mask = geometry("Eiger2_4M")
    frames = frames_for(ai, shape, mask, 4, "dim", np.uint32, seed=3)  # short SEC exposures
    path = tmp / "stream.h5"
    t0 = time.perf_counter()
    write_stream_file(path, frames, n)
    log(f"stream file: {n} frames, {path.stat().st_size / 1e9:.2f} GB in "
        f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    del frames
    res = subprocess.run([sys.executable, __file__, "--stream-child", str(path), str(n)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["n_frames"] = n
    log(f"stream: {out['fps']:.1f} frames/s, peak RSS {out['peak_rss_mb']:.0f} MB")
    path.unlink()
    return out


def write_eiger(outdir: Path, n: int, level: str) -> None:
    """Files for a whole-process comparison: measurement, PONI and mask."""
    ai, shape, mask = geometry("Eiger2_4M")
    outdir.mkdir(parents=True, exist_ok=True)
    ai.write(str(outdir / "eiger4m.poni"))
    np.save(outdir / "eiger4m_mask.npy", mask)
    frames = frames_for(ai, shape, mask, n, level, np.uint32, seed=7, distinct=min(n, 8))
    master = write_measurement(outdir, level, frames, ai, mask)
    log(f"{master}: {n} frames, total counts {total_counts(frames[0], mask):.3g} per frame")


def summary(mem: dict, eig: dict, stream: dict) -> dict:
    res: dict = {}
    for key, cases in mem.items():
        for level in LEVELS:
            c = cases[level]
            res[f"{key}_{level}_fps_halos"] = c["fps"]
            res[f"{key}_{level}_fps_pyfai_loop"] = c["pyfai_loop_fps"]
            res[f"{key}_{level}_ratio_vs_pyfai_loop"] = c["ratio_vs_pyfai_loop"]
            res[f"{key}_{level}_total_counts"] = c["total_counts"]
        res[f"{key}_bright_speed_vs_dim"] = cases["bright"]["speed_vs_dim"]
        res[f"{key}_bright_bad_speed_vs_dim"] = cases["bright_bad"]["speed_vs_dim"]
        res[f"{key}_dim_fps_sum"] = cases["dim"]["sum_fps"]
        if "pyfai_best" in cases["dim"]:
            best = cases["dim"]["pyfai_best"]
            res[f"{key}_dim_pyfai_best_method"] = best["method"]
            res[f"{key}_dim_fps_pyfai_best"] = best["fps"]
            res[f"{key}_dim_ratio_vs_pyfai_best"] = cases["dim"]["fps"] / best["fps"]
        res[f"{key}_setup_cold_s"] = cases["setup"]["cold_s"]
        res[f"{key}_setup_cached_s"] = cases["setup"]["cached_s"]
    for level in LEVELS if eig else ():
        c = eig[level]
        for k in ("fps", "pyfai_loop_fps", "ratio_vs_pyfai_loop", "fps_halos_h5py_read",
                  "read_fps_halos", "read_fps_h5py", "total_counts", "file_mb"):  # fmt: skip
            res[f"eiger4m_h5_{level}_{k}"] = c[k]
    if eig:
        res["eiger4m_h5_bright_speed_vs_dim"] = eig["bright"]["speed_vs_dim"]
        res["eiger4m_h5_bright_bad_speed_vs_dim"] = eig["bright_bad"]["speed_vs_dim"]
    if stream:
        res["stream_n_frames"] = stream["n_frames"]
        res["stream_fps"] = stream["fps"]
        res["stream_peak_rss_mb"] = stream["peak_rss_mb"]
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer frames and repeats")
    p.add_argument("--write-eiger", metavar="DIR", help="write files for whole-process timing")
    p.add_argument("--frames", type=int, default=60, help="frames for --write-eiger")
    p.add_argument("--level", default="bright", choices=LEVELS, help="for --write-eiger")
    p.add_argument("--cases", default="memory,eiger_h5,stream",
                   help="comma-separated cases to run (memory, eiger_h5, stream)")  # fmt: skip
    p.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stream_child:
        stream_child(args.stream_child[0], int(args.stream_child[1]))
        return 0
    if args.write_eiger:
        write_eiger(Path(args.write_eiger), args.frames, args.level)
        return 0
    repeats, n, n_pyfai = (2, 32, 4) if args.quick else (5, 48, 10)
    load_before = os.getloadavg()
    cases = set(args.cases.split(","))
    with tempfile.TemporaryDirectory(prefix="halos_bench_") as tmp:
        mem = {}
        if "memory" in cases:
            mem = {key: case_memory(key, repeats, n, n_pyfai, not args.quick) for key in DETECTORS}
        eig = case_eiger_h5(Path(tmp), repeats, n, n_pyfai) if "eiger_h5" in cases else None
        stream = case_stream(Path(tmp), 200 if args.quick else 2000) if "stream" in cases else None
    res = summary(mem, eig, stream)
    res.update({"cpu_count": os.cpu_count(), "load_average_before": load_before[0],
                "load_average_after": os.getloadavg()[0]})  # fmt: skip
    if args.json:
        print(json.dumps(res))
    else:
        for key, value in res.items():
            print(f"{key:44s} {value:.3f}" if isinstance(value, float) else f"{key:44s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
