# SPDX-License-Identifier: MIT
"""No cliffs: bright frames and frames with extra bad pixels stay exact (equal to pyFAI)."""

from __future__ import annotations

import numpy as np
import pytest
from pyFAI.detectors import detector_factory
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.integrate import ArrayFrames, IntegrationSettings, Integrator
from halos_analysis.integrate.kernels import sums_fast

RTOL = 1e-5


@pytest.fixture(scope="module")
def geometry():
    """Pilatus 300K, tilted, beam near an edge; the gaps plus a beamstop masked."""
    det = detector_factory("Pilatus300k")
    ai = AzimuthalIntegrator(dist=1.6, poni1=0.020, poni2=0.030, rot1=0.01, rot2=-0.005,
                             wavelength=1.0e-10, detector=det)  # fmt: skip
    mask = np.asarray(det.mask, bool).copy()
    mask[100:130, 160:190] = True
    return ai, det.shape, mask


def expected(ai, shape, level):
    q = ai.center_array(shape, unit="q_nm^-1")
    img = np.exp(-((q * 3.0) ** 2) / 3) * ai.solidAngleArray(shape) + 0.3
    return img * (level / img.mean())


def pyfai(ai, frame, mask, st, dark=None):
    return ai.integrate1d(frame.astype(np.float64), st.npt, method=(st.method, "csr", "cython"),
                          error_model="poisson", mask=mask, unit=st.unit, dark=dark,
                          polarization_factor=st.polarization_factor)  # fmt: skip


def assert_equal_pyfai(integ, intensity, sigma, ref):
    keep = integ.kept_bins
    counted = ref.count[keep] > 0
    np.testing.assert_allclose(intensity[counted], ref.intensity[keep][counted], rtol=RTOL)
    np.testing.assert_allclose(sigma[counted], ref.sigma[keep][counted], rtol=RTOL)
    # A bin whose every pixel is bad in this frame carries no value.
    assert np.all(np.isnan(intensity[~counted]))


def with_bad_pixels(frames, mask, rng, value, most=12):
    """Each frame gets 0..most random bad pixels outside the static mask."""
    ys, xs = np.nonzero(~mask)
    bad = np.zeros(frames.shape, bool)
    for f, b in zip(frames, bad, strict=True):
        pick = rng.choice(len(ys), rng.integers(0, most + 1), replace=False)
        f[ys[pick], xs[pick]] = value
        b[ys[pick], xs[pick]] = True
    return bad


@pytest.mark.parametrize("dtype", [np.uint32, np.int32])
def test_bright_frames_beyond_2_31_counts_are_exact_and_fast_path(geometry, dtype):
    """~8000 counts/pixel: 2.4e9 per frame, more than 2**31; no pixel is taken for bad."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(31)
    frames = rng.poisson(expected(ai, shape, 8000.0), size=(3, *shape)).astype(dtype)
    assert frames[0][~mask].sum(dtype=np.float64) > 2**31
    inv = 2**32 - 1 if dtype == np.uint32 else None
    st = IntegrationSettings(npt=400, polarization_factor=0.99, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=inv)
    _, _, bad = sums_fast(integ.binmap, frames.reshape(3, -1), invalid_value=inv,
                          error_model=st.error_model)  # fmt: skip
    assert bad == {}  # the per-chunk test finds nothing to correct
    intensity, sigma = integ.integrate_batch(frames)
    for i in range(3):
        assert_equal_pyfai(integ, intensity[i], sigma[i], pyfai(ai, frames[i], mask, st))


@pytest.mark.parametrize("method", ["no", "bbox"])
@pytest.mark.parametrize("error_model", ["poisson", "poisson_pyfai"])
def test_random_extra_bad_pixels_equal_pyfai_with_them_masked(geometry, method, error_model):
    """Eiger frames (uint32, bad = 2**32−1), bright, 0–12 random bad pixels per frame, a dark:
    every frame equals pyFAI on the same frame with its bad pixels added to the mask."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(32)
    inv = 2**32 - 1
    frames = rng.poisson(expected(ai, shape, 3000.0), size=(20, *shape)).astype(np.uint32)
    frames[:, mask] = inv
    bad = with_bad_pixels(frames, mask, rng, inv)
    assert bad.sum(axis=(1, 2)).max() > 0
    dark = rng.poisson(2.0, shape).astype(np.float64)
    st = IntegrationSettings(npt=300, method=method, polarization_factor=0.95, dark=dark,
                             error_model=error_model)  # fmt: skip
    integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=inv)
    intensity, sigma = integ.integrate_batch(frames)
    ref_st = IntegrationSettings(npt=300, method=method, polarization_factor=0.95)
    for i in range(len(frames)):
        # Bright: every pixel holds ≫ 1 count, so HALOS's σ (variance = counts) and pyFAI's
        # (variance = max(counts, 1)) agree for both error models.
        ref = pyfai(ai, frames[i], mask | bad[i], ref_st, dark=dark)
        assert_equal_pyfai(integ, intensity[i], sigma[i], ref)


