# SPDX-License-Identifier: MIT
"""Renamed options: the new spelling and the old one (kept one release, with a warning) mean
the same; each subcommand declares the outputs it must not replace silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from halos_analysis.app.cli import build_parser, main

DATA = Path(__file__).parent / "data" / "real"
CURVE = str(DATA / "bsa_005_sub.dat")

#: (old command line, new command line): parse to the same values.
RENAMED = [
    (["reduce", "f.h5", "-o", "a.dat", "--reference", "all"],
     ["reduce", "f.h5", "-o", "a.dat", "--frame-reference", "all"]),
    (["mw", "c.dat", "--reference", "1.5", "5", "66.4"],
     ["mw", "c.dat", "--mw-standard", "1.5", "5", "66.4"]),
    (["analyse", "c.dat", "-o", "x.json", "--reference", "1.5", "5", "66.4"],
     ["analyse", "c.dat", "-o", "x.json", "--mw-standard", "1.5", "5", "66.4"]),
    (["subtract", "s.dat", "b.dat", "-o", "x.dat", "--scale", "0.98"],
     ["subtract", "s.dat", "b.dat", "-o", "x.dat", "--buffer-scale", "0.98"]),
    (["integrate", "f.cbf", "--poni", "p.poni", "-o", "o.h5", "--unit", "q_A^-1"],
     ["integrate", "f.cbf", "--poni", "p.poni", "-o", "o.h5", "--q-unit", "A^-1"]),
    (["integrate", "f.cbf", "--poni", "p.poni", "-o", "o.h5", "--profile", "p12_eiger_nexus"],
     ["integrate", "f.cbf", "--poni", "p.poni", "-o", "o.h5", "--facility", "p12_eiger_nexus"]),
    (["validate", "f.h5", "--profile", "maxiv_cosaxs_2024"],
     ["validate", "f.h5", "--facility", "maxiv_cosaxs_2024"]),
    (["pr", "c.dat", "--out", "pr.dat"], ["pr", "c.dat", "-o", "pr.dat"]),
    (["pr", "c.dat", "--out", "pr.dat"], ["pr", "c.dat", "--output", "pr.dat"]),
    (["series", "r.hdf5", "--outdir", "out"], ["series", "r.hdf5", "--output", "out"]),
    (["export", "a.json", "--outdir", "out"], ["export", "a.json", "-o", "out"]),
]  # fmt: skip


def _values(argv: list[str]) -> dict:
    args = vars(build_parser().parse_args(argv))
    return {k: v for k, v in args.items() if not k.startswith("_") and not callable(v)}


@pytest.mark.parametrize(("old", "new"), RENAMED, ids=lambda argv: " ".join(argv[:1] + argv[-2:]))
def test_old_spelling_means_the_new_one(old, new):
    assert _values(old) == _values(new)


def test_new_spellings_have_their_defaults():
    args = build_parser().parse_args(["integrate", "f.cbf", "--poni", "p.poni", "-o", "o.h5"])
    assert args.q_unit == "nm^-1" and args.profile is None
    assert build_parser().parse_args(["reduce", "f.h5", "-o", "a.dat"]).reference == "first"
    with pytest.raises(SystemExit):  # export still needs its folder, in either spelling
        build_parser().parse_args(["export", "a.json"])
    with pytest.raises(SystemExit):  # an old spelling takes only the old values
        build_parser().parse_args(["integrate", "f", "--poni", "p", "-o", "o", "--unit", "A^-1"])


def test_old_spelling_warns_and_gives_the_same_result(tmp_path, capsys):
    old, new = tmp_path / "old.dat", tmp_path / "new.dat"
    assert main(["subtract", CURVE, CURVE, "--scale", "0.5", "-o", str(old)]) == 0
    warned = capsys.readouterr().err
    assert "--scale is deprecated" in warned and "--buffer-scale" in warned
    assert main(["subtract", CURVE, CURVE, "--buffer-scale", "0.5", "-o", str(new)]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert old.read_text() == new.read_text()


def test_pr_old_output_spelling_writes_the_table(tmp_path, capsys):
    out = tmp_path / "pr.dat"
    assert main(["pr", CURVE, "--out", str(out)]) == 0
    assert "--out is deprecated" in capsys.readouterr().err
    assert out.stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "output"),
    [
        (["subtract", CURVE, CURVE, "-o", "{out}"], "{out}"),
        (["subtract", CURVE, CURVE, "-o", "{tmp}/x.dat", "--buffer-out", "{out}"], "{out}"),
        (["analyse", CURVE, "-o", "{out}"], "{out}"),
        (["pr", CURVE, "-o", "{out}", "--json"], "{out}"),
        (["similarity", CURVE, CURVE, "--json"], None),  # writes nothing
    ],
)
def test_declared_outputs_are_not_replaced(argv, output, tmp_path, capsys):
    out = tmp_path / "exists.txt"
    out.write_text("keep me")
    argv = [a.format(out=out, tmp=tmp_path) for a in argv]
    rc = main(argv)
    if output is None:
        assert rc == 0
    else:
        assert rc == 1 and "exists already" in capsys.readouterr().err
    assert out.read_text() == "keep me"
