# SPDX-License-Identifier: MIT
"""The run manifest and the provenance built from it (without running the workflow)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import h5py
import pytest

from halos_analysis.app.config import Measurement
from halos_analysis.app.manifest import (
    manifest_params,
    read_frame_list,
    read_manifest,
    sync_frame_list,
    write_manifest,
)
from halos_analysis.errors import HalosInputError
from halos_analysis.export.provenance import check_inputs, sample_provenance
from halos_analysis.io.digest import sha256_file


def _frames_file(path: Path, name: str, inputs: list[dict]) -> Path:
    # What `halos integrate` leaves: its record in the entry's SASprocess.
    record = {"step": "integrate", "measurement": name, "inputs": inputs}
    with h5py.File(path, "w") as h5:
        h5.create_dataset("sasentry01/sasprocess01/provenance/json", data=json.dumps(record))
    return path


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("s_1.cbf", "s_2.cbf", "b_1.cbf", "geo.poni"):
        (tmp_path / name).write_bytes(name.encode() * 100)
    (tmp_path / "base.yaml").write_text("integration:\n  npt: 800\n")
    (tmp_path / "samples.tsv").write_text("name\ttype\n")
    rows = {
        # the sheet gave the sample's frames absolute, the buffer's relative
        "s": Measurement("s", "sample", (str(tmp_path / "s_1.cbf"), str(tmp_path / "s_2.cbf")),
                         buffer="b", poni="geo.poni"),
        "b": Measurement("b", "buffer", ("b_1.cbf",), poni="geo.poni"),
    }  # fmt: skip
    config = {"samples": "samples.tsv", "units": None, "integration": {"npt": 613}}
    overrides = SimpleNamespace(config={"integration": {"npt": "613"}})
    workflow = SimpleNamespace(configfiles=["base.yaml"], config_settings=overrides)
    manifest = write_manifest(tmp_path / "results/.halos/run.json",
                              manifest_params(config, rows, workflow))  # fmt: skip
    frames = []
    for name, files in (("s", ["s_1.cbf", "s_2.cbf"]), ("b", ["b_1.cbf"])):
        recs = [{"path": f, "sha256": sha256_file(f), "bytes": 1, "role": "frames"} for f in files]
        recs.append({"path": "geo.poni", "sha256": sha256_file("geo.poni"), "role": "poni"})
        frames.append(_frames_file(tmp_path / f"{name}_frames.h5", name, recs))
    return read_manifest(manifest), frames


def test_manifest_holds_the_effective_config_and_explicit_frames(run):
    manifest, _ = run
    data = manifest.data
    assert data["config"]["integration"]["npt"] == 613
    assert data["config_overrides"] == {"integration": {"npt": "613"}}
    assert [Path(f["path"]).name for f in data["files"]] == ["base.yaml", "samples.tsv"]
    assert all(len(f["sha256"]) == 64 for f in data["files"])
    assert [r["name"] for r in manifest.sample_rows("s")] == ["s", "b"]
    assert manifest.measurement("s")["frames"][1].endswith("s_2.cbf")
    with pytest.raises(HalosInputError, match="zz"):
        manifest.measurement("zz")


def test_sample_provenance_from_the_records(run, tmp_path):
    manifest, frames = run
    prov = sample_provenance(manifest, "s", frames)
    assert prov["config"] == manifest.config and prov["sample"] == "s"
    assert prov["run_manifest"]["sha256"] == sha256_file(manifest.path)
    names = sorted(Path(r["path"]).name for r in prov["inputs"] if r["role"] == "frames")
    assert names == ["b_1.cbf", "s_1.cbf", "s_2.cbf"]
    # Absolute sheet paths and relative records name the same files: nothing unread.
    assert "notes" not in prov
    assert set(check_inputs(prov).values()) == {"same"}
    (tmp_path / "s_2.cbf").write_bytes(b"changed")
    assert check_inputs(prov)["s_2.cbf"] == "changed"


def test_a_frame_of_the_manifest_that_was_not_read_is_noted(run, tmp_path):
    manifest, frames = run
    _frames_file(frames[0], "s", [])  # an integration that read nothing
    prov = sample_provenance(manifest, "s", frames)
    assert any("s_1.cbf" in n and "not read" in n for n in prov["notes"])


def test_frame_list_is_rewritten_only_when_it_changes(tmp_path):
    path = tmp_path / "l.json"
    sync_frame_list(path, "a", ["x 1.cbf", "it's.cbf"])
    stamp = path.stat().st_mtime_ns
    sync_frame_list(path, "a", ["x 1.cbf", "it's.cbf"])
    assert path.stat().st_mtime_ns == stamp
    assert read_frame_list(path) == ["x 1.cbf", "it's.cbf"]
    sync_frame_list(path, "a", ["x 1.cbf"])
    assert read_frame_list(path) == ["x 1.cbf"]
