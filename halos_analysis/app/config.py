# SPDX-License-Identifier: MIT
"""Workflow configuration and sample sheet: loaded, validated against the JSON schemas in
``workflow/schemas/``, and cross-checked (buffers exist, frame files exist).

A sheet cell holds one value, never a list in disguise: the ``frames`` cell is one file, one
glob or one ``FILE.h5::/dataset`` (a path may hold spaces and quotes). A measurement made of
several files or globs lists them in a second sheet, one per row, in order (config key
``units``: a TSV with columns ``name`` and ``frames``, as the Snakemake workflow catalogue's
``units.tsv``). Globs are expanded here, once per run: what comes out is the explicit list
of frame files the run manifest records and the integration reads.

The Snakefile (``workflow/rules/common.smk``) and ``halos run`` both call these functions, so
a mistake is reported the same way — one line naming the file and the field — wherever the
workflow is started from.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import glob
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from halos_analysis.errors import HalosInputError


def _schemas() -> Path:
    from halos_analysis.app.runner import workflow_dir

    return workflow_dir() / "schemas"


#: Sample-sheet columns, in the order the project writes them.
SHEET_COLUMNS: tuple[str, ...] = (
    "name",
    "type",
    "buffer",
    "frames",
    "poni",
    "mask",
    "side_table",
    "scale",
    "concentration_mg_ml",
    "description",
    "profile",
    "compare_group",
    "n_frames",
)


#: A measurement name or compare group: it names folders and files (as the sheet schema's
#: pattern, checked here first to say which column is wrong).
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Measurement:
    """One row of the sample sheet: a sample or a buffer and where its frames are."""

    name: str
    type: str
    frames: tuple[str, ...]
    buffer: str | None = None
    poni: str | None = None
    mask: str | None = None
    side_table: str | None = None
    scale: float | None = None
    concentration_mg_ml: float | None = None
    description: str = ""
    profile: str | None = None
    compare_group: str | None = None
    row: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def buffers(self) -> tuple[str, ...]:
        """Buffer rows of a sample: one, or several (e.g. measured before and after it)."""
        return tuple(self.buffer.replace(",", " ").split()) if self.buffer else ()

    @property
    def frame_files(self) -> tuple[str, ...]:
        """The files of :attr:`frames` (without an HDF5 ``::/dataset``), in order."""
        return tuple(dict.fromkeys(f.split("::", 1)[0] for f in self.frames))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON view (the run manifest's record of this row)."""
        d = dataclasses.asdict(self)
        d["frames"] = list(self.frames)
        d["buffers"] = list(self.buffers)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in names}
        kwargs["frames"] = tuple(kwargs.get("frames", ()))
        return cls(**kwargs)


