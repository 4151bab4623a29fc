# SPDX-License-Identifier: MIT
"""Facility layouts: each profile recognised and read from a simulated file of its layout, the
integrate -> reduce -> analyse chain giving the simulated Rg, the layouts' quirks (links,
virtual datasets, units, sidecars, empty fields), and the real BioCAT file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from halos_analysis.analysis.pipeline import analyse_curve, reduce_frames
from halos_analysis.errors import HalosInputError
from halos_analysis.integrate import IntegrationSettings, integrate_files
from halos_analysis.io.frames import detect_layout, open_frames
from halos_analysis.io.profiles import ALIASES, PROFILES, get_profile, list_profiles
from halos_analysis.io.validate import validate_file, validate_report
from halos_analysis.reduce import subtract
from halos_analysis.simulate import simulate_example

HALOS = [sys.executable, "-m", "halos_analysis"]
N = 4
#: facility -> (small detector of the tests, profile detected, frames per data file)
CASES = {
    "cosaxs": ("eiger1m", "maxiv_cosaxs_2024", 100),
    "bm29": ("pilatus300k", "esrf_bm29_bliss", 3),  # 4 frames over two Lima files
    "p12": ("eiger1m", "p12_eiger_headers", 100),
    "biocat": ("eiger1m", "biocat_eiger", 100),
    "b21": ("pilatus300k", "diamond_b21", 100),
}


@pytest.fixture(scope="module")
def facility_sims(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """Each facility's layout, small detector, 4 frames of sample and buffer, no damage."""
    root = tmp_path_factory.mktemp("facilities")
    out = {}
    for fac, (det, _, per) in CASES.items():
        truth = simulate_example(
            root / fac, facility=fac, detectors=(det,), n_frames=N, damaged_frames=0,
            frames_per_data_file=per, seed=11,
        )  # fmt: skip
        out[fac] = (root / fac, truth)
    return out


def _info(sim: tuple[Path, dict]) -> tuple[Path, str, dict]:
    folder, truth = sim
    det, info = next(iter(truth["detectors"].items()))
    return folder, det, info


@pytest.mark.parametrize("facility", list(CASES))
def test_layout_is_recognised_validated_and_gives_the_simulated_rg(facility_sims, facility):
    folder, det, info = _info(facility_sims[facility])
    truth = facility_sims[facility][1]
    poni = folder / info["poni"]
    averages = {}
    for name in ("bsa", "buffer"):
        frames = info["frames"][name]
        lay = info["layout"][name]
        found = detect_layout(frames)
        assert found.profile == CASES[facility][1], found.describe()
        assert "looks like" in found.describe()
        rep = validate_report(frames, lay["profile"], lay.get("side_table"), poni)
        assert rep.problems == [], rep.problems
        # Auto-detected, without the profile's parameters or a side table, it still reads.
        assert validate_report(frames, poni=poni).profile == CASES[facility][1]
        curves = integrate_files(
            frames, poni, folder / info["mask"],
            settings=IntegrationSettings(npt=400, scale=lay["absolute_scale"], absolute=True),
            side_table=lay.get("side_table"), profile=lay["profile"],
        )  # fmt: skip
        assert "monitor" in curves.meta["normalisation"]
        averages[name] = reduce_frames(curves).average
    result = analyse_curve(
        subtract(averages["bsa"], averages["buffer"]), concentration_mg_ml=5.0, absolute_scale=True
    )
    g = result.guinier
    rg_true = truth["expected"]["rg_nm"]
    # Within noise: 3 sigma of the fit plus 1 % for the choice of the Guinier range.
    assert abs(g.Rg - rg_true) < 3 * g.Rg_err + 0.01 * rg_true, (g.Rg, g.Rg_err, rg_true)
    # The counters (volts, diode, scaler counts) put every layout on the same absolute scale.
    assert g.I0 == pytest.approx(truth["sample"]["i0_cm"], rel=0.03)


