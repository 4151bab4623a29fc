# SPDX-License-Identifier: MIT
"""The integration engine: identical to pyFAI's integrate1d, right σ, cached maps, clear errors."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from pyFAI.detectors import detector_factory
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from halos_analysis.errors import HalosInputError
from halos_analysis.integrate import (
    ArrayFrames,
    IntegrationSettings,
    Integrator,
    integrate_files,
)

RTOL = 1e-5


@pytest.fixture(scope="module")
def geometry():
    """Pilatus 300K, beam near one edge, small tilt; the detector gaps plus a beamstop masked."""
    det = detector_factory("Pilatus300k")
    ai = AzimuthalIntegrator(dist=1.6, poni1=0.020, poni2=0.030, rot1=0.01, rot2=-0.005,
                             wavelength=1.0e-10, detector=det)  # fmt: skip
    mask = np.asarray(det.mask, bool).copy()
    mask[100:130, 160:190] = True
    return ai, det.shape, mask


def saxs_image(ai, shape, i0=2000.0, rg_nm=3.0, background=0.3):
    """Expected counts of a SAXS-like frame: Guinier decay on a flat background."""
    q = ai.center_array(shape, unit="q_nm^-1")
    return i0 * np.exp(-((q * rg_nm) ** 2) / 3) * ai.solidAngleArray(shape) + background


def pyfai_curve(ai, frame, mask, settings, k=1.0, dark=None, flat=None, algo="csr"):
    return ai.integrate1d(frame, settings.npt, method=(settings.method, algo, "cython"),
                          error_model="poisson", mask=mask, unit=settings.unit,
                          polarization_factor=settings.polarization_factor,
                          correctSolidAngle=True, normalization_factor=k, dark=dark,
                          flat=flat)  # fmt: skip


def assert_matches(integ, intensity, sigma, ref, check_sigma=True):
    keep = integ.kept_bins
    np.testing.assert_allclose(integ.q, ref.radial[keep], rtol=1e-7)
    counted = ref.count[keep] > 0
    assert counted.sum() > 0.9 * len(counted)
    np.testing.assert_allclose(intensity[counted], ref.intensity[keep][counted], rtol=RTOL)
    if check_sigma:
        np.testing.assert_allclose(sigma[counted], ref.sigma[keep][counted], rtol=RTOL)
    # Bins no pixel reaches are left out, not reported as 0.
    assert np.all(ref.count[np.setdiff1d(np.arange(len(ref.radial)), keep)] == 0)


@pytest.mark.parametrize("method", ["no", "bbox", "full"])
@pytest.mark.parametrize("unit", ["q_nm^-1", "q_A^-1"])
def test_matches_pyfai_integrate1d(geometry, method, unit):
    ai, shape, mask = geometry
    rng = np.random.default_rng(3)
    frames = rng.poisson(saxs_image(ai, shape), size=(3, *shape)).astype(np.int32)
    monitor, transmission = np.array([1.0e5, 2.0e5, 1.5e5]), np.array([0.5, 0.6, 0.7])
    st = IntegrationSettings(npt=400, unit=unit, method=method, polarization_factor=0.97,
                             error_model="poisson_pyfai")  # fmt: skip
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    intensity, sigma = integ.integrate_batch(frames, monitor, transmission)
    algos = ["csr", "histogram"] if method != "full" else ["csr"]
    for i in (0, 2):
        for algo in algos:
            ref = pyfai_curve(ai, frames[i], mask, st, monitor[i] * transmission[i], algo=algo)
            assert_matches(integ, intensity[i], sigma[i], ref)


def test_default_poisson_equals_pyfai_where_no_pixel_is_empty(geometry):
    """Default σ = sqrt(Σ counts): pyFAI's max(counts, 1) only differs where a pixel holds 0."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(4)
    frame = rng.poisson(saxs_image(ai, shape, background=60.0)).astype(np.int32)
    assert frame[~mask].min() > 0
    st = IntegrationSettings(npt=300, polarization_factor=0.99)
    assert st.error_model == "poisson"
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    intensity, sigma = integ.integrate_batch(frame)
    assert_matches(integ, intensity[0], sigma[0], pyfai_curve(ai, frame, mask, st))


