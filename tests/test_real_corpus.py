# SPDX-License-Identifier: MIT
"""Accuracy and honesty of the analysis core on real measured curves.

The in-project curves (``tests/data/real``, licences allowing copies) always run; the shared
corpus (``$HALOS_VALIDATION_DIR``) when present. The figures asserted are the measured ones
with their margin (see the closing note of the real-data issue), not the issue's looser
targets where we do better. Everything goes through ``benchmarks/bench_accuracy.py``, the
same code ``make bench`` prints.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from conftest import VALIDATION

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location(
        "bench_accuracy", ROOT / "benchmarks" / "bench_accuracy.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_accuracy"] = module
    spec.loader.exec_module(module)
    return module


B = _harness()
IN_PROJECT = ROOT / "tests" / "data" / "real"


@pytest.fixture(scope="module")
def in_project():
    return B.run([IN_PROJECT], with_freesas=False)


def test_every_in_project_curve_is_analysed_and_none_is_silently_wrong(in_project):
    s = in_project["summary"]["halos"]
    assert s["curves"] == 6 and s["refused"] == 0
    assert s["silent_failures"] == 0, s["silent_curves"]


def test_in_project_figures(in_project):
    s = in_project["summary"]["halos"]
    # Measured 2026-12: Rg mean 0.98 %, max 2.42 %; I0 mean 1.17 %; Dmax 3/3, mean 4.3 %.
    assert s["guinier_rg"]["n"] == 5 and s["guinier_rg"]["mean"] <= 0.010
    assert s["guinier_rg"]["max"] <= 0.025
    assert s["guinier_i0"]["mean"] <= 0.0125
    assert s["pr_dmax_within_tol"] == "3/3" and s["pr_dmax"]["mean"] <= 0.05


def test_quirks_of_real_files_never_give_a_silent_failure():
    # σ = 0 and NaN rows, beam-stop shadow (a dead point, a rising ramp), data starting
    # late or stopping early, a background offset, aggregates, a structure factor, 3× the
    # noise, no σ at all: each on each in-project curve.
    st = B.stress([IN_PROJECT])
    assert st["cases"] == 55 and st["refused"] == 0
    silent = [(r["curve"], r["quirk"]) for r in st["rows"] if r.get("silent")]
    assert silent == []


@pytest.mark.skipif(not VALIDATION.is_dir(), reason="set HALOS_VALIDATION_DIR for the corpus")
def test_shared_corpus_targets():
    folders = [IN_PROJECT, VALIDATION / "corpus", VALIDATION / "curves"]
    result = B.run([f for f in folders if f.is_dir()], freesas_pr=False)
    ours = result["summary"]["halos"]
    assert ours["refused"] == 0
    assert ours["silent_failures"] == 0, ours["silent_curves"]
    # Measured 2026-12 on 21 curves: Rg mean 0.58 %, max 2.42 % (freesas autoRg 0.77 %,
    # 2.91 %); I0 mean 0.53 %; Rg(P(r)) mean 1.01 %; Dmax within tolerance 14/16 (the two
    # misses are one lysozyme measurement, .dat and GNOM .out, where GNOM's user-set 49.5 Å
    # stands against 42.3 Å from our BIFT and 40.9 Å from freesas').
    assert ours["guinier_rg"]["mean"] <= 0.0065 and ours["guinier_rg"]["max"] <= 0.025
    assert ours["guinier_i0"]["mean"] <= 0.006
    assert ours["pr_rg"]["mean"] <= 0.011
    within, total = (int(x) for x in ours["pr_dmax_within_tol"].split("/"))
    assert within >= 14 and total == 16
    if "freesas" in result["summary"]:
        assert ours["guinier_rg"]["mean"] < result["summary"]["freesas"]["guinier_rg"]["mean"]
