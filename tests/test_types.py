# SPDX-License-Identifier: MIT
"""Results stay what they were made as: ``meta`` is read-only and never shared."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import numpy as np
import pytest

from halos_analysis.types import Curve, FrameCurves


def _curve() -> Curve:
    q = np.linspace(0.1, 1.0, 5)
    return Curve(q, np.ones(5), np.full(5, 0.1), "nm^-1", name="c", meta={"source": "x.dat"})


def test_meta_is_read_only_and_a_copy():
    given = {"source": "x.dat"}
    q = np.linspace(0.1, 1.0, 5)
    curve = Curve(q, np.ones(5), np.full(5, 0.1), "nm^-1", meta=given)
    with pytest.raises(TypeError):
        curve.meta["source"] = "y.dat"  # type: ignore[index]
    given["source"] = "changed later"
    assert curve.meta["source"] == "x.dat"


def test_replace_copies_do_not_share_meta():
    a = _curve()
    b = dataclasses.replace(a, meta={**a.meta, "title": "t"})
    assert "title" not in a.meta and b.meta["title"] == "t"
    assert dataclasses.replace(a, name="d").meta == a.meta


def test_frame_curves_meta_is_read_only():
    frames = FrameCurves(np.arange(3.0), np.ones((2, 3)), np.ones((2, 3)), "A^-1",
                         meta={"intensity_unit": "1/cm"})  # fmt: skip
    with pytest.raises(TypeError):
        frames.meta["x"] = 1  # type: ignore[index]
    assert frames.curve(1).meta["intensity_unit"] == "1/cm"


def test_results_pickle_and_copy_with_their_meta():
    a = _curve()
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        assert dict(b.meta) == dict(a.meta)
        with pytest.raises(TypeError):
            b.meta["source"] = "y"  # type: ignore[index]
    assert a.to_dict()["meta"] == {"source": "x.dat"}
