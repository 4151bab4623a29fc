# SPDX-License-Identifier: MIT
"""Geometry and masks: a thin layer over pyFAI's PONI loader and fabio/h5py image readers.

pyFAI's own :class:`~pyFAI.io.ponifile.PoniFile` parser reads every PONI version (1, 2, 2.1,
3) but silently leaves a missing key as ``None``, which only fails much later inside the
integration with an unrelated message. :func:`load_poni` checks the keys first and raises a
:class:`~halos_analysis.errors.HalosInputError` that names the file and the key.

Importing pyFAI costs about a second of CPU, more than integrating a run of frames through a
cached bin map. :func:`load_geometry` gives what integration needs of a PONI file (the
geometry as plain numbers, the detector's shape, pixel size, beam centre and mask) without
it: pyFAI makes that record once per PONI file and pyFAI version, and it is cached beside the
bin maps, keyed by the file's bytes.

Masks follow pyFAI's convention: non-zero (``True``) means masked.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError

#: PONI keys without which no q can be computed, as pyFAI writes them.
REQUIRED_KEYS = ("Distance", "Poni1", "Poni2", "Rot1", "Rot2", "Rot3", "Wavelength")

#: Keys that are lengths (m) or a wavelength: zero or negative values make no geometry.
_POSITIVE_KEYS = ("Distance", "Wavelength", "PixelSize1", "PixelSize2")

#: Version of the cached geometry record's format (part of its key).
_RECORD_FORMAT = 1

log = logging.getLogger(__name__)

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
    raw = _checked_poni_dict(path)
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


def _checked_poni_dict(path: Path) -> dict[str, str]:
    """The key/value pairs of a PONI file, after the checks :func:`load_poni` documents that
    need no pyFAI (required keys present, finite numbers, positive lengths)."""
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
    return raw


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
    """(ny, nx) of the detector a PONI file names, or None when it does not fix one.

    ``ai`` is pyFAI's integrator or a :class:`PoniGeometry`.
    """
    if isinstance(ai, PoniGeometry):
        return ai.shape
    shape = getattr(ai.detector, "max_shape", None) or getattr(ai.detector, "shape", None)
    return None if shape is None else (int(shape[0]), int(shape[1]))


def detector_mask(ai, shape: tuple[int, int]) -> np.ndarray | None:
    """The detector's own mask (module gaps) from pyFAI, or None, for frames of ``shape``.

    ``ai`` is pyFAI's integrator or a :class:`PoniGeometry`.
    """
    if isinstance(ai, PoniGeometry):
        return ai.detector_mask(shape)
    if detector_shape(ai) != tuple(shape):
        return None
    mask = ai.detector.mask
    return None if mask is None else np.asarray(mask) != 0


def geometry_key(ai) -> dict[str, Any]:
    """A pyFAI integrator's geometry as plain numbers: what a bin map's cache key hashes.

    Parameters
    ----------
    ai : pyFAI AzimuthalIntegrator

    Returns
    -------
    dict
        ``dist``, ``poni1``, ``poni2``, ``rot1``-``rot3``, ``wavelength`` (floats, SI),
        ``detector`` (class name) and ``detector_config`` (pyFAI's, JSON-safe).
    """
    det = ai.detector
    try:
        det_config = det.get_config()
    except Exception:  # older/odd detectors: fall back to what matters for q
        det_config = {"pixel1": det.pixel1, "pixel2": det.pixel2}
    names = ("dist", "poni1", "poni2", "rot1", "rot2", "rot3", "wavelength")
    return {
        **{n: float(getattr(ai, n) or 0.0) for n in names},  # 0 and 0.0 hash alike
        "detector": type(det).__name__,
        "detector_config": json.loads(json.dumps(det_config, default=str)),
    }


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/halos`` or ``~/.cache/halos``: bin maps and geometry records."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "halos"


@dataclass(frozen=True, eq=False)
class PoniGeometry:
    """What integration needs of a PONI file, as pyFAI computes it, without pyFAI loaded.

    Made by :func:`load_geometry`. Every number is pyFAI's own (taken from its integrator
    when the record was made, then cached): the same bits as asking pyFAI each time.

    Attributes
    ----------
    path : str
        The PONI file.
    key : dict
        :func:`geometry_key` of pyFAI's integrator.
    pyfai_version : str
        ``pyFAI.version`` of the pyFAI that made the record.
    shape : (int, int) or None
        (ny, nx) the detector fixes (:func:`detector_shape`).
    pixel1, pixel2 : float
        Pixel size (m) along y and x.
    beam_center_x_px, beam_center_y_px : float
        pyFAI's Fit2D beam centre (pixels).
    wavelength : float
        m.
    from_cache : bool
        Whether the record came from the cache (pyFAI not imported for it).
    """

    path: str
    key: dict
    pyfai_version: str
    shape: tuple[int, int] | None
    pixel1: float
    pixel2: float
    beam_center_x_px: float
    beam_center_y_px: float
    mask: np.ndarray | None = field(default=None, repr=False)
    from_cache: bool = False
    _ai: list = field(default_factory=list, repr=False)

    @property
    def wavelength(self) -> float:
        """Wavelength (m)."""
        return float(self.key["wavelength"])

    def integrator(self):
        """pyFAI's ``AzimuthalIntegrator`` of the file (imports pyFAI on first call)."""
        if not self._ai:
            self._ai.append(load_poni(self.path))
        return self._ai[0]

    def detector_mask(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The detector's own mask for frames of ``shape`` (:func:`detector_mask`)."""
        if self.shape != tuple(shape) or self.mask is None:
            return None
        return self.mask.copy()

    @classmethod
    def from_integrator(cls, ai, path: str | Path, *, from_cache: bool = False) -> PoniGeometry:
        """The record of a loaded pyFAI integrator."""
        import pyFAI

        fit2d = ai.getFit2D()
        shape = detector_shape(ai)
        mask = None if shape is None else detector_mask(ai, shape)
        return cls(
            str(path), geometry_key(ai), str(pyFAI.version), shape,
            float(ai.detector.pixel1), float(ai.detector.pixel2),
            float(fit2d["centerX"]), float(fit2d["centerY"]),
            mask, from_cache, [ai],
        )  # fmt: skip

    def _save(self, path: Path) -> None:
        scalars = {
            "key": self.key, "pyfai_version": self.pyfai_version,
            "shape": None if self.shape is None else list(self.shape),
            "pixel1": self.pixel1, "pixel2": self.pixel2,
            "beam_center_x_px": self.beam_center_x_px,
            "beam_center_y_px": self.beam_center_y_px,
        }  # fmt: skip
        arrays = {"record": np.frombuffer(json.dumps(scalars).encode(), np.uint8)}
        if self.mask is not None:
            arrays["mask"] = np.packbits(self.mask)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)  # atomic: parallel jobs never read half a file

    @classmethod
    def _load(cls, path: Path, poni: Path) -> PoniGeometry:
        with np.load(path) as z:
            rec = json.loads(z["record"].tobytes().decode())
            shape = None if rec["shape"] is None else (int(rec["shape"][0]), int(rec["shape"][1]))
            mask = None
            if "mask" in z.files and shape is not None:
                bits = np.unpackbits(z["mask"], count=shape[0] * shape[1])
                mask = bits.reshape(shape).astype(bool)
        return cls(
            str(poni), rec["key"], rec["pyfai_version"], shape, rec["pixel1"], rec["pixel2"],
            rec["beam_center_x_px"], rec["beam_center_y_px"], mask, True,
        )  # fmt: skip


