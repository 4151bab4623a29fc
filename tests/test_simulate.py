# SPDX-License-Identifier: MIT
"""The example-data simulator: deterministic, Poisson around the intended image, and the
intended image integrates back to the source profile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyFAI
import pytest

from halos_analysis.io.curves import read_curve
from halos_analysis.io.frames import open_frames
from halos_analysis.simulate import (
    DETECTORS,
    ProteinModel,
    aggregate_fraction,
    build_detector_model,
    damaged_rg,
    default_profile_path,
    guinier_fit,
    simulate_example,
    solvent_cm,
)
from halos_analysis.types import Curve

N = 3


@pytest.fixture(scope="module")
def profile() -> Curve:
    return read_curve(default_profile_path(), q_unit="nm^-1")


@pytest.fixture(scope="module")
def pilatus_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """Pilatus-only runs: seed 7 twice and seed 8 once."""
    runs = {}
    for tag, seed in (("a", 7), ("b", 7), ("c", 8)):
        out = tmp_path_factory.mktemp(f"sim_{tag}")
        runs[tag] = (
            out,
            simulate_example(
                out, seed=seed, n_frames=N, damaged_frames=1, detectors=("pilatus2m",)
            ),
        )
    return runs


def test_same_seed_same_bytes_other_seed_other_counts(pilatus_runs):
    frame = Path("pilatus2m", "bsa", "frame_00002.cbf")
    a, b, c = ((pilatus_runs[t][0] / frame).read_bytes() for t in "abc")
    assert a == b
    assert a != c
    ta, tc = pilatus_runs["a"][1], pilatus_runs["c"][1]
    assert ta["detectors"]["pilatus2m"]["monitor"] != tc["detectors"]["pilatus2m"]["monitor"]


def test_layout_and_truth(pilatus_runs):
    out, truth = pilatus_runs["a"]
    assert json.loads((out / "truth.json").read_text()) == json.loads(json.dumps(truth))
    info = truth["detectors"]["pilatus2m"]
    for key in ("poni", "mask"):
        assert (out / info[key]).is_file()
    assert sorted(p.name for p in (out / info["frames"]["bsa"]).iterdir()) == [
        f"frame_{i:05d}.cbf" for i in range(1, N + 1)
    ]
    mask = np.load(out / info["mask"])
    assert mask.dtype == bool and mask.shape == (1679, 1475)
    ai = pyFAI.load(str(out / info["poni"]))
    assert ai.detector.shape == (1679, 1475) and ai.dist == pytest.approx(3.0)
    # The beam stop is masked: the pixel nearest the beam centre is masked.
    setup = info["setup"]
    assert mask[int(setup["beam_y_px"]), int(setup["beam_x_px"])]
    # One detector covers the bioSAXS range.
    qmin, qmax = info["q_range_nm^-1"]
    assert qmin < 0.045 and qmax > 4.5
    assert truth["damage"]["damaged_frames"] == [N - 1]


def test_frames_are_poisson_around_the_expected_image(pilatus_runs, profile):
    """Summed counts in pixel groups agree with the model within Poisson statistics."""
    out, truth = pilatus_runs["a"]
    s = truth["sample"]
    model = build_detector_model(
        DETECTORS["pilatus2m"],
        ProteinModel.from_curve(profile),
        i0_cm=s["i0_cm"],
        volume_fraction=s["volume_fraction"],
        thickness_cm=s["thickness_cm"],
    )
    info = truth["detectors"]["pilatus2m"]
    src = open_frames(out / info["frames"]["buffer"])
    counts = np.zeros(src.shape)
    for batch in src.batches(size=2):
        counts += batch.data.sum(axis=0)
    scale = np.sum(np.multiply(info["monitor"]["buffer"], info["transmission"]["buffer"]))
    expected = model.buffer * scale
    use = ~model.mask
    # 200 groups of pixels by q: each sum is Poisson with a large mean, so z ~ N(0, 1).
    order = np.argsort(model.ai.qArray()[use])
    groups = np.array_split(order, 200)
    obs = np.array([counts[use][g].sum() for g in groups])
    exp = np.array([expected[use][g].sum() for g in groups])
    z = (obs - exp) / np.sqrt(exp)
    n = len(z)
    assert abs(np.sum(z**2) - n) < 5 * math.sqrt(2 * n)  # chi2 with n dof: mean n, sd sqrt(2n)
    assert np.abs(z).max() < 5
    assert abs(z.mean()) < 5 / math.sqrt(n)


def test_expected_image_integrates_back_to_the_profile(profile):
    """pyFAI with solid angle and the same polarisation gives back protein - phi*solvent."""
    protein = ProteinModel.from_curve(profile)
    i0_cm, phi = 0.2, 0.004
    model = build_detector_model(
        DETECTORS["eiger4m"], protein, i0_cm=i0_cm, volume_fraction=phi, thickness_cm=0.1
    )
    res = model.ai.integrate1d(
        model.sample - model.buffer,
        600,
        unit="q_nm^-1",
        mask=model.mask,
        correctSolidAngle=True,
        polarization_factor=0.99,
        method=("no", "histogram", "cython"),
        radial_range=(0.05, 1.5),
    )
    q, got = res.radial, res.intensity * model.absolute_scale
    want = protein(q) * i0_cm / protein.i0 - phi * solvent_cm(q)
    # Bins average the profile over their width; where the profile is smooth that is <0.5 %.
    strong = want > 0.05 * i0_cm
    assert strong.sum() > 100
    np.testing.assert_allclose(got[strong], want[strong], rtol=5e-3)


def test_guinier_fit_recovers_a_known_rg():
    q = np.linspace(0.02, 0.6, 200)
    rg, i0 = 3.0, 50.0
    intensity = i0 * np.exp(-((q * rg) ** 2) / 3)
    got_rg, got_i0, n = guinier_fit(q, intensity, 0.01 * intensity)
    assert got_rg == pytest.approx(rg, rel=1e-9) and got_i0 == pytest.approx(i0, rel=1e-9)
    assert q[n - 1] * rg <= 1.3 < q[n] * rg


def test_profile_extension_is_guinier_below_and_porod_above(profile):
    protein = ProteinModel.from_curve(profile)
    assert 2.5 < protein.rg_nm < 3.5  # BSA
    low = np.array([0.005, 0.02])
    np.testing.assert_allclose(protein(low), protein.i0 * np.exp(-((low * protein.rg_nm) ** 2) / 3))
    high = protein.q[-1] * np.array([1.5, 3.0])
    ratio = protein(high)[1] / protein(high)[0]
    assert ratio == pytest.approx(2.0**-4)
    inside = protein.q[10:20]
    np.testing.assert_array_equal(protein(inside), profile.intensity[10:20])


def test_damage_makes_rg_grow_by_a_few_percent(profile):
    protein = ProteinModel.from_curve(profile)
    rgs = damaged_rg(protein, [aggregate_fraction(1 + 0.05 * k) for k in (1, 2, 3)])
    growth = np.array(rgs) / protein.rg_nm - 1
    assert np.all(np.diff(growth) > 0)
    assert 0.01 < growth[0] and growth[-1] < 0.15