def test_dark_flat_scale_match_pyfai(geometry):
    ai, shape, mask = geometry
    rng = np.random.default_rng(5)
    frame = rng.poisson(saxs_image(ai, shape) + 5).astype(np.int32)
    dark = rng.poisson(2.0, shape).astype(np.float64)
    flat = rng.uniform(0.9, 1.1, shape)
    st = IntegrationSettings(npt=250, method="bbox", polarization_factor=0.9, dark=dark,
                             flat=flat, scale=2.5, error_model="poisson_pyfai")  # fmt: skip
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    intensity, sigma = integ.integrate_batch(frame, monitor=3.0, transmission=0.4)
    ref = pyfai_curve(ai, frame, mask, st, k=3.0 * 0.4 / 2.5, dark=dark, flat=flat)
    assert_matches(integ, intensity[0], sigma[0], ref)


def test_pilatus2m_real_size():
    det = detector_factory("Pilatus2M")
    ai = AzimuthalIntegrator(dist=2.8, poni1=0.12, poni2=0.13, wavelength=0.99e-10, detector=det)
    shape, mask = det.shape, np.asarray(det.mask, bool)
    rng = np.random.default_rng(6)
    frames = rng.poisson(saxs_image(ai, shape, i0=500.0, rg_nm=4.0), (2, *shape)).astype(np.int32)
    st = IntegrationSettings(npt=1000, polarization_factor=0.99, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    intensity, sigma = integ.integrate_batch(frames, monitor=[1.0, 2.0])
    for i in range(2):
        ref = pyfai_curve(ai, frames[i], mask, st, k=float(i + 1))
        assert_matches(integ, intensity[i], sigma[i], ref)


def reduced_chi2(integ, expected, rng, n_pairs=1):
    chi = []
    for _ in range(n_pairs):
        pair = rng.poisson(expected, size=(2, *expected.shape)).astype(np.int32)
        intensity, sigma = integ.integrate_batch(pair)
        chi.append((intensity[0] - intensity[1]) ** 2 / (sigma[0] ** 2 + sigma[1] ** 2))
    chi = np.concatenate(chi)
    return chi.mean(), len(chi)


@pytest.mark.parametrize("image", ["flat", "saxs"])
def test_sigma_is_right_reduced_chi2(geometry, image):
    """Two independent frames differ by what their σ says: reduced χ² = 1 ± its spread."""
    ai, shape, mask = geometry
    expected = np.full(shape, 0.8) if image == "flat" else saxs_image(ai, shape, background=0.2)
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=500), cache_dir=False)
    chi2, nu = reduced_chi2(integ, expected, np.random.default_rng(7), n_pairs=2)
    assert abs(chi2 - 1) < 4 * np.sqrt(2 / nu), (chi2, nu)


