# SPDX-License-Identifier: MIT
"""Streamed readers of detector frames: Eiger NeXus/HDF5, Pilatus miniCBF, EDF, TIFF.

:func:`open_frames` returns a :class:`FrameSource`; its :meth:`FrameSource.batches` yields
:class:`FrameBatch` objects of a few frames each, so a run is never held in memory whole.
Header values (geometry, exposure) and per-frame counters (monitor, transmission) are found
where a facility profile (:mod:`halos_analysis.io.profiles`) says; a side table (TSV with a
``frame`` or ``file`` column and any of ``monitor``, ``transmission``, ``exposure_s``)
overrides what the files say.

The monitor of a frame is the integrated incident-flux count during that frame (a rate given
per second, as the Pilatus ``Flux`` key, is multiplied by the frame's exposure).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path

import h5py

from halos_analysis.errors import HalosInputError
from halos_analysis.io.frames.hdf5 import HDF5FrameSource
from halos_analysis.io.frames.image import FabioFrameSource, read_minicbf_header
from halos_analysis.io.frames.layout import Detection, detect_layout
from halos_analysis.io.frames.source import FrameBatch, FrameSource, invalid_values, read_side_table

__all__ = [
    "Detection",
    "FabioFrameSource",
    "FrameBatch",
    "FrameSource",
    "invalid_values",
    "HDF5FrameSource",
    "detect_layout",
    "open_frames",
    "read_minicbf_header",
    "read_side_table",
]

_IMAGE_SUFFIXES = (".cbf", ".edf", ".tif", ".tiff", ".edf.gz", ".cbf.gz")
_H5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def open_frames(
    spec: str | Path | Sequence[str | Path],
    *,
    side_table: str | Path | None = None,
    profile: str | None = None,
    poni: str | Path | None = None,
) -> FrameSource:
    """Open the frames of one measurement for streamed reading.

    Parameters
    ----------
    spec : str, Path or sequence of them
        ``run_master.h5`` (DECTRIS NeXus master file), ``file.h5::/path/to/dataset``, a
        bare ``file.h5`` (master layout, else ``/entry/data/data``), a CBF/EDF/TIFF file, a
        directory of such images, a glob (``"frames/*.cbf"``) or a list of image files.
    side_table : str or Path, optional
        TSV with per-frame ``monitor``, ``transmission``, ``exposure_s``; wins over headers.
    profile : str, optional
        Facility profile (see :mod:`halos_analysis.io.profiles`); by default an HDF5 file's
        layout is recognised (generic DECTRIS when none matches), images use Pilatus keys.
    poni : str or Path, optional
        PONI file, for the geometry fields a facility's files do not record.

    Returns
    -------
    FrameSource

    Raises
    ------
    HalosInputError
        Missing or corrupt file, missing data file or dataset, frames of different shapes,
        data that are not 2D frames, a side table without a row for a frame.

    Examples
    --------
    >>> import os, tempfile
    >>> import h5py, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "run.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["entry/data"] = np.ones((5, 4, 6), np.uint16)
    >>> src = open_frames(path + "::/entry/data")
    >>> for batch in src.batches(2):
    ...     print(batch.start, batch.data.shape)
    0 (2, 4, 6)
    2 (2, 4, 6)
    4 (1, 4, 6)
    """
    if isinstance(spec, (list, tuple)):
        files = [str(s) for s in spec]
        if len(files) == 1:
            return open_frames(files[0], side_table=side_table, profile=profile, poni=poni)
        if not files:
            raise HalosInputError("no frame files given")
        if any(f.lower().endswith(_H5_SUFFIXES) for f in files):
            raise HalosInputError("give one HDF5 file (or master file) per measurement", files[0])
        return FabioFrameSource(files, f"{files[0]} (+{len(files) - 1} files)", profile, side_table)
    text = str(spec)
    if "::" in text:
        fname, dset = text.split("::", 1)
        return HDF5FrameSource(fname, dset or None, profile, side_table, poni)
    if any(c in text for c in "*?["):
        files = sorted(glob.glob(text), key=_natural_key)
        if not files:
            raise HalosInputError("no file matches this pattern", text)
        return open_frames(files, side_table=side_table, profile=profile)
    if os.path.isdir(text):
        files = sorted(
            (
                os.path.join(text, n)
                for n in os.listdir(text)
                if n.lower().endswith(_IMAGE_SUFFIXES)
            ),
            key=_natural_key,
        )
        if not files:
            raise HalosInputError("directory holds no CBF/EDF/TIFF files", text)
        if len(files) == 1:
            return FabioFrameSource(files, files[0], profile, side_table)
        return FabioFrameSource(files, text, profile, side_table)
    if not os.path.exists(text):
        raise HalosInputError("file not found", text)
    if text.lower().endswith(_H5_SUFFIXES) or h5py.is_hdf5(text):
        return HDF5FrameSource(text, None, profile, side_table, poni)
    return FabioFrameSource([text], text, profile, side_table)