def _installed_pyfai() -> str | None:
    """The installed pyFAI's version, read from its package metadata (no import)."""
    from importlib import metadata

    try:
        return metadata.version("pyFAI")
    except metadata.PackageNotFoundError:
        return None


def load_geometry(path: str | Path, cache_dir: str | Path | None | bool = None) -> PoniGeometry:
    """A PONI file's geometry record (:class:`PoniGeometry`), from the cache when it can be.

    The file is checked as :func:`load_poni` checks it. The record is pyFAI's: made by
    loading the file with pyFAI the first time, then cached as ``poni_<hash>.npz`` (the hash
    of the file's bytes and of the installed pyFAI's version), so that a later run with the
    same file, and a bin map in the cache, imports no pyFAI at all.

    Parameters
    ----------
    path : str or Path
        PONI file.
    cache_dir : str, Path, None or False
        Cache folder (default :func:`default_cache_dir`); ``False``: no cache.

    Returns
    -------
    PoniGeometry

    Raises
    ------
    HalosInputError
        As :func:`load_poni`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "g.poni").write_text(
    ...     "poni_version: 1\\nPixelSize1: 1e-4\\nPixelSize2: 1e-4\\nDistance: 2.0\\n"
    ...     "Poni1: 0.05\\nPoni2: 0.06\\nRot1: 0\\nRot2: 0\\nRot3: 0\\nWavelength: 1e-10\\n")
    >>> first = load_geometry(folder / "g.poni", cache_dir=folder)
    >>> again = load_geometry(folder / "g.poni", cache_dir=folder)
    >>> first.from_cache, again.from_cache, again.key == first.key
    (False, True, True)
    >>> again.beam_center_x_px, again.beam_center_y_px
    (600.0, 500.0)
    """
    path = Path(path)
    raw = _checked_poni_dict(path)
    cache = None
    version = _installed_pyfai()
    # A detector defined by another file (a spline, a NeXus detector) depends on more than
    # the PONI's bytes: pyFAI reads it every time.
    external = "file" in raw.get("detector_config", "").lower()
    if cache_dir is not False and version is not None and not external:
        digest = hashlib.sha256(
            path.read_bytes() + f"\0{version}\0{_RECORD_FORMAT}".encode()
        ).hexdigest()[:32]
        cache = Path(cache_dir or default_cache_dir()) / f"poni_{digest}.npz"
        if cache.is_file():
            try:
                return PoniGeometry._load(cache, path)
            except (OSError, ValueError, KeyError, TypeError):
                log.info("%s: damaged geometry record, made again", cache)
    record = PoniGeometry.from_integrator(load_poni(path), path)
    if cache is not None:
        try:
            record._save(cache)
        except OSError:
            pass  # a read-only cache only costs speed
    return record
