# SPDX-License-Identifier: MIT
"""Read a SEC-SAXS series of 1D curves: RAW series HDF5, ``.dat`` globs, our NXcanSAS frames.

Every reader returns one :class:`~halos_analysis.types.FrameCurves` whose rows are the
frames in input order (0-based positions, the indices every series result reports).

Real files' quirks are read around and noted in ``meta["notes"]`` rather than refused:

* a run cut short (a truncated HDF5 file, an unreadable last ``.dat``): the frames before
  the first unreadable one are kept, and the note names it;
* frames whose q grids differ only by extra points at either end (a detector edge masked in
  some frames): all frames are cut to the common points;
* q bins that are NaN in some frames (masked): they are dropped from the whole series.

Frames on genuinely different q grids (different points, not a common subset), a file
that is not a series, or no readable frame at all raise :class:`HalosInputError` naming the
file and the field.
"""

from __future__ import annotations

import glob
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import FrameCurves, normalise_q_unit

__all__ = ["expand_inputs", "is_curve_input", "read_raw_series", "read_series"]

log = logging.getLogger(__name__)

# Same tolerance as the rest of the package for "one q grid": text files round q.
_Q_RTOL = 1e-5


def _natural_key(path: str) -> list[Any]:
    # frame_2 before frame_10: detectors and RAW number frames without zero padding too.
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def expand_inputs(inputs: Sequence[str | Path]) -> list[str]:
    """Expand globs in input order (each glob's matches sorted naturally), keep plain paths.

    Raises
    ------
    HalosInputError
        A glob that matches nothing, or a plain path that does not exist.
    """
    out: list[str] = []
    for item in inputs:
        s = str(item)
        if any(ch in s for ch in "*?["):
            matches = sorted(glob.glob(s), key=_natural_key)
            if not matches:
                raise HalosInputError("the pattern matches no file", s, "inputs")
            out.extend(matches)
        else:
            if not Path(s).exists():
                raise HalosInputError("file not found", s)
            out.append(s)
    return out


def is_curve_input(paths: Sequence[str | Path]) -> bool:
    """Whether files are 1D curves (text, RAW series, NXcanSAS frames), not detector images.

    Text files (``.dat``, ``.txt``, ``.csv``, ``.out``) are curves; an HDF5 file is when it
    holds RAW's ``profiles/q`` or an NXcanSAS ``SASentry``. Anything else (CBF, EDF, TIFF,
    Eiger files) is a frame stack to integrate first.
    """
    import h5py

    paths = [str(p) for p in paths]
    if not paths:
        return False
    if all(Path(p).suffix.lower() in (".dat", ".txt", ".csv", ".out") for p in paths):
        return True
    if len(paths) != 1 or not _is_hdf5(paths[0]):
        return False
    try:
        with h5py.File(paths[0], "r") as h5:
            if "profiles" in h5 and "q" in h5["profiles"]:
                return True
            for g in h5.values():
                canSAS = g.attrs.get("canSAS_class")
                canSAS = canSAS.decode() if isinstance(canSAS, bytes) else canSAS
                if canSAS == "SASentry":
                    return True
    except OSError:
        return False
    return False


