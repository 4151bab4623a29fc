# SPDX-License-Identifier: MIT
"""The `halos` command-line contracts: JSON keys, units, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "example_data" / "bsa_profile.dat"
HALOS = [sys.executable, "-m", "halos_analysis"]


def halos(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    run = subprocess.run(HALOS + [str(a) for a in args], capture_output=True, text=True)
    if check:
        assert run.returncode == 0, run.stderr
    return run


def _as_angstrom(tmp_path: Path) -> Path:
    q, i, s = np.loadtxt(PROFILE, comments="#", unpack=True)
    out = tmp_path / "bsa_A.dat"
    np.savetxt(out, np.column_stack([q / 10, i, s]), header="q(1/A) I sigma")
    return out


def test_version():
    assert halos("--version").stdout.startswith("halos ")


def test_guinier_json_contract_and_units(tmp_path):
    nm = json.loads(halos("guinier", PROFILE, "--json").stdout)
    for key in ("Rg", "Rg_err", "I0", "I0_err", "first", "last", "qRg_min", "qRg_max", "q_unit"):
        assert key in nm
    assert nm["q_unit"] == "nm^-1"
    assert 2.8 < nm["Rg"] < 3.4  # BSA (monomer 2.8-3.0 nm, a little dimer), nm
    assert 0 <= nm["first"] < nm["last"] and nm["qRg_max"] <= 1.3 + 1e-9
    # Same data in Å^-1: Rg in Å, ten times larger; the same rows are fitted.
    a = json.loads(halos("guinier", _as_angstrom(tmp_path), "--q-unit", "A^-1", "--json").stdout)
    assert a["q_unit"] == "A^-1"
    assert a["Rg"] == pytest.approx(10 * nm["Rg"], rel=1e-6)
    assert (a["first"], a["last"]) == (nm["first"], nm["last"])


def test_guinier_fixed_range_indices_are_inclusive():
    d = json.loads(halos("guinier", PROFILE, "--range", "5", "40", "--json").stdout)
    assert (d["first"], d["last"]) == (5, 40)
    # Rows 5..40 inclusive: the same weighted line through ln I vs q² as numpy's.
    q, i, s = np.loadtxt(PROFILE, comments="#", unpack=True)
    rows = slice(5, 41)
    slope, _ = np.polyfit(q[rows] ** 2, np.log(i[rows]), 1, w=i[rows] / s[rows])
    assert d["Rg"] == pytest.approx(np.sqrt(-3 * slope), rel=1e-9)
    one_less = json.loads(halos("guinier", PROFILE, "--range", "5", "39", "--json").stdout)
    assert one_less["Rg"] != d["Rg"]


def test_pr_json_contract():
    d = json.loads(halos("pr", PROFILE, "--json").stdout)
    for key in ("Dmax", "Rg", "I0", "chi2"):
        assert key in d
    assert 7.0 < d["Dmax"] < 12.0  # BSA, nm


def test_mw_json_contract():
    d = json.loads(halos("mw", PROFILE, "--json").stdout)
    for key in ("mw_vc_kda", "mw_vp_kda", "porod_volume"):
        assert key in d
    assert 45 < d["mw_vc_kda"] < 90 and 45 < d["mw_vp_kda"] < 90  # BSA 66 kDa
    assert d.get("mw_abs_kda") is None  # relative scale, no concentration
    d = json.loads(halos("mw", PROFILE, "--conc", "5", "--absolute", "--json").stdout)
    assert d["mw_abs_kda"] is not None and d["mw_abs_kda"] > 0


def test_mw_and_analyse_take_absolute_scale_from_the_curve_alike(tmp_path):
    # A curve that says it is on absolute scale (as our integration writes it): both MW
    # commands give the MW from I0 without --absolute, and the same number.
    text = PROFILE.read_text()
    absolute = tmp_path / "bsa_abs.dat"
    absolute.write_text("# intensity_unit: 1/cm\n" + text)
    mw = json.loads(halos("mw", absolute, "--conc", "5", "--json").stdout)
    halos("analyse", absolute, "--conc", "5", "-o", tmp_path / "a.json")
    analysed = json.loads((tmp_path / "a.json").read_text())
    assert mw["mw_abs_kda"] is not None and mw["mw_abs_kda"] > 0
    assert analysed["mw"]["mw_abs_kda"] == pytest.approx(mw["mw_abs_kda"], rel=1e-9)
    flagged = json.loads(halos("mw", absolute, "--conc", "5", "--absolute", "--json").stdout)
    assert flagged["mw_abs_kda"] == pytest.approx(mw["mw_abs_kda"], rel=1e-12)


def test_similarity_json_contract(tmp_path):
    rng = np.random.default_rng(1)
    q, i, s = np.loadtxt(PROFILE, comments="#", unpack=True)
    paths = []
    for k in range(3):
        p = tmp_path / f"f{k}.dat"
        np.savetxt(p, np.column_stack([q, i + rng.normal(0, s), s]), header="q(1/nm) I sigma")
        paths.append(p)
    # A fourth frame with 3 % more signal at low q (as radiation damage does).
    drifted = tmp_path / "f3.dat"
    np.savetxt(drifted, np.column_stack([q, i * (1 + 0.03 * np.exp(-q)) + rng.normal(0, s), s]),
               header="q(1/nm) I sigma")  # fmt: skip
    d = json.loads(halos("similarity", *paths, drifted, "--json").stdout)
    p = np.asarray(d["pvalues"])
    adjusted = np.asarray(d["adjusted"])
    assert p.shape == (4, 4)
    assert np.allclose(p, p.T)
    assert (p > 0).all() and (p <= 1).all()
    assert (adjusted >= p - 1e-12).all()  # a correction never lowers a p-value
    assert sorted(map(tuple, d["failed_pairs"])) == [(0, 3), (1, 3), (2, 3)]
    assert d["alpha"] == 0.01 and d["correction"] == "bonferroni"


@pytest.mark.parametrize("command", ["guinier", "pr", "mw"])
def test_missing_file_is_one_line(command, tmp_path):
    missing = tmp_path / "nope.dat"
    run = halos(command, missing, check=False)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and str(missing) in run.stderr
    assert "Traceback" not in run.stderr


def test_nan_row_is_analysed_around_and_named(tmp_path):
    # A NaN row (a masked bin) is left out with a one-line note, not refused.
    bad = tmp_path / "bad.dat"
    q, i, s = np.loadtxt(PROFILE, comments="#", unpack=True)
    i[17] = np.nan
    np.savetxt(bad, np.column_stack([q, i, s]), header="q(1/nm) I sigma")
    run = halos("guinier", bad, "--json", check=False)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("\n") == 1 and "17" in run.stderr and str(bad) in run.stderr
    d = json.loads(run.stdout)
    assert d["skipped"]["intensity_not_finite"] == [17]
    clean = json.loads(halos("guinier", PROFILE, "--json").stdout)
    assert d["Rg"] == pytest.approx(clean["Rg"], rel=0.01)


def test_debug_shows_traceback(tmp_path):
    run = halos("--debug", "guinier", tmp_path / "nope.dat", check=False)
    assert run.returncode != 0 and "Traceback" in run.stderr


def test_existing_output_is_not_overwritten_silently(tmp_path):
    out = tmp_path / "sub.dat"
    out.write_text("from another run\n")
    run = halos("subtract", PROFILE, PROFILE, "-o", out, check=False)
    assert run.returncode == 1 and "--overwrite" in run.stderr and str(out) in run.stderr
    assert out.read_text() == "from another run\n"
    halos("--overwrite", "subtract", PROFILE, PROFILE, "-o", out)
    assert out.read_text() != "from another run\n"


def test_debug_and_overwrite_after_the_subcommand(tmp_path):
    run = halos("guinier", tmp_path / "nope.dat", "--debug", check=False)
    assert run.returncode != 0 and "Traceback" in run.stderr
    out = tmp_path / "sub.dat"
    out.write_text("old\n")
    halos("subtract", PROFILE, PROFILE, "-o", out, "--overwrite")
    assert out.read_text() != "old\n"


@pytest.fixture(scope="module")
def small_detector_run(tmp_path_factory):
    """A Pilatus 300K geometry, four Poisson frames in a plain HDF5 file, a mask."""
    import h5py
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    d = tmp_path_factory.mktemp("small")
    det = detector_factory("Pilatus300k")
    ai = AzimuthalIntegrator(dist=1.5, poni1=0.02, poni2=0.03, wavelength=1e-10, detector=det)
    ai.write(str(d / "geo.poni"))
    q = ai.center_array(det.shape, unit="q_nm^-1")
    expected = 500 * np.exp(-((q * 3.0) ** 2) / 3) + 2.0
    frames = np.random.default_rng(5).poisson(expected, (4, *det.shape)).astype(np.int32)
    with h5py.File(d / "run.h5", "w") as f:
        f["entry/data/data"] = frames
    np.save(d / "mask.npy", np.zeros(det.shape, bool))
    np.save(d / "wrong_mask.npy", np.zeros((100, 100), bool))
    return d


def test_integrate_cli_writes_one_sasdata_per_frame(small_detector_run, tmp_path):
    import h5py

    d = small_detector_run
    out = tmp_path / "frames.h5"
    halos("integrate", f"{d}/run.h5::/entry/data/data", "--poni", d / "geo.poni",
          "--mask", d / "mask.npy", "--npt", 200, "-o", out)  # fmt: skip
    with h5py.File(out) as f:
        entry = next(f[k] for k in f if f[k].attrs.get("canSAS_class") == "SASentry")
        sasdata = [k for k in entry if entry[k].attrs.get("canSAS_class") == "SASdata"]
        assert len(sasdata) == 4
        for k in sasdata:
            assert {"I", "Q", "Idev"} <= set(entry[k])
    assert halos("validate", out).returncode == 0


def test_integrate_cli_bad_mask_is_one_line_and_leaves_nothing(small_detector_run, tmp_path):
    d = small_detector_run
    out = tmp_path / "frames.h5"
    run = halos("integrate", f"{d}/run.h5::/entry/data/data", "--poni", d / "geo.poni",
                "--mask", d / "wrong_mask.npy", "-o", out, check=False)  # fmt: skip
    assert run.returncode == 1 and run.stderr.count("\n") == 1
    assert "wrong_mask.npy" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_validate_cli_exit_codes(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a detector file")
    run = halos("validate", text, "--json", check=False)
    assert run.returncode == 1
    assert json.loads(run.stdout)[str(text)]["valid"] is False


def test_subtract_refuses_differently_normalised_curves(tmp_path):
    q, i, s = np.loadtxt(PROFILE, comments="#", unpack=True)
    paths = {}
    for name, norm in (("sample", "monitor+transmission"), ("buffer", "exposure+transmission")):
        p = tmp_path / f"{name}.dat"
        np.savetxt(p, np.column_stack([q, i, s]), header=f"q_unit: nm^-1\nnormalisation: {norm}")
        paths[name] = p
    run = halos("subtract", paths["sample"], paths["buffer"], "-o", tmp_path / "sub.dat",
                check=False)  # fmt: skip
    assert run.returncode == 1 and "normalisation" in run.stderr and "exposure" in run.stderr
    assert not (tmp_path / "sub.dat").exists()


@pytest.mark.parametrize("command", ["guinier", "pr", "mw", "analyse"])
def test_curve_without_enough_usable_rows_is_one_line_and_writes_nothing(command, tmp_path):
    bad = tmp_path / "few.dat"
    rows = ["0.1 5.0 0.1", "0.2 4.0 0.0", "0.3 3.0 nan", "0.4 nan 0.1", "0.5 2.0 0.1"]
    bad.write_text("# q_unit: nm^-1\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out.json"
    extra = ["-o", out] if command == "analyse" else []
    run = halos(command, bad, *extra, check=False)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and str(bad) in run.stderr and "usable rows" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_run_passes_every_argument_to_snakemake(monkeypatch, tmp_path):
    """`halos run` hands its arguments to snakemake as they are: no abbreviation
    (--config is not --configfile), -n, --profile, --keep-going, --report, targets; dotted
    --config keys become Snakemake's nested form."""
    from halos_analysis.app.cli import main
    from halos_analysis.app.commands import run as run_command

    monkeypatch.chdir(tmp_path)  # the config files are read (as untrusted) before the run
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("results: out\n")

    seen = {}

    def fake_call(cmd, env):
        seen["cmd"], seen["env"] = cmd, env
        return 0

    monkeypatch.setattr(run_command.subprocess, "call", fake_call)
    args = ["--cores", "3", "-n", "--keep-going", "--profile", "p", "--report", "r.html",
            "--configfile", "a.yaml", "b.yaml", "--config", "integration.npt=613",
            "integration.method=bbox", "results=out", "--", "results/x.h5"]  # fmt: skip
    assert main(["run", *args]) == 0
    cmd = seen["cmd"]
    assert cmd[1:3] == ["-m", "snakemake"] and cmd[3] == "--snakefile"
    assert cmd[4].endswith("workflow/Snakefile")
    i = cmd.index("--config")
    assert cmd[i + 1 : i + 3] == ["results=out", 'integration={"npt": "613", "method": "bbox"}']
    rest = [a for a in cmd[5:] if a not in cmd[i : i + 3]]
    config = {"--config", "integration.npt=613", "integration.method=bbox", "results=out"}
    assert rest == [a for a in args if a not in config]
    assert "--config" in seen["env"]["HALOS_COMMAND"]