def test_pyfai_poisson_overestimates_sigma_at_low_counts(geometry):
    """Why the default differs: max(counts, 1) inflates σ when pixels hold < 1 count."""
    ai, shape, mask = geometry
    st = IntegrationSettings(npt=300, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    chi2, nu = reduced_chi2(integ, np.full(shape, 0.5), np.random.default_rng(8))
    assert chi2 < 1 - 4 * np.sqrt(2 / nu)


def test_split_sigma_follows_pyfai_coefficients_squared(geometry):
    ai, shape, mask = geometry
    st = IntegrationSettings(npt=300, method="bbox")
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    rng = np.random.default_rng(9)
    frame = rng.poisson(np.full(shape, 50.0)).astype(np.int32)
    intensity, sigma = integ.integrate_batch(frame)
    ref = pyfai_curve(ai, frame, mask, st)
    assert_matches(integ, intensity[0], sigma[0], ref)


def test_per_frame_invalid_pixels_are_left_out(geometry):
    """Eiger 2**32-1 pixels outside the static mask: that frame equals pyFAI with them masked."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(10)
    frames = rng.poisson(saxs_image(ai, shape), size=(4, *shape)).astype(np.uint32)
    inv = np.uint32(2**32 - 1)
    frames[:, mask] = inv  # gaps: in the static mask, never seen
    hot = (np.array([200, 300, 400]), np.array([100, 200, 300]))
    frames[2][hot] = inv
    st = IntegrationSettings(npt=300, error_model="poisson_pyfai")
    for method in ("no", "bbox"):
        st = IntegrationSettings(npt=300, method=method, error_model="poisson_pyfai")
        integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=int(inv))
        intensity, sigma = integ.integrate_batch(frames)
        for i in range(4):
            frame_mask = mask | (frames[i] == inv)
            ref = pyfai_curve(ai, frames[i].astype(np.int64), frame_mask, st)
            assert_matches(integ, intensity[i], sigma[i], ref)
    # Signed frames: negative counts (Pilatus -1/-2) are bad too; NaN in float frames.
    signed = frames.astype(np.int64)
    signed[signed == inv] = -1
    floats = signed.astype(np.float32)
    floats[floats < 0] = np.nan
    st = IntegrationSettings(npt=300, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False)
    for data in (signed, floats):
        intensity, sigma = integ.integrate_batch(data)
        ref = pyfai_curve(ai, frames[2].astype(np.int64), mask | (frames[2] == inv), st)
        assert_matches(integ, intensity[2], sigma[2], ref)


def test_dark_with_bad_pixels_and_bad_monitor(geometry):
    ai, shape, mask = geometry
    rng = np.random.default_rng(16)
    frames = rng.poisson(saxs_image(ai, shape) + 3, size=(2, *shape)).astype(np.uint32)
    frames[1, 300:302, 200:260] = 2**32 - 1  # a burst of bad pixels in one frame
    dark = rng.poisson(1.0, shape).astype(np.float64)
    st = IntegrationSettings(npt=300, dark=dark, error_model="poisson_pyfai")
    integ = Integrator(ai, shape, mask, st, cache_dir=False, invalid_value=2**32 - 1)
    intensity, sigma = integ.integrate_batch(frames)
    for i in range(2):
        ref = pyfai_curve(ai, frames[i].astype(np.int64), mask | (frames[i] == 2**32 - 1), st,
                          dark=dark)  # fmt: skip
        assert_matches(integ, intensity[i], sigma[i], ref)
    src = ArrayFrames(frames, monitor=[1.0, 0.0], name="run9.h5")
    with pytest.raises(HalosInputError, match="must be a positive number") as err:
        integ.integrate_source(src, "sync")
    assert err.value.path == "run9.h5" and err.value.field == "frame 1"


def test_sigma_clip_removes_zingers(geometry):
    ai, shape, mask = geometry
    rng = np.random.default_rng(11)
    expected = saxs_image(ai, shape, background=2.0)
    clean = rng.poisson(expected).astype(np.int32)
    zinger = clean.copy()
    ys, xs = np.nonzero(~mask)
    pick = rng.choice(len(ys), 40, replace=False)
    zinger[ys[pick], xs[pick]] += 5000
    plain = Integrator(ai, shape, mask, IntegrationSettings(npt=300), cache_dir=False)
    clip = Integrator(ai, shape, mask, IntegrationSettings(npt=300, sigma_clip=5.0),
                      cache_dir=False)  # fmt: skip
    i_clean, s_clean = plain.integrate_batch(clean)
    i_zing, _ = plain.integrate_batch(zinger)
    i_clip, s_clip = clip.integrate_batch(zinger)
    hit = np.abs(i_zing[0] - i_clean[0]) > 5 * s_clean[0]
    assert hit.sum() >= 10  # the zingers do spoil the plain curve
    # Clipped: back to the clean curve within its σ (a few genuine pixels may be clipped too).
    assert np.all(np.abs(i_clip[0] - i_clean[0]) < 3 * s_clean[0])
    assert np.all(np.isfinite(s_clip))


def test_cache_roundtrip_and_key(geometry, tmp_path):
    ai, shape, mask = geometry
    st = IntegrationSettings(npt=200, method="bbox")
    frame = np.random.default_rng(12).poisson(saxs_image(ai, shape)).astype(np.int32)
    first = Integrator(ai, shape, mask, st, cache_dir=tmp_path)
    second = Integrator(ai, shape, mask, st, cache_dir=tmp_path)
    assert not first.from_cache and second.from_cache
    assert first.cache_path == second.cache_path and first.cache_path.is_file()
    for a, b in zip(first.integrate_batch(frame), second.integrate_batch(frame), strict=True):
        np.testing.assert_array_equal(a, b)
    other_mask = mask.copy()
    other_mask[0, 0] = ~other_mask[0, 0]
    third = Integrator(ai, shape, other_mask, st, cache_dir=tmp_path)
    assert not third.from_cache and third.cache_key != first.cache_key
    moved = AzimuthalIntegrator(detector=ai.detector, dist=ai.dist * 1.001, poni1=ai.poni1,
                                poni2=ai.poni2, wavelength=ai.wavelength)  # fmt: skip
    assert Integrator(moved, shape, mask, st, cache_dir=tmp_path).cache_key != first.cache_key
    assert len(list(tmp_path.glob("binmap_*.npz"))) == 3


def test_integrate_source_threads_equal_sync(geometry):
    ai, shape, mask = geometry
    rng = np.random.default_rng(13)
    frames = rng.poisson(saxs_image(ai, shape), size=(23, *shape)).astype(np.int32)
    monitor = rng.uniform(0.9, 1.1, 23)
    src = ArrayFrames(frames, monitor=monitor, transmission=0.8, name="run7")
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=300), cache_dir=False)
    sync = integ.integrate_source(src, "sync")
    threads = integ.integrate_source(src, batch_size=5)
    np.testing.assert_array_equal(sync.intensity, threads.intensity)
    np.testing.assert_array_equal(sync.sigma, threads.sigma)
    direct = integ.integrate_batch(frames, monitor, 0.8)
    np.testing.assert_array_equal(threads.intensity, direct[0])
    assert threads.name == "run7" and threads.frame_ids == tuple(range(23))
    assert threads.q_unit == "nm^-1"
    np.testing.assert_array_equal(threads.meta["monitor"], monitor)
    assert threads.meta["wavelength_m"] == pytest.approx(1e-10)
    assert threads.meta["settings"]["npt"] == 300


@pytest.fixture()
def run_files(tmp_path, geometry):
    ai, shape, _ = geometry
    poni = tmp_path / "geom.poni"
    ai.write(str(poni))
    frames = np.random.default_rng(14).poisson(saxs_image(ai, shape), (6, *shape))
    h5 = tmp_path / "run.h5"
    with h5py.File(h5, "w") as f:
        f["entry/data/data"] = frames.astype(np.int32)
    user = np.zeros(shape, np.uint8)
    user[100:130, 160:190] = 1
    np.save(tmp_path / "mask.npy", user)
    return poni, h5, tmp_path / "mask.npy", frames


def test_integrate_files_end_to_end(run_files, geometry, tmp_path):
    ai, shape, mask = geometry
    poni, h5, mask_path, frames = run_files
    st = IntegrationSettings(npt=300, polarization_factor=0.99)
    fc = integrate_files(f"{h5}::/entry/data/data", poni, mask_path, st, cache_dir=tmp_path)
    assert fc.intensity.shape == (6, len(fc.q))
    integ = Integrator(ai, shape, mask, st, cache_dir=tmp_path)
    assert integ.from_cache  # same geometry + combined mask: the map integrate_files cached
    np.testing.assert_allclose(fc.intensity, integ.integrate_batch(frames)[0], rtol=1e-12)
    assert fc.meta["poni"] == str(poni)


def test_bad_input_names_the_file(run_files, tmp_path):
    poni, h5, mask_path, frames = run_files
    spec = f"{h5}::/entry/data/data"
    wrong = tmp_path / "wrong_mask.npy"
    np.save(wrong, np.zeros((10, 10)))
    with pytest.raises(HalosInputError, match=r"frame shape \(619, 487\) does not match") as err:
        integrate_files(spec, poni, wrong, cache_dir=tmp_path)
    assert "wrong_mask.npy" in str(err.value) and "run.h5" in str(err.value)
    broken = tmp_path / "broken.poni"
    lines = poni.read_text().splitlines()
    broken.write_text("\n".join(li for li in lines if "Wavelength" not in li))
    with pytest.raises(HalosInputError, match="broken.poni"):
        integrate_files(spec, broken, cache_dir=tmp_path)
    zero = tmp_path / "zero.h5"
    with h5py.File(zero, "w") as f:
        data = frames.astype(np.int32)
        data[4] = 0
        f["entry/data/data"] = data
    with pytest.raises(HalosInputError, match="frame 4") as err:
        integrate_files(f"{zero}::/entry/data/data", poni, cache_dir=tmp_path)
    assert "zero.h5" in str(err.value)
    other = tmp_path / "other.poni"
    AzimuthalIntegrator(detector=detector_factory("Pilatus1M"), dist=1.0, wavelength=1e-10).write(
        str(other)
    )
    with pytest.raises(HalosInputError, match=r"does not match mask/detector \(1043, 981\)"):
        integrate_files(spec, other, cache_dir=tmp_path)


def test_integrator_pickles_for_process_workers(geometry):
    """Dask process/distributed workers get the map without pyFAI's integrator."""
    import pickle

    ai, shape, mask = geometry
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=200), cache_dir=False)
    clone = pickle.loads(pickle.dumps(integ))
    assert clone.ai is None
    frame = np.random.default_rng(15).poisson(saxs_image(ai, shape)).astype(np.int32)
    for a, b in zip(integ.integrate_batch(frame), clone.integrate_batch(frame), strict=True):
        np.testing.assert_array_equal(a, b)


