# SPDX-License-Identifier: MIT
"""The run manifest: what one workflow run was asked to do, written once by the workflow.

``results/.halos/run.json`` holds the effective config (the config files merged by Snakemake,
the ``--config`` overrides on top, the schema's defaults filled in once), every measurement of
the sample sheet with its explicit list of frame files (globs expanded once, at the start of
the run), the config files and sheets with their SHA-256, the command, and the versions of
the tools. The export and summary steps and ``halos reproduce`` read it: none of them reads a
config file again or re-expands a glob. The raw files a run actually read, with their
digests, are recorded by the integration in each frames file (:mod:`halos_analysis.io.digest`).

The workflow computes :func:`manifest_params` when it is parsed (Snakemake re-runs the rule
that writes it when they change) and :func:`write_manifest` adds what may differ between two
invocations without changing any result (the command, the date, the versions).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import os
import platform
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halos_analysis.errors import HalosInputError

__all__ = [
    "MANIFEST_FORMAT",
    "RunManifest",
    "manifest_params",
    "read_frame_list",
    "read_manifest",
    "sync_frame_list",
    "sync_manifest",
    "write_frame_list",
    "write_manifest",
]

log = logging.getLogger(__name__)

#: Identifies the manifest's layout (bumped when a key changes meaning).
MANIFEST_FORMAT = "halos-run-manifest/1"
#: Environment variable in which ``halos run`` passes its own command line to the workflow.
COMMAND_ENV = "HALOS_COMMAND"


def _plain(value: Any) -> Any:
    """Mappings (Snakemake's immutable ones too) and sequences as plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def manifest_params(config: Mapping[str, Any], measurements: Mapping[str, Any], workflow: Any):
    """The part of the manifest that decides the results (a rule's ``params``).

    Parameters
    ----------
    config : mapping
        The validated config, defaults filled in (Snakemake's ``config``).
    measurements : mapping
        name -> :class:`~halos_analysis.app.config.Measurement` from
        :func:`~halos_analysis.app.config.load_samples`.
    workflow : snakemake Workflow
        For the config files given and the ``--config`` overrides.

    Returns
    -------
    dict
        ``config``, ``config_files``, ``config_overrides``, ``sample_sheet``,
        ``units_sheet``, ``measurements``, ``workdir``.
    """
    settings = getattr(workflow, "config_settings", None)
    overrides = _plain(getattr(settings, "config", {}) or {})
    files = [os.path.abspath(str(f)) for f in getattr(workflow, "configfiles", [])]
    return {
        "config": _plain(copy.deepcopy(dict(config))),
        "config_files": list(dict.fromkeys(files)),
        "config_overrides": overrides,
        "sample_sheet": os.path.abspath(config["samples"]),
        "units_sheet": os.path.abspath(config["units"]) if config.get("units") else None,
        "measurements": {name: m.to_dict() for name, m in measurements.items()},
        "workdir": os.getcwd(),
    }


def _file_record(path: str | None, role: str) -> dict[str, Any] | None:
    from halos_analysis.io.digest import sha256_file

    if not path:
        return None
    p = Path(path)
    rec: dict[str, Any] = {"path": str(p), "role": role}
    if p.is_file():
        rec.update(sha256=sha256_file(p), bytes=p.stat().st_size)
    return rec


def _versions() -> dict[str, str | None]:
    from halos_analysis.export.provenance import package_versions

    return package_versions()


def write_manifest(path: str | Path, params: Mapping[str, Any], log: str | Path | None = None):
    """Write the run manifest (``results/.halos/run.json``).

    Parameters
    ----------
    path : str or Path
        The manifest file.
    params : mapping
        From :func:`manifest_params`.
    log : str or Path, optional
        A log file to write one line to (the rule's ``log``).

    Returns
    -------
    Path
        The file written.
    """
    params = _plain(params)
    return _write_manifest(path, params, _run_files(params), log)


def _run_files(params: Mapping[str, Any]) -> list[dict[str, Any] | None]:
    """The records (with SHA-256) of a run's config files and sheets; None where absent."""
    return [_file_record(f, "config") for f in params.get("config_files", [])] + [
        _file_record(params.get("sample_sheet"), "sample_sheet"),
        _file_record(params.get("units_sheet"), "units_sheet"),
    ]


def _write_manifest(path, params, files, log) -> Path:
    from halos_analysis import __version__
    from halos_analysis.io.atomic import write_text_atomic

    manifest = {
        "format": MANIFEST_FORMAT,
        "decided_by": _decision(params, files),
        "program": "halos-analysis",
        "version": __version__,
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "host": platform.node(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": os.environ.get(COMMAND_ENV) or shlex.join(sys.argv),
        "snakemake_command": shlex.join(sys.argv),
        "workdir": params.get("workdir"),
        "config": params["config"],
        "config_files": params.get("config_files", []),
        "config_overrides": params.get("config_overrides", {}),
        "files": [f for f in files if f is not None],
        "measurements": params["measurements"],
        "dependencies": _versions(),
    }
    out = write_text_atomic(json.dumps(manifest, indent=2) + "\n", path)
    if log is not None:
        n = len(manifest["measurements"])
        frames = sum(len(m["frames"]) for m in manifest["measurements"].values())
        Path(log).write_text(f"{out}: {n} measurements, {frames} frame files\n")
    return out


def _decision(params: Mapping[str, Any], files: Sequence[Mapping[str, Any] | None]) -> str:
    """Digest of what decides a run's results: its params and its config files' and sheets'
    contents (a comment changed in a config file is recorded too)."""
    import hashlib

    text = json.dumps(
        [params, [f.get("sha256") for f in files if f is not None]], sort_keys=True, default=str
    )
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def sync_manifest(path: str | Path, params: Mapping[str, Any], log: str | Path | None = None):
    """Write the run manifest unless the one there was decided by the same things.

    The workflow calls this once, when it reads the sheet (no job, no process of its own):
    the manifest's time stamp then changes only with what decides the results, so nothing
    is re-run for a manifest that says the same (date and command aside).

    Parameters
    ----------
    path : str or Path
        ``results/.halos/run.json``.
    params : mapping
        From :func:`manifest_params`.
    log : str or Path, optional
        Log file for the one line :func:`write_manifest` writes.

    Returns
    -------
    Path
        The manifest (written or kept).
    """
    path = Path(path)
    params = _plain(params)
    files = _run_files(params)  # hashed once, for the comparison and the manifest written
    if path.is_file():
        try:
            old = json.loads(path.read_text()).get("decided_by")
        except (OSError, ValueError):
            old = None
        if old == _decision(params, files):
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
    return _write_manifest(path, params, files, log)


@dataclass(frozen=True)
class RunManifest:
    """A run manifest read back (:func:`read_manifest`)."""

    path: Path
    data: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        """The effective config of the run."""
        return self.data["config"]

    @property
    def sha256(self) -> str:
        """Digest of the manifest file itself."""
        from halos_analysis.io.digest import sha256_file

        return sha256_file(self.path)

    def measurement(self, name: str) -> dict[str, Any]:
        """One measurement's record (the sheet row with its explicit frame list)."""
        try:
            return self.data["measurements"][name]
        except KeyError:
            raise HalosInputError(
                f"measurement {name!r} is not in the run manifest", self.path, "measurements"
            ) from None

    def sample_rows(self, sample: str) -> list[dict[str, Any]]:
        """A sample's record followed by its buffers'."""
        m = self.measurement(sample)
        return [m] + [self.measurement(b) for b in m.get("buffers", ())]


def read_manifest(path: str | Path) -> RunManifest:
    """Read a run manifest.

    Raises
    ------
    HalosInputError
        When the file is missing, not JSON or not a HALOS run manifest.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise HalosInputError("run manifest not found", path) from None
    except (OSError, ValueError) as exc:
        raise HalosInputError(f"not a readable run manifest ({exc})", path) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise HalosInputError(f"not a {MANIFEST_FORMAT} file", path, "format")
    return RunManifest(path, data)


def write_frame_list(
    path: str | Path, name: str, frames: Sequence[str], log: str | Path | None = None
) -> Path:
    """Write one measurement's explicit frame list (what ``halos integrate --frames-from``
    reads: a shell command line cannot hold thousands of paths)."""
    from halos_analysis.io.atomic import write_text_atomic

    out = write_text_atomic(json.dumps({"name": name, "frames": list(frames)}, indent=1), path)
    if log is not None:
        Path(log).write_text(f"{out}: {len(frames)} frame files of {name}\n")
    return out


def sync_frame_list(path: str | Path, name: str, frames: Sequence[str]) -> Path:
    """:func:`write_frame_list` unless the file holds that list already (its time stamp then
    stays, so the steps that read it are not re-run). For the workflow's parse stage: one
    measurement's list costs no job of its own."""
    path = Path(path)
    text = json.dumps({"name": name, "frames": list(frames)}, indent=1)
    try:
        if path.read_text() == text:
            return path
    except OSError:
        pass
    return write_frame_list(path, name, frames)


def read_frame_list(path: str | Path) -> list[str]:
    """The frames of a :func:`write_frame_list` file (or a text file, one path per line)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError:
        raise HalosInputError("frame list not found", path) from None
    if text.lstrip().startswith("{"):
        try:
            frames = json.loads(text)["frames"]
        except (ValueError, KeyError, TypeError):
            raise HalosInputError("not a frame list", path, "frames") from None
    else:
        frames = [ln for ln in text.splitlines() if ln.strip()]
    if not frames:
        raise HalosInputError("no frames listed", path, "frames")
    return [str(f) for f in frames]