def test_every_command_module_is_registered_and_declares_itself():
    """A subcommand is one module of app/commands, listed once in cli.COMMANDS: it declares
    its help, arguments, guarded outputs and run together (nothing else names it)."""
    import pkgutil

    from halos_analysis.app import cli, commands

    modules = {m.name for m in pkgutil.iter_modules(commands.__path__) if m.name[0] != "_"}
    names = [cli.command_name(c) for c in cli.COMMANDS]
    assert sorted(names) == sorted(modules) and len(set(names)) == len(names)
    assert not [c.__name__ for c in cli.COMMANDS if not isinstance(c, commands.Command)]
    parser = cli.build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert list(choices) == names


def test_no_abbreviated_options():
    from halos_analysis.app.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["integrate", "f.cbf", "--pon", "x.poni", "-o", "o.h5"])


def test_guinier_on_a_curve_imports_no_integration_or_plotting():
    """The core needs numpy, scipy and h5py: `halos guinier CURVE.dat` loads neither pyFAI,
    fabio, Dask, matplotlib nor Snakemake (they are extras)."""
    code = (
        "import sys\n"
        "from halos_analysis.app.cli import main\n"
        f"rc = main(['guinier', {str(PROFILE)!r}, '--json'])\n"
        "heavy = {'pyFAI', 'fabio', 'dask', 'matplotlib', 'snakemake', 'hdf5plugin', 'yaml'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}), rc)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[] 0"
