# SPDX-License-Identifier: MIT
"""Provenance: what an output was made from, with what, by which command, where and when.

The dict built here goes into the NXcanSAS ``SASprocess`` of each result and into
``provenance.json`` beside it; ``halos reproduce`` reads it back to re-run a sample. In the
workflow it is assembled from what the run recorded as it went (:func:`sample_provenance`):
the run manifest (effective config, explicit frame lists, command, versions) and the raw
files each integration read with their SHA-256 (in the frames files). Every digest is named
by its algorithm (``{"path": ..., "sha256": ...}``, as RO-Crate and W3C PROV records do).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

from halos_analysis.io.atomic import write_text_atomic
from halos_analysis.io.digest import sha256_file

#: Packages whose versions change results or files; recorded in every provenance.
DEPENDENCIES = (
    "numpy",
    "scipy",
    "h5py",
    "hdf5plugin",
    "fabio",
    "pyFAI",
    "snakemake",
    "dask",
    "matplotlib",
)


def package_versions(names: Iterable[str] = DEPENDENCIES) -> dict[str, str | None]:
    """Installed version of each package (None when it is not installed).

    Parameters
    ----------
    names : iterable of str
        Distribution names; :data:`DEPENDENCIES` by default.

    Returns
    -------
    dict
        name -> version string, or None.
    """
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_provenance(
    inputs: Sequence[str | Path] = (),
    config: dict[str, Any] | None = None,
    config_text: str | None = None,
    command: Sequence[str] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance of one output.

    Parameters
    ----------
    inputs : sequence of path
        Input files; each gets its SHA-256 (a missing file gets ``None`` and is listed under
        ``missing_inputs``).
    config : dict, optional
        The configuration used, as a dict.
    config_text : str, optional
        The configuration file's text (kept verbatim so it can be re-run).
    command : sequence of str or str, optional
        The command line; ``sys.argv`` by default.
    extra : dict, optional
        More items to record (sample name, parameters...).

    Returns
    -------
    dict
        ``program``, ``version``, ``date`` (UTC, ISO 8601), ``host``, ``python``,
        ``platform``, ``command``, ``inputs`` (``{"path", "sha256", "bytes"}`` each),
        ``dependencies``,
        ``config``, ``config_text`` and the ``extra`` items.
    """
    from halos_analysis import __version__

    if command is None:
        command = sys.argv
    if not isinstance(command, str):
        command = shlex.join(str(c) for c in command)
    hashes: list[dict[str, Any]] = []
    for p in inputs:
        p = Path(p)
        rec: dict[str, Any] = {"path": str(p), "sha256": None}
        if p.is_file():
            rec.update(sha256=sha256_file(p), bytes=p.stat().st_size)
        hashes.append(rec)
    prov: dict[str, Any] = {
        "program": "halos-analysis",
        "version": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "host": platform.node(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": command,
        "inputs": hashes,
        "dependencies": package_versions(),
        "config": config or {},
        "config_text": config_text or "",
    }
    missing = [r["path"] for r in hashes if r["sha256"] is None]
    if missing:
        prov["missing_inputs"] = missing
    prov.update(extra or {})
    return prov


def input_records(prov: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded inputs as ``{"path", "sha256", ...}`` records (also from the older
    ``{path: digest}`` form)."""
    inputs = prov.get("inputs", [])
    if isinstance(inputs, dict):
        return [{"path": k, "sha256": v} for k, v in inputs.items()]
    return list(inputs)


def check_inputs(prov: dict[str, Any], base_dir: str | Path = ".") -> dict[str, str]:
    """Compare the recorded input hashes with the files now on disk.

    Parameters
    ----------
    prov : dict
        Provenance from :func:`build_provenance` or :func:`sample_provenance`.
    base_dir : path
        Folder that relative input paths are relative to (where the run was started).

    Returns
    -------
    dict
        path -> ``"same"``, ``"changed"`` or ``"missing"``.
    """
    base = Path(base_dir)
    out = {}
    for rec in input_records(prov):
        path, digest = rec["path"], rec.get("sha256")
        p = base / path
        if not p.is_file() or digest is None:
            out[path] = "missing"
        else:
            out[path] = "same" if sha256_file(p) == digest else "changed"
    return out


def read_integration_record(frames_file: str | Path) -> dict[str, Any]:
    """What ``halos integrate`` recorded in a frames file: the raw files it read, each with
    its SHA-256 (``inputs``), its settings and (``integration``) how the frames were
    integrated (:class:`~halos_analysis.types.IntegrationMethod` as a dict).

    Returns
    -------
    dict
        The record; ``{}`` for a frames file written without one.
    """
    import h5py

    def text(node: Any) -> str:
        value = node[()]
        return value.decode() if isinstance(value, bytes) else value

    with h5py.File(frames_file, "r") as h5:
        for entry in h5.values():
            node = entry.get("sasprocess01/provenance/json") if hasattr(entry, "get") else None
            if node is not None:
                record = json.loads(text(node))
                meta = entry.get("frames/meta_json")
                method = json.loads(text(meta)).get("integration") if meta is not None else None
                return record | ({"integration": method} if method else {})
    return {}


def sample_provenance(
    run: Any, sample: str, frames_files: Sequence[str | Path] = ()
) -> dict[str, Any]:
    """Provenance of one sample from the run manifest and its frames files' records.

    Parameters
    ----------
    run : RunManifest
        :func:`halos_analysis.app.manifest.read_manifest` of the run.
    sample : str
        The sample.
    frames_files : sequence of path
        The frames files of the sample and of its buffers.

    Returns
    -------
    dict
        As :func:`build_provenance`, with ``inputs`` the raw files the integrations read
        (each ``{"path", "sha256", "bytes", "role", "measurement"}``), ``run_manifest``,
        ``config_files`` (the config files and sheets, with digests), ``config_overrides``
        ``sample_info`` (the sample's and its buffers' manifest records) and
        ``integration`` (measurement -> how its frames were integrated, when the frames
        files say). A frame file of the manifest that no integration read is listed under
        ``notes``.
    """
    import yaml

    rows = run.sample_rows(sample)
    inputs: list[dict[str, Any]] = []
    notes: list[str] = []
    read: set[str] = set()
    integration: dict[str, Any] = {}
    for f in frames_files:
        rec = read_integration_record(f)
        name = rec.get("measurement") or Path(f).name.removesuffix("_frames.h5")
        if rec.get("integration"):
            integration[name] = rec["integration"]
        for r in rec.get("inputs", []):
            inputs.append({**r, "measurement": name})
            read.add(os.path.abspath(r["path"]))
        if not rec:
            notes.append(f"{f} records no inputs (written without halos integrate's record)")
    for row in rows:
        for frame in row["frames"]:
            path = frame.split("::", 1)[0]
            if os.path.abspath(path) not in read:
                notes.append(f"{row['name']}: frame file {path} of the manifest was not read")
    m = rows[0]
    data = run.data
    prov = build_provenance(
        config=run.config,
        config_text=yaml.safe_dump(run.config, sort_keys=False),
        command=data.get("command") or "",
    )
    prov.update(
        version=data.get("version", prov["version"]),
        inputs=inputs,
        dependencies=data.get("dependencies", prov["dependencies"]),
        run_manifest={"path": str(run.path), "sha256": run.sha256, "date": data.get("date")},
        workdir=data.get("workdir"),
        config_files=data.get("files", []),
        config_overrides=data.get("config_overrides", {}),
        sample=sample,
        sample_info={
            "buffer": m.get("buffer"),
            "concentration_mg_ml": m.get("concentration_mg_ml"),
            "description": m.get("description", ""),
            "measurements": {r["name"]: r for r in rows},
        },
    )
    prov.pop("missing_inputs", None)
    if integration:
        prov["integration"] = integration
    if notes:
        prov["notes"] = notes
    return prov


def write_provenance(prov: dict[str, Any], path: str | Path) -> Path:
    """Write provenance as JSON (temporary name, then rename).

    Parameters
    ----------
    prov : dict
        From :func:`build_provenance`; values JSON cannot hold are written as their ``str``.
    path : str or Path
        File to write; its folder must exist.

    Returns
    -------
    Path
        The file written.
    """
    return write_text_atomic(
        json.dumps(prov, indent=2, default=str) + "\n", path, make_parents=False
    )


def process_for_nxcansas(prov: dict[str, Any], parameters: dict[str, Any] | None = None):
    """The ``process`` argument of :func:`halos_analysis.io.nxcansas.write_sample_result`.

    Parameters
    ----------
    prov : dict
        From :func:`build_provenance`.
    parameters : dict, optional
        Processing parameters to record; the provenance's ``config`` when None.

    Returns
    -------
    dict
        ``program``, ``version``, ``date``, ``parameters``, ``config_text`` (the config as
        JSON when no text was recorded) and ``provenance`` (all of it but ``config_text``
        and ``integration``, which the result file holds in a SASprocess of its own).
    """
    return {
        "program": prov.get("program", "halos-analysis"),
        "version": prov.get("version"),
        "date": prov.get("date"),
        "parameters": parameters if parameters is not None else prov.get("config", {}),
        "config_text": prov.get("config_text") or json.dumps(prov.get("config", {}), indent=2),
        "provenance": {k: v for k, v in prov.items() if k not in ("config_text", "integration")},
    }


def compare_results(reference: str | Path, candidate: str | Path, rtol: float = 1e-6) -> list[str]:
    """Differences between two NXcanSAS result files (what ``halos reproduce`` reports).

    Compares every curve (q, I, σ) and every number of the analysis results (Guinier, P(r),
    MW, Kratky, similarity) within the relative tolerance ``rtol``; texts must be equal.
    Dates, hosts and versions are not compared.

    Parameters
    ----------
    reference, candidate : str or Path
        The original result file and the re-run one.
    rtol : float
        Relative tolerance of numbers (no absolute tolerance; NaN equals NaN). Integers
        (indices, counts) must be equal.

    Returns
    -------
    list of str
        One line per difference; empty when the numbers match.
    """
    import numpy as np

    from halos_analysis.io.nxcansas import read_nxcansas, read_results

    _NUMERIC = (int, float, np.ndarray)
    diffs: list[str] = []
    curves_a = {c.name: c for c in read_nxcansas(reference)}
    curves_b = {c.name: c for c in read_nxcansas(candidate)}
    for name in sorted(set(curves_a) | set(curves_b)):
        a, b = curves_a.get(name), curves_b.get(name)
        if a is None or b is None:
            diffs.append(f"curve {name}: only in {'candidate' if a is None else 'reference'}")
            continue
        for field in ("q", "intensity", "sigma"):
            x, y = getattr(a, field), getattr(b, field)
            if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=0, equal_nan=True):
                diffs.append(f"curve {name}: {field} differs")
    res_a, res_b = read_results(reference), read_results(candidate)
    for group in ("guinier", "pr", "molecular_weight", "kratky", "similarity", "flags"):
        a, b = res_a.get(group), res_b.get(group)
        if a is None and b is None:
            continue
        if a is None or b is None:
            diffs.append(f"{group}: only in {'candidate' if a is None else 'reference'}")
            continue
        if not isinstance(a, dict):
            if a != b:
                diffs.append(f"{group}: {a!r} != {b!r}")
            continue
        for key in sorted(set(a) | set(b)):
            x, y = a.get(key), b.get(key)
            if isinstance(x, int) and isinstance(y, int):
                if x != y:  # indices and counts: exact
                    diffs.append(f"{group}.{key}: {x} != {y}")
            elif isinstance(x, _NUMERIC) and isinstance(y, _NUMERIC):
                x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
                if x.shape != y.shape or not np.allclose(x, y, rtol=rtol, atol=0, equal_nan=True):
                    diffs.append(f"{group}.{key}: {_short(x)} != {_short(y)}")
            elif x != y:
                diffs.append(f"{group}.{key}: {x!r} != {y!r}")
    return diffs


def _short(x: Any) -> str:
    import numpy as np

    x = np.asarray(x)
    return f"{float(x):.6g}" if x.ndim == 0 else f"array{x.shape}"


def run_provenance(run: Any) -> dict[str, Any]:
    """Provenance of a whole run (for the report), from its manifest.

    Parameters
    ----------
    run : RunManifest
        :func:`halos_analysis.app.manifest.read_manifest` of the run.

    Returns
    -------
    dict
        As :func:`build_provenance`; ``inputs`` are the config files and sheets with their
        digests, ``config_text`` the effective config as YAML.
    """
    import yaml

    data = run.data
    prov = build_provenance(
        config=run.config,
        config_text=yaml.safe_dump(run.config, sort_keys=False),
        command=data.get("command") or "",
    )
    prov.update(
        version=data.get("version", prov["version"]),
        inputs=data.get("files", []),
        dependencies=data.get("dependencies", prov["dependencies"]),
        run_manifest={"path": str(run.path), "sha256": run.sha256, "date": data.get("date")},
        config_overrides=data.get("config_overrides", {}),
    )
    prov.pop("missing_inputs", None)
    return prov
