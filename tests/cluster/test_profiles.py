# SPDX-License-Identifier: MIT
"""The cluster profile: how ``halos run --profile NAME`` finds it, what it plans for the
example (grouped submissions, memory sized from the data), and the check of the partition
a user set. The run on a real SLURM is ``tests/cluster/slurm_local.sh``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from halos_analysis.app.runner import check_slurm_settings, resolve_profiles, workflow_dir
from halos_analysis.errors import HalosInputError

ROOT = Path(__file__).resolve().parents[2]
SLURM = str(workflow_dir() / "profiles" / "slurm")


def test_a_shipped_profile_name_becomes_its_folder(tmp_path):
    assert resolve_profiles(["--profile", "slurm", "-n"], cwd=tmp_path) == [
        "--workflow-profile", SLURM, "-n",
    ]  # fmt: skip
    assert resolve_profiles(["--profile=slurm"], cwd=tmp_path) == ["--workflow-profile", SLURM]


def test_beside_a_workflow_profile_it_stays_a_profile(tmp_path):
    args = ["--workflow-profile", "mine", "--profile", "slurm"]
    expected = ["--workflow-profile", "mine", "--profile", SLURM]
    assert resolve_profiles(args, cwd=tmp_path) == expected


def test_a_local_folder_or_unknown_name_is_left_alone(tmp_path):
    (tmp_path / "slurm").mkdir()
    assert resolve_profiles(["--profile", "slurm"], cwd=tmp_path) == ["--profile", "slurm"]
    assert resolve_profiles(["--profile", "other"], cwd=tmp_path / "x") == ["--profile", "other"]
    assert resolve_profiles(["--profile", "a/b"], cwd=tmp_path) == ["--profile", "a/b"]


def _fake_sinfo(tmp_path: Path) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sinfo").write_text("#!/bin/sh\necho maxwell\necho allcpu\n")
    (bindir / "sinfo").chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_a_wrong_partition_is_named_before_the_run(tmp_path, monkeypatch):
    env = _fake_sinfo(tmp_path)
    monkeypatch.setenv("PATH", env["PATH"])
    cmd = ["snakemake", "--workflow-profile", SLURM]
    with pytest.raises(HalosInputError, match=r"HALOS_SLURM_PARTITION.*'gpu'.*allcpu, maxwell"):
        check_slurm_settings(cmd, {**env, "HALOS_SLURM_PARTITION": "gpu"})
    check_slurm_settings(cmd, {**env, "HALOS_SLURM_PARTITION": "maxwell"})
    check_slurm_settings([*cmd, "-n"], {**env, "HALOS_SLURM_PARTITION": "gpu"})  # dry run
    check_slurm_settings(["snakemake"], {**env, "HALOS_SLURM_PARTITION": "gpu"})  # local


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("profile")
    run = subprocess.run(
        [sys.executable, "-m", "halos_analysis", "simulate", str(work / "example_data/generated"),
         "--frames", "4", "--seed", "3"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (work / "config").mkdir()
    for name in ("config.yaml", "samples.tsv"):
        shutil.copy(ROOT / "config" / name, work / "config" / name)
    return work


def _integrate_mem(text: str) -> dict[str, int]:
    found = {}
    for block in text.split("rule integrate:")[1:]:
        name = re.search(r"wildcards: name=(\w+)", block).group(1)
        found[name] = int(re.search(r"mem_mb=(\d+)", block).group(1))
    return found


@pytest.mark.slow
def test_snakemake_plans_the_demo_with_the_slurm_profile(example):
    """`snakemake -n --profile workflow/profiles/slurm` in a checkout: grouped submissions,
    light steps local, each integration's memory from its detector's pixels."""
    env = {**os.environ, "HALOS_SLURM_PARTITION": "maxwell"}
    run = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n", "--profile",
         "workflow/profiles/slurm", "--directory", str(example)],
        capture_output=True, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-3000:]
    assert len(re.findall(r"Group job frames", text)) == 4  # validate + integrate, each
    assert len(re.findall(r"Group job curves", text)) == 2  # a sample and its buffer
    assert "slurm_partition=maxwell" in text
    mem = _integrate_mem(text)
    assert set(mem) == {"bsa_pilatus", "buffer_pilatus", "bsa_eiger", "buffer_eiger"}
    assert mem["bsa_eiger"] > mem["bsa_pilatus"] >= 500  # Eiger 4M frames: more memory


@pytest.mark.slow
def test_halos_run_uses_the_shipped_slurm_profile(example):
    run = subprocess.run(
        [sys.executable, "-m", "halos_analysis", "run", "--profile", "slurm", "-n",
         "--directory", str(example)],
        capture_output=True, text=True, cwd=example,
    )  # fmt: skip
    text = run.stdout + run.stderr
    assert run.returncode == 0, text[-3000:]
    assert f"workflow specific profile {SLURM}" in text
    assert len(re.findall(r"Group job frames", text)) == 4