def test_distributed_scheduler_from_an_address(run_files, tmp_path):
    """A config's `tcp://` scheduler address runs the kernels on that cluster, same result."""
    distributed = pytest.importorskip("distributed")
    from halos_analysis.integrate import resolve_scheduler

    poni, h5, mask_path, frames = run_files
    st = IntegrationSettings(npt=300, batch_size=2)
    spec = f"{h5}::/entry/data/data"
    local = integrate_files(spec, poni, mask_path, st, cache_dir=tmp_path, scheduler="sync")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        client = resolve_scheduler(cluster.scheduler_address)
        try:
            remote = integrate_files(
                spec, poni, mask_path, st, cache_dir=tmp_path, scheduler=client
            )
        finally:
            client.close()
    np.testing.assert_array_equal(local.intensity, remote.intensity)
    np.testing.assert_array_equal(local.sigma, remote.sigma)


def test_unknown_scheduler_is_named():
    from halos_analysis.integrate import resolve_scheduler

    with pytest.raises(HalosInputError, match="integration.scheduler"):
        resolve_scheduler("gpu-please")


def test_absolute_flag_labels_the_intensity_unit_and_keeps_the_cache(run_files, tmp_path):
    from halos_analysis.io.nxcansas import read_frames, write_frames

    poni, h5, mask_path, _ = run_files
    spec = f"{h5}::/entry/data/data"
    relative = integrate_files(
        spec, poni, mask_path, IntegrationSettings(npt=200), cache_dir=tmp_path
    )
    st = IntegrationSettings(npt=200, scale=2.5, absolute=True)
    absolute = integrate_files(spec, poni, mask_path, st, cache_dir=tmp_path)
    assert relative.meta["intensity_unit"] == "arbitrary"
    assert absolute.meta["intensity_unit"] == "1/cm"
    assert absolute.meta["settings"]["absolute"] is True
    # A label only: the same bin map serves both (the cache key ignores it).
    assert absolute.meta["bin_map"]["from_cache"]
    assert absolute.meta["bin_map"]["cache_key"] == relative.meta["bin_map"]["cache_key"]
    np.testing.assert_allclose(absolute.intensity, 2.5 * relative.intensity, rtol=1e-12)
    out = write_frames(tmp_path / "frames.h5", absolute)
    with h5py.File(out) as f:
        entry = next(g for g in f.values() if isinstance(g, h5py.Group))
        assert {entry[k]["I"].attrs["units"] for k in entry if k.startswith("sasdata_")} == {"1/cm"}
    assert read_frames(out).meta["intensity_unit"] == "1/cm"