def _schema_validate(data: dict[str, Any], schema: str, path: str | Path, where: str) -> None:
    """Validate with Snakemake's validator (fills defaults); one line on failure."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(data, str(_schemas() / schema), set_default=True)
    except WorkflowError as exc:
        raise HalosInputError(_first_validation_line(exc), path, where) from None


def _first_validation_line(exc: Exception) -> str:
    # jsonschema's message is long; its first line after "ValidationError:" says it all.
    text = str(exc)
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ValidationError:"):
            return line.removeprefix("ValidationError:").strip()
    return text.splitlines()[0] if text else "invalid"


def validate_config(config: dict[str, Any], path: str | Path = "config") -> dict[str, Any]:
    """Validate a config dict in place against ``config.schema.yaml`` and fill defaults.

    Raises
    ------
    HalosInputError
        On a key that does not exist or a value of the wrong type or range.
    """
    unknown = _unknown_key(config)
    if unknown:
        raise HalosInputError(f"unknown config key {unknown!r}", path, unknown)
    _coerce_text(config, _config_schema())
    _schema_validate(config, "config.schema.yaml", path, "config")
    return config


def _coerce_text(data: Any, schema: dict[str, Any]) -> None:
    """Read text values as YAML where the schema wants no text, in place.

    Snakemake's ``--config integration={npt: 613}`` (what ``halos run --config
    integration.npt=613`` passes) gives nested values as text; here ``"613"`` becomes 613
    and ``"null"`` None, so a value is the same from the command line as from a file.
    """
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        sub = schema.get("properties", {}).get(key)
        if sub is None:
            continue
        types = sub.get("type", [])
        types = [types] if isinstance(types, str) else types
        if isinstance(value, str) and types and "string" not in types:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if not isinstance(parsed, str):
                data[key] = parsed
        elif isinstance(value, dict):
            _coerce_text(value, sub)


@functools.lru_cache(maxsize=1)
def _config_schema() -> dict[str, Any]:
    """``config.schema.yaml``, read once per process (not to be changed: it is shared).

    Every workflow run validates its config with it; read by libyaml where PyYAML has it
    (the pure-Python reader took ~0.1 s a time, twice per run, at every ``halos watch``
    sample's start).
    """
    # A safe loader only (what yaml.safe_load uses, in C where there is one).
    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    reader = safe((_schemas() / "config.schema.yaml").read_text())
    try:
        return reader.get_single_data()
    finally:
        reader.dispose()


def _unknown_key(config: dict[str, Any]) -> str | None:
    # Name the offending key precisely (jsonschema's additionalProperties message is vague).
    schema = _config_schema()

    def walk(data: Any, sch: dict[str, Any], prefix: str) -> str | None:
        if not isinstance(data, dict) or "properties" not in sch:
            return None
        for key, value in data.items():
            if key not in sch["properties"]:
                return prefix + key
            found = walk(value, sch["properties"][key], f"{prefix}{key}.")
            if found:
                return found
        return None

    return walk(config, schema, "")


#: A config file larger than this is refused unread (a real one is a few kB).
MAX_CONFIG_BYTES = 1_000_000


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (or JSON) config file as untrusted text: the mapping it holds.

    Only plain YAML is read (``yaml.safe_load``: a ``!!python/object`` tag is an error, never
    a Python object), a file over :data:`MAX_CONFIG_BYTES` is refused before it is read,
    and ``__use_yte__`` is refused: Snakemake would render such a file as a YTE template,
    evaluating the Python expressions in it (``halos run`` checks every config file with
    this before Snakemake sees it).

    Raises
    ------
    HalosInputError
        Missing, too large, not YAML, not a mapping, or a template.
    """
    path = Path(path)
    if not path.is_file():
        raise HalosInputError("config file not found", path)
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise HalosInputError(
            f"config file of {size} bytes; more than {MAX_CONFIG_BYTES} is not a config", path
        )
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise HalosInputError("not a text file (not UTF-8)", path) from None
    except yaml.YAMLError as exc:
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise HalosInputError(f"not plain YAML: {what}", path, where) from None
    if not isinstance(config, dict):
        raise HalosInputError(f"holds a {type(config).__name__}, not key: value pairs", path)
    if "__use_yte__" in config:
        raise HalosInputError(
            "YTE templates run the Python expressions in them: not accepted in a config",
            path,
            "__use_yte__",
        )
    return config


def load_config(path: str | Path) -> dict[str, Any]:
    """Read (:func:`read_config_file`) and validate a YAML config file."""
    return validate_config(read_config_file(path), path)


def _natural_key(text: str) -> tuple[Any, ...]:
    """Sort key reading digit runs as numbers, so ``frame_9`` comes before ``frame_10``.

    The frame order matters beyond display: radiation-damage rejection compares every frame
    with the first one. ``re.split`` with a capturing group alternates text and digits, so
    the tuples compare str with str and int with int; the text itself breaks ties
    (``frame_01`` against ``frame_1``).
    """
    parts = re.split(r"(\d+)", text)
    return (*(int(p) if i % 2 else p for i, p in enumerate(parts)), text)


def _expand_frames(items: list[str], sheet: Path, where: str) -> tuple[str, ...]:
    """Explicit frame files of a measurement from its sheet cell or units-sheet rows.

    Each item is one path (taken as it is when it exists, so ``[`` in a file name is not a
    glob), one glob, or either with an HDF5 ``::/dataset``.
    """
    out: list[str] = []
    for item in items:
        path_part, sep, dataset = item.partition("::")
        if Path(path_part).exists():
            out.append(item)
        elif any(ch in path_part for ch in "*?["):
            matches = sorted(glob.glob(path_part), key=_natural_key)
            if not matches:
                raise HalosInputError(f"no file matches {item!r}", sheet, f"{where} frames")
            # ``run_*.h5::/entry/data/data``: the dataset applies to every matching file.
            out.extend(m + sep + dataset for m in matches)
        else:
            hint = ""
            if len(path_part.split()) > 1 and all(Path(p).exists() for p in path_part.split()):
                hint = " (one file or glob per cell: list several in the units sheet)"
            raise HalosInputError(
                f"frame file {path_part} not found{hint}", sheet, f"{where} frames"
            )
    return tuple(out)


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))
    return [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in rows]


