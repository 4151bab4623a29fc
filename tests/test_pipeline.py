# SPDX-License-Identifier: MIT
"""Per-sample stages: buffers measured around a sample, flags carried by curve files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from halos_analysis.analysis.pipeline import analyse_curve, combine_buffers
from halos_analysis.io.curves import read_curve, write_dat
from halos_analysis.types import Curve

ROOT = Path(__file__).resolve().parents[1]


def _buffer(rng: np.random.Generator, q: np.ndarray, level: float, name: str) -> Curve:
    mean = level * (1 + 0.002 * q**2)
    sigma = 0.01 * mean
    return Curve(q, mean + rng.normal(0, sigma), sigma, "nm^-1", name=name)


def test_buffers_that_agree_are_averaged_without_flag():
    rng = np.random.default_rng(3)
    q = np.linspace(0.05, 4.0, 600)
    before, after = _buffer(rng, q, 1.0, "before"), _buffer(rng, q, 1.0, "after")
    combined = combine_buffers([before, after])
    assert combined.flags == ()
    assert np.allclose(combined.curve.intensity, (before.intensity + after.intensity) / 2)
    # Averaging two independent measurements shrinks sigma by sqrt(2).
    assert np.allclose(combined.curve.sigma, before.sigma / np.sqrt(2), rtol=0.02)


def test_buffers_that_differ_are_flagged():
    rng = np.random.default_rng(4)
    q = np.linspace(0.05, 4.0, 600)
    before, after = _buffer(rng, q, 1.0, "before"), _buffer(rng, q, 1.03, "after")
    combined = combine_buffers([before, after])
    assert combined.flags == ("buffers_differ",)
    assert combined.similarity is not None and combined.similarity.adjusted[0][1] < 0.01


def test_flags_travel_with_the_curve_file_into_the_analysis(tmp_path):
    curve = read_curve(ROOT / "example_data" / "bsa_profile.dat")
    out = write_dat(curve, tmp_path / "sub.dat", {"flags": "buffers_differ"})
    again = read_curve(out)
    assert again.meta["flags"] == ("buffers_differ",)
    assert np.allclose(again.intensity, curve.intensity, rtol=1e-8)
    analysis = analyse_curve(again)
    assert "buffers_differ" in analysis.flags and analysis.guinier.valid


def test_a_failed_pr_keeps_guinier_and_mw(monkeypatch):
    from halos_analysis.analysis import pr as pr_mod
    from halos_analysis.analysis.pipeline import SampleAnalysis
    from halos_analysis.errors import HalosInputError

    def refuse(curve, guinier=None, **kw):
        raise HalosInputError("too few points for an IFT", "sub.dat", "rows")

    monkeypatch.setattr(pr_mod, "bift", refuse)
    curve = read_curve(ROOT / "example_data" / "bsa_profile.dat")
    analysis = analyse_curve(curve, concentration_mg_ml=5.0)
    assert analysis.pr is None and "pr_failed" in analysis.flags
    assert analysis.guinier.valid and analysis.mw is not None
    again = SampleAnalysis.from_dict(analysis.to_dict())
    assert again.pr is None and again.flags == analysis.flags
