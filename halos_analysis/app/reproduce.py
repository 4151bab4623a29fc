# SPDX-License-Identifier: MIT
"""Re-run one sample from the provenance stored in its result file and compare the numbers.

The provenance written by the export step holds what the run recorded: the effective config
of the run manifest, the sample's and its buffers' manifest records with their explicit
frame lists, and the SHA-256 of every raw file the integrations read. :func:`reproduce_sample`
checks those files, writes that config, a sample sheet and a units sheet listing every frame
file explicitly into a fresh folder, runs the same Snakemake workflow there for that one
sample, and compares the new result file with the old one number by number. No config file
of the original run is read and no glob is expanded again.
"""

from __future__ import annotations

import csv
import glob
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from halos_analysis.app.config import SHEET_COLUMNS
from halos_analysis.app.runner import snakemake_command, workflow_env
from halos_analysis.errors import HalosInputError


@dataclass(frozen=True)
class Reproduction:
    """Outcome of a reproduction: input checks, differences and the new result file."""

    sample: str
    inputs: dict[str, str]
    differences: tuple[str, ...]
    new_result: Path | None

    @property
    def inputs_ok(self) -> bool:
        return all(v == "same" for v in self.inputs.values())

    @property
    def matches(self) -> bool:
        return self.inputs_ok and self.new_result is not None and not self.differences


def load_provenance(result: str | Path) -> dict[str, Any]:
    """Provenance of a result: ``provenance.json`` beside it, else the NXcanSAS copy."""
    result = Path(result)
    if not result.is_file():
        raise HalosInputError("result file not found", result)
    beside = result.parent / "provenance.json"
    if beside.is_file():
        prov = json.loads(beside.read_text())
    else:
        from halos_analysis.io.nxcansas import read_results

        prov = read_results(result).get("provenance") or {}
    if not prov.get("sample") or not prov.get("sample_info", {}).get("measurements"):
        raise HalosInputError(
            "no workflow provenance (sample, measurements) to reproduce from",
            result,
            "sasprocess01/provenance",
        )
    return prov


def _absolute(value: Any, base: Path) -> str:
    if value in (None, ""):
        return ""
    text = str(value)
    path, sep, dataset = text.partition("::")
    return str((base / path).resolve()) + sep + dataset


def _write_tsv(path: Path, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def reproduce_sample(
    result: str | Path,
    workdir: str | Path,
    *,
    base_dir: str | Path | None = None,
    cores: int = 2,
    rtol: float = 1e-6,
) -> Reproduction:
    """Re-run a sample from its provenance and compare the new result with the old.

    Parameters
    ----------
    result : path
        ``results/<sample>/<sample>.h5`` written by the workflow.
    workdir : path
        Empty folder for the re-run.
    base_dir : path, optional
        Folder the recorded relative input paths are relative to: where the original run
        was started (the default, as recorded), or where its files are now.
    cores : int
        Cores for the re-run.
    rtol : float
        Relative tolerance of the comparison.
    """
    from halos_analysis.export.provenance import check_inputs, compare_results

    prov = load_provenance(result)
    base = Path(base_dir or prov.get("workdir") or ".").resolve()
    sample = prov["sample"]
    inputs = check_inputs(prov, base_dir=base)
    if any(v == "missing" for v in inputs.values()):
        return Reproduction(sample, inputs, (), None)

    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(prov.get("config") or {}))
    config["samples"] = str(work / "samples.tsv")
    config["units"] = str(work / "units.tsv")
    config["results"] = str(work / "results")
    config.setdefault("integration", {})["cache_dir"] = str(work / "cache")
    geometry = config.get("geometry") or {}
    config["geometry"] = {k: _absolute(v, base) or None for k, v in geometry.items()}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    rows, units = [], []
    for row in prov["sample_info"]["measurements"].values():
        cells = []
        for column in SHEET_COLUMNS:
            value = row.get(column)
            if column == "frames":
                value = ""  # every file is listed in the units sheet, explicitly
            elif column in ("poni", "mask", "side_table"):
                value = _absolute(value, base)
            cells.append(value)
        rows.append(cells)
        # glob.escape: a recorded file name holding "[" or "*" is that one file.
        units += [[row["name"], glob.escape(_absolute(f, base))] for f in row["frames"]]
    _write_tsv(work / "samples.tsv", SHEET_COLUMNS, rows)
    _write_tsv(work / "units.tsv", ("name", "frames"), units)
    target = work / "results" / sample / f"{sample}.h5"
    cmd = snakemake_command(
        [
            "--cores",
            str(cores),
            "--directory",
            str(work),
            "--configfile",
            str(work / "config.yaml"),
            "--",
            str(target),
        ]
    )
    run = subprocess.run(cmd, capture_output=True, text=True, env=workflow_env())
    (work / "reproduce.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0 or not target.is_file():
        raise HalosInputError(
            f"the re-run failed (see {work / 'reproduce.log'})", result, "provenance"
        )
    diffs = compare_results(result, target, rtol=rtol)
    return Reproduction(sample, inputs, tuple(diffs), target)
