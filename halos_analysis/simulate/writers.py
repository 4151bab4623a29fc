# SPDX-License-Identifier: MIT
"""File writers of :mod:`halos_analysis.simulate`: miniCBF frames and DECTRIS-style NeXus.

Every public name here is also importable from :mod:`halos_analysis.simulate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import fabio.cbfimage
import h5py
import hdf5plugin
import numpy as np
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.simulate.model import DetectorModel, DetectorSetup

# ----------------------------------------------------------------------------- writers


def write_minicbf(path: str | Path, data: np.ndarray, header: dict[str, str]) -> None:
    """Write an int32 frame as a miniCBF file (byte-offset compression, PILATUS_1.2 header).

    Parameters
    ----------
    path : str or Path
        File to write.
    data : numpy.ndarray
        The frame (counts), stored as int32.
    header : dict of str to str
        Items of ``_array_data.header_contents``, written as ``# Key value`` lines (just
        ``# Key`` when the value is empty).
    """
    lines = "\r\n".join(f"# {k} {v}" if v != "" else f"# {k}" for k, v in header.items())
    img = fabio.cbfimage.CbfImage(
        data=np.ascontiguousarray(data, np.int32),
        header={
            "_array_data.header_convention": "PILATUS_1.2",
            "_array_data.header_contents": lines,
        },
    )
    img.write(str(path))


def _nx(group: h5py.Group, nx_class: str) -> h5py.Group:
    group.attrs["NX_class"] = nx_class
    return group


def _value(group: h5py.Group, name: str, value: Any, units: str | None = None) -> None:
    ds = group.create_dataset(name, data=value)
    if units:
        ds.attrs["units"] = units


def write_eiger_master(
    outdir: Path,
    name: str,
    setup: DetectorSetup,
    ai: AzimuthalIntegrator,
    data_files: Sequence[tuple[str, int]],
    monitor: np.ndarray,
    transmission: np.ndarray,
    pixel_mask: np.ndarray,
    sample: str,
) -> Path:
    """DECTRIS-style NeXus master file linking the data files ``(file name, n frames)``.

    Monitor counts per frame go to ``/entry/monitor/data`` (NXmonitor), sample transmission
    per frame to ``/entry/sample/transmission`` (NXsample).

    Parameters
    ----------
    outdir : Path
        Folder of the master file (the data files are linked by name, relative to it).
    name : str
        Run name; the file is ``<name>_master.h5``.
    setup : DetectorSetup
        Distance (m), beam centre (pixels) and exposure time (s) recorded in the file.
    ai : AzimuthalIntegrator
        Geometry: its detector's pixel size (m) and shape, and its wavelength (stored in Å).
    data_files : sequence of (str, int)
        Data file names and their number of frames, linked as ``/entry/data/data_000001``...
    monitor : numpy.ndarray
        Monitor counts, one per frame.
    transmission : numpy.ndarray
        Sample transmission (fraction), one per frame.
    pixel_mask : numpy.ndarray
        Detector pixel mask (non-zero = bad pixel), stored as uint32.
    sample : str
        Sample name (``/entry/sample/name``).

    Returns
    -------
    Path
        The master file written.
    """
    path = outdir / f"{name}_master.h5"
    det = ai.detector
    cx, cy = setup.beam_x_px, setup.beam_y_px
    with h5py.File(path, "w") as f:
        entry = _nx(f.create_group("entry"), "NXentry")
        data = _nx(entry.create_group("data"), "NXdata")
        for i, (fname, _) in enumerate(data_files, start=1):
            data[f"data_{i:06d}"] = h5py.ExternalLink(fname, "/entry/data/data")
        inst = _nx(entry.create_group("instrument"), "NXinstrument")
        beam = _nx(inst.create_group("beam"), "NXbeam")
        _value(beam, "incident_wavelength", ai.wavelength * 1e10, "angstrom")
        d = _nx(inst.create_group("detector"), "NXdetector")
        _value(d, "description", "Dectris EIGER2 X 4M (simulated by HALOS Analysis)")
        _value(d, "x_pixel_size", det.pixel2, "m")
        _value(d, "y_pixel_size", det.pixel1, "m")
        _value(d, "detector_distance", setup.distance_m, "m")
        _value(d, "beam_center_x", cx, "pixel")
        _value(d, "beam_center_y", cy, "pixel")
        _value(d, "count_time", setup.exposure_s, "s")
        _value(d, "frame_time", setup.exposure_s, "s")
        _value(d, "bit_depth_image", np.uint32(32))
        _value(d, "sensor_material", "Si")
        _value(d, "sensor_thickness", 450e-6, "m")
        d.create_dataset(
            "pixel_mask", data=pixel_mask.astype(np.uint32), **hdf5plugin.Bitshuffle(cname="lz4")
        )
        spec = _nx(d.create_group("detectorSpecific"), "NXcollection")
        _value(spec, "nimages", np.uint32(sum(n for _, n in data_files)))
        _value(spec, "ntrigger", np.uint32(1))
        _value(spec, "x_pixels_in_detector", np.uint32(det.shape[1]))
        _value(spec, "y_pixels_in_detector", np.uint32(det.shape[0]))
        mon = _nx(entry.create_group("monitor"), "NXmonitor")
        _value(mon, "mode", "monitor")
        _value(mon, "data", np.asarray(monitor, np.float64), "counts")
        smp = _nx(entry.create_group("sample"), "NXsample")
        _value(smp, "name", sample)
        _value(smp, "transmission", np.asarray(transmission, np.float64))
    return path


def write_eiger_data(
    path: Path, frames: Iterable[np.ndarray], n: int, shape: tuple[int, int], first: int
) -> None:
    """Write ``n`` frames as they come (one chunk each), never holding them all.

    A DECTRIS-style data file: ``/entry/data/data`` (n, ny, nx) uint32, bitshuffle-LZ4, one
    chunk per frame, ``image_nr_low``/``image_nr_high`` counted from ``first`` + 1.

    Parameters
    ----------
    path : Path
        File to write.
    frames : iterable of numpy.ndarray
        The frames, each of ``shape``.
    n : int
        Number of frames.
    shape : (int, int)
        Frame shape (rows, columns).
    first : int
        Frames written before this file (for the image numbers).
    """
    ny, nx = shape
    with h5py.File(path, "w") as f:
        entry = _nx(f.create_group("entry"), "NXentry")
        data = _nx(entry.create_group("data"), "NXdata")
        ds = data.create_dataset(
            "data",
            shape=(n, ny, nx),
            dtype=np.uint32,
            chunks=(1, ny, nx),
            **hdf5plugin.Bitshuffle(cname="lz4"),
        )
        for i, frame in enumerate(frames):
            ds[i] = frame
        ds.attrs["image_nr_low"] = np.uint32(first + 1)
        ds.attrs["image_nr_high"] = np.uint32(first + n)


def cbf_header(
    setup: DetectorSetup, model: DetectorModel, sample: str, k: int, monitor: float, trans: float
) -> dict[str, str]:
    px = model.ai.detector.pixel1
    # A fixed start time keeps the files byte-identical for a given seed.
    seconds = k * setup.exposure_s
    return {
        "Detector:": "PILATUS 2M, S/N 24-0000 (simulated by HALOS Analysis)",
        f"2026-01-01T00:00:{seconds:06.3f}": "",
        "Pixel_size": f"{px * 1e6:.0f}e-6 m x {px * 1e6:.0f}e-6 m",
        "Silicon sensor, thickness 0.001000 m": "",
        "Exposure_time": f"{setup.exposure_s:.7f} s",
        "Exposure_period": f"{setup.exposure_s:.7f} s",
        "Count_cutoff": "1048576 counts",
        "Wavelength": f"{model.ai.wavelength * 1e10:.5f} A",
        "Detector_distance": f"{setup.distance_m:.5f} m",
        "Beam_xy": f"({setup.beam_x_px:.2f}, {setup.beam_y_px:.2f}) pixels",
        "Flux": f"{monitor / setup.exposure_s:.9e}",
        "Filter_transmission": "1.0000",
        "Transmission": f"{trans:.9f}",
        "Sample_name": sample,
        "Image_number": f"{k + 1}",
    }
