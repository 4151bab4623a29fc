# SPDX-License-Identifier: MIT
"""The workflow end to end on a simulated P12 measurement, plus lint, dry run and bad input.

The example is simulated once per test session into a temporary folder (both detectors, few
frames, radiation-damaged last frames) and the workflow runs there exactly as `make demo`
runs it, through `halos run`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HALOS = [sys.executable, "-m", "halos_analysis"]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

pytestmark = pytest.mark.slow

N_FRAMES = 10
N_DAMAGED = 3


def _write_config(workdir: Path, results: str = "results") -> None:
    (workdir / "config").mkdir(exist_ok=True)
    text = (
        (ROOT / "config" / "config.yaml")
        .read_text()
        .replace("results: results", f"results: {results}")
    )
    (workdir / "config" / "config.yaml").write_text(text)
    shutil.copy(ROOT / "config" / "samples.tsv", workdir / "config" / "samples.tsv")


@pytest.fixture(scope="session")
def example_workdir(tmp_path_factory) -> Path:
    """A working folder laid out like the project: config/ and example_data/generated/."""
    work = tmp_path_factory.mktemp("workflow")
    out = work / "example_data" / "generated"
    run = subprocess.run(
        HALOS + ["simulate", str(out), "--frames", str(N_FRAMES), "--seed", "7"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    _write_config(work)
    return work


@pytest.fixture(scope="session")
def workflow_results(example_workdir) -> Path:
    run = subprocess.run(
        HALOS + ["run", "--cores", "2", "--directory", str(example_workdir)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return example_workdir / "results"


def test_workflow_uses_no_deprecated_option(workflow_results):
    """The rules call every subcommand with the current spelling of its options."""
    logs = sorted((workflow_results / "logs").rglob("*.log"))
    assert logs
    warned = [str(p) for p in logs if "deprecated" in p.read_text(errors="replace")]
    assert not warned, warned


def test_workflow_recovers_rg_of_the_source_profile(workflow_results, example_workdir):
    truth = json.loads((example_workdir / "example_data/generated/truth.json").read_text())
    rg_true = truth["expected"]["rg_nm"]
    for sample in ("bsa_pilatus", "bsa_eiger"):
        summary = json.loads((workflow_results / sample / "summary.json").read_text())
        rg = summary["guinier_rg"]
        assert abs(rg - rg_true) / rg_true < 0.02, (sample, rg, rg_true)


def test_workflow_puts_the_example_on_absolute_scale(workflow_results, example_workdir):
    truth = json.loads((example_workdir / "example_data/generated/truth.json").read_text())
    for sample in ("bsa_pilatus", "bsa_eiger"):
        summary = json.loads((workflow_results / sample / "summary.json").read_text())
        # I(0) in 1/cm and MW from it with the concentration, as simulated.
        i0 = summary["guinier_i0"]
        assert abs(i0 - truth["sample"]["i0_cm"]) / truth["sample"]["i0_cm"] < 0.03
        mw = summary["guinier_i0_mw"]
        assert abs(mw - truth["sample"]["mw_kda"]) / truth["sample"]["mw_kda"] < 0.05


def test_workflow_rejects_damaged_frames(workflow_results):
    sim = json.loads((workflow_results / "bsa_pilatus" / "bsa_pilatus_similarity.json").read_text())
    rejected = {int(k) for k in sim["rejected"]}
    damaged = set(range(N_FRAMES - N_DAMAGED, N_FRAMES))
    # The strongest damage (the last frame) must be caught; no undamaged frame rejected.
    assert N_FRAMES - 1 in rejected
    assert rejected <= damaged
    buf_file = workflow_results / "buffer_pilatus" / "buffer_pilatus_similarity.json"
    buf = json.loads(buf_file.read_text())
    assert len(buf["selected"]) >= N_FRAMES - 1


def test_workflow_writes_run_outputs(workflow_results):
    with (workflow_results / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["sample"] for r in rows) == ["bsa_eiger", "bsa_pilatus"]
    for sample in ("bsa_pilatus", "bsa_eiger"):
        assert (workflow_results / sample / f"{sample}.h5").stat().st_size > 0
        assert (workflow_results / sample / f"{sample}_sub.dat").stat().st_size > 0
        pngs = list((workflow_results / sample / "plots").glob("*.png"))
        assert len(pngs) >= 4
    html = (workflow_results / "report.html").read_text()
    assert "bsa_pilatus" in html and "bsa_eiger" in html
    assert not list(workflow_results.rglob("*.part"))


def test_lint_and_dry_run(example_workdir, workflow_results):
    lint = subprocess.run(
        [SNAKEMAKE, "--lint", "--snakefile", str(ROOT / "Snakefile"), "-d", str(example_workdir)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    dry = subprocess.run(
        HALOS + ["run", "--cores", "2", "--directory", str(example_workdir), "-n"],
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stderr
    # Everything is up to date after the real run: the dry run schedules nothing.
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_a_new_row_does_not_redo_the_other_samples(example_workdir, workflow_results, tmp_path):
    # At a shift the sheet gains a row per sample: the new sample is processed, the run
    # summary updated, and nothing of the samples already done is redone.
    sheet = tmp_path / "samples.tsv"
    rows = (example_workdir / "config" / "samples.tsv").read_text().splitlines()
    extra = rows[1].replace("bsa_pilatus", "bsa_pilatus_again", 1).replace("\tbsa\n", "\t\n")
    sheet.write_text("\n".join([*rows, extra]) + "\n")
    dry = subprocess.run(
        HALOS
        + ["run", "--cores", "2", "--directory", str(example_workdir), "-n"]
        + ["--config", f"samples={sheet}"],
        capture_output=True,
        text=True,
    )
    assert dry.returncode == 0, dry.stdout[-2000:] + dry.stderr[-2000:]
    planned = [ln.split()[-1].rstrip(":") for ln in dry.stdout.splitlines() if "rule " in ln]
    assert planned.count("export_sample") == 1 and "summarise" in planned, planned
    assert "integrate" in planned and planned.count("integrate") == 1, planned


def test_snakefmt_clean():
    snakefmt = Path(sys.executable).parent / "snakefmt"
    rules = [str(ROOT / "Snakefile"), str(ROOT / "workflow" / "Snakefile")]
    rules += [str(p) for p in (ROOT / "workflow/rules").glob("*.smk")]
    run = subprocess.run([str(snakefmt), "--check", *rules], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def _typo_key(cfg: str, tsv: str) -> tuple[str, str]:
    return cfg + "\nintegraton:\n  npt: 10\n", tsv


def _missing_buffer(cfg: str, tsv: str) -> tuple[str, str]:
    return cfg, tsv.replace("\tbuffer_pilatus\t", "\tbuffer_nowhere\t", 1)


def _missing_frames(cfg: str, tsv: str) -> tuple[str, str]:
    return cfg, tsv.replace("pilatus2m/bsa/*.cbf", "pilatus2m/none/*.cbf")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [(_typo_key, "integraton"), (_missing_buffer, "buffer_nowhere"), (_missing_frames, "frames")],
    ids=["unknown-config-key", "missing-buffer", "missing-frames"],
)
def test_bad_config_gives_one_line(example_workdir, tmp_path, edit, expected):
    work = tmp_path / "bad"
    work.mkdir()
    (work / "example_data").symlink_to(example_workdir / "example_data")
    _write_config(work)
    cfg, tsv = edit(
        (work / "config/config.yaml").read_text(), (work / "config/samples.tsv").read_text()
    )
    (work / "config/config.yaml").write_text(cfg)
    (work / "config/samples.tsv").write_text(tsv)
    # A bad row is refused alone and the other rows run (tests/test_untrusted.py): here one
    # cheap target of another row stands for them.
    whole = expected == "integraton"
    target = [] if whole else ["results/buffer_eiger/buffer_eiger_raw_validation.json"]
    run = subprocess.run(
        HALOS + ["run", "--cores", "1", "--directory", str(work), *target],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    errors = [ln for ln in run.stderr.splitlines() if "error" in ln.lower()]
    assert errors and expected in errors[0], run.stderr
    assert "Traceback" not in run.stderr
    assert not (work / "results").exists() if whole else not (work / "results/bsa_pilatus").exists()


def _with_truncated_pilatus_frame(example_workdir, work):
    """The example in ``work`` with the last Pilatus sample frame cut short: (work, frame)."""
    frames = work / "frames"
    frames.mkdir(parents=True)
    source = sorted((example_workdir / "example_data/generated/pilatus2m/bsa").glob("*.cbf"))
    for f in source[:-1]:
        (frames / f.name).symlink_to(f)
    broken = frames / source[-1].name
    broken.write_bytes(source[-1].read_bytes()[:50_000])
    (work / "example_data").symlink_to(example_workdir / "example_data")
    _write_config(work)
    tsv = (work / "config/samples.tsv").read_text()
    tsv = tsv.replace("example_data/generated/pilatus2m/bsa/*.cbf", f"{frames}/*.cbf")
    (work / "config/samples.tsv").write_text(tsv)
    return work, broken


def test_corrupt_frame_stops_at_validation(example_workdir, tmp_path):
    """A truncated CBF stops the run in `validate_raw`, its log names the file, and nothing
    is integrated."""
    work, broken = _with_truncated_pilatus_frame(example_workdir, tmp_path / "corrupt")
    run = subprocess.run(
        HALOS
        + [
            "run",
            "--cores",
            "2",
            "--directory",
            str(work),
            "results/bsa_pilatus/bsa_pilatus_frames.h5",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    log = (work / "results/logs/validate_raw/bsa_pilatus.log").read_text()
    assert broken.name in log and "INVALID" in log
    assert not (work / "results/bsa_pilatus/bsa_pilatus_frames.h5").exists()
    assert not (work / "results/bsa_pilatus/bsa_pilatus_raw_validation.json").exists()


@pytest.mark.slow
def test_a_failed_sample_leaves_a_summary_of_the_others_that_names_it(example_workdir, tmp_path):
    """keep-going: the Eiger pair is analysed although a Pilatus frame is truncated, and the
    run summary and report cover it and say which sample has no results (the summarise job,
    which needs every sample, cannot run). The Eiger sample's figures fail too (a
    sitecustomize stops every `halos export --parts figures`): its row is there, and the
    report says it has no figures (the report job, which needs them, cannot run)."""
    work, _ = _with_truncated_pilatus_frame(example_workdir, tmp_path / "partial")
    fault = tmp_path / "fault"
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(
        "import sys\n"
        "if 'export' in sys.argv and 'figures' in sys.argv:\n"
        "    sys.exit('planted fault: no figures')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(fault),
           os.environ.get("PYTHONPATH")]))}  # fmt: skip
    run = subprocess.run(
        HALOS + ["run", "--cores", "2", "--directory", str(work)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode != 0
    said = "cover 1 of 2 samples; without results: bsa_pilatus; without figures: bsa_eiger"
    assert said in run.stderr, run.stderr[-3000:]
    with (work / "results/summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["sample"] for r in rows] == ["bsa_eiger"]
    report = (work / "results/report.html").read_text()
    assert "Samples without results (1)" in report and "bsa_pilatus" in report
    assert "Samples without figures (1)" in report and "logs/plot/bsa_eiger.log" in report


def test_snakemake_report(example_workdir, workflow_results, tmp_path):
    report = tmp_path / "snakemake_report.html"
    run = subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "-d",
            str(example_workdir),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    html = report.read_text()
    for caption_word in ("Guinier", "Kratky", "bsa_pilatus"):
        assert caption_word in html


def _reproduce(result: Path, base: Path, workdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        HALOS + ["reproduce", str(result), "--base-dir", str(base), "--workdir", str(workdir),
                 "--json"],
        capture_output=True, text=True,
    )  # fmt: skip


# The reproduce tests re-run the small example's sample (conftest.py's small_run, shared with
# test_kill_resume), in seconds: the demo's 2M and 4M frames took minutes to integrate again.


def test_reproduce_from_provenance(small_run, tmp_path):
    run = _reproduce(small_run / "results" / "bsa" / "bsa.h5", small_run, tmp_path / "again")
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads(run.stdout)
    assert out["matches"] and not out["differences"] and not out["inputs_changed"]


def test_reproduce_names_a_changed_input(small_run, tmp_path):
    # Same layout as the original run, but one buffer frame rewritten.
    base = tmp_path / "base"
    (base / "example_data").mkdir(parents=True)
    shutil.copytree(small_run / "config", base / "config")
    copy = base / "example_data" / "generated"
    shutil.copytree(small_run / "example_data" / "generated", copy, symlinks=False)
    frame = sorted((copy / "pilatus300k" / "buffer").glob("*.cbf"))[0]
    data = bytearray(frame.read_bytes())
    data[-100] ^= 0x01  # one bit of the compressed pixels
    frame.write_bytes(bytes(data))
    run = _reproduce(small_run / "results" / "bsa" / "bsa.h5", base, tmp_path / "again")
    assert run.returncode == 1, run.stdout + run.stderr
    out = json.loads(run.stdout)
    assert not out["matches"]
    changed = [Path(p).name for p, state in out["inputs_changed"].items() if state == "changed"]
    assert changed == [frame.name]


def test_workflow_compares_the_two_detectors(workflow_results):
    # The sheet groups bsa_pilatus and bsa_eiger (compare_group bsa): the same sample.
    comp = json.loads((workflow_results / "compare" / "bsa" / "bsa_compare.json").read_text())
    assert comp["names"] == ["bsa_pilatus", "bsa_eiger"]
    assert comp["consistent"], comp["verdict"]
    assert abs(comp["fits"][1]["scale"] - 1.0) < 0.02  # both on the absolute scale
    html = (workflow_results / "report.html").read_text()
    assert "Comparison bsa: bsa_pilatus vs bsa_eiger" in html
    assert (workflow_results / "compare" / "bsa" / "bsa_compare.html").stat().st_size > 10_000


def test_compare_flags_a_copy_with_aggregates(workflow_results, example_workdir, tmp_path):
    from halos_analysis.analysis.pipeline import analyse_curve
    from halos_analysis.io.curves import read_curve
    from halos_analysis.io.nxcansas import read_main_curve, write_sample_result
    from halos_analysis.simulate import AGGREGATE_N, ProteinModel, default_profile_path

    truth = json.loads((example_workdir / "example_data/generated/truth.json").read_text())
    curve = read_main_curve(workflow_results / "bsa_eiger" / "bsa_eiger.h5")
    # The same measurement with 5 % (by mass) of the protein as 8-mers, on the absolute scale.
    protein = ProteinModel.from_curve(read_curve(default_profile_path(), q_unit="nm^-1"))
    scale = truth["sample"]["i0_cm"] / protein.i0
    q = curve.q
    extra = 0.05 * (AGGREGATE_N * protein(q * AGGREGATE_N ** (1 / 3)) - protein(q)) * scale
    altered = type(curve)(q, curve.intensity + extra, curve.sigma, curve.q_unit,
                          name="bsa_eiger_aggregates", meta=curve.meta)  # fmt: skip
    a = analyse_curve(altered, concentration_mg_ml=5.0, absolute_scale=True)
    copy = write_sample_result(tmp_path / "altered.h5", subtracted=altered, guinier=a.guinier,
                               pr=a.pr, mw=a.mw, kratky=a.kratky)  # fmt: skip
    original = workflow_results / "bsa_pilatus" / "bsa_pilatus.h5"
    run = subprocess.run(
        HALOS + ["compare", str(original), str(copy), "--json", "-o", str(tmp_path / "r.html")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    comp = json.loads(run.stdout)
    assert not comp["consistent"] and comp["verdict"].startswith("differs")
    rg = next(q for q in comp["quantities"] if q["name"] == "Rg")
    assert rg["consistent"] is False
    assert (tmp_path / "r.html").is_file() and (tmp_path / "r.png").is_file()