def load_units(path: str | Path) -> dict[str, list[str]]:
    """The units sheet: the frame files or globs of each measurement, one per row, in order.

    Parameters
    ----------
    path : str or Path
        TSV with columns ``name`` (a row of the sample sheet) and ``frames``.

    Returns
    -------
    dict
        name -> list of frame items.

    Raises
    ------
    HalosInputError
        Missing file or column, an empty cell.
    """
    path = Path(path)
    if not path.is_file():
        raise HalosInputError("units sheet not found", path)
    out: dict[str, list[str]] = {}
    for i, row in enumerate(_read_tsv(path), start=1):
        for key in ("name", "frames"):
            if not row.get(key):
                raise HalosInputError(f"no {key}", path, f"row {i} {key}")
        out.setdefault(row["name"], []).append(row["frames"])
    return out


def confine(path: str | Path, root: str | Path | None, source: str | Path, field: str) -> None:
    """Refuse a path that does not resolve inside ``root`` (symbolic links followed).

    Parameters
    ----------
    path : str or Path
        A file named by a config or sample sheet (relative to the working directory).
    root : str or Path or None
        The declared folder (config ``data_dir``, or ``results``); None: nothing checked.
    source, field : str
        The file and field that named ``path``, for the error.

    Raises
    ------
    HalosInputError
        ``path`` is outside ``root`` once ``..`` and symbolic links are resolved.
    """
    if root is None:
        return
    real, top = Path(path).resolve(), Path(root).resolve()
    if real != top and top not in real.parents:
        shown = f"{path} (resolves to {real})" if str(real) != str(path) else str(path)
        raise HalosInputError(f"{shown} is outside the declared folder {root}", source, field)


def load_samples(
    path: str | Path,
    config: dict[str, Any],
    check_files: bool = True,
    errors: list[HalosInputError] | None = None,
) -> dict[str, Measurement]:
    """Read the sample sheet, validate each row and cross-check the rows.

    Parameters
    ----------
    path : str or Path
        The TSV sample sheet.
    config : dict
        Validated config (for the default geometry, and ``data_dir``: when set, every file
        a row names must resolve inside it, see :func:`confine`).
    check_files : bool
        Check that frame, PONI, mask and side-table files exist (off for a dry listing).
    errors : list, optional
        Where to put the error of each unusable row instead of raising it: that row is left
        out (with the samples whose buffer it is, and every row of a name used twice) and
        the others are returned, so a run processes what it can (the workflow does this).
        The sheet itself being unusable (missing, no rows, a bad units sheet) or every row
        refused still raises.

    Returns
    -------
    dict
        Measurements by name, in sheet order.
    """
    path = Path(path)
    if not path.is_file():
        raise HalosInputError("sample sheet not found", path)
    rows = _read_tsv(path)
    if not rows:
        raise HalosInputError("sample sheet has no rows", path)
    geometry = config.get("geometry", {})
    units_path = config.get("units")
    units = load_units(units_path) if units_path else {}
    names = {r.get("name") for r in rows}
    for name in units:
        if name not in names:
            raise HalosInputError(
                f"measurement {name!r} is not in the sample sheet {path}", units_path, "name"
            )
    data_dir = config.get("data_dir")
    cache_dir = (config.get("integration") or {}).get("cache_dir")
    if data_dir is not None and cache_dir:
        confine(cache_dir, config.get("results", "results"), "config", "integration.cache_dir")
    seen: dict[str, list[int]] = {}
    for i, row in enumerate(rows, start=1):
        if row.get("name"):
            seen.setdefault(row["name"], []).append(i)
    out: dict[str, Measurement] = {}
    for i, row in enumerate(rows, start=1):
        try:
            if errors is not None and len(seen.get(row.get("name") or "", ())) > 1:
                used = " and ".join(str(r) for r in seen[row["name"]])
                raise HalosInputError(
                    f"measurement name {row['name']!r} used in rows {used}: which one is meant?",
                    path,
                    f"row {i} name",
                )
            m = _measurement(row, i, path, out, geometry, units, check_files, data_dir)
        except HalosInputError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        out[m.name] = m
    for m in list(out.values()):
        if m.type != "sample":
            continue
        try:
            _check_buffers(m, out, path)
        except HalosInputError as exc:
            if errors is None:
                raise
            errors.append(exc)
            del out[m.name]
    if not out and errors:
        raise errors[0]
    return out