def test_exposure_normalises_when_there_is_no_monitor(geometry):
    """Frames of 0.5, 1 and 2 s of the same sample give the same I per second; with a monitor,
    the monitor alone normalises (it already counts over the exposure)."""
    ai, shape, mask = geometry
    rng = np.random.default_rng(21)
    rate = saxs_image(ai, shape, i0=20000.0)
    times = np.array([0.5, 1.0, 2.0])
    frames = np.stack([rng.poisson(rate * t) for t in times]).astype(np.int32)
    integ = Integrator(ai, shape, mask, IntegrationSettings(npt=200), cache_dir=False)
    by_time = integ.integrate_source(ArrayFrames(frames, exposure_s=times), "sync")
    assert by_time.meta["normalisation"] == "exposure"
    low_q = slice(0, 40)
    ratio = by_time.intensity[:, low_q] / by_time.intensity[1, low_q]
    assert np.allclose(ratio, 1.0, atol=0.02)
    monitor = times * 1e6
    by_monitor = integ.integrate_source(
        ArrayFrames(frames, monitor=monitor, exposure_s=times, transmission=0.5), "sync"
    )
    assert by_monitor.meta["normalisation"] == "monitor+transmission"
    np.testing.assert_allclose(by_monitor.intensity, by_time.intensity / (1e6 * 0.5), rtol=1e-10)
    plain = integ.integrate_source(ArrayFrames(frames), "sync")
    assert plain.meta["normalisation"] == "none"
