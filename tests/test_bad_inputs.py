# SPDX-License-Identifier: MIT
"""Every bad input of the corpus (tests/data/bad/make_bad.py) through the `halos` command.

One table: the command and input, the exit code it must give and the words its one error
line must hold (the file and the field). An unusable input exits non-zero with exactly one
``halos <command>: error:`` line, no traceback, and no output file; a real-file quirk (σ = 0
rows, NaN rows, a repeated q) is analysed around with a note on stderr and exits 0.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from halos_analysis.app.cli import main

HERE = Path(__file__).resolve().parent
HALOS = [sys.executable, "-m", "halos_analysis"]


def _load_corpus_module():
    spec = importlib.util.spec_from_file_location("make_bad", HERE / "data" / "bad" / "make_bad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return _load_corpus_module().make_corpus(tmp_path_factory.mktemp("bad"))


# (id, command with {key} for corpus files and {out} for the output, exit, words in the
# error line — or, for exit 0, on stderr). Curve commands get the curve alone.
_INTEGRATE = "integrate {%s} --poni {good_poni} -o {out}"
CASES: list[tuple[str, str, int, list[str]]] = [
    # --- 1D curves -------------------------------------------------------------------------
    ("empty.dat", "guinier {empty_dat}", 1, ["empty.dat", "no data rows"]),
    ("binary.dat", "guinier {binary_dat}", 1, ["binary.dat", "no data rows"]),
    ("header-only.dat", "pr {header_only_dat}", 1, ["header_only.dat", "no data rows"]),
    *[
        (f"{n}-point curve", f"guinier {{points_{n}}}", 1,
         [f"points_{n}.dat", "[rows]", "at least"])
        for n in range(1, 6)
    ],
    ("5-point curve, analyse", "analyse {points_5} -o {out}", 1, ["points_5.dat", "at least 10"]),
    ("5-point curve, pr", "pr {points_5}", 1, ["points_5.dat", "at least 10"]),
    ("NaN curve", "guinier {nan_curve}", 1, ["nan.dat", "[rows]", "intensity_not_finite"]),
    ("inf curve", "analyse {inf_curve} -o {out}", 1, ["inf.dat", "intensity_not_finite"]),
    ("negative curve", "guinier {negative_curve}", 1, ["negative.dat", "[rows]", "I > 0"]),
    ("negative curve, pr", "pr {negative_curve}", 1, ["negative.dat", "I > 0"]),
    ("negative curve, mw", "mw {negative_curve}", 1, ["negative.dat", "I > 0"]),
    ("zero-sigma curve", "guinier {zero_sigma_curve}", 1, ["zero_sigma.dat", "sigma_not_positive"]),
    ("decreasing q", "guinier {decreasing_q}", 1,
     ["decreasing_q.dat", "[row 1]", "q must increase"]),
    ("shuffled q", "analyse {shuffled_q} -o {out}", 1, ["shuffled_q.dat", "q must increase"]),
    ("short GNOM .out", "guinier {gnom_short}", 1, ["short.out", "[rows]"]),
    # Quirks of real files: analysed, with a note.
    ("some sigma 0", "guinier {quirk_some_zero_sigma}", 0, ["sigma_not_positive: 3, 50, 120"]),
    ("some NaN rows", "analyse {quirk_some_nan_rows} -o {out}", 0, ["intensity_not_finite"]),
    ("duplicated q", "guinier {quirk_duplicated_q}", 0, ["duplicate_q: 40"]),
    ("NaN q beyond row 10", "guinier {nan_q_curve}", 0, ["q_not_finite"]),
    ("nm^-1 labelled A^-1", "guinier {nm_labelled_A}", 0, ["nm_as_A.dat", "implausible in A^-1"]),
    # --- frames ----------------------------------------------------------------------------
    ("truncated CBF", _INTEGRATE % "truncated_cbf", 1, ["truncated.cbf", "[X-Binary-Size]"]),
    ("corrupt CBF", _INTEGRATE % "corrupt_cbf", 1, ["corrupt.cbf", "[header]"]),
    ("truncated EDF", _INTEGRATE % "truncated_edf", 1, ["truncated.edf", "[EDF_BinarySize]"]),
    ("truncated TIFF", _INTEGRATE % "truncated_tif", 1, ["truncated.tif", "cannot read image"]),
    ("corrupt TIFF", _INTEGRATE % "corrupt_tif", 1, ["corrupt.tif", "cannot read image"]),
    ("truncated HDF5", _INTEGRATE % "truncated_h5", 1, ["truncated.h5", "not a readable HDF5"]),
    ("corrupt HDF5", _INTEGRATE % "corrupt_h5", 1, ["corrupt.h5", "not a readable HDF5"]),
    ("complex frames", _INTEGRATE % "wrong_dtype_complex", 1, ["complex.h5", "complex64"]),
    ("text frames", _INTEGRATE % "wrong_dtype_strings", 1, ["strings.h5", "[/entry/data/data]"]),
    ("frame != detector", _INTEGRATE % "frame_shape_mismatch", 1,
     ["small_frames.h5", "(100, 100) does not match"]),
    ("frame != mask", "integrate {good_h5} --poni {good_poni} --mask {mask_wrong_shape} -o {out}",
     1, ["mask_wrong_shape.npy", "does not match"]),
    ("Eiger data file missing", _INTEGRATE % "eiger_missing_data", 1,
     ["missing_master.h5", "[/entry/data/data_000001]", "missing_data_000001.h5"]),
    ("Eiger data file short", _INTEGRATE % "eiger_short_data", 1,
     ["short_master.h5", "[detectorSpecific/nimages]", "hold 1 frames"]),
    ("validate truncated CBF", "validate {truncated_cbf}", 1, []),
    ("validate truncated EDF", "validate {truncated_edf}", 1, []),
    ("validate Eiger data file missing", "validate {eiger_missing_data}", 1, []),
    # --- geometry ----------------------------------------------------------------------------
    *[
        (f"PONI {key}", f"integrate {{good_h5}} --poni {{{key}}} -o {{out}}", 1, [file, field])
        for key, file, field in [
            ("poni_no_distance", "poni_no_distance.poni", "[Distance]"),
            ("poni_zero_distance", "poni_zero_distance.poni", "[Distance]"),
            ("poni_negative_wavelength", "poni_negative_wavelength.poni", "[Wavelength]"),
            ("poni_nan_poni1", "poni_nan_poni1.poni", "[Poni1]"),
            ("poni_text_rot1", "poni_text_rot1.poni", "[Rot1]"),
            ("poni_empty", "empty.poni", "not a PONI file"),
            ("poni_binary", "binary.poni", "cannot read PONI"),
        ]
    ],
    # --- side tables -------------------------------------------------------------------------
    *[
        (f"side table {key}",
         "integrate {good_h5} --poni {good_poni} --side-table {" + key + "} -o {out}",
         1, [file, field])
        for key, file, field in [
            ("side_missing_frame", "side_missing_frame.tsv", "[frame 2]"),
            ("side_not_a_number", "side_not_a_number.tsv", "[line 3]"),
            ("side_nan_monitor", "side_nan_monitor.tsv", "[line 3 monitor]"),
            ("side_negative_monitor", "side_negative_monitor.tsv", "[line 3 monitor]"),
        ]
    ],
    # --- configs (checked before Snakemake reads them) ---------------------------------------
    ("YAML !!python tag", "run --configfile {yaml_python_tag} -n", 1,
     ["python_tag.yaml", "[line 2]", "python/object/apply"]),
    ("YAML YTE template", "run --configfile {yaml_yte_code} -n", 1, ["yte.yaml", "[__use_yte__]"]),
    ("YAML list", "run --configfile {yaml_not_a_mapping} -n", 1, ["not_a_mapping.yaml", "list"]),
    ("100 MB config", "run --configfile {yaml_100mb} -n", 1, ["huge.yaml", "104857601 bytes"]),
    # --- controls: the good files the bad ones are made from ----------------------------------
    ("good curve", "analyse {good_dat} -o {out}", 0, []),
    ("good CBF", _INTEGRATE % "good_cbf", 0, []),
    ("good EDF", _INTEGRATE % "good_edf", 0, []),
    ("good TIFF", _INTEGRATE % "good_tif", 0, []),
]  # fmt: skip


def _argv(template: str, corpus: dict[str, Path], out: Path) -> list[str]:
    return template.format(out=out, **{k: str(v) for k, v in corpus.items()}).split()


@pytest.mark.parametrize(("command", "code", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_bad_input(corpus, tmp_path, capsys, monkeypatch, command, code, words):
    monkeypatch.chdir(tmp_path)  # nothing a config could make may land in the checkout
    out = tmp_path / "result.out"
    rc = main(_argv(command, corpus, out))
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err and "internal error" not in err
    errors = [ln for ln in err.splitlines() if ": error: " in ln]
    if code == 0:
        assert not errors, err
        for word in words:
            assert word in err, err
        return
    if command.startswith("validate"):
        return  # the report (stdout) lists the problems; exit 1 says invalid
    assert len(errors) == 1, err
    for word in words:
        assert word in errors[0], err
    assert not out.exists() and not list(tmp_path.rglob("*.part"))
    assert not (tmp_path / "PWNED").exists()


def test_the_corpus_is_covered(corpus):
    """Every file the generator writes is used by a case (a new bad file needs its row)."""
    text = " ".join(c[1] for c in CASES)
    unused = {n for n in corpus if "{" + n + "}" not in text}
    assert unused <= {"mask_good"}, unused


@pytest.mark.parametrize("case", ["5-point curve, analyse", "truncated EDF", "YAML YTE template"])
def test_bad_input_through_the_real_command(corpus, tmp_path, case):
    """The installed entry point (a new process) gives the same single line."""
    command, code, words = next(c[1:] for c in CASES if c[0] == case)
    out = tmp_path / "result.h5"
    run = subprocess.run(HALOS + _argv(command, corpus, out), capture_output=True, text=True,
                         cwd=tmp_path)  # fmt: skip
    assert run.returncode == code
    errors = [ln for ln in run.stderr.splitlines() if ": error: " in ln]
    assert len(errors) == 1 and all(w in errors[0] for w in words), run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
    debug = subprocess.run(HALOS + ["--debug", *_argv(command, corpus, out)],
                           capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert debug.returncode != 0 and "Traceback" in debug.stderr
