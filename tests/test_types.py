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


def test_no_guinier_region_is_a_falsy_result_with_its_reason():
    import json

    from halos_analysis.analysis.guinier import auto_guinier
    from halos_analysis.analysis.pipeline import result_from_dict
    from halos_analysis.types import GuinierResult

    q = np.linspace(0.01, 0.3, 60)
    flat = Curve(q, 1.0 + q**2, np.full_like(q, 0.01), "A^-1")  # rises: no Guinier decay
    res = auto_guinier(flat)
    assert not res and not res.found and not res.valid
    assert res.first is None and res.last is None
    assert "Guinier" in res.reason and res.reason in str(res)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["first"] is None and d["last"] is None and d["reason"] == res.reason
    back = result_from_dict(GuinierResult, d)
    assert not back and back.reason == res.reason and back.first is None

    too_short = auto_guinier(Curve(q[:4], np.ones(4), np.ones(4), "A^-1"))
    assert not too_short and "at least 5" in too_short.reason


def test_a_found_guinier_result_is_truthy_and_says_no_reason():
    from halos_analysis.analysis.guinier import auto_guinier

    q = np.linspace(0.005, 0.3, 200)
    i = 100.0 * np.exp(-((q * 30.0) ** 2) / 3)
    res = auto_guinier(Curve(q, i, 0.01 * i + 1e-4, "A^-1"))
    assert res and res.found and isinstance(res.first, int)
    assert "reason" not in res.to_dict()
