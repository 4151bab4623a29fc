# SPDX-License-Identifier: MIT
"""Integration against RAW's profiles of real frames; skips without ../shared/validation."""

from __future__ import annotations

import numpy as np
import pytest
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.integrate import IntegrationSettings, Integrator

# -- validation on real data with BioXTAS RAW's results (skips without ../shared/validation) ----
#
# RAW integrates with pyFAI ("nosplit_csr") under its own conventions, reproduced here: a Fit2D
# geometry with the beam centre's y counted from the bottom, as many bins as the longest
# beam-to-corner distance in pixels, a q range from 0 to that distance, masks drawn as shapes
# and rasterised (crossing-number polygons, Bresenham circles, inclusive rectangles) then
# flipped up-down, a counter normalisation and an absolute-scale constant, log re-binning, and
# the first/last points trimmed. pyFAI's Poisson variant (max(counts, 1)) is what RAW reports.


def _polygon_mask(vertices, shape):
    """Pixels (col=x, row=y) inside a polygon, crossing-number rule (half-open in y)."""
    v = np.asarray(vertices, float)
    r0, r1 = max(int(np.floor(v[:, 1].min())), 0), min(int(np.ceil(v[:, 1].max())) + 1, shape[0])
    c0, c1 = max(int(np.floor(v[:, 0].min())), 0), min(int(np.ceil(v[:, 0].max())) + 1, shape[1])
    out = np.zeros(shape, bool)
    if r0 >= r1 or c0 >= c1:
        return out
    yy, xx = np.mgrid[r0:r1, c0:c1].astype(float)
    inside = np.zeros(yy.shape, bool)
    for (xa, ya), (xb, yb) in zip(v, np.roll(v, 1, axis=0), strict=True):
        if ya == yb:
            continue
        crosses = ((ya <= yy) & (yy < yb)) | ((yb <= yy) & (yy < ya))
        inside ^= crosses & (xx < (xb - xa) * (yy - ya) / (yb - ya) + xa)
    out[r0:r1, c0:c1] = inside
    return out


def _circle_mask(row, col, radius, shape):
    """Filled circle from the midpoint (Bresenham) circle's spans."""
    out = np.zeros(shape, bool)
    x, y, switch = 0, radius, 3 - 2 * radius
    while x <= y:
        for s in (x, -x):
            if 0 <= row + s < shape[0]:
                out[row + s, max(col - y, 0) : max(col + y + 1, 0)] = True
            if 0 <= col + s < shape[1]:
                out[max(row - y, 0) : max(row + y + 1, 0), col + s] = True
        if switch < 0:
            switch += 4 * x + 6
        else:
            switch += 4 * (x - y) + 10
            y -= 1
        x += 1
    return out


def raw_mask(shapes, shape):
    masked = np.zeros(shape, bool)
    for m in shapes:
        kind = m.get("type") or m.get("_type")
        if kind == "rectangle":
            p1, p2 = (m["first_point"], m["second_point"]) if "first_point" in m else m["_points"]
            r0, r1 = sorted([int(p1[1]), int(p2[1])])
            c0, c1 = sorted([int(p1[0]), int(p2[0])])
            masked[max(r0, 0) : r1 + 1, max(c0, 0) : c1 + 1] = True
        elif kind == "polygon":
            masked |= _polygon_mask(m.get("vertices") or m["_points"], shape)
        elif kind == "circle":
            (cx, cy), (rx, _) = m["center_point"], m["radius_point"]
            masked |= _circle_mask(int(cy), int(cx), int(abs(rx - cx)), shape)
    return np.flipud(masked)  # RAW draws masks with y up


def raw_geometry(shape, x_c, y_c, dist_mm, pixel_um, wavelength_a):
    """pyFAI geometry, number of bins and q range (Å⁻¹) as RAW sets them up."""
    ai = AzimuthalIntegrator(wavelength=wavelength_a * 1e-10)
    ny, nx = shape
    y_c = ny - y_c
    corners = [(nx - x_c, y_c), (x_c, y_c), (x_c, ny - y_c), (nx - x_c, ny - y_c)]
    npt = max([int(np.hypot(a, b)) for a, b in corners] + [int(max(nx - x_c, ny - y_c, x_c, y_c))])
    ai.setFit2D(dist_mm, x_c, y_c, 0.0, 0.0, pixel_um, pixel_um)
    theta = 0.5 * np.arctan(npt * pixel_um * 1e-6 / (dist_mm * 1e-3))
    return ai, npt, (0.0, 4 * np.pi * np.sin(theta) / wavelength_a)


def raw_log_rebin(q, intensity, sigma, n_out):
    """Average consecutive bins into ``n_out`` groups growing geometrically (RAW's log bins)."""
    start = 1
    while True:
        edges = np.geomspace(start, len(q), n_out + 1 - start)
        first_wide = np.argwhere(np.ediff1d(edges) > 1)[0][0]
        if first_wide == 0:
            break
        start = int(np.floor(edges[first_wide + 1]))
    edges = edges.astype(int)
    edges[0] = start
    edges = np.concatenate((np.arange(start), edges))
    width = np.diff(edges)
    total = np.add.reduceat
    return (
        total(q, edges[:-1]) / width,
        total(intensity, edges[:-1]) / width,
        np.sqrt(total(sigma**2, edges[:-1])) / width,
    )


def full_grid(integ, values):
    """Curves back on all ``npt`` bins, empty bins as 0 (as pyFAI and RAW report them)."""
    out = np.zeros(values.shape[:-1] + (integ.settings.npt,))
    out[..., integ.kept_bins] = values
    return out


