# SPDX-License-Identifier: MIT
"""Geometry and masks: a thin layer over pyFAI's PONI loader and fabio/h5py image readers.

pyFAI's own :class:`~pyFAI.io.ponifile.PoniFile` parser reads every PONI version (1, 2, 2.1,
3) but silently leaves a missing key as ``None``, which only fails much later inside the
integration with an unrelated message. :func:`load_poni` checks the keys first and raises a
:class:`~halos_analysis.errors.HalosInputError` that names the file and the key.

Masks follow pyFAI's convention: non-zero (``True``) means masked.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError

#: PONI keys without which no q can be computed, as pyFAI writes them.
REQUIRED_KEYS = ("Distance", "Poni1", "Poni2", "Rot1", "Rot2", "Rot3", "Wavelength")

#: Keys that are lengths (m) or a wavelength: zero or negative values make no geometry.
_POSITIVE_KEYS = ("Distance", "Wavelength", "PixelSize1", "PixelSize2")

_H5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5")
_FABIO_SUFFIXES = (".edf", ".tif", ".tiff", ".cbf", ".msk", ".img", ".mar3450", ".mccd")


def _read_poni_dict(path: Path) -> dict[str, str]:
    """Key/value pairs of a PONI file, keys lower-case (later lines win, as in pyFAI)."""
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except FileNotFoundError:
        raise HalosInputError("PONI file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HalosInputError(f"cannot read PONI file ({exc})", path) from None
    data: dict[str, str] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        data[key.strip().lower()] = value.strip()
    if not data:
        raise HalosInputError("not a PONI file (no 'key: value' lines)", path)
    return data


def load_poni(path: str | Path):
    """Load a PONI geometry file into a pyFAI ``AzimuthalIntegrator``.

    Parameters
    ----------
    path : str or Path
        PONI file of any version pyFAI writes (1, 2, 2.1, 3).

    Returns
    -------
    pyFAI.integrator.azimuthal.AzimuthalIntegrator

    Raises
    ------
    HalosInputError
        The file is missing or unreadable, a required key (Distance, Poni1, Poni2, Rot1-3,
        Wavelength, the detector or its pixel size) is absent, a value is not a finite
        number, or Distance, Wavelength or a pixel size is not greater than 0.
    """
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    path = Path(path)
    raw = _read_poni_dict(path)
    aliases = {"distance": ("distance", "dist")}
    for key in REQUIRED_KEYS:
        names = aliases.get(key.lower(), (key.lower(),))
        value = next((raw[n] for n in names if n in raw), None)
        if value is None or value.lower() == "none":
            raise HalosInputError(f"PONI file has no {key}", path, key)
        _check_value(path, key, value)
    for key in ("PixelSize1", "PixelSize2"):
        if raw.get(key.lower(), "none").lower() != "none":
            _check_value(path, key, raw[key.lower()])
    has_detector = "detector" in raw and raw["detector"].lower() not in ("", "none", "detector")
    if not has_detector and not ("pixelsize1" in raw and "pixelsize2" in raw):
        missing = "PixelSize1" if "pixelsize1" not in raw else "PixelSize2"
        raise HalosInputError(
            "PONI file names no detector and no pixel size", path, "Detector/" + missing
        )
    try:
        ai = AzimuthalIntegrator.sload(str(path))
    except Exception as exc:  # pyFAI raises many kinds (KeyError, RuntimeError, JSON errors)
        field = "Detector_config" if "detector_config" in raw else "Detector"
        raise HalosInputError(f"pyFAI cannot load this geometry ({exc})", path, field) from None
    # A v2+ file keeps the pixel size inside Detector_config, so check what pyFAI made of it.
    for key, size in (("PixelSize1", ai.detector.pixel1), ("PixelSize2", ai.detector.pixel2)):
        if not size:
            raise HalosInputError("detector pixel size is unknown", path, key)
        _check_value(path, key, str(size))
    return ai


def _check_value(path: Path, key: str, value: str) -> float:
    """The number a PONI key holds; finite, and > 0 for a length or a wavelength.

    pyFAI accepts ``Distance: 0``, a negative wavelength or ``Rot1: nan`` and only fails
    inside the integration, where the error blames the frame ("no counts"), not the PONI.
    """
    try:
        number = float(value)
    except ValueError:
        raise HalosInputError(f"{key} is not a number: {value!r}", path, key) from None
    if not math.isfinite(number):
        raise HalosInputError(f"{key} must be a finite number, found {value!r}", path, key)
    if key in _POSITIVE_KEYS and number <= 0:
        raise HalosInputError(f"{key} must be greater than 0, found {value!r}", path, key)
    return number


def _h5_read(fname: str, dset: str | None) -> np.ndarray:
    import h5py

    try:
        with h5py.File(fname, "r") as f:
            if dset:
                if dset not in f:
                    raise HalosInputError("dataset not found", fname, dset)
                return np.asarray(f[dset][()])
            found: list[str] = []

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset) and obj.ndim in (2, 3):
                    found.append(name)

            f.visititems(visit)
            masks = [n for n in found if "mask" in n.lower()] or found
            if len(masks) != 1:
                raise HalosInputError(
                    "give the dataset as FILE.h5::/path (candidates: "
                    + (", ".join(masks[:6]) or "none")
                    + ")",
                    fname,
                )
            return np.asarray(f[masks[0]][()])
    except HalosInputError:
        raise
    except (OSError, KeyError) as exc:
        raise HalosInputError(f"cannot read HDF5 file ({exc})", fname, dset) from None


def read_image(path: str | Path) -> np.ndarray:
    """Read one 2D image (mask, dark, flat) from .npy, EDF/TIFF/CBF (fabio) or HDF5.

    HDF5 files take an optional dataset path: ``file.h5::/entry/mask``; without one, the
    single 2D dataset (or the single one whose name contains "mask") is used.

    Raises
    ------
    HalosInputError
        Missing or unreadable file, missing dataset, or data that are not one 2D image.
    """
    text = str(path)
    fname, dset = (text.split("::", 1) + [None])[:2] if "::" in text else (text, None)
    if not os.path.exists(fname):
        raise HalosInputError("file not found", fname)
    lower = fname.lower()
    try:
        if lower.endswith(".npy"):
            from halos_analysis.io.digest import read_bytes

            data = read_bytes(fname)  # inside record_reads(): hashed as it is read
            arr = np.load(fname if data is None else io.BytesIO(data), allow_pickle=False)
        elif lower.endswith(_H5_SUFFIXES):
            arr = _h5_read(fname, dset)
        else:
            import fabio

            arr = fabio.open(fname).data
    except HalosInputError:
        raise
    except Exception as exc:  # corrupt files raise anything from ValueError to OSError
        raise HalosInputError(f"cannot read image ({exc})", fname, dset) from None
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise HalosInputError(f"expected one 2D image, found shape {arr.shape}", fname, dset)
    return arr


def load_mask(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Load a mask file; non-zero pixels are masked.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.edf``, ``.tif``, ``.cbf`` or ``.h5[::/dataset]``.
    shape : (int, int), optional
        Expected (ny, nx) of the frames; a mask of another shape is an error.

    Returns
    -------
    ndarray of bool
        True where the pixel is masked.
    """
    arr = read_image(path)
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise HalosInputError(
            f"mask shape {tuple(arr.shape)} does not match the frames {tuple(shape)}",
            path,
            "shape",
        )
    return np.asarray(arr) != 0


def detector_shape(ai) -> tuple[int, int] | None:
    """(ny, nx) of the detector a PONI file names, or None when it does not fix one."""
    shape = getattr(ai.detector, "max_shape", None) or getattr(ai.detector, "shape", None)
    return None if shape is None else (int(shape[0]), int(shape[1]))


def detector_mask(ai, shape: tuple[int, int]) -> np.ndarray | None:
    """The detector's own mask (module gaps) from pyFAI, or None, for frames of ``shape``."""
    if detector_shape(ai) != tuple(shape):
        return None
    mask = ai.detector.mask
    return None if mask is None else np.asarray(mask) != 0
