# SPDX-License-Identifier: MIT
"""The example measurement written in each facility's real raw-file layout.

``halos simulate OUTDIR --facility cosaxs|bm29|p12|biocat|b21`` writes the simulated sample
and buffer of :mod:`halos_analysis.simulate` the way that facility's files are laid out, as
far as ``../shared/validation/facility/layouts.md`` documents them (the evidence level of
each is in :mod:`halos_analysis.io.profiles`): the same links (relative external links,
virtual datasets, soft links), sidecar files, units (eV, keV, volts), dtypes and
compression, and fields left empty where the real ones are empty. Every profile is thereby
exercised end to end.

What is *not* known about a layout is not invented silently: where a real name is not
public (BM29's diode counter, P12's header keys) the name HALOS chose is stated in
``truth.json`` under ``chosen_names``.

Counters: a PandABox or electrometer reading is photons × gain (V or A per photon); the
relative transmission i_t/i_0 therefore carries the ratio of the two gains, and the factor
that puts a frame normalised by these counters on the absolute scale is given per facility
in ``truth.json`` (``absolute_scale``) and in the sample sheet written next to the data.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import numpy as np

from halos_analysis.simulate.model import DetectorModel, DetectorSetup

__all__ = ["FACILITIES", "FacilityWriter", "write_facility_measurement"]

# Gains of the simulated beam counters (per photon). Chosen so that the readings look like
# the real ones: ~0.5 V on a PandABox input, ~5e6 counts on BioCAT's I0 scaler in 0.5 s.
PANDA_I0_V_PER_PHOTON = 2.0e-12
PANDA_IT_V_PER_PHOTON = 5.0e-12
DIODE_PER_PHOTON = 1.0e-6
BIOCAT_I0_PER_PHOTON = 2.0e-6
BIOCAT_I1_PER_PHOTON = 1.0e-5

_T0 = _dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=_dt.timezone.utc)

#: Per facility: default detector setup (simulate_model.DETECTORS key), wavelength (m), the
#: profile its files are read with, and the layout written.
FACILITIES: dict[str, dict[str, Any]] = {
    "cosaxs": {
        "detector": "cosaxs_eiger4m",
        "wavelength_m": 1.239841984332e-6 / 12400.0,  # 12400 eV, as in the real stream
        "profile": "maxiv_cosaxs_2024",
        "layout": "scan-N.h5 master, scan-N_eiger.h5 (streaming-receiver), scan-N_pcap.h5",
    },
    "bm29": {
        "detector": "pilatus2m",
        "wavelength_m": 1.239841984332e-6 / 12500.0,  # 12.5 keV
        "profile": "esrf_bm29_bliss:monitor_counter=diode",
        "layout": "RAW_DATA/<sample>/<sample>_0001/<sample>_0001.h5 (Bliss, VDS) + Lima files",
    },
    "p12": {
        "detector": "eiger4m",
        "wavelength_m": 1.24e-10,
        "profile": "p12_eiger_headers",
        "layout": "data/<prefix>_<run>_data_000001.h5 + header/<prefix>_<run>_<frame>.txt",
    },
    "biocat": {
        "detector": "biocat_eiger9m",
        "wavelength_m": 1.0332e-10,
        "profile": "biocat_eiger",
        "layout": "<prefix>_data_000001.h5 (DECTRIS data file) + <prefix>.log",
    },
    "b21": {
        "detector": "pilatus2m",
        "wavelength_m": 1.0e-10,
        "profile": "diamond_b21",
        "layout": "b21-<N>.nxs (GDA NeXus) + a side table of counters",
    },
}


def _text(group: h5py.Group, name: str, value: str) -> None:
    group.create_dataset(name, data=value, dtype=h5py.string_dtype())


def _nx(group: h5py.Group, nx_class: str) -> h5py.Group:
    group.attrs["NX_class"] = nx_class
    return group


def _stack(
    group: h5py.Group,
    name: str,
    frames: Iterable[np.ndarray],
    n: int,
    shape: tuple[int, int],
    dtype: Any,
    compression: str,
) -> h5py.Dataset:
    """Write ``n`` frames one chunk each, as they come (never all in memory)."""
    if compression == "bslz4":
        # Bitshuffle-LZ4, block size 0: what the streaming receiver and Lima's HDF5BS write.
        filt = hdf5plugin.Bitshuffle(nelems=0, cname="lz4")
    elif compression == "gzip":
        filt = {"compression": "gzip", "compression_opts": 1}
    else:
        filt = {}
    ds = group.create_dataset(
        name, shape=(n,) + tuple(shape), dtype=dtype, chunks=(1,) + tuple(shape), **filt
    )
    for i, frame in enumerate(frames):
        ds[i] = frame
    return ds


def _iso(seconds: float) -> str:
    return (_T0 + _dt.timedelta(seconds=seconds)).isoformat()


class FacilityWriter:
    """Writes one measurement (sample or buffer) in a facility's layout.

    Parameters
    ----------
    facility : str
        A key of :data:`FACILITIES`.
    outdir : Path
        The simulation's output folder; the facility's files go to ``outdir/<facility>/``.
    frames_per_file : int
        Frames per Lima / DECTRIS data file where the layout splits a run.
    """

    def __init__(self, facility: str, outdir: Path, frames_per_file: int = 100):
        if facility not in FACILITIES:
            raise ValueError(f"unknown facility {facility!r} (known: {sorted(FACILITIES)})")
        self.facility = facility
        self.root = Path(outdir) / facility
        self.root.mkdir(parents=True, exist_ok=True)
        self.frames_per_file = frames_per_file
        self.chosen_names: dict[str, str] = {}

    def write(
        self,
        index: int,
        name: str,
        frame: Any,
        n: int,
        setup: DetectorSetup,
        model: DetectorModel,
        monitor: np.ndarray,
        transmission: np.ndarray,
    ) -> dict[str, Any]:
        """Write measurement number ``index`` (0 sample, 1 buffer) called ``name``.

        ``frame(indices)`` yields those frames in order; ``monitor`` is photons per frame,
        ``transmission`` the sample's. Returns ``frames`` (what to give ``halos
        integrate``), ``profile``, ``absolute_scale`` (for these counters), optionally
        ``side_table`` and ``files``.
        """
        method = getattr(self, f"_{self.facility}")
        return method(index, name, frame, n, setup, model, monitor, transmission)

    def _one_data_file(self, n: int) -> int:
        # Without a master file HALOS reads one DECTRIS data file per measurement.
        if n > self.frames_per_file:
            raise ValueError(
                f"{self.facility}: {n} frames do not fit one data file of "
                f"{self.frames_per_file} frames (HALOS reads one data file per measurement "
                "in this layout)"
            )
        return self.frames_per_file

    # ------------------------------------------------------------------ MAX IV CoSAXS
    def _cosaxs(self, index, name, frame, n, setup, model, monitor, trans) -> dict[str, Any]:
        scan = f"scan-{33478 + index}"
        shape = model.gaps.shape
        t = setup.exposure_s
        eiger = self.root / f"{scan}_eiger.h5"
        with h5py.File(eiger, "w") as f:
            det = _nx(f.create_group("entry/instrument/eiger"), "NXdetector")
            _stack(det, "data", frame(range(n)), n, shape, np.uint32, "bslz4")
            det.create_dataset("sequence_number", data=np.arange(n, dtype=np.uint32))
            det.create_dataset("count_time", data=t)
            energy_ev = 1.239841984332e-6 / model.ai.wavelength
            det.create_dataset("photon_energy", data=energy_ev)
            det.create_dataset("threshold_energy", data=0.5 * energy_ev)
            for key in ("countrate_correction_applied", "flatfield_correction_applied",
                        "virtual_pixel_correction_applied", "pixel_mask_applied"):  # fmt: skip
                det.create_dataset(key, data=True)
            det.create_dataset("countrate_correction_count_cutoff", data=np.uint32(1053027))
            det.create_dataset("nimages", data=np.uint32(1))
            det.create_dataset("ntrigger", data=np.uint32(n))
            _text(det, "trigger_mode", "exts")
            det.create_dataset("rotate", data=np.int32(0))
        i_0 = monitor * PANDA_I0_V_PER_PHOTON
        i_t = monitor * trans * PANDA_IT_V_PER_PHOTON
        pcap = self.root / f"{scan}_pcap.h5"
        with h5py.File(pcap, "w") as f:
            data = f.create_group("entry/instrument/pandabox/data")
            data.create_dataset("i_0", data=i_0)
            data.create_dataset("i_t", data=i_t)
            data.create_dataset("timestamp", data=np.arange(n) * t)
            data.create_dataset("IonChamber", data=i_0 * 0.98)
            data.create_dataset("FramesPerStep", data=np.ones(n))
        master = self.root / f"{scan}.h5"
        with h5py.File(master, "w") as f:
            entry = f.create_group("entry")
            inst = entry.create_group("instrument")
            # Relative external links to the sidecars' groups (not to the datasets).
            inst["eiger"] = h5py.ExternalLink(eiger.name, "/entry/instrument/eiger")
            inst["pcap"] = h5py.ExternalLink(pcap.name, "/entry/instrument/pandabox")
            pos = inst.create_group("start_positioners")
            # The carriage position, in mm: NOT the sample-detector distance (in the PONI).
            pos.create_dataset("detector_carriage_z_position", data=2499.9)
            pos.create_dataset("sample_table_x_position", data=12.5)
            pos.create_dataset("sample_table_y_position", data=-3.25)
            _text(pos, "sample_description", "")  # exists, always empty at CoSAXS
            inst.create_group("ring_current").create_dataset("data", data=np.full(n, 0.3995))
            inst.create_group("sams4_x").create_dataset("value", data=np.full(n, 12.5))
            _text(entry, "title", f"timescan {n} {t:g} 0.0")
            _text(entry, "start_time", _iso(100 * index))
            _text(entry, "end_time", _iso(100 * index + n * t))
        return {
            "frames": str(master),
            "profile": FACILITIES["cosaxs"]["profile"],
            "absolute_scale": model.absolute_scale * PANDA_IT_V_PER_PHOTON,
            "files": [master.name, eiger.name, pcap.name],
        }

    # ------------------------------------------------------------------ ESRF BM29
    def _bm29(self, index, name, frame, n, setup, model, monitor, trans) -> dict[str, Any]:
        det_name = "pilatus"
        self.chosen_names["bm29_detector"] = det_name
        self.chosen_names["bm29_monitor_counter"] = "diode"
        folder = self.root / "RAW_DATA" / name / f"{name}_0001"
        scan_dir = folder / "scan0001"
        scan_dir.mkdir(parents=True, exist_ok=True)
        ny, nx = model.gaps.shape
        t = setup.exposure_s
        sources = []
        per = max(1, self.frames_per_file)
        for k, first in enumerate(range(0, n, per)):
            idx = range(first, min(first + per, n))
            lima = scan_dir / f"{det_name}_{k:04d}.h5"
            with h5py.File(lima, "w") as f:
                entry = _nx(f.create_group("entry_0000"), "NXentry")
                _text(entry, "title", "Lima 2D detector acquisition")
                _text(entry, "start_time", _iso(100 * index + first * t))
                _text(entry, "end_time", _iso(100 * index + (first + len(idx)) * t))
                inst = _nx(entry.create_group("ESRF-BM29"), "NXinstrument")
                d = _nx(inst.create_group(det_name), "NXdetector")
                ds = _stack(d, "data", frame(idx), len(idx), (ny, nx), np.int32,
                            "gzip")  # fmt: skip
                ds.attrs["interpretation"] = "image"
                info = _nx(d.create_group("detector_information"), "NXcollection")
                _text(info, "name", det_name)
                _text(info, "type", "Pilatus3")
                _text(info, "model", "PILATUS3 2M (simulated by HALOS Analysis)")
                info.create_dataset("max_image_size", data=np.array([nx, ny], np.int32))
                _text(info, "image_lima_type", "Bpp32S")
                px = info.create_group("pixel_size")
                px.create_dataset("xsize", data=model.ai.detector.pixel2).attrs["units"] = "m"
                px.create_dataset("ysize", data=model.ai.detector.pixel1).attrs["units"] = "m"
                acq = _nx(d.create_group("acquisition"), "NXcollection")
                acq.create_dataset("exposure_time", data=t).attrs["units"] = "s"
                acq.create_dataset("latency_time", data=0.0)
                acq.create_dataset("nb_frames", data=np.int32(n))
                _text(acq, "mode", "SINGLE")
                _text(acq, "trigger_mode", "INTERNAL_TRIGGER")
                d.create_dataset("time_of_frame", data=np.asarray(idx, float) * t)
                meas = entry.create_group("measurement")
                meas["data"] = h5py.SoftLink(f"/entry_0000/ESRF-BM29/{det_name}/data")
            sources.append((lima, first, len(idx)))
        master = folder / f"{name}_0001.h5"
        layout = h5py.VirtualLayout(shape=(n, ny, nx), dtype=np.int32)
        for lima, first, m in sources:
            rel = os.path.relpath(lima, folder)
            layout[first : first + m] = h5py.VirtualSource(
                rel, f"/entry_0000/ESRF-BM29/{det_name}/data", shape=(m, ny, nx)
            )
        diode = monitor * trans * DIODE_PER_PHOTON  # the beam-stop diode sees I0 x T
        with h5py.File(master, "w") as f:
            entry = _nx(f.create_group("1.1"), "NXentry")
            _text(entry, "title", f"saxs_collect {name} {n} {t:g}")
            _text(entry, "start_time", _iso(100 * index))
            _text(entry, "end_time", _iso(100 * index + n * t))
            inst = _nx(entry.create_group("instrument"), "NXinstrument")
            d = _nx(inst.create_group(det_name), "NXdetector")
            d.create_virtual_dataset("image", layout, fillvalue=0)
            _text(d, "type", "lima")
            pos = _nx(inst.create_group("positioners_start"), "NXcollection")
            e = pos.create_dataset("energy", data=1.239841984332e-9 / model.ai.wavelength)
            e.attrs["units"] = "keV"
            machine = _nx(inst.create_group("machine"), "NXsource")
            machine.create_dataset("current", data=199.7).attrs["units"] = "mA"
            sp = entry.create_group("scan_parameters")
            sp.create_dataset("count_time", data=t).attrs["units"] = "s"
            meas = _nx(entry.create_group("measurement"), "NXcollection")
            meas[det_name] = h5py.SoftLink(f"/1.1/instrument/{det_name}/image")
            meas.create_dataset("diode", data=diode)
        return {
            "frames": str(master),
            "profile": FACILITIES["bm29"]["profile"],
            "absolute_scale": model.absolute_scale * DIODE_PER_PHOTON,
            "files": [str(master.relative_to(self.root))]
            + [str(s[0].relative_to(self.root)) for s in sources],
        }

    # ------------------------------------------------------------------ EMBL P12
    def _p12(self, index, name, frame, n, setup, model, monitor, trans) -> dict[str, Any]:
        # RAW builds the header name from the first two '_' fields: no '_' in the prefix.
        prefix = f"{name.replace('_', '')}_{12 + index:05d}"
        data_dir, hdr_dir = self.root / "data", self.root / "header"
        data_dir.mkdir(exist_ok=True)
        hdr_dir.mkdir(exist_ok=True)
        files = []
        per = self._one_data_file(n)
        for k, first in enumerate(range(0, n, per)):
            idx = range(first, min(first + per, n))
            path = data_dir / f"{prefix}_data_{k + 1:06d}.h5"
            with h5py.File(path, "w") as f:
                g = _nx(_nx(f.create_group("entry"), "NXentry").create_group("data"), "NXdata")
                ds = _stack(g, "data", frame(idx), len(idx), model.gaps.shape,
                            np.uint32, "bslz4")  # fmt: skip
                ds.attrs["image_nr_low"] = np.uint32(first + 1)
                ds.attrs["image_nr_high"] = np.uint32(first + len(idx))
            files.append(path)
        self.chosen_names["p12_header_keys"] = "exposure_time, monitor, transmission, sample_name"
        for k in range(n):
            lines = [
                f"date: {_iso(100 * index + k * setup.exposure_s)}",
                f"frame: {k + 1}",
                f"exposure_time: {setup.exposure_s:.6f}",
                f"monitor: {monitor[k]:.6e}",
                f"transmission: {trans[k]:.6f}",
                f"sample_name: {name}",
            ]
            (hdr_dir / f"{prefix}_{k + 1:05d}.txt").write_text("\n".join(lines) + "\n")
        return {
            "frames": str(files[0]),
            "profile": FACILITIES["p12"]["profile"],
            "absolute_scale": model.absolute_scale,
            "files": [str(p.relative_to(self.root)) for p in files],
        }

    # ------------------------------------------------------------------ APS BioCAT
    def _biocat(self, index, name, frame, n, setup, model, monitor, trans) -> dict[str, Any]:
        prefix = f"{name}_{7 + index:03d}"
        t = setup.exposure_s
        per = self._one_data_file(n)
        files = []
        for k, first in enumerate(range(0, n, per)):
            idx = range(first, min(first + per, n))
            path = self.root / f"{prefix}_data_{k + 1:06d}.h5"
            with h5py.File(path, "w") as f:
                g = _nx(_nx(f.create_group("entry"), "NXentry").create_group("data"), "NXdata")
                ds = _stack(g, "data", frame(idx), len(idx), model.gaps.shape,
                            np.uint32, "bslz4")  # fmt: skip
                ds.attrs["image_nr_low"] = np.int32(first + 1)
                ds.attrs["image_nr_high"] = np.int32(first + len(idx))
            files.append(path)
        i0 = monitor * BIOCAT_I0_PER_PHOTON
        i1 = monitor * trans * BIOCAT_I1_PER_PHOTON
        header = [
            ("Instrument", "BioCAT (Sector 18, APS)"),
            ("Date", "2026-03-02 10:00:00.000000"),
            ("File prefix", prefix),
            ("Save directory", str(self.root)),
            ("Number of frames", str(n)),
            ("Exposure time/frame [s]", f"{t:g}"),
            ("Exposure period/frame [s]", f"{t:g}"),
            ("Number of images per file", str(per)),
            ("Experiment type", "Batch mode SAXS"),
            ("Sample", name),
            ("Buffer", "" if index == 0 else name),
            ("Temperature [C]", "22"),
            ("Concentration [mg/ml]", "5.0" if index == 0 else ""),
            ("I0 gain", "1e+05"),
            ("I1 gain", "1e+06"),
            ("Nominal Transmission (12 keV)", "1.0"),
        ]
        lines = [f"#{k}:\t{v}" for k, v in header]
        lines.append("#Filename\tstart_time\texposure_time\tI0\tI1\tBeam_current")
        for k in range(n):
            lines.append(
                f"{prefix}_{k + 1:06d}\t{k * t:.1f}\t{t:.8f}\t{i0[k]:.5f}\t{i1[k]:.5f}\t100.2"
            )
        (self.root / f"{prefix}.log").write_text("\n".join(lines) + "\n")
        return {
            "frames": str(files[0]),
            "profile": FACILITIES["biocat"]["profile"],
            "absolute_scale": model.absolute_scale * BIOCAT_I1_PER_PHOTON,
            "files": [p.name for p in files] + [f"{prefix}.log"],
        }

    # ------------------------------------------------------------------ Diamond B21
    def _b21(self, index, name, frame, n, setup, model, monitor, trans) -> dict[str, Any]:
        run = 612345 + index
        path = self.root / f"b21-{run}.nxs"
        t = setup.exposure_s
        with h5py.File(path, "w") as f:
            f.attrs["file_time"] = _iso(100 * index)
            entry = _nx(f.create_group("entry1"), "NXentry")
            det = _nx(entry.create_group("detector"), "NXdata")
            _stack(det, "data", frame(range(n)), n, model.gaps.shape, np.int32,
                   "gzip")  # fmt: skip
            inst = _nx(entry.create_group("instrument"), "NXinstrument")
            d = _nx(inst.create_group("detector"), "NXdetector")
            d.create_dataset("count_time", data=np.full((n, 1), t))
            _text(entry, "title", f"Sample: {name} (Location I 1 A {index + 1})")
            _text(entry, "scan_command", "static readout")
            _text(entry, "entry_identifier", str(run))
            _text(entry, "experiment_identifier", "sm99999-1")
        # The monitor's place in a B21 file is not in the evidence: the counters go to a
        # side table, as a user would give them.
        table = self.root / f"b21-{run}_counters.tsv"
        rows = "".join(f"{k}\t{monitor[k]:.9e}\t{trans[k]:.9f}\n" for k in range(n))
        table.write_text("frame\tmonitor\ttransmission\n" + rows)
        return {
            "frames": str(path),
            "profile": FACILITIES["b21"]["profile"],
            "absolute_scale": model.absolute_scale,
            "side_table": str(table),
            "files": [path.name, table.name],
        }


def write_facility_measurement(
    writer: FacilityWriter,
    index: int,
    name: str,
    frames: Sequence[np.ndarray] | Any,
    n: int,
    setup: DetectorSetup,
    model: DetectorModel,
    monitor: np.ndarray,
    transmission: np.ndarray,
) -> dict[str, Any]:
    """Functional form of :meth:`FacilityWriter.write`."""
    return writer.write(index, name, frames, n, setup, model, monitor, transmission)