def test_validation_pilatus100k_raw_profile(validation_dir, tmp_path):
    import json
    import re

    from halos_analysis.io.frames import open_frames

    ref = json.loads((validation_dir / "reference.json").read_text())["cases"]["pilatus100k_frame"]
    cfg = json.loads((validation_dir / ref["settings"]).read_text())
    src = open_frames(validation_dir / ref["image"])
    frame = src.read(0)
    assert frame.sum() == ref["image_checks"]["sum"]
    frame = np.fliplr(frame)  # RAW's DetectorFlipLR
    geo = ref["geometry"]
    ai, npt, q_range = raw_geometry(frame.shape, cfg["Xcenter"], cfg["Ycenter"],
                                    geo["sample_detector_distance_mm"], geo["pixel_um"],
                                    geo["wavelength_A"])  # fmt: skip
    mask = raw_mask(cfg["Masks"]["BeamStopMask"][1], frame.shape)
    diode = float(re.search(r"diode = (\d+)", ref["processing"]["normalisation"]).group(1))
    counter = diode / float(cfg["NormalizationList"][0][1].split("/")[1])
    scale = cfg["NormAbsWaterConst"] if cfg.get("NormAbsWater") else 1.0
    st = IntegrationSettings(npt=npt, unit="q_A^-1", radial_range=q_range, scale=scale,
                             error_model="poisson_pyfai", polarization_factor=None)  # fmt: skip
    integ = Integrator(ai, frame.shape, mask, st, cache_dir=tmp_path)
    intensity, sigma = integ.integrate_batch(frame, monitor=counter)
    first, last = cfg["StartPoint"], cfg["EndPoint"]
    q_all = np.zeros(npt)
    q_all[integ.kept_bins] = integ.q
    trim = slice(first, npt - last)
    q, i, s = q_all[trim], full_grid(integ, intensity)[0][trim], full_grid(integ, sigma)[0][trim]
    expected = np.loadtxt(validation_dir / ref["expected_profile"], skiprows=4,
                          max_rows=ref["profile"]["n"])  # fmt: skip
    assert len(q) == len(expected)
    np.testing.assert_allclose(q, expected[:, 0], rtol=1e-6)
    good = expected[:, 2] / expected[:, 1] < 0.05
    assert good.sum() > 0.9 * len(good)
    np.testing.assert_allclose(i[good], expected[good, 1], rtol=5e-3)
    np.testing.assert_allclose(s[good], expected[good, 2], rtol=5e-3)


def test_validation_eiger9m_raw_profiles(validation_dir, tmp_path):
    import json

    from halos_analysis.io.frames import open_frames

    ref = json.loads((validation_dir / "reference.json").read_text())["cases"]["eiger9m_frames"]
    cfg = json.loads((validation_dir / "frames" / "settings_biocat_eiger.cfg").read_text())
    src = open_frames(f"{validation_dir / ref['file']}::/entry/data/data")
    frames = np.stack([src.read(i) for i in range(src.n_frames)])
    sums = [int(f.sum(dtype=np.int64)) for f in frames]
    assert sums == [ref["image_checks"]["frame0_sum"], ref["image_checks"]["frame1_sum"]]
    # The counter RAW divides by (NormalizationList "/ I1"), per frame, from the run's log.
    log = (validation_dir / "frames" / "vac_007.log").read_text().splitlines()
    header = next(li for li in log if li.startswith("#Filename")).lstrip("#").split("\t")
    rows = [li.split("\t") for li in log if li.startswith("vac_007_")]
    counter = [float(r[header.index(cfg["NormalizationList"][0][1])]) for r in rows]
    shape = frames.shape[1:]
    ai, npt, q_range = raw_geometry(shape, cfg["Xcenter"], cfg["Ycenter"], cfg["SampleDistance"],
                                    cfg["DetectorPixelSizeX"], cfg["WaveLength"])  # fmt: skip
    mask = raw_mask(cfg["Masks"]["BeamStopMask"][1], shape)
    scale = cfg["NormAbsCarbonConst"] if cfg.get("NormAbsCarbon") else 1.0
    st = IntegrationSettings(npt=npt, unit="q_A^-1", radial_range=q_range, scale=scale,
                             error_model="poisson_pyfai", polarization_factor=None)  # fmt: skip
    integ = Integrator(ai, shape, mask, st, cache_dir=tmp_path, invalid_value=src.invalid_value)
    intensity, sigma = integ.integrate_batch(frames, monitor=counter)
    q_all = np.zeros(npt)
    q_all[integ.kept_bins] = integ.q
    prof = ref["profiles"]
    for k, key in enumerate(("frame0_sum_I", "frame1_sum_I")):
        q, i, _ = raw_log_rebin(q_all, full_grid(integ, intensity)[k], full_grid(integ, sigma)[k],
                                npt // cfg["Binsize"])  # fmt: skip
        trim = slice(cfg["StartPoint"], len(q) - cfg["EndPoint"])
        q, i = q[trim], i[trim]
        assert len(q) == prof["n"]
        assert q[0] == pytest.approx(prof["q_first"], rel=1e-2)
        assert q[-1] == pytest.approx(prof["q_last"], rel=1e-2)
        assert i.sum() == pytest.approx(prof[key], rel=1e-2)
        if k == 0:
            assert i[0] == pytest.approx(prof["frame0_I_first"], rel=1e-2)
