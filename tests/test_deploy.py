# SPDX-License-Identifier: MIT
"""The workflow as a user deploys it: from a wheel in a clean virtual environment, with its
default profile, two config files plus a ``--config`` override, frame paths holding a space
and a quote, several files per measurement in a units sheet; the run manifest records what
ran and ``halos reproduce`` of the result matches. Also ``--sdm conda`` where conda exists.

The clean environment gets the wheel (``pip install --no-deps``, not editable) and sees the
project environment's third-party packages through a ``.pth`` line, so the test does not
download the scientific stack again; ``halos_analysis`` itself comes from the wheel only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HALOS = [sys.executable, "-m", "halos_analysis"]

pytestmark = pytest.mark.slow

N_FRAMES = 6
#: A folder name holding a space and a quote (and the frame files below it).
WEIRD = "raw data/it's here"


@pytest.fixture(scope="session")
def wheel_bin(tmp_path_factory) -> Path:
    """``bin/`` of a clean venv with the project installed from a freshly built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy: a build leaves build/ and *.egg-info in the source tree.
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "results", "generated", "build", "dist", "*.egg-info", "__pycache__",
        ".snakemake", ".pytest_cache", ".ruff_cache"))  # fmt: skip
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
         str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    wheel = next((tmp / "dist").glob("halos_analysis-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    inst = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert inst.returncode == 0, inst.stderr[-3000:]
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # The project venv's packages (numpy, pyFAI, snakemake ...), appended after the wheel's.
    (Path(site) / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    where = subprocess.run(
        [str(py), "-c", "import halos_analysis; print(halos_analysis.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(site), where  # the wheel's copy, not the checkout
    return venv / "bin"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, wheel_bin) -> Path:
    """A working folder: small simulated detectors (by the wheel's `halos simulate`: the
    example's source profile is package data) under a path with a space and a quote, a base
    config, an override config, a sample sheet and a units sheet."""
    work = tmp_path_factory.mktemp("deploy")
    data = work / WEIRD
    sim = subprocess.run(
        [str(wheel_bin / "halos"), "simulate", str(data), "--frames", str(N_FRAMES),
         "--damaged-frames", "1", "--detectors", "pilatus300k", "eiger1m", "--seed", "11"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert sim.returncode == 0, sim.stderr
    (work / "config").mkdir()
    (work / "config" / "base.yaml").write_text(
        "samples: config/samples.tsv\nunits: config/units.tsv\nresults: results\n"
        "integration:\n  npt: 800\n  polarization_factor: 0.99\n"
        "selection:\n  alpha: 0.01\n"
    )
    # Only one key: the run must still use the base's npt (a shallow merge would lose it).
    (work / "config" / "override.yaml").write_text("analysis:\n  psv_cm3_g: 0.74\n")
    rows = [
        ("bsa_p", "sample", "buffer_p", "", "pilatus300k", "5.0"),
        ("buffer_p", "buffer", "", "", "pilatus300k", ""),
        ("bsa_e", "sample", "buffer_e", f"{WEIRD}/eiger1m/bsa_master.h5", "eiger1m", "5.0"),
        ("buffer_e", "buffer", "", f"{WEIRD}/eiger1m/buffer_master.h5", "eiger1m", ""),
    ]
    lines = ["name\ttype\tbuffer\tframes\tponi\tmask\tconcentration_mg_ml"]
    for name, kind, buf, frames, det, conc in rows:
        geo = f"{WEIRD}/{det}"
        lines.append(f"{name}\t{kind}\t{buf}\t{frames}\t{geo}.poni\t{geo}_mask.npy\t{conc}")
    (work / "config" / "samples.tsv").write_text("\n".join(lines) + "\n")
    # Several files per measurement: the Pilatus frames as two globs, in order.
    units = ["name\tframes"]
    for name, folder in (("bsa_p", "bsa"), ("buffer_p", "buffer")):
        units += [
            f"{name}\t{WEIRD}/pilatus300k/{folder}/frame_0000[1-3].cbf",
            f"{name}\t{WEIRD}/pilatus300k/{folder}/frame_0000[4-9].cbf",
        ]
    (work / "config" / "units.tsv").write_text("\n".join(units) + "\n")
    return work


RUN_ARGS = [
    "--cores", "2",
    "--configfile", "config/base.yaml", "config/override.yaml",
    "--config", "integration.npt=613",
]  # fmt: skip


def test_wheel_dry_run_picks_up_the_default_profile(wheel_bin, small_run):
    run = subprocess.run(
        [str(wheel_bin / "halos"), "run", "-n", *RUN_ARGS],
        cwd=small_run, capture_output=True, text=True,
    )  # fmt: skip
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    profile = next(ln for ln in log.splitlines() if "workflow specific profile" in ln)
    # The profile shipped inside the installed package, not a checkout's.
    assert "site-packages/halos_analysis/workflow/profiles/default" in profile, profile
    assert "integrate" in log and "manifest" in log
    # The frame paths reach the shell quoted (a space and a quote in them).
    assert "it'\"'\"'s here" in log


@pytest.fixture(scope="session")
def wheel_results(wheel_bin, small_run) -> Path:
    run = subprocess.run(
        [str(wheel_bin / "halos"), "run", *RUN_ARGS],
        cwd=small_run, capture_output=True, text=True,
        env={**os.environ, "PATH": f"{wheel_bin}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return small_run / "results"


def test_manifest_records_what_ran(wheel_results, small_run):
    manifest = json.loads((wheel_results / ".halos" / "run.json").read_text())
    cfg = manifest["config"]
    assert cfg["integration"]["npt"] == 613  # --config, read as a number
    assert cfg["analysis"]["psv_cm3_g"] == 0.74  # the second file
    assert cfg["selection"]["alpha"] == 0.01 and cfg["comparison"]["k_sigma"] == 3.0
    assert manifest["config_overrides"] == {"integration": {"npt": "613"}}
    assert [Path(f).name for f in manifest["config_files"]] == ["base.yaml", "override.yaml"]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    frames = manifest["measurements"]["bsa_p"]["frames"]
    assert [Path(f).name for f in frames] == [f"frame_0000{i}.cbf" for i in range(1, 7)]
    assert all(f.startswith(WEIRD) for f in frames)
    assert "--config" in manifest["command"] and "halos run" in manifest["command"]
    # The integration used that config and recorded each raw file it read, with its digest.
    from halos_analysis.export.provenance import read_integration_record
    from halos_analysis.io.digest import sha256_file
    from halos_analysis.io.nxcansas import read_frames

    assert len(read_frames(wheel_results / "bsa_p" / "bsa_p_frames.h5").q) == 613
    rec = read_integration_record(wheel_results / "bsa_e" / "bsa_e_frames.h5")
    raw = [r for r in rec["inputs"] if r["role"] == "frames"]
    assert {Path(r["path"]).name for r in raw} == {"bsa_master.h5", "bsa_data_000001.h5"}
    for r in raw:
        assert r["sha256"] == sha256_file(small_run / r["path"])
        # Each byte read once: HDF5 reads a little metadata twice, nothing more.
        assert r["bytes"] <= r["bytes_read"] <= 1.05 * r["bytes"] + 65536, r
    prov = json.loads((wheel_results / "bsa_p" / "provenance.json").read_text())
    assert prov["config"] == cfg and not prov.get("notes")
    names = {Path(r["path"]).name for r in prov["inputs"]}
    assert {f"frame_0000{i}.cbf" for i in range(1, 7)} <= names  # sample and buffer frames
    crate = json.loads((wheel_results / "ro-crate-metadata.json").read_text())
    graph = {e["@id"]: e for e in crate["@graph"]}
    root = graph["./"]
    assert {"@id": "https://w3id.org/ro/wfrun/workflow/0.5"} in root["conformsTo"]
    assert root["mainEntity"] == {"@id": ".halos/workflow/Snakefile"}
    action = next(e for e in crate["@graph"] if e["@type"] == "CreateAction")
    objects = [graph[o["@id"]] for o in action["object"]]
    assert all(len(o["sha256"]) == 64 for o in objects)
    assert {"@id": "bsa_p/bsa_p.h5"} in action["result"]


def test_reproduce_two_configs_and_an_override(wheel_bin, wheel_results, tmp_path):
    run = subprocess.run(
        [str(wheel_bin / "halos"), "reproduce", str(wheel_results / "bsa_p" / "bsa_p.h5"),
         "--workdir", str(tmp_path / "again"), "--json"],
        capture_output=True, text=True,
        env={**os.environ, "PATH": f"{wheel_bin}{os.pathsep}{os.environ['PATH']}"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout)
    assert out["matches"] and not out["differences"] and not out["inputs_changed"]


def _conda() -> str | None:
    for name in ("micromamba", "mamba", "conda"):
        if shutil.which(name):
            return name
    return None


@pytest.mark.skipif(
    _conda() is None,
    reason="no conda, mamba or micromamba here: Debian and PyPI ship none that reaches conda-forge",
)
def test_sdm_conda_small_config(small_run, tmp_path):
    work = tmp_path / "conda"
    shutil.copytree(small_run / "config", work / "config")
    (work / "raw data").symlink_to(small_run / "raw data")
    run = subprocess.run(
        HALOS + ["run", *RUN_ARGS, "--sdm", "conda", "--conda-frontend", _conda()],
        cwd=work, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert (work / "results" / "bsa_p" / "bsa_p.h5").is_file()


def test_conda_envs_install_this_package(wheel_bin, tmp_path):
    """What each conda env's post-deploy script runs, in a plain venv: the source that
    `halos run` hands it (a copy of the installed package) installs, non-editable, and gives
    a `halos` of the same version whose workflow is complete."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    source = subprocess.run(
        [str(wheel_bin / "python"), "-c",
         "from halos_analysis.app.runner import package_source; print(package_source())"],
        capture_output=True, text=True, env=env, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    venv = tmp_path / "condalike"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    inst = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", source],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert inst.returncode == 0, inst.stderr[-3000:]
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True, cwd=tmp_path,
        ).stdout.strip()
    )  # fmt: skip
    assert (site / "halos_analysis" / "workflow" / "rules" / "integrate.smk").is_file()
    assert (venv / "bin" / "halos").is_file()
    script = (ROOT / "workflow" / "envs" / "integrate.post-deploy.sh").read_text()
    assert "HALOS_PACKAGE_SOURCE" in script and "--no-deps" in script
    from halos_analysis import __version__

    for env_file in (ROOT / "workflow" / "envs").glob("*.yaml"):
        # The version in each env file: a new version builds the conda envs again.
        assert f"halos-analysis {__version__}" in env_file.read_text(), env_file.name
