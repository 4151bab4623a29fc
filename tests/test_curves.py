# SPDX-License-Identifier: MIT
"""Reading and writing text curves: q and intensity units, messages, empty bins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import read_curve, write_dat
from halos_analysis.types import Curve


def _curve(qmax: float, unit: str, name: str = "c", **meta) -> Curve:
    q = np.linspace(qmax / 50, qmax, 50)
    intensity = 10.0 * np.exp(-((q / qmax * 3) ** 2)) + 0.1
    return Curve(q, intensity, 0.01 * intensity, unit, name=name, meta=dict(meta))


def _write_text(path: Path, header: list[str], qmax: float = 4.5) -> Path:
    c = _curve(qmax, "nm^-1")
    rows = [f"{q:.6e} {i:.6e} {s:.6e}" for q, i, s in zip(*c, strict=True)]
    path.write_text("\n".join([*header, *rows]) + "\n")
    return path


@pytest.mark.parametrize("name", ["lysozyme_a-1", "BSA-1", "sample 1/A", "q A-1 test"])
def test_write_dat_q_unit_survives_any_sample_name(tmp_path, name):
    # The sample name is written on the first header line; it must not be read as a unit.
    c = _curve(0.5, "nm^-1", name=name)
    back = read_curve(write_dat(c, tmp_path / "c.dat"))
    assert back.q_unit == "nm^-1"
    np.testing.assert_allclose(back.q, c.q, rtol=1e-7)


def test_sample_line_is_not_a_unit_statement(tmp_path, capsys):
    # nm^-1 data (q max 4.5) whose only unit-like text is the sample name: guessed, not Å^-1.
    path = _write_text(tmp_path / "bsa.dat", ["# sample: BSA-1", "# conc: 5 mg/ml"])
    c = read_curve(path)
    assert c.q_unit == "nm^-1"
    assert c.meta["q_unit_source"] == "guessed"
    assert "guessed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("heading", "qmax", "unit"),
    [
        ("# L q*nm  I_  stddev", 0.5, "nm^-1"),  # BM29 / freesas
        ("#       q_nm^-1              I          sigma", 0.5, "nm^-1"),  # pyFAI
        ("#       q_A^-1              I          sigma", 4.0, "A^-1"),
        ("# Q (1/A)   I(Q)   Error", 4.0, "A^-1"),
        ("# q [nm-1]  I [1/cm]  sigma", 0.5, "nm^-1"),
        ("# s, 1/nm   I", 0.5, "nm^-1"),
    ],
)
def test_column_headings_state_the_unit(tmp_path, heading, qmax, unit):
    # q ranges chosen so that a guess would give the other unit: the heading must decide.
    path = _write_text(tmp_path / "h.dat", ["# my sample", heading], qmax=qmax)
    c = read_curve(path)
    assert (c.q_unit, c.meta["q_unit_source"]) == (unit, "header")


def test_explicit_q_unit_line_wins_over_a_column_heading(tmp_path):
    path = _write_text(tmp_path / "e.dat", ["# q_unit: nm^-1", "# q_A^-1  I  sigma"], 0.3)
    assert read_curve(path).q_unit == "nm^-1"


def test_validation_files_keep_their_units(validation_dir, capsys):
    expected = {
        "curves/bm29_bsa_5mg_sub.dat": "nm^-1",
        "curves/bsa_005_sub.dat": "nm^-1",
        "curves/glucose_isomerase.dat": "A^-1",
        "curves/glucose_isomerase.out": "A^-1",
        "curves/lys_saxs.dat": "A^-1",
    }
    expected.update({f"series/BSA_001_{i:04d}.dat": "A^-1" for i in range(10)})
    got = {name: read_curve(validation_dir / name).q_unit for name in expected}
    assert got == expected


@pytest.mark.parametrize(
    ("given", "written"), [("1/cm", "1/cm"), ("cm^-1", "1/cm"), (None, "arbitrary")]
)
def test_intensity_unit_round_trips_through_dat(tmp_path, given, written):
    meta = {} if given is None else {"intensity_unit": given}
    path = write_dat(_curve(3.0, "nm^-1", **meta), tmp_path / "i.dat")
    assert f"# intensity_unit: {written}" in path.read_text().splitlines()
    assert read_curve(path).meta["intensity_unit"] == written


def test_file_without_intensity_unit_has_none(tmp_path):
    c = read_curve(_write_text(tmp_path / "n.dat", ["# q*nm I sigma"]))
    assert "intensity_unit" not in c.meta


def test_rows_real_files_carry_are_kept_and_marked(tmp_path, caplog):
    # σ = 0, NaN σ, NaN I and a repeated q: kept as read, left out of fits, named once.
    path = tmp_path / "z.dat"
    rows = ["0.1 1.0 0.0", "0.2 0.9 0.1", "0.3 0.8 nan", "0.4 nan 0.1", "0.5 0.6 0.1"]
    rows += ["0.5 0.6 0.1", "0.6 0.5 0.1", "0.7 0.4 0.1", "0.8 0.3 0.1", "0.9 0.2 0.1"]
    path.write_text("\n".join(rows) + "\n")
    with caplog.at_level("WARNING"):
        c = read_curve(path, q_unit="nm^-1")
    assert len(c) == 10 and c.sigma[0] == 0.0 and np.isnan(c.intensity[3])
    assert c.rows().to_dict() == {
        "intensity_not_finite": [3],
        "sigma_not_positive": [0, 2],
        "duplicate_q": [5],
    }
    assert caplog.text.count(str(path)) == 1 and "4 rows left out" in caplog.text


def test_too_few_usable_rows_is_one_plain_error(tmp_path):
    path = tmp_path / "z.dat"
    path.write_text("0.1 1.0 0.1\n0.2 0.9 0.0\n0.3 0.8 0.1\n0.4 0.7 0.1\n0.5 0.6 0.0\n")
    with pytest.raises(HalosInputError) as exc:
        read_curve(path, q_unit="nm^-1")
    msg = str(exc.value)
    assert "only 3 usable rows of 5" in msg and "sigma_not_positive: 1, 4" in msg
    assert "np.float64" not in msg and str(exc.value.path) == str(path)


def test_decreasing_q_message_is_plain_number(tmp_path):
    path = tmp_path / "d.dat"
    path.write_text("0.1 1.0 0.1\n0.3 0.9 0.1\n0.2 0.8 0.1\n")
    with pytest.raises(HalosInputError, match=r"decreasing q = 0\.2 at data row 2"):
        read_curve(path, q_unit="A^-1")


def test_given_q_unit_contradicting_header_is_kept_with_a_warning(tmp_path, capsys):
    path = write_dat(_curve(3.0, "nm^-1"), tmp_path / "w.dat")
    c = read_curve(path, q_unit="A^-1")
    assert c.q_unit == "A^-1" and c.meta["q_unit_source"] == "argument"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "nm^-1" in err[0]


def test_given_q_unit_implausible_for_q_range_warns(tmp_path, capsys):
    path = _write_text(tmp_path / "r.dat", ["# some sample"], qmax=0.28)
    c = read_curve(path, q_unit="nm^-1")
    assert c.q_unit == "nm^-1"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "0.28" in err[0]


def test_given_q_unit_that_agrees_is_silent(tmp_path, capsys):
    path = write_dat(_curve(3.0, "nm^-1"), tmp_path / "ok.dat")
    read_curve(path, q_unit="1/nm")
    assert capsys.readouterr().err == ""


def test_bins_without_data_are_left_out_and_the_file_reads_back(tmp_path, capsys):
    c = _curve(3.0, "nm^-1")
    intensity, sigma = c.intensity.copy(), c.sigma.copy()
    intensity[[0, 7]] = sigma[[0, 7]] = np.nan
    c = Curve(c.q, intensity, sigma, "nm^-1", name="holes")
    path = write_dat(c, tmp_path / "holes.dat")
    assert "# empty_bins_omitted: 2" in path.read_text()
    assert "2 q bins" in capsys.readouterr().err
    back = read_curve(path)
    keep = np.ones(len(c), bool)
    keep[[0, 7]] = False
    np.testing.assert_allclose(back.q, c.q[keep], rtol=1e-7)
    np.testing.assert_allclose(back.intensity, c.intensity[keep], rtol=1e-7)
