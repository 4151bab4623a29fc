# SPDX-License-Identifier: MIT
"""Property-based tests of the curve readers: whatever a text file holds, reading it gives a
curve or one HalosInputError, never another exception; curves written read back equal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import read_curve, write_dat
from halos_analysis.types import Curve

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e-300", "1D-3", "0", "-0.0", "1e400"]),
)
_junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=40)
_row = st.one_of(
    st.lists(_number, min_size=2, max_size=5).map(" ".join),
    st.lists(_number, min_size=2, max_size=4).map(",".join),
    _junk,
    st.sampled_from(["# q I sigma", "### DATA:", "### HEADER:", "S  J EXP  ERROR  J REG  I REG"]),
)


@FUZZ
@given(rows=st.lists(_row, min_size=0, max_size=60))
def test_any_text_gives_a_curve_or_one_input_error(tmp_path, rows):
    path = tmp_path / "f.dat"
    path.write_text("\n".join(rows) + "\n", errors="surrogatepass")
    try:
        c = read_curve(path, q_unit="A^-1")
    except HalosInputError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert len(c.q) == len(c.intensity) == len(c.sigma) and c.rows().n_usable >= 5


@FUZZ
@given(data=st.binary(min_size=0, max_size=2000))
def test_binary_files_give_a_curve_or_one_input_error(tmp_path, data):
    path = tmp_path / "b.dat"
    path.write_bytes(data)
    try:
        read_curve(path, q_unit="nm^-1")
    except HalosInputError:
        pass


@FUZZ
@given(
    n=st.integers(5, 80),
    q0=st.floats(1e-4, 0.1),
    scale=st.floats(1e-6, 1e6),
    seed=st.integers(0, 2**31 - 1),
    unit=st.sampled_from(["A^-1", "nm^-1"]),
)
def test_written_curves_read_back_equal(tmp_path, n, q0, scale, seed, unit):
    rng = np.random.default_rng(seed)
    q = q0 + np.cumsum(rng.uniform(1e-4, 0.01, n))
    i = scale * rng.uniform(-0.1, 1.0, n)
    s = scale * rng.uniform(1e-4, 0.1, n)
    back = read_curve(write_dat(Curve(q, i, s, unit, name="x"), tmp_path / "w.dat"))
    assert back.q_unit == unit
    np.testing.assert_allclose(back.q, q, rtol=1e-7)
    np.testing.assert_allclose(back.intensity, i, rtol=1e-7, atol=1e-300)
    np.testing.assert_allclose(back.sigma, s, rtol=1e-7)


@pytest.mark.parametrize("quirk", ["sigma0", "nan_sigma", "nan_i", "dup_q"])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), where=st.floats(0, 1))
def test_one_quirky_row_is_named_and_the_rest_kept(quirk, seed, where):
    rng = np.random.default_rng(seed)
    q = np.linspace(0.01, 0.3, 60)
    i = np.exp(-((q * 30) ** 2) / 3) + rng.normal(0, 1e-3, 60)
    s = np.full(60, 1e-3)
    k = int(where * 59)
    if quirk == "sigma0":
        s[k] = 0.0
    elif quirk == "nan_sigma":
        s[k] = math.nan
    elif quirk == "nan_i":
        i[k] = math.nan
    elif k > 0:
        q[k] = q[k - 1]
    else:
        q[1] = q[0]
        k = 1
    use = Curve(q, i, s, "A^-1").rows()
    assert use.n_usable == 59
    assert sum(len(rows) for _, rows in use.skipped) == 1 and use.skipped[0][1] == (k,)
