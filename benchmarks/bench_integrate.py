# SPDX-License-Identifier: MIT
"""Integration speed: HALOS engine vs pyFAI loops, on synthetic int32/uint32 Poisson frames.

Usage::

    python benchmarks/bench_integrate.py [--json] [--quick]

Cases (frames/s and Mpixel/s, medians of repeats, all in this process except the stream):

* Pilatus 2M, 40 frames in memory: (a) HALOS ``Integrator.integrate_source`` (Dask threads),
  (b) a plain loop of ``ai.integrate1d(frame, npt, method="no", error_model="poisson",
  mask=..., polarization_factor=...)``, (c) the fastest pyFAI CPU engine found among
  ("no", csr|csc|lut|histogram, "cython") in the same loop, (d) ``frame.sum()``.
* Eiger 4M, 40 frames in a bitshuffle-LZ4 HDF5 file: read + decompress + integrate, HALOS
  (``open_frames`` + ``integrate_source``) vs the plain h5py-read + ``integrate1d`` loop.
* Eiger 4M stream of 2000 frames (200 with ``--quick``) from a bitshuffle-LZ4 file written
  once with a few distinct frames repeated (direct chunk writes); run in a child process so
  that its peak RSS (``resource.getrusage``) is its own.
* Set-up: bin-map build cold and loaded from the cache.
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


def log(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


def geometry(name: str):
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = detector_factory(name)
    ny, nx = det.shape
    # Beam a little off centre, as at a SAXS beamline.
    ai = AzimuthalIntegrator(dist=3.0, poni1=0.45 * ny * det.pixel1, poni2=0.55 * nx * det.pixel2,
                             wavelength=1.0e-10, detector=det)  # fmt: skip
    return ai, det.shape, np.asarray(det.mask, bool)


def frames_for(ai, shape, n: int, distinct: int, mean_scale: float, dtype, seed: int):
    """``n`` Poisson frames of a SAXS-like image (``distinct`` different ones, tiled)."""
    q = ai.center_array(shape, unit="q_nm^-1")
    lam = mean_scale * (200.0 * np.exp(-((q * 3.0) ** 2) / 3) + 1.0) * ai.solidAngleArray(shape)
    rng = np.random.default_rng(seed)
    base = rng.poisson(lam, size=(distinct, *shape)).astype(dtype)
    return base[np.arange(n) % distinct]  # a copy: each frame its own memory


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rates(n_frames: int, npix: int, seconds: float) -> dict:
    return {"fps": n_frames / seconds, "mpix_s": n_frames * npix / seconds / 1e6, "s": seconds}


def pyfai_loop(ai, frames, mask, method):
    for f in frames:
        ai.integrate1d(f, NPT, method=method, error_model="poisson", mask=mask,
                       polarization_factor=POL, unit="q_nm^-1")  # fmt: skip


def fastest_engine(ai, frames, mask, found: dict):
    best = None
    for method in ENGINES:
        pyfai_loop(ai, frames[:1], mask, method)  # builds the engine's matrix once
        t = timed(lambda m=method: pyfai_loop(ai, frames[:4], mask, m), 2)
        found["/".join(method)] = 4 / t
        log(f"  pyFAI {method}: {4 / t:.1f} frames/s")
        if best is None or t < best[1]:
            best = (method, t)
    return best[0]


def setup_times(ai, shape, mask, settings) -> dict:
    from halos_analysis.integrate import Integrator

    with tempfile.TemporaryDirectory() as cache:
        cold = Integrator(ai, shape, mask, settings, cache_dir=cache)
        warm = Integrator(ai, shape, mask, settings, cache_dir=cache)
        assert warm.from_cache
        return {"cold_s": cold.setup_seconds, "cached_s": warm.setup_seconds}


def case_pilatus(repeats: int) -> dict:
    from halos_analysis.integrate import ArrayFrames, IntegrationSettings, Integrator

    ai, shape, mask = geometry("Pilatus2M")
    npix = shape[0] * shape[1]
    frames = frames_for(ai, shape, 40, 8, 0.2, np.int32, 1)
    settings = IntegrationSettings(npt=NPT, polarization_factor=POL)
    out = {"setup": setup_times(ai, shape, mask, settings)}
    integ = Integrator(ai, shape, mask, settings, cache_dir=False)
    src = ArrayFrames(frames)
    integ.integrate_source(src)  # warm-up
    out["halos"] = rates(40, npix, timed(lambda: integ.integrate_source(src), repeats))
    log(f"Pilatus 2M halos: {out['halos']['fps']:.1f} frames/s")
    pyfai_loop(ai, frames[:1], mask, "no")
    out["pyfai_loop"] = rates(40, npix, timed(lambda: pyfai_loop(ai, frames, mask, "no"), 1))
    log(f"Pilatus 2M pyFAI loop: {out['pyfai_loop']['fps']:.1f} frames/s")
    out["engines"] = {}
    best = fastest_engine(ai, frames, mask, out["engines"])
    t = timed(lambda: pyfai_loop(ai, frames, mask, best), max(1, repeats - 1))
    out["pyfai_best"] = {**rates(40, npix, t), "method": list(best)}
    log(f"Pilatus 2M pyFAI best {best}: {out['pyfai_best']['fps']:.1f} frames/s")
    out["sum"] = rates(40, npix, timed(lambda: [f.sum() for f in frames], repeats))
    return out


def write_eiger_file(path: Path, frames, repeat: int | None = None) -> None:
    """Bitshuffle-LZ4 HDF5, one chunk per frame; ``repeat``: that many frames by cycling
    the compressed chunks of ``frames`` (direct chunk writes: no recompression)."""
    import h5py
    import hdf5plugin

    n, ny, nx = frames.shape
    comp = hdf5plugin.Bitshuffle(cname="lz4")
    if repeat is None:
        with h5py.File(path, "w") as f:
            f.create_dataset("entry/data/data", data=frames, chunks=(1, ny, nx), **comp)
        return
    small = path.with_suffix(".seed.h5")
    write_eiger_file(small, frames)
    with h5py.File(small, "r") as f:
        dset = f["entry/data/data"]
        chunks = [dset.id.read_direct_chunk((i, 0, 0))[1] for i in range(n)]
    small.unlink()
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("entry/data/data", shape=(repeat, ny, nx), dtype=frames.dtype,
                                chunks=(1, ny, nx), **comp)  # fmt: skip
        for i in range(repeat):
            dset.id.write_direct_chunk((i, 0, 0), chunks[i % n], filter_mask=0)


def case_eiger_h5(tmp: Path, repeats: int) -> dict:
    import h5py

    from halos_analysis.integrate import IntegrationSettings, Integrator
    from halos_analysis.io.frames import open_frames

    ai, shape, mask = geometry("Eiger4M")
    npix = shape[0] * shape[1]
    frames = frames_for(ai, shape, 40, 8, 0.2, np.uint32, 2)
    frames[:, mask] = np.uint32(2**32 - 1)  # module gaps as the detector writes them
    path = tmp / "eiger4m.h5"
    write_eiger_file(path, frames)
    del frames
    spec = f"{path}::/entry/data/data"
    settings = IntegrationSettings(npt=NPT, polarization_factor=POL)
    out = {"setup": setup_times(ai, shape, mask, settings), "file_mb": path.stat().st_size / 1e6}
    src = open_frames(spec)
    integ = Integrator(ai, shape, mask, settings, cache_dir=False, invalid_value=src.invalid_value)
    integ.integrate_source(src)  # warm-up (and the file in the page cache)
    out["halos"] = rates(40, npix, timed(lambda: integ.integrate_source(src), repeats))
    src.close()
    log(f"Eiger 4M h5 halos: {out['halos']['fps']:.1f} frames/s")

    def loop(method):
        with h5py.File(path, "r") as f:
            dset = f["entry/data/data"]
            for i in range(len(dset)):
                ai.integrate1d(dset[i], NPT, method=method, error_model="poisson", mask=mask,
                               polarization_factor=POL, unit="q_nm^-1")  # fmt: skip

    def read_only():
        with h5py.File(path, "r") as f:
            dset = f["entry/data/data"]
            for i in range(len(dset)):
                dset[i]

    out["pyfai_loop"] = rates(40, npix, timed(lambda: loop("no"), 1))
    log(f"Eiger 4M h5 pyFAI loop: {out['pyfai_loop']['fps']:.1f} frames/s")
    best = ("no", "csr", "cython")
    loop(best)
    out["pyfai_best"] = {**rates(40, npix, timed(lambda: loop(best), 1)), "method": list(best)}
    out["read_only"] = rates(40, npix, timed(read_only, repeats))
    return out


def stream_child(path: str, n: int) -> None:
    """Run in a child process: integrate the stream file, print fps and peak RSS as JSON."""
    from halos_analysis.integrate import IntegrationSettings, Integrator
    from halos_analysis.io.frames import open_frames

    ai, shape, mask = geometry("Eiger4M")
    src = open_frames(f"{path}::/entry/data/data")
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=NPT, polarization_factor=POL),
                       cache_dir=False, invalid_value=src.invalid_value)  # fmt: skip
    t0 = time.perf_counter()
    curves = integ.integrate_source(src, check_frames=False)
    dt = time.perf_counter() - t0
    assert curves.intensity.shape[0] == n
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(json.dumps({"fps": n / dt, "s": dt, "peak_rss_mb": rss,
                      "mpix_s": n * shape[0] * shape[1] / dt / 1e6}))  # fmt: skip


def case_stream(tmp: Path, n: int) -> dict:
    ai, shape, mask = geometry("Eiger4M")
    frames = frames_for(ai, shape, 4, 4, 0.02, np.uint32, 3)  # short SEC exposures
    frames[:, mask] = np.uint32(2**32 - 1)
    path = tmp / "stream.h5"
    t0 = time.perf_counter()
    write_eiger_file(path, frames, repeat=n)
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true", help="fewer repeats, 200-frame stream")
    p.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stream_child:
        stream_child(args.stream_child[0], int(args.stream_child[1]))
        return 0
    repeats = 2 if args.quick else 5
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="halos_bench_") as tmp:
        pil = case_pilatus(repeats)
        eig = case_eiger_h5(Path(tmp), repeats)
        stream = case_stream(Path(tmp), 200 if args.quick else 2000)
    res = {
        "pilatus2m_fps_halos": pil["halos"]["fps"],
        "pilatus2m_fps_pyfai_loop": pil["pyfai_loop"]["fps"],
        "pilatus2m_fps_pyfai_best": pil["pyfai_best"]["fps"],
        "pilatus2m_pyfai_best_method": pil["pyfai_best"]["method"],
        "pilatus2m_fps_sum": pil["sum"]["fps"],
        "pilatus2m_fps_pyfai_engines_4frames": pil["engines"],
        "pilatus2m_mpix_s_halos": pil["halos"]["mpix_s"],
        "pilatus2m_mpix_s_sum": pil["sum"]["mpix_s"],
        "pilatus2m_ratio_vs_pyfai_loop": pil["halos"]["fps"] / pil["pyfai_loop"]["fps"],
        "pilatus2m_ratio_vs_pyfai_best": pil["halos"]["fps"] / pil["pyfai_best"]["fps"],
        "pilatus2m_setup_cold_s": pil["setup"]["cold_s"],
        "pilatus2m_setup_cached_s": pil["setup"]["cached_s"],
        "eiger4m_h5_fps_halos": eig["halos"]["fps"],
        "eiger4m_h5_fps_pyfai_loop": eig["pyfai_loop"]["fps"],
        "eiger4m_h5_fps_pyfai_csr": eig["pyfai_best"]["fps"],
        "eiger4m_h5_fps_read_only": eig["read_only"]["fps"],
        "eiger4m_h5_ratio_vs_pyfai_loop": eig["halos"]["fps"] / eig["pyfai_loop"]["fps"],
        "eiger4m_h5_ratio_vs_pyfai_csr": eig["halos"]["fps"] / eig["pyfai_best"]["fps"],
        "eiger4m_setup_cold_s": eig["setup"]["cold_s"],
        "eiger4m_setup_cached_s": eig["setup"]["cached_s"],
        "stream_n_frames": stream["n_frames"],
        "stream_fps": stream["fps"],
        "stream_peak_rss_mb": stream["peak_rss_mb"],
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before[0],
        "load_average_after": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(res))
    else:
        for key, value in res.items():
            print(f"{key:34s} {value:.3f}" if isinstance(value, float) else f"{key:34s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
