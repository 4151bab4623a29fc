# SPDX-License-Identifier: MIT
"""Check files against their standard: NXcanSAS outputs and raw detector files.

:func:`validate_file` returns a list of problems in words a facility scientist understands;
an empty list means the file is valid. It never raises for a bad file: a missing file, a text
file handed in as HDF5 or a truncated frame are problems, not tracebacks.

NXcanSAS files get two checks. Our own structural checks follow the NXcanSAS application
definition (required groups, fields and attributes, allowed units, matching shapes, finite
data); then ``nexusformat``'s ``validate_application`` checks the entry against the NXDL file
shipped with nexusformat, and its errors (not its warnings) are added. Raw files are read with
the facility profile's frame reader and checked for the metadata the profile requires and for
frame integrity (every frame readable, one shape, not empty).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

from halos_analysis.io.nxcansas import decode

#: Units NXcanSAS allows for Q (and Qdev) and for I (and Idev).
Q_UNITS = ("1/m", "1/nm", "1/angstrom")
I_UNITS = ("1/m", "1/cm", "m2/g", "cm2/g", "arbitrary")
#: Raw-file extensions understood without a profile.
RAW_SUFFIXES = (".cbf", ".edf", ".tif", ".tiff")

#: Profile fields that must be > 0 when present (a beam centre may be anywhere).
_POSITIVE = ("wavelength", "distance", "pixel_size_x", "pixel_size_y", "exposure")

# Frame metadata field for each canonical profile field.
_META_FIELD = {
    "wavelength": "wavelength_m",
    "distance": "distance_m",
    "pixel_size_x": "pixel2_m",
    "pixel_size_y": "pixel1_m",
    "beam_center_x": "beam_center_x_px",
    "beam_center_y": "beam_center_y_px",
    "exposure": "count_time_s",
    "sample_name": "sample_name",
    "detector": "detector",
    "bit_depth": "bit_depth",
}


def validate_file(
    path: str | Path,
    profile: str | None = None,
    side_table: str | Path | None = None,
    poni: str | Path | None = None,
) -> list[str]:
    """Check one file and list what is wrong with it.

    Parameters
    ----------
    path : str or Path
        An NXcanSAS file (``.h5``) or a raw detector file (HDF5/NeXus, CBF, EDF, TIFF).
    profile : str, optional
        Facility profile (e.g. ``"maxiv_cosaxs_2024"``): validate as a raw file of that
        facility. Without it, HDF5 files holding an NXcanSAS entry are checked as NXcanSAS,
        other HDF5 files against the facility layout they are recognised as (see
        :func:`halos_analysis.io.frames.detect_layout`), CBF/EDF/TIFF files against the
        generic profile of their format.
    side_table : str or Path, optional
        TSV of per-frame counters (``monitor``, ``transmission``, ``exposure_s``) for a raw
        file whose profile reads them from a side table.
    poni : str or Path, optional
        PONI file: gives the geometry facilities do not record in their files, and the
        wavelength a recorded energy must agree with.

    Returns
    -------
    list of str
        Problems found; empty when the file is valid.
    """
    return validate_report(path, profile, side_table, poni).problems


# --- NXcanSAS -------------------------------------------------------------------------------


def _find_cansas_entries(h5: Any) -> list[str]:
    out = []
    for key in h5:
        g = h5[key]
        if not hasattr(g, "keys"):
            continue
        cls = decode(g.attrs.get("canSAS_class"))
        definition = decode(g["definition"][()]) if "definition" in g else None
        if cls == "SASentry" or definition == "NXcanSAS":
            out.append(key)
    return out


def validate_nxcansas(path: str | Path, use_nexusformat: bool = True) -> list[str]:
    """Problems of an NXcanSAS file: our structural checks plus nexusformat's errors.

    Parameters
    ----------
    path : str or Path
        The file.
    use_nexusformat : bool
        Also run ``nexusformat.nexus.validate.validate_application`` on each entry (skipped
        silently when nexusformat is not installed).

    Returns
    -------
    list of str
        Problems found, each naming the group or field; empty when the file is valid.
        nexusformat's errors are prefixed ``nexusformat:`` and left out when our own checks
        already named the same path.
    """
    import h5py

    problems: list[str] = []
    with h5py.File(path, "r") as h5:
        entries = _find_cansas_entries(h5)
        if not entries:
            return ["no NXcanSAS entry (no group with canSAS_class=SASentry)"]
        default = decode(h5.attrs.get("default"))
        if default is not None and default not in h5:
            problems.append(f"/@default names {default!r}, which does not exist")
        for key in entries:
            problems += _check_entry(h5[key])
    if use_nexusformat:
        for key in entries:
            for err in nexusformat_errors(path, "/" + key):
                # Say each fault once: skip what our own checks already named for that path.
                where = err.split(":", 1)[0]
                if not any(p.startswith(where) for p in problems):
                    problems.append(f"nexusformat: {err}")
    return problems


def _check_entry(entry: Any) -> list[str]:
    p: list[str] = []
    where = entry.name
    if decode(entry.attrs.get("NX_class")) not in ("NXentry", "NXsubentry"):
        p.append(f"{where}: NX_class must be NXentry")
    if decode(entry.attrs.get("canSAS_class")) != "SASentry":
        p.append(f"{where}: canSAS_class must be SASentry")
    definition = decode(entry["definition"][()]) if "definition" in entry else None
    if definition != "NXcanSAS":
        p.append(f"{where}/definition must be 'NXcanSAS' (found {definition!r})")
    for field in ("title", "run"):
        if field not in entry:
            p.append(f"{where}/{field} is required and missing")
    sasdata = [
        entry[k]
        for k in entry
        if hasattr(entry[k], "keys") and decode(entry[k].attrs.get("canSAS_class")) == "SASdata"
    ]
    if not sasdata:
        p.append(f"{where}: no SASdata group")
    checked: set[Any] = set()  # a q axis hard-linked into many frames is checked once
    for g in sasdata:
        p += _check_sasdata(g, checked)
    default = decode(entry.attrs.get("default"))
    if default is not None and default not in entry:
        p.append(f"{where}/@default names {default!r}, which does not exist")
    for k in entry:
        g = entry[k]
        if hasattr(g, "keys") and decode(g.attrs.get("canSAS_class")) == "SASsample":
            if "name" not in g:
                p.append(f"{g.name}/name is required in SASsample and missing")
    return p


def _check_sasdata(g: Any, checked: set[Any] | None = None) -> list[str]:
    p: list[str] = []
    w = g.name
    if decode(g.attrs.get("NX_class")) != "NXdata":
        p.append(f"{w}: NX_class must be NXdata")
    signal = decode(g.attrs.get("signal"))
    if signal != "I":
        p.append(f"{w}/@signal must be 'I' (found {signal!r})")
    axes = decode(g.attrs.get("I_axes"))
    if axes is None:
        p.append(f"{w}/@I_axes is required and missing")
        axes_list: list[str] = ["Q"]
    else:
        if isinstance(axes, np.ndarray):
            axes_list = [str(decode(a)) for a in axes]
        else:
            axes_list = [a.strip() for a in str(axes).split(",")]
    q_indices = g.attrs.get("Q_indices")
    if q_indices is None:
        p.append(f"{w}/@Q_indices is required and missing")
    elif np.asarray(q_indices).dtype.kind not in "iu":
        p.append(f"{w}/@Q_indices must be integer (found {np.asarray(q_indices).dtype})")
    if "I" not in g:
        return p + [f"{w}/I is required and missing"]
    intensity = g["I"]
    if len(axes_list) != intensity.ndim:
        p.append(f"{w}/@I_axes names {len(axes_list)} axes but I has {intensity.ndim}")
    q_names = sorted({a for a in axes_list if a.startswith("Q")}) or ["Q"]
    for qn in q_names:
        if qn not in g:
            p.append(f"{w}/{qn} is required and missing")
            continue
        key = g[qn].id
        if checked is None or key not in checked:
            p += _check_units(g[qn], Q_UNITS)
            p += _check_finite(g[qn])
            if checked is not None:
                checked.add(key)
        if intensity.ndim == 1 and g[qn].shape != intensity.shape:
            p.append(f"{w}/{qn} has shape {g[qn].shape} but I has {intensity.shape}")
    p += _check_units(intensity, I_UNITS)
    p += _check_finite(intensity)
    unc = decode(intensity.attrs.get("uncertainties"))
    if unc is not None:
        for name in str(unc).split(","):
            name = name.strip()
            if name not in g:
                p.append(f"{w}/I@uncertainties names {name!r}, which does not exist")
                continue
            if g[name].shape != intensity.shape:
                p.append(f"{w}/{name} has shape {g[name].shape} but I has {intensity.shape}")
            p += _check_units(g[name], I_UNITS)
            p += _check_finite(g[name])
            values = np.asarray(g[name][()], dtype=float)
            if np.isfinite(values).all() and (values < 0).any():
                p.append(f"{w}/{name}: negative uncertainties")
    if "Idev" in g and unc is None:
        p.append(f"{w}/I@uncertainties should name 'Idev'")
    return p


def _check_units(ds: Any, allowed: tuple[str, ...]) -> list[str]:
    units = decode(ds.attrs.get("units"))
    if units is None:
        return [f"{ds.name}/@units is required and missing"]
    if units not in allowed:
        return [f"{ds.name}/@units {units!r} is not one of {', '.join(allowed)}"]
    return []


def _check_finite(ds: Any) -> list[str]:
    if ds.dtype.kind not in "iuf":
        return [f"{ds.name}: not numeric ({ds.dtype})"]
    values = np.asarray(ds[()], dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        idx = [int(i) for i in np.unravel_index(int(np.argmax(bad)), values.shape)]
        first = ",".join(map(str, idx))
        return [f"{ds.name}: {int(bad.sum())} non-finite values (first at index [{first}])"]
    return []


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def nexusformat_errors(path: str | Path, entry: str | None = None) -> list[str]:
    """Errors that nexusformat's NXcanSAS application validator reports for one entry.

    Each error is prefixed with the field or group it concerns. Returns an empty list when
    nexusformat is not installed.

    Parameters
    ----------
    path : str or Path
        The NXcanSAS file.
    entry : str, optional
        Path of the entry to check (e.g. ``"/sasentry01"``); the first NXentry when None.

    Returns
    -------
    list of str
        Error messages only (warnings are dropped); a single ``"validator failed: ..."`` when
        the validator itself raises.
    """
    try:
        from nexusformat.nexus import validate as nxv
    except ImportError:
        return []
    handler = _Collect()
    logger = nxv.logger
    old_level, old_propagate, old_handlers = logger.level, logger.propagate, logger.handlers[:]
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        nxv.validate_application(str(path), path=entry, application="NXcanSAS")
    except Exception as exc:  # the validator itself failed: say so, do not crash
        return [f"validator failed: {exc}"]
    finally:
        logger.handlers = old_handlers
        logger.propagate = old_propagate
        logger.setLevel(old_level)
    errors, context = [], ""
    for level, message in handler.records:
        text = re.sub(r"\x1b\[[0-9;]*m", "", message).strip()
        if text.startswith(("Field:", "Group:")):
            context = text.split(":", 1)[1].strip()
        elif level == logging.ERROR:
            errors.append(f"{context}: {text}" if context else text)
    return errors


# --- raw frame files ------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationReport:
    """What ``halos validate`` says about one file.

    ``problems`` empty means valid. ``layout`` says which layout the file looks like (for a
    raw file validated without a profile), ``profile`` the profile it was checked against,
    ``notes`` what is worth knowing but not wrong (an empty field real files always leave
    empty, a unit converted), ``fields`` where each field was read (value, unit, source).
    """

    problems: list[str]
    profile: str | None = None
    layout: str | None = None
    notes: tuple[str, ...] = ()
    fields: dict[str, dict[str, Any]] = dc_field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"valid": self.valid, "problems": list(self.problems)}
        if self.profile:
            d["profile"] = self.profile
        if self.layout:
            d["layout"] = self.layout
        if self.notes:
            d["notes"] = list(self.notes)
        if self.fields:
            d["fields"] = self.fields
        return d


def validate_report(
    path: str | Path,
    profile: str | None = None,
    side_table: str | Path | None = None,
    poni: str | Path | None = None,
    frames: bool = True,
) -> ValidationReport:
    """:func:`validate_file` with the layout found, notes and the fields read.

    Parameters are those of :func:`validate_file`; ``frames=False`` checks a raw file's
    metadata and structure but does not decode its frames (the workflow's integration reads
    them, once, and checks each as it goes).
    """
    path = Path(path)
    if not path.exists():
        return ValidationReport(["file not found"])
    if path.is_dir():
        return ValidationReport(["is a directory, not a file"])
    import h5py

    is_h5 = h5py.is_hdf5(path)
    if profile is not None:
        return raw_report(path, profile, side_table, poni, frames)
    if not is_h5:
        if path.suffix.lower() in RAW_SUFFIXES:
            return raw_report(path, None, side_table, poni, frames)
        return ValidationReport(["not an HDF5 file (and not a CBF/EDF/TIFF frame file)"])
    try:
        with h5py.File(path, "r") as h5:
            nxcansas = _find_cansas_entries(h5)
    except OSError as exc:
        return ValidationReport([f"HDF5 file cannot be opened: {exc}"])
    if nxcansas:
        return ValidationReport(validate_nxcansas(path), layout="NXcanSAS")
    return raw_report(path, None, side_table, poni, frames)


def validate_raw(
    path: str | Path,
    profile: str | None = None,
    side_table: str | Path | None = None,
    poni: str | Path | None = None,
) -> list[str]:
    """Problems of a raw detector file against a facility profile.

    Checks that the profile's required metadata are present and plausible, and that every
    frame can be read, has the detector's shape and is not empty. A side table, when given,
    supplies the per-frame counters as it does in the reduction.

    Parameters
    ----------
    path : str or Path
        Raw detector file (HDF5/NeXus, CBF, EDF, TIFF).
    profile : str, optional
        Facility profile name; without it an HDF5 file's layout is recognised (the generic
        profile of the file's format when none matches).
    side_table : str or Path, optional
        TSV of per-frame counters (``monitor``, ``transmission``, ``exposure_s``).
    poni : str or Path, optional
        PONI file: the geometry of facilities whose files do not record it.

    Returns
    -------
    list of str
        Problems found; empty when the file is valid. An unknown profile or a file that
        cannot be opened gives a single problem saying so.
    """
    return raw_report(path, profile, side_table, poni).problems


def raw_report(
    path: str | Path,
    profile: str | None = None,
    side_table: str | Path | None = None,
    poni: str | Path | None = None,
    frames: bool = True,
) -> ValidationReport:
    """:func:`validate_raw` with the layout found, notes and fields read (``frames=False``:
    without decoding every frame, see :func:`validate_report`)."""
    path = Path(path)
    try:
        from halos_analysis.io import frames as frames_mod
        from halos_analysis.io import profiles
    except ImportError as exc:
        return ValidationReport([f"raw-file validation unavailable ({exc})"])
    from halos_analysis.errors import HalosError

    problems: list[str] = []
    layout = None
    is_h5 = path.suffix.lower() in (".h5", ".hdf5", ".nxs", ".hdf")
    if profile is None and is_h5:
        found = frames_mod.detect_layout(path)
        layout = found.describe()
        if found:
            profile = found.profile
        elif found.nearest:
            problems.append(layout)
    if profile is None:
        fmt = "hdf5" if is_h5 else path.suffix[1:]
        profile = profiles.default_profile(fmt.lower())
    try:
        prof = profiles.get_profile(profile)
        required = tuple(prof.get("required", ()))
    except KeyError as exc:
        return ValidationReport([f"unknown profile: {exc}"])
    try:
        source = _open_source(frames_mod, path, profile, side_table, poni)
    except (HalosError, OSError, ValueError, KeyError) as exc:
        return ValidationReport(
            problems + [f"cannot be read as a {profile} file: {exc}"], prof["name"], layout
        )
    meta = getattr(source, "metadata", None)
    locations = prof["fields"]
    fields_read = getattr(source, "fields_read", None)
    notes = list(getattr(source, "notes", ()))
    label = prof.get("label", prof["name"])
    if prof.get("alias_of"):
        notes.append(f"profile {prof['alias_of']!r} is deprecated: it now means {prof['name']!r}")
    needs_poni = getattr(source, "needs_poni", set())
    for field in required:
        if field == "data":
            continue  # checked by reading the frames below
        attr = _META_FIELD.get(field)
        value = getattr(meta, attr, None) if attr else None
        if value is None:
            value = _extra_field(source, field)
        if fields_read is not None and value is None and field in fields_read:
            value = _first(fields_read[field].value)
        if isinstance(value, str) and not value.strip():
            value = None  # an empty sample name names nothing
        if value is None and field in needs_poni:
            problems.append(
                f"required field {field!r} is not recorded in this layout ({label}): it comes from "
                "the PONI file (give --poni)"
            )
        elif value is None or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(f"required field {field!r} is missing" + _hint(locations, field))
        elif field in _POSITIVE and isinstance(value, (int, float)) and value <= 0:
            problems.append(f"field {field!r} must be positive, found {value!r}")
    for field in sorted(getattr(source, "empty_fields", ())):
        if field not in required:
            notes.append(f"{field}: the field exists but is empty ({_where(locations, field)})")
    if poni is not None and fields_read is not None:
        problems += _check_against_poni(fields_read, poni)
    problems += _check_frames(source, meta, read=frames)
    close = getattr(source, "close", None)
    if callable(close):
        close()
    if getattr(source, "monitor", None) is None and getattr(source, "exposure_s", None) is not None:
        notes.append("no beam monitor: frames are normalised by the exposure time")
    units = getattr(source, "counter_units", {})
    for name, unit in units.items():
        if unit and unit not in ("counts",):
            notes.append(f"{name} is recorded in {unit} (used as stored, not converted)")
    fields = {k: _describe(r) for k, r in (fields_read or {}).items()}
    return ValidationReport(problems, prof["name"], layout, tuple(notes), fields)


def _first(value: Any) -> Any:
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        return None
    return float(np.min(arr))


def _where(locations: dict[str, tuple[str, ...]], field: str) -> str:
    return ", ".join(locations.get(field, ())) or "not mapped"


def _describe(read: Any) -> dict[str, Any]:
    value = read.value
    if isinstance(value, str):
        shown: Any = value
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            shown = str(value)
        elif arr.size == 1:
            shown = float(arr.ravel()[0])
        elif arr.size <= 4:
            shown = [float(v) for v in arr.ravel()]
        else:
            shown = f"{arr.size} values, {float(arr.min()):.6g} to {float(arr.max()):.6g}"
    d = {"value": shown, "unit": read.unit, "from": read.where}
    if read.stored:
        d["stored"] = read.stored
    return d


def _check_against_poni(fields_read: dict[str, Any], poni: str | Path) -> list[str]:
    """A wavelength the file records must be the one the PONI geometry was made for."""
    from halos_analysis.errors import HalosError
    from halos_analysis.io.frames.layout import read_poni_geometry

    read = fields_read.get("wavelength")
    if read is None or read.where.startswith("PONI"):
        return []
    try:
        geo = read_poni_geometry(poni)
    except HalosError as exc:
        return [f"PONI file: {exc}"]
    lam = float(np.asarray(read.value).ravel()[0])
    rel = abs(lam - geo["wavelength"]) / geo["wavelength"]
    if rel > 1e-3:
        stored = f" ({read.stored})" if read.stored else ""
        return [
            f"wavelength {lam * 1e10:.5f} A{stored} in {read.where} differs from the PONI's "
            f"{geo['wavelength'] * 1e10:.5f} A by {100 * rel:.2f} %: the geometry is for "
            "another energy"
        ]
    return []


def _open_source(
    frames_mod: Any,
    path: Path,
    profile: str,
    side_table: str | Path | None = None,
    poni: str | Path | None = None,
) -> Any:
    return frames_mod.open_frames(path, profile=profile, side_table=side_table, poni=poni)


def _hint(locations: dict[str, tuple[str, ...]], field: str) -> str:
    """Where the profile looks for ``field``, when only a side table can give it."""
    where = locations.get(field, ())
    if field == "monitor":
        where = where + locations.get("monitor_rate", ())
    if where and all(loc.startswith("side:") for loc in where):
        return " (this profile reads it from a side table only: give one)"
    return ""


def _extra_field(source: Any, field: str) -> Any:
    """Per-frame counters (monitor, transmission, exposure) kept on the source, not in meta."""
    for name in (field, f"{field}_s"):
        value = getattr(source, name, None)
        if value is not None:
            arr = np.asarray(value, dtype=float)
            return float(np.min(arr)) if arr.size else None
    if field == "monitor_rate":
        return _extra_field(source, "monitor")
    return None


def _check_frames(source: Any, meta: Any, read: bool = True) -> list[str]:
    """Every frame readable, of the detector's shape, and not empty or all-invalid (with
    ``read``); the per-frame counters positive."""
    problems: list[str] = []
    shape = tuple(getattr(source, "shape", None) or getattr(meta, "shape", None) or ())
    n_expected = len(source) if read else 0
    unreadable: list[str] = []

    def check(idx: int, frame: np.ndarray) -> None:
        if shape and tuple(frame.shape) != shape:
            problems.append(f"frame {idx}: shape {frame.shape}, detector is {shape}")
            return
        bad = source.invalid_pixels(frame)
        if bad.all():
            problems.append(f"frame {idx}: every pixel is invalid")
        elif not np.any(frame[~bad]):
            problems.append(f"frame {idx}: empty (all valid pixels are zero)")

    size = 8
    for start in range(0, n_expected, size):
        stop = min(start + size, n_expected)
        try:
            batch = next(source.batches(size, start=start, stop=stop))
        except Exception:  # a corrupt frame may raise anything: find out which one
            # The batch failed as a whole: read its frames one by one so the report names the
            # frame that is broken, not the first frame of its batch.
            for idx in range(start, stop):
                try:
                    frame = source.read(idx)
                except Exception as exc:  # reported as a problem, not raised
                    unreadable.append(f"frame {idx} cannot be read: {exc}")
                    continue
                check(idx, frame)
            continue
        for k, frame in enumerate(batch.data):
            check(batch.start + k, frame)
    # A file broken throughout would give one line per frame: list a few, count the rest.
    problems += unreadable[:5]
    if len(unreadable) > 5:
        problems.append(f"{len(unreadable) - 5} more frames cannot be read")
    if len(source) == 0:
        problems.append("no frames")
    for name in ("monitor", "transmission", "exposure_s"):
        values = getattr(source, name, None)
        if values is None:
            continue
        values = np.asarray(values, dtype=float)
        bad = ~np.isfinite(values) | (values <= 0)
        if bad.any():
            problems.append(f"{name} of frame {int(np.argmax(bad))} is {values[bad][0]!r}")
    return problems


# --- profile listing ------------------------------------------------------------------------


def profiles_listing() -> list[dict[str, Any]]:
    """Every facility profile with its evidence level (``halos validate --list-profiles``)."""
    from halos_analysis.io.profiles import list_profiles

    return list_profiles()


def format_profiles(rows: list[dict[str, Any]]) -> str:
    """The profile listing as text: one block per profile, evidence level first."""
    from halos_analysis.io.profiles import EVIDENCE_LEVELS

    lines = ["Evidence levels: " + "; ".join(f"{k} = {v}" for k, v in EVIDENCE_LEVELS.items())]
    for r in rows:
        extra = []
        if r["aliases"]:
            extra.append("old name(s): " + ", ".join(r["aliases"]))
        if r["params"]:
            extra.append("parameters: " + ", ".join(f"{k}={v}" for k, v in r["params"].items()))
        if r["from_poni"]:
            extra.append("from the PONI: " + ", ".join(r["from_poni"]))
        if not r["detectable"]:
            extra.append("not auto-detected (name it as the facility profile)")
        lines.append("")
        lines.append(f"{r['name']}  [{r['evidence']}]  {r['format']}  {r['label']}")
        lines.append(f"    {r['description']}")
        lines.append(f"    evidence: {r['evidence_sources']}")
        lines += [f"    {e}" for e in extra]
    return "\n".join(lines)