def test_cosaxs_realistic_size_links_units_and_empty_fields(tmp_path):
    truth = simulate_example(tmp_path, facility="cosaxs", n_frames=3, damaged_frames=0, seed=2)
    info = truth["detectors"]["cosaxs_eiger4m"]
    master = Path(info["frames"]["bsa"])
    poni = tmp_path / info["poni"]
    with h5py.File(master) as f:  # the master links the sidecars' groups, relatively
        link = f["entry/instrument"].get("eiger", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename == "scan-33478_eiger.h5"
    with h5py.File(master.with_name("scan-33478_eiger.h5")) as f:
        ds = f["entry/instrument/eiger/data"]
        assert (ds.shape, ds.dtype, ds.chunks) == ((3, 2162, 2068), np.uint32, (1, 2162, 2068))
        assert ds._filters["32008"][-2:] == (0, 2)  # bitshuffle, block 0, LZ4
        assert "wavelength" not in f["entry/instrument/eiger"]
    with open_frames(master, poni=poni) as src:
        assert src.profile == "maxiv_cosaxs_2024"
        assert src.invalid_value == 2**32 - 1
        # photon_energy 12400 eV -> wavelength hc/E
        assert src.metadata.wavelength_m == pytest.approx(1.239841984e-6 / 12400.0, rel=1e-9)
        assert src.fields_read["wavelength"].stored == "12400 eV"
        # The distance is the PONI's, never the carriage position (2.4999 m here).
        assert src.metadata.distance_m == pytest.approx(3.432)
        assert src.fields_read["distance"].where.startswith("PONI")
        assert src.fields_read["info_carriage_z"].value == pytest.approx(2.4999)
        assert src.counter_units == {"monitor": "V", "transmitted": "V"}
        assert "sample_name" in src.empty_fields
    rep = validate_report(master, poni=poni)
    assert rep.valid and any("sample_name" in n and "empty" in n for n in rep.notes)
    assert any("recorded in V" in n for n in rep.notes)
    # Without the PONI: say which fields only the PONI gives.
    problems = validate_file(master)
    assert any("'distance' is not recorded in this layout" in p and "--poni" in p
               for p in problems), problems  # fmt: skip
    assert not any("wavelength" in p for p in problems)  # the energy gives it


def test_cosaxs_missing_sidecars_are_named(facility_sims, tmp_path):
    folder, _, info = _info(facility_sims["cosaxs"])
    work = tmp_path / "scan"
    shutil.copytree(Path(info["frames"]["bsa"]).parent, work)
    master = work / "scan-33478.h5"
    poni = folder / info["poni"]
    (work / "scan-33478_pcap.h5").unlink()
    problems = validate_file(master, poni=poni)
    assert problems == ["required field 'monitor' is missing"], problems
    (work / "scan-33478_eiger.h5").unlink()
    # Still recognised by its layout; the missing frame file is named.
    assert detect_layout(master).profile == "maxiv_cosaxs_2024"
    with pytest.raises(HalosInputError, match="scan-33478_eiger.h5 .linked from scan-33478.h5"):
        open_frames(master)


def test_bm29_virtual_dataset_over_lima_files(facility_sims, tmp_path):
    folder, _, info = _info(facility_sims["bm29"])
    master = Path(info["frames"]["bsa"])
    with h5py.File(master) as f:
        assert f["1.1/instrument/pilatus/image"].is_virtual
        assert f["1.1/instrument/positioners_start/energy"].attrs["units"] == "keV"
    spec = "esrf_bm29_bliss:monitor_counter=diode"
    with open_frames(master, profile=spec) as src:
        # Read from the two Lima files directly, not through HDF5's virtual-dataset layer.
        assert [Path(s[0]).name for s in src._segments] == ["pilatus_0000.h5", "pilatus_0001.h5"]
        assert src.n_frames == N and src.metadata.sample_name == "bsa"
        assert src.metadata.wavelength_m == pytest.approx(1.239841984e-9 / 12.5, rel=1e-9)
        assert src.transmission is None  # the diode includes it
        frames = src.read(3)
    with h5py.File(master.parent / "scan0001" / "pilatus_0001.h5") as f:
        np.testing.assert_array_equal(frames, f["entry_0000/ESRF-BM29/pilatus/data"][0])
    # The Lima file itself: what dahu opens.
    lima = master.parent / "scan0001" / "pilatus_0000.h5"
    assert detect_layout(lima).profile == "esrf_bm29_lima"
    with open_frames(lima, profile="esrf_bm29_pilatus_h5") as src:  # the old name still works
        assert src.profile == "esrf_bm29_lima" and src.n_frames == 3
        assert src.metadata.pixel2_m == pytest.approx(172e-6)
    # A missing Lima file would read as zeros through HDF5: it is an error instead.
    work = tmp_path / "bsa_0001"
    shutil.copytree(master.parent, work)
    (work / "scan0001" / "pilatus_0001.h5").unlink()
    with pytest.raises(HalosInputError, match="pilatus_0001.h5, which is missing"):
        open_frames(work / "bsa_0001.h5")
    # The monitor counter's name is a parameter; an unknown parameter is named.
    with pytest.raises(HalosInputError, match="no parameter 'monitor'"):
        open_frames(master, profile="esrf_bm29_bliss:monitor=diode")


def test_p12_headers_and_b21_side_table(facility_sims):
    folder, _, info = _info(facility_sims["p12"])
    data = Path(info["frames"]["bsa"])
    assert (data.parent.parent / "header" / "bsa_00012_00001.txt").is_file()
    with open_frames(data) as src:
        assert src.profile == "p12_eiger_headers"
        np.testing.assert_allclose(src.monitor, info["monitor"]["bsa"], rtol=1e-6)
        assert src.metadata.sample_name == "bsa"
    folder, _, info = _info(facility_sims["b21"])
    nxs = Path(info["frames"]["bsa"])
    poni = folder / info["poni"]
    with open_frames(nxs) as src:
        assert src.metadata.sample_name == "bsa"  # parsed from "Sample: bsa (Location ...)"
        assert src.monitor is None and src.metadata.count_time_s == pytest.approx(0.05)
    rep = validate_report(nxs, poni=poni)
    assert rep.valid and any("normalised by the exposure" in n for n in rep.notes)


def test_wavelength_must_match_the_poni(facility_sims, tmp_path):
    folder, det, info = _info(facility_sims["cosaxs"])
    text = (folder / info["poni"]).read_text()
    lines = [ln if not ln.startswith("Wavelength") else "Wavelength: 1.54e-10"
             for ln in text.splitlines()]  # fmt: skip
    other = tmp_path / "cu.poni"
    other.write_text("\n".join(lines) + "\n")
    problems = validate_file(info["frames"]["bsa"], poni=other)
    assert len(problems) == 1 and "differs from the PONI's 1.54000 A" in problems[0]
    assert "12400 eV" in problems[0]


def test_unknown_layout_lists_what_the_nearest_lacks(tmp_path):
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/instrument/eiger/data", data=np.zeros((2, 8, 8), np.uint32))
    found = detect_layout(path)
    assert not found and found.nearest and found.missing
    problems = validate_file(path)
    assert problems[0].startswith("matches no known layout; nearest is")
    assert "missing:" in problems[0]


def test_real_biocat_file_and_log(validation_dir, tmp_path):
    data = validation_dir / "frames" / "vac_007_data_000001.h5"
    cfg = json.loads((validation_dir / "frames" / "settings_biocat_eiger.cfg").read_text())
    assert detect_layout(data).profile == "biocat_eiger"
    with open_frames(data) as src:
        np.testing.assert_allclose(src.exposure_s, [0.50000024, 0.50000108])
        np.testing.assert_allclose(src.monitor, [5416158.49623, 5413885.48304])
        # Monitor x relative transmission = I1, the counter RAW normalises by.
        np.testing.assert_allclose(src.monitor * src.transmission, [11336834.494, 11333022.4731])
    # RAW's geometry as a PONI: then the file is complete.
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    px = cfg["DetectorPixelSizeX"] * 1e-6
    ai = AzimuthalIntegrator(dist=cfg["SampleDistance"] * 1e-3, poni1=cfg["Ycenter"] * px,
                             poni2=cfg["Xcenter"] * px, detector="Eiger2_9M",
                             wavelength=cfg["WaveLength"] * 1e-10)  # fmt: skip
    ai.write(str(tmp_path / "biocat.poni"))
    rep = validate_report(data, poni=tmp_path / "biocat.poni")
    assert rep.valid, rep.problems
    assert any("sample_name" in n and "empty" in n for n in rep.notes)  # '#Sample:' is empty


def test_profiles_state_their_evidence_and_old_names_still_work(capsys):
    from halos_analysis.app.cli import main

    rows = {r["name"]: r for r in list_profiles()}
    assert set(rows) == set(PROFILES)
    assert {r["evidence"] for r in rows.values()} <= {"REAL", "CODE", "DOC"}
    assert rows["biocat_eiger"]["evidence"] == "REAL"
    assert rows["maxiv_cosaxs_2024"]["evidence"] == "CODE"
    assert rows["p12_eiger_headers"]["evidence"] == "DOC"
    for old, new in ALIASES.items():
        assert get_profile(old)["name"] == new and get_profile(old)["alias_of"] == old
    for name in ("p12_pilatus_cbf", "p12_eiger_nexus", "maxiv_cosaxs_eiger",
                 "esrf_bm29_pilatus_h5", "dectris_nexus", "pilatus_minicbf"):  # fmt: skip
        get_profile(name)
    assert main(["validate", "--list-profiles"]) == 0
    out = capsys.readouterr().out
    for name in PROFILES:
        assert name in out
    assert "[REAL]" in out and "[CODE]" in out and "[DOC]" in out
    assert "old name(s): maxiv_cosaxs_eiger" in out


def test_simulate_facility_cli_writes_a_sample_sheet(tmp_path):
    run = subprocess.run(
        HALOS + ["simulate", str(tmp_path), "--facility", "b21", "--detectors", "pilatus300k",
                 "--frames", "3", "--damaged-frames", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    sheet = (tmp_path / "samples_b21.tsv").read_text().splitlines()
    header = sheet[0].split("\t")
    row = dict(zip(header, sheet[1].split("\t"), strict=True))
    assert row["profile"] == "diamond_b21" and row["compare_group"] == "bsa"
    assert Path(row["side_table"]).is_file() and row["frames"].endswith("b21-612345.nxs")
    check = subprocess.run(HALOS + ["validate", row["frames"], "--poni", row["poni"]],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "looks like Diamond B21 GDA NeXus file" in check.stdout
