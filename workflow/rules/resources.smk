# What a job asks a cluster for, sized from the data of its measurement: memory and run
# time of an integration from the detector's pixels and the number of frames, more of both
# at each retry (`attempt`; the slurm profile retries a failed job twice). A local run only
# counts them against --resources, if given.
import functools
import json as _json
import math

# Pixels of the detectors the facility profiles know (rows × columns), for a PONI without
# a mask beside it; an unknown detector counts as the largest here.
DETECTOR_PIXELS = {
    "pilatus1m": 1043 * 981,
    "pilatus2m": 1679 * 1475,
    "pilatus3_2m": 1679 * 1475,
    "pilatus6m": 2527 * 2463,
    "eiger1m": 1065 * 1030,
    "eiger4m": 2167 * 2070,
    "eiger2_4m": 2162 * 2068,
    "eiger9m": 3269 * 3110,
    "eiger16m": 4371 * 4150,
    "eiger2_16m": 4362 * 4148,
}
# Peak RSS of `halos integrate` measured here (/usr/bin/time, 10 frames, 2 threads, no bin
# map cached): Eiger2 4M 772 MB, Pilatus 2M 490 MB (512 and 354 MB with the map cached).
# Modelled as 300 MB of Python and pyFAI, 120 B per pixel for the bin map, 4 B per pixel
# per frame in flight (batches of 16 per thread) and the curves kept: ~1.3x the measured.
BASE_MB = 300
MAP_BYTES_PER_PIXEL = 120
BATCH = 16
# Pixels one thread integrates per second, low: 10 Eiger2 4M frames took 3.3 s on 2 threads
# here, Python's start and the file reads included (~7 Mpixel/s per thread).
PIXELS_PER_S_PER_THREAD = 5e6


def _npy_pixels(path):
    try:
        import numpy as np

        return math.prod(np.load(path, mmap_mode="r").shape[-2:])
    except (OSError, ValueError, TypeError):
        return None


def _poni_pixels(path):
    try:
        with open(path) as fh:
            lines = dict(ln.split(":", 1) for ln in fh if ":" in ln and ln[0] != "#")
    except OSError:
        return None
    conf = lines.get("Detector_config", "").strip()
    try:
        shape = _json.loads(conf).get("max_shape") if conf else None
    except ValueError:
        shape = None
    if shape:
        return math.prod(shape)
    name = lines.get("Detector", "").strip().lower().replace(" ", "")
    return DETECTOR_PIXELS.get(name)


def frame_pixels(m):
    """Pixels of one frame of measurement ``m``: its mask, else its PONI's detector."""
    return _pixels_of(m.name)


@functools.cache
def _pixels_of(name):
    m = MEASUREMENTS[name]
    return (
        (_npy_pixels(m.mask) if m.mask and m.mask.endswith(".npy") else None)
        or (_poni_pixels(m.poni) if m.poni else None)
        or max(DETECTOR_PIXELS.values())
    )


def _hdf5_frames(path):
    # An Eiger/NeXus master: the frames of the datasets under entry/data (links followed).
    try:
        import h5py

        with h5py.File(path, "r") as fh:
            data = fh.get("entry/data")
            if data is None:
                return None
            n = 0
            for key in data:
                item = data.get(key)
                if isinstance(item, h5py.Dataset) and item.ndim == 3:
                    n += item.shape[0]
            return n or None
    except (OSError, ImportError, KeyError, ValueError):
        return None


@functools.cache
def _frames_of(name):
    m = MEASUREMENTS[name]
    if m.extra.get("n_frames"):
        return int(m.extra["n_frames"])
    if len(m.frames) > 1:
        return len(m.frames)
    n = sum(_hdf5_frames(f) or 0 for f in m.frame_files if f.endswith((".h5", ".nxs")))
    return max(1, n, len(m.frames))


def frame_count(m):
    """Frames of ``m``: the sheet's n_frames, else one per file, else those of its HDF5
    file(s) (their headers only)."""
    return _frames_of(m.name)


def integrate_mem_mb(wildcards, attempt, threads=None):
    """Memory of one integration (MB), sized from the measurement, x attempt."""
    m = measurement(wildcards)
    px, n = frame_pixels(m), frame_count(m)
    in_flight = min(n, BATCH * (threads or 1))
    npt = int(config["integration"]["npt"] or 1000)
    mb = BASE_MB + (px * (MAP_BYTES_PER_PIXEL + 4 * in_flight) + n * npt * 40) / 1e6
    return int(math.ceil(mb * attempt / 100) * 100)


def integrate_runtime(wildcards, attempt, threads=None):
    """Run time of one integration (minutes): 5 min, plus 3x the measured throughput."""
    m = measurement(wildcards)
    seconds = (
        frame_pixels(m) * frame_count(m) / (PIXELS_PER_S_PER_THREAD * (threads or 1))
    )
    return int(math.ceil((5 + 3 * seconds / 60) * attempt))