def _is_hdf5(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def read_raw_series(path: str | Path, q_unit: str | None = None) -> FrameCurves:
    """Read the unsubtracted profiles of a BioXTAS RAW series file (``file_type`` RAW_Series).

    ``profiles/q`` is the q grid and ``profiles/NNNNNN`` each hold [I, σ] (n_q × 2). RAW
    writes q in Å⁻¹ unless told otherwise; ``q_unit`` overrides that.

    Parameters
    ----------
    path : str or Path
        The ``.hdf5`` file.
    q_unit : str, optional
        q unit (default ``A^-1``).

    Returns
    -------
    FrameCurves
        ``meta`` holds ``source``, ``format`` (``raw_series``), ``file_names`` (RAW's
        per-frame source files), ``already_subtracted`` (RAW's flag) and ``notes``.
    """
    import h5py

    path = Path(path)
    notes: list[str] = []
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise HalosInputError(f"cannot open as HDF5 ({exc})", path) from None
    with h5:
        if "profiles" not in h5 or "q" not in h5["profiles"]:
            raise HalosInputError("not a RAW series file (no profiles/q)", path, "profiles/q")
        try:
            q = np.asarray(h5["profiles/q"][()], dtype=np.float64)
        except (OSError, KeyError) as exc:
            raise HalosInputError(f"q grid unreadable ({exc})", path, "profiles/q") from None
        names = sorted(k for k in h5["profiles"] if k.isdigit())
        if not names:
            raise HalosInputError("no profiles in the file", path, "profiles")
        # Frames are numbered 000000..; a gap means the run was cut short there.
        expected = [f"{i:06d}" for i in range(len(names))]
        if names != expected:
            first_gap = next(
                i for i, (a, b) in enumerate(zip(names, expected, strict=False)) if a != b
            )
            notes.append(
                f"profiles stop at {first_gap:06d} (numbering has a gap); later ones dropped"
            )
            names = names[:first_gap]
        intensity = np.empty((len(names), len(q)))
        sigma = np.empty((len(names), len(q)))
        n_ok = len(names)
        for i, name in enumerate(names):
            try:
                d = np.asarray(h5["profiles"][name][()], dtype=np.float64)
            except (OSError, KeyError, RuntimeError) as exc:
                notes.append(f"profile {name} unreadable ({exc}): run cut short, {i} frames kept")
                n_ok = i
                break
            if d.shape != (len(q), 2):
                notes.append(
                    f"profile {name} has shape {d.shape}, not ({len(q)}, 2): run cut short, "
                    f"{i} frames kept"
                )
                n_ok = i
                break
            intensity[i], sigma[i] = d[:, 0], d[:, 1]
        if n_ok == 0:
            raise HalosInputError("no readable profile", path, "profiles/000000")
        intensity, sigma = intensity[:n_ok], sigma[:n_ok]
        meta: dict[str, Any] = {"source": str(path), "format": "raw_series"}
        if "file_names" in h5:
            fn = h5["file_names"][()]
            meta["file_names"] = [x.decode() if isinstance(x, bytes) else str(x) for x in fn][:n_ok]
        if "intensities" in h5:
            meta["already_subtracted"] = bool(h5["intensities"].attrs.get("already_subtracted"))
    meta["notes"] = notes
    for n in notes:
        log.warning("%s: %s", path, n)
    return _clean(
        FrameCurves(
            q, intensity, sigma, normalise_q_unit(q_unit or "A^-1"), name=path.stem, meta=meta
        ),
        path,
    )


def _fast_columns(path: str) -> np.ndarray | None:
    """q, I, σ of a plain numeric text file (``#`` comments), or None if it is not one."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = np.loadtxt(path, comments="#", ndmin=2)
    except (ValueError, OSError):
        return None
    if data.ndim != 2 or data.shape[1] < 3 or len(data) < 2:
        return None
    return data[:, :3]


def _read_frame(path: str, q_unit: str | None, notes: list[str], first: bool):
    """One curve of a series: strict reader first, leniently around bad rows.

    Real runs hold bins a detector or pipeline marks with σ = 0 or NaN (a masked pixel
    ring): the strict :func:`read_curve` refuses such a file; here its numbers are kept and
    the bin is dropped from the whole series later (:func:`_clean`), with a note.
    """
    from halos_analysis.io.curves import guess_q_unit, read_curve
    from halos_analysis.types import Curve

    if not first:
        cols = _fast_columns(path)
        if cols is not None:
            return Curve(
                cols[:, 0], cols[:, 1], cols[:, 2], q_unit or "A^-1", meta={"source": path}
            )
    try:
        return read_curve(path, q_unit=q_unit)
    except HalosInputError as exc:
        cols = _fast_columns(path)
        if cols is None:
            raise
        unit = q_unit or guess_q_unit(cols[:, 0])
        if first:
            notes.append(
                f"{path}: {exc.reason}; read around (such bins are dropped from the series)"
                + ("" if q_unit else f"; q unit guessed {unit} from the q range")
            )
        return Curve(cols[:, 0], cols[:, 1], cols[:, 2], unit, meta={"source": path})


def _stack_curves(paths: Sequence[str], q_unit: str | None) -> FrameCurves:
    curves = []
    notes: list[str] = []
    unit = q_unit
    for i, p in enumerate(paths):
        try:
            c = _read_frame(p, unit, notes, first=i == 0)
        except HalosInputError as exc:
            if i == 0:
                raise
            # A run cut short: the last file half-written, or a frame missing in the middle.
            notes.append(f"{p} unreadable ({exc.reason}): run cut short, {i} frames kept")
            break
        if i == 0:
            unit = c.q_unit  # one unit for the series: the first file's
        curves.append(c)
    first = curves[0]
    if q_unit is None:
        # One unit for the series: the first file's (stated or guessed), never mixed.
        curves = [c if c.q_unit == first.q_unit else c.to_unit(first.q_unit) for c in curves]
    q_lists = [c.q for c in curves]
    q = _common_grid(q_lists, curves, notes)
    rows = []
    for c in curves:
        sel = _indices_on(c.q, q)
        rows.append((c.intensity[sel], c.sigma[sel]))
    intensity = np.stack([r[0] for r in rows])
    sigma = np.stack([r[1] for r in rows])
    units = {c.meta.get("intensity_unit") for c in curves}
    meta: dict[str, Any] = {
        "source": paths[0] if len(paths) == 1 else f"{paths[0]} .. {paths[len(curves) - 1]}",
        "format": "dat",
        "file_names": [str(c.meta.get("source")) for c in curves],
        "notes": notes,
    }
    if len(units) == 1 and None not in units:
        meta["intensity_unit"] = units.pop()
    for n in notes:
        log.warning("%s", n)
    name = Path(paths[0]).stem
    name = re.sub(r"[_-]?\d+$", "", name) or name
    return _clean(FrameCurves(q, intensity, sigma, first.q_unit, name=name, meta=meta), paths[0])


def _indices_on(q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    k = np.searchsorted(q, grid[0] * (1 - _Q_RTOL))
    return np.arange(k, k + len(grid))


def _common_grid(q_lists: Sequence[np.ndarray], curves, notes: list[str]) -> np.ndarray:
    """The q points every frame has; frames must agree on them (a common contiguous run)."""
    ref = q_lists[0]
    if all(len(q) == len(ref) and np.allclose(q, ref, rtol=_Q_RTOL, atol=0) for q in q_lists):
        return ref
    lo = max(q[0] for q in q_lists)
    hi = min(q[-1] for q in q_lists)
    grid = ref[(ref >= lo * (1 - _Q_RTOL)) & (ref <= hi * (1 + _Q_RTOL))]
    for q, c in zip(q_lists, curves, strict=True):
        k = np.searchsorted(q, grid[0] * (1 - _Q_RTOL)) if len(grid) else 0
        part = q[k : k + len(grid)]
        if (
            len(grid) < 10
            or len(part) != len(grid)
            or not np.allclose(part, grid, rtol=_Q_RTOL, atol=0)
        ):
            raise HalosInputError(
                f"q grid ({len(q)} points, {q[0]:.6g}–{q[-1]:.6g}) is not the grid of the "
                f"first frame {curves[0].meta.get('source')} ({len(ref)} points, "
                f"{ref[0]:.6g}–{ref[-1]:.6g}) nor a part of it; frames of one series must "
                "share one q grid (not interpolated: that would correlate the errors)",
                c.meta.get("source"),
                "q",
            )
    notes.append(
        f"frames cover different q ranges: all cut to the {len(grid)} common points "
        f"{grid[0]:.6g}–{grid[-1]:.6g}"
    )
    return grid


def _clean(frames: FrameCurves, path: str | Path) -> FrameCurves:
    """Drop q bins that are unusable in any frame (NaN, inf, σ ≤ 0), with a note."""
    bad = ~(np.isfinite(frames.intensity) & np.isfinite(frames.sigma) & (frames.sigma > 0))
    bad_q = bad.any(axis=0) | ~np.isfinite(frames.q)
    if not bad_q.any():
        return frames
    keep = ~bad_q
    if keep.sum() < 10:
        raise HalosInputError(
            f"only {int(keep.sum())} q bins are finite with σ > 0 in every frame", path, "I"
        )
    notes = list(frames.meta.get("notes", []))
    notes.append(f"{int(bad_q.sum())} q bins with NaN/inf or σ ≤ 0 in some frame dropped")
    meta = dict(frames.meta, notes=notes)
    return FrameCurves(
        frames.q[keep],
        frames.intensity[:, keep],
        frames.sigma[:, keep],
        frames.q_unit,
        name=frames.name,
        frame_ids=frames.frame_ids,
        meta=meta,
    )


def read_series(
    inputs: Sequence[str | Path] | str | Path, q_unit: str | None = None
) -> FrameCurves:
    """Read a series from a RAW series HDF5 file, our NXcanSAS frame file or 1D curve files.

    Parameters
    ----------
    inputs : path, glob or sequence of them
        One ``.h5``/``.hdf5`` file (RAW series or ``halos integrate`` output), or ``.dat``
        files and globs (sorted naturally within each glob, in the order given otherwise).
    q_unit : str, optional
        q unit of text files (default: from each header, else guessed); of RAW files
        (default ``A^-1``).

    Returns
    -------
    FrameCurves
        Frames in input order; ``meta["notes"]`` lists what was read around.

    Raises
    ------
    HalosInputError
        No input, no readable frame, frames on different q grids, an HDF5 file that is
        neither kind, or several HDF5 files (one series per call).
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    paths = expand_inputs(inputs)
    if not paths:
        raise HalosInputError("no input files given", field="inputs")
    h5 = [p for p in paths if _is_hdf5(p)]
    if h5:
        if len(paths) != 1:
            raise HalosInputError(
                "give one HDF5 series file, or text curves, not several HDF5 files or a mix",
                h5[0] if len(h5) > 1 else next(p for p in paths if p not in h5),
                "inputs",
            )
        return _read_h5(paths[0], q_unit)
    return _stack_curves(paths, q_unit)


def _read_h5(path: str, q_unit: str | None) -> FrameCurves:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            kind = h5.attrs.get("file_type")
            kind = kind.decode() if isinstance(kind, bytes) else kind
            raw = kind == "RAW_Series" or ("profiles" in h5 and "q" in h5["profiles"])
    except OSError as exc:
        raise HalosInputError(f"cannot open as HDF5 ({exc})", path) from None
    if raw:
        return read_raw_series(path, q_unit)
    from halos_analysis.io.nxcansas import read_frames

    frames = read_frames(path)
    meta = dict(frames.meta)
    meta.setdefault("source", path)
    meta["format"] = "nxcansas"
    meta.setdefault("notes", [])
    return _clean(
        FrameCurves(
            frames.q,
            frames.intensity,
            frames.sigma,
            frames.q_unit,
            name=frames.name or Path(path).stem,
            frame_ids=tuple(range(len(frames))),
            meta=meta | {"frame_ids_in_file": list(frames.frame_ids)},
        ),
        path,
    )
