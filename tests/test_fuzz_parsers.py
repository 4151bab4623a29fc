# SPDX-License-Identifier: MIT
"""Property-based tests of the other readers (tests/test_fuzz_curves.py has the .dat one):
GNOM .out, PONI, side table, sample sheet and NXcanSAS/frames files. Whatever the file
holds, reading it gives a result or one HalosInputError (one line, naming the file), never
another exception. Examples are bounded (``FUZZ``) so the whole file runs in seconds.
"""

from __future__ import annotations

import os

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halos_analysis.app.config import SHEET_COLUMNS, load_samples, validate_config
from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import read_curve
from halos_analysis.io.frames.source import read_side_table
from halos_analysis.io.nxcansas import read_frames, read_nxcansas, write_frames
from halos_analysis.io.poni import load_poni
from halos_analysis.types import FrameCurves

#: 50 examples per test in `make test`; HALOS_FUZZ_EXAMPLES=1000 for a longer search.
FUZZ = settings(
    max_examples=int(os.environ.get("HALOS_FUZZ_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["nan", "inf", "-0", "1e400", "0x10", "1,5", "", "none", "None", "null"]),
)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


def _one_line_error(exc: HalosInputError, path) -> None:
    assert "\n" not in str(exc)
    assert exc.path is None or str(path) in str(exc) or exc.path in str(exc)


# --- GNOM .out ---------------------------------------------------------------------------

_GNOM_HEAD = [
    "           ####    G N O M   ---   Version 5.0 (r10552)    ####",
    "  Angular   range    :     0.0100 to     0.3000",
    "      S          J EXP       ERROR       J REG       I REG",
]


@FUZZ
@given(
    head=st.lists(st.sampled_from([*_GNOM_HEAD, "", "   Distance distribution  function",
                                   "       R          P(R)      ERROR"]), max_size=5),  # fmt: skip
    rows=st.lists(st.lists(_number, min_size=0, max_size=6).map("  ".join), max_size=40),
    tail=st.lists(_text, max_size=5),
)
def test_gnom_out_gives_a_curve_or_one_input_error(tmp_path, head, rows, tail):
    path = tmp_path / "f.out"
    path.write_text("\n".join([*head, *rows, *tail]) + "\n", errors="surrogatepass")
    try:
        c = read_curve(path, q_unit="A^-1")
    except HalosInputError as exc:
        _one_line_error(exc, path)
        return
    assert len(c.q) == len(c.intensity) == len(c.sigma)


# --- PONI --------------------------------------------------------------------------------

_PONI_KEYS = ["poni_version", "Detector", "Detector_config", "Distance", "Poni1", "Poni2",
              "Rot1", "Rot2", "Rot3", "Wavelength", "PixelSize1", "PixelSize2", "SplineFile",
              "# comment", "dist"]  # fmt: skip
_PONI_VALUES = st.one_of(
    _number,
    st.sampled_from(["Pilatus1M", "Pilatus100k", "Detector", "NoSuchDetector", "2.1", "3",
                     '{"pixel1": 1e-4, "pixel2": 1e-4, "max_shape": [100, 100]}',
                     '{"pixel1": -1}', "{not json", "[]"]),  # fmt: skip
    _text,
)


@FUZZ
@given(
    lines=st.lists(st.tuples(st.sampled_from(_PONI_KEYS), _PONI_VALUES), max_size=14),
    junk=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_poni_gives_a_geometry_or_one_input_error(tmp_path, lines, junk):
    path = tmp_path / "g.poni"
    text = "\n".join(f"{k}: {v}" for k, v in lines) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogatepass") + (junk or b""))
    try:
        ai = load_poni(path)
    except HalosInputError as exc:
        _one_line_error(exc, path)
        return
    assert ai.dist > 0 and ai.wavelength > 0
    assert np.isfinite([ai.poni1, ai.poni2, ai.rot1, ai.rot2, ai.rot3]).all()


def test_a_good_poni_reads(tmp_path):
    path = tmp_path / "g.poni"
    path.write_text("poni_version: 2\nDetector: Pilatus100k\nDetector_config: {}\nDistance: 1\n"
                    "Poni1: 0.01\nPoni2: 0.02\nRot1: 0\nRot2: 0\nRot3: 0\nWavelength: 1e-10\n")
    assert load_poni(path).dist == 1.0


# --- side tables --------------------------------------------------------------------------

_SIDE_COLS = ["frame", "file", "index", "monitor", "transmission", "exposure_s", "exposure",
              "other", ""]  # fmt: skip


@FUZZ
@given(
    header=st.lists(st.sampled_from(_SIDE_COLS), min_size=0, max_size=5),
    rows=st.lists(st.lists(st.one_of(_number, st.sampled_from(["f_0.cbf", "0", "1", "2"])),
                           max_size=6), max_size=8),  # fmt: skip
    sep=st.sampled_from(["\t", " ", ","]),
    n=st.integers(0, 4),
)
def test_side_table_gives_values_or_one_input_error(tmp_path, header, rows, sep, n):
    path = tmp_path / "side.tsv"
    path.write_text("\n".join(sep.join(r) for r in [header, *rows]) + "\n")
    names = [f"/data/f_{i}.cbf" for i in range(n)]
    try:
        values = read_side_table(path, n, names)
    except HalosInputError as exc:
        _one_line_error(exc, path)
        return
    for v in values.values():
        assert v.shape == (n,) and np.isfinite(v).all() and (v > 0).all()


# --- sample sheets -----------------------------------------------------------------------

_CELL = st.one_of(
    st.sampled_from(["bsa", "buffer", "sample", "sec", "../x", "a b", "x;y", "$(id)", "1.5",
                     "-2", "nan", "", "frames/*.cbf", "g.poni", "/abs/path", "bsa,buffer"]),
    _text.filter(lambda t: "\t" not in t and "\n" not in t and "\r" not in t),
)


@FUZZ
@given(
    columns=st.lists(st.sampled_from([*SHEET_COLUMNS, "extra"]), min_size=1, max_size=8),
    rows=st.lists(st.lists(_CELL, max_size=9), max_size=6),
    keep_going=st.booleans(),
)
def test_sample_sheet_gives_rows_or_one_input_error(tmp_path, columns, rows, keep_going):
    path = tmp_path / "samples.tsv"
    path.write_text("\n".join("\t".join(r) for r in [columns, *rows]) + "\n")
    config = validate_config({"samples": str(path), "geometry": {"poni": "g.poni"}})
    errors: list[HalosInputError] | None = [] if keep_going else None
    try:
        out = load_samples(path, config, check_files=False, errors=errors)
    except HalosInputError as exc:
        _one_line_error(exc, path)
        return
    for name, m in out.items():
        assert name == m.name and "/" not in name and " " not in name
        if m.type == "sample":
            assert m.buffers and all(out[b].type == "buffer" for b in m.buffers)
    for exc in errors or ():
        _one_line_error(exc, path)


# --- NXcanSAS / frames files -------------------------------------------------------------


def _frames_file(path) -> None:
    q = np.linspace(0.1, 3.0, 20)
    rng = np.random.default_rng(0)
    i = rng.uniform(1, 2, (3, 20))
    write_frames(path, FrameCurves(q, i, 0.01 * i, "nm^-1", name="f"))


def _objects(path) -> list[str]:
    names: list[str] = []
    with h5py.File(path, "r") as f:
        f.visit(names.append)
    return sorted(names)


_VALUES = st.one_of(
    st.sampled_from(["1/nm", "1/A", "furlongs", "", "[1, 2", '["sasdata00000"]', "{}", "[]"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=25).map(np.array),
    st.integers(-5, 5),
)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["delete", "replace", "attr", "attr_delete"]),
                  st.integers(0, 10**6), _VALUES),
        min_size=1, max_size=4,
    ),  # fmt: skip
)
def test_edited_nxcansas_reads_or_gives_one_input_error(tmp_path, edits):
    path = tmp_path / "frames.h5"
    if not (tmp_path / "orig.h5").exists():
        _frames_file(tmp_path / "orig.h5")
    path.write_bytes((tmp_path / "orig.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        for op, k, value in edits:
            names = []
            f.visit(names.append)
            if not names:
                break
            name = sorted(names)[k % len(names)]
            if name not in f:
                continue
            if op == "delete":
                del f[name]
            elif op == "replace":
                del f[name]
                f[name] = value
            elif op == "attr":
                key = ["units", "NX_class", "canSAS_class", "signal", "I_axes"][k % 5]
                f[name].attrs[key] = value
            else:
                for key in list(f[name].attrs):
                    del f[name].attrs[key]
    for reader in (read_frames, read_nxcansas):
        try:
            reader(path)
        except HalosInputError as exc:
            _one_line_error(exc, path)


@FUZZ
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)),
                                           max_size=3))  # fmt: skip
def test_damaged_nxcansas_bytes_give_one_input_error(tmp_path, cut, flips):
    orig = tmp_path / "orig.h5"
    if not orig.exists():
        _frames_file(orig)
    data = bytearray(orig.read_bytes())
    for where, xor in flips:
        data[int(where * (len(data) - 1))] ^= xor
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(data[: max(1, int(cut * len(data)))]))
    for reader in (read_frames, read_nxcansas):
        try:
            reader(path)
        except HalosInputError as exc:
            _one_line_error(exc, path)