def test_other_dtypes_bad_values_and_a_bin_with_no_good_pixel(geometry):
    """Pilatus int32 (−2), Eiger uint16 (65535), float32 (NaN, ±inf); one frame loses every
    pixel of one bin: that bin is NaN there, the rest equal pyFAI."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(33)
    st = IntegrationSettings(npt=300, polarization_factor=0.99, error_model="poisson_pyfai")
    base = np.minimum(rng.poisson(expected(ai, shape, 2000.0), size=(6, *shape)), 60000)
    cases = [(np.int32, -2, None), (np.uint16, 65535, 65535), (np.float32, np.nan, None)]
    for dtype, value, inv in cases:
        frames = base.astype(dtype)
        bad = with_bad_pixels(frames, mask, rng, value)
        if dtype == np.float32:
            frames[1, 300, 300], frames[2, 310, 200] = np.inf, -np.inf
            bad[1, 300, 300] = bad[2, 310, 200] = True
        integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=inv)
        if dtype == np.int32:  # every pixel of one bin bad in frame 3
            row = integ.binmap.matrix[len(integ.q) // 2]
            ys, xs = np.unravel_index(row.indices, shape)
            frames[3, ys, xs] = value
            bad[3, ys, xs] = True
        intensity, sigma = integ.integrate_batch(frames)
        for i in range(len(frames)):
            ref = pyfai(ai, np.where(bad[i], 0, frames[i]), mask | bad[i], st)
            assert_equal_pyfai(integ, intensity[i], sigma[i], ref)
        if dtype == np.int32:
            assert np.isnan(intensity[3, len(integ.q) // 2])
            assert np.isfinite(intensity[2, len(integ.q) // 2])


def test_uint32_counts_above_2_31_that_are_not_bad_are_counted(geometry):
    """The int32 view of uint32 wraps counts ≥ 2**31: a genuine one is counted, not lost."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(34)
    frame = rng.poisson(expected(ai, shape, 50.0)).astype(np.uint32)
    frame[200, 250] = 3_000_000_000
    st = IntegrationSettings(npt=300, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=2**32 - 1)
    intensity, sigma = integ.integrate_batch(frame)
    assert_equal_pyfai(integ, intensity[0], sigma[0], pyfai(ai, frame, mask, st))


def test_integrate_source_with_bad_pixels_equals_batch(geometry):
    """Through Dask tasks and reused buffers the same numbers come out."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(35)
    frames = rng.poisson(expected(ai, shape, 1000.0), size=(40, *shape)).astype(np.uint32)
    with_bad_pixels(frames, mask, rng, 2**32 - 1)
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=300), cache_dir=False,
                       invalid_value=2**32 - 1)  # fmt: skip
    src = ArrayFrames(frames, invalid_value=2**32 - 1)
    threads = integ.integrate_source(src, batch_size=7)
    direct = integ.integrate_batch(frames)
    np.testing.assert_array_equal(threads.intensity, direct[0])
    np.testing.assert_array_equal(threads.sigma, direct[1])