def _measurement(
    row: dict[str, Any],
    i: int,
    path: Path,
    out: dict[str, Measurement],
    geometry: dict[str, Any],
    units: dict[str, list[str]],
    check_files: bool,
    data_dir: str | None,
) -> Measurement:
    """One row of the sample sheet, validated (see :func:`load_samples`)."""
    for key in ("concentration_mg_ml", "scale"):
        text = row.get(key, "")
        try:
            row[key] = float(text) if text else None
        except ValueError:
            raise HalosInputError(
                f"{key} {text!r} is not a number", path, f"row {i} {key}"
            ) from None
    if row.get("n_frames"):
        try:
            row["n_frames"] = int(row["n_frames"])
        except ValueError:
            raise HalosInputError(
                f"n_frames {row['n_frames']!r} is not a whole number", path, f"row {i} n_frames"
            ) from None
    for key in ("name", "compare_group"):
        # Names become folder and file names: no "/", "..", spaces, quotes or shell syntax.
        value = row.get(key) or ""
        if (value or key == "name") and not SAFE_NAME.fullmatch(value):
            raise HalosInputError(
                f"{key} {value!r} cannot be a file name (letters, digits, '_', '.', '-' only, "
                "starting with a letter or digit)",
                path,
                f"row {i} {key}",
            )
    clean = {k: v for k, v in row.items() if v not in ("", None)}
    _schema_validate(clean, "samples.schema.yaml", path, f"row {i}")
    name = row["name"]
    if name in out:
        raise HalosInputError(f"measurement name {name!r} used twice", path, f"row {i} name")
    poni = row.get("poni") or geometry.get("poni")
    mask = row.get("mask") or geometry.get("mask")
    if poni is None and row["type"] != "sec":
        # A SEC run given as 1D curves is not integrated (a frame stack without a
        # PONI fails at its integration step, naming the row).
        raise HalosInputError(
            "no PONI file (give a poni column or geometry.poni in the config)",
            path,
            f"row {i} poni",
        )
    items = ([row["frames"]] if row.get("frames") else []) + units.get(name, [])
    if not items:
        raise HalosInputError(
            "no frames (a frames cell, or rows in the units sheet)", path, f"row {i} frames"
        )
    # Confined before anything is looked up (a sheet must not probe files outside), and
    # the files a glob matches again after (a matched folder may be a link out).
    for key, value in (("poni", poni), ("mask", mask), ("side_table", row.get("side_table"))):
        if value:
            confine(value, data_dir, path, f"row {i} {key}")
    for item in items:
        confine(item.split("::", 1)[0], data_dir, path, f"row {i} frames")
    if check_files:
        frames = _expand_frames(items, path, f"row {i}")
        for key, value in (
            ("poni", poni),
            ("mask", mask),
            ("side_table", row.get("side_table")),
        ):
            if value and not Path(value).is_file():
                raise HalosInputError(f"{key} file {value} not found", path, f"row {i} {key}")
    else:
        frames = tuple(items)
    for item in frames:
        confine(item.split("::", 1)[0], data_dir, path, f"row {i} frames")
    return Measurement(
        name=name,
        type=row["type"],
        frames=frames,
        buffer=row.get("buffer") or None,
        poni=poni,
        mask=mask or None,
        side_table=row.get("side_table") or None,
        scale=row["scale"],
        concentration_mg_ml=row["concentration_mg_ml"],
        description=row.get("description", ""),
        profile=row.get("profile") or None,
        compare_group=row.get("compare_group") or None,
        row=i,
    )


def _check_buffers(m: Measurement, out: dict[str, Measurement], path: Path) -> None:
    """A sample's buffers are buffer rows of the sheet (that were not refused)."""
    if not m.buffers:
        raise HalosInputError(f"sample {m.name!r} names no buffer", path, f"row {m.row} buffer")
    for buffer in m.buffers:
        if buffer not in out:
            raise HalosInputError(
                f"sample {m.name!r} names buffer {buffer!r}, which is not in the sheet"
                " (or its row was refused)",
                path,
                f"row {m.row} buffer",
            )
        if out[buffer].type != "buffer":
            raise HalosInputError(
                f"{buffer!r} is a {out[buffer].type}, not a buffer", path, f"row {m.row} buffer"
            )
