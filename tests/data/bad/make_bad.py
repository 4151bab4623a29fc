# SPDX-License-Identifier: MIT
"""Write the corpus of bad inputs the reliability tests feed to ``halos``.

Nothing here is committed as data: ``make_corpus(OUTDIR)`` writes every file (a few MB in
all, in about a second) and returns their paths by name. Run it by hand to look at them::

    python tests/data/bad/make_bad.py /tmp/bad

Each file is either unusable (the command must exit non-zero with one line naming the file
and the field) or a real-file quirk that must be analysed around with a note (``quirk_*``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

#: A small real detector: the frames and PONI files stay small.
DETECTOR = "Pilatus100k"
N_FRAMES = 3


def _curve(q: np.ndarray, rg: float = 3.0, i0: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    i = i0 * np.exp(-((q * rg) ** 2) / 3) + 0.01
    return i, 0.01 * i + 1e-3


def _dat(path: Path, q, i, s, header: str = "q(1/nm) I sigma") -> Path:
    rows = "\n".join(f"{a:.10g} {b:.10g} {c:.10g}" for a, b, c in zip(q, i, s, strict=True))
    path.write_text(f"# {header}\n{rows}\n")
    return path


def _curves(out: Path) -> dict[str, Path]:
    f: dict[str, Path] = {}
    q = np.linspace(0.05, 3.0, 200)
    i, s = _curve(q)
    f["good_dat"] = _dat(out / "good.dat", q, i, s)
    (out / "empty.dat").write_text("")
    f["empty_dat"] = out / "empty.dat"
    (out / "binary.dat").write_bytes(np.random.default_rng(0).bytes(4000))
    f["binary_dat"] = out / "binary.dat"
    (out / "header_only.dat").write_text("# q(1/nm) I sigma\n# sample: bsa\n# no data yet\n")
    f["header_only_dat"] = out / "header_only.dat"
    for n in range(1, 6):
        f[f"points_{n}"] = _dat(out / f"points_{n}.dat", q[:n], i[:n], s[:n])
    bad = i.copy()
    bad[:] = np.nan
    f["nan_curve"] = _dat(out / "nan.dat", q, bad, s)
    f["inf_curve"] = _dat(out / "inf.dat", q, np.full_like(i, np.inf), s)
    f["negative_curve"] = _dat(out / "negative.dat", q, -i, s)
    f["zero_sigma_curve"] = _dat(out / "zero_sigma.dat", q, i, np.zeros_like(s))
    f["nan_q_curve"] = _dat(out / "nan_q.dat", np.where(q > 0.2, np.nan, q), i, s)
    f["decreasing_q"] = _dat(out / "decreasing_q.dat", q[::-1], i[::-1], s[::-1])
    shuffled = np.random.default_rng(1).permutation(len(q))
    f["shuffled_q"] = _dat(out / "shuffled_q.dat", q[shuffled], i[shuffled], s[shuffled])
    # Quirks of real files: analysed around with a note, not refused.
    s0 = s.copy()
    s0[[3, 50, 120]] = 0
    f["quirk_some_zero_sigma"] = _dat(out / "quirk_zero_sigma.dat", q, i, s0)
    inan = i.copy()
    inan[[10, 11, 150]] = np.nan
    f["quirk_some_nan_rows"] = _dat(out / "quirk_nan_rows.dat", q, inan, s)
    qd = q.copy()
    qd[40] = qd[39]
    f["quirk_duplicated_q"] = _dat(out / "quirk_duplicated_q.dat", qd, i, s)
    # nm^-1 values under an Å^-1 heading: q max 3.0 is implausible in Å^-1 (said, kept).
    f["nm_labelled_A"] = _dat(out / "nm_as_A.dat", q, i, s, header="q(1/A) I sigma")
    # A GNOM .out whose experimental block stops after 3 rows.
    rows = "\n".join(f"  {a:.6E}  {b:.6E}  {c:.6E}  {b:.6E}  {b:.6E}" for a, b, c in
                     zip(q[:3], i[:3], s[:3], strict=True))  # fmt: skip
    (out / "short.out").write_text(
        "           ####    G N O M   ---   Version 5.0    ####\n\n"
        "      S          J EXP       ERROR       J REG       I REG\n\n" + rows + "\n"
    )
    f["gnom_short"] = out / "short.out"
    return f


def _geometry(out: Path) -> dict[str, Path]:
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    f: dict[str, Path] = {}
    det = detector_factory(DETECTOR)
    ai = AzimuthalIntegrator(dist=1.0, poni1=0.005, poni2=0.04, wavelength=1.0e-10, detector=det)
    good = out / "good.poni"
    ai.write(str(good))
    f["good_poni"] = good
    text = good.read_text()
    lines = text.splitlines()

    def edit(name: str, key: str, value: str | None) -> None:
        new = [
            ln if not ln.startswith(key + ":") else (f"{key}: {value}" if value is not None else "")
            for ln in lines
        ]
        (out / f"{name}.poni").write_text("\n".join(new) + "\n")
        f[name] = out / f"{name}.poni"

    edit("poni_no_distance", "Distance", None)
    edit("poni_zero_distance", "Distance", "0")
    edit("poni_negative_wavelength", "Wavelength", "-1e-10")
    edit("poni_nan_poni1", "Poni1", "nan")
    edit("poni_text_rot1", "Rot1", "twelve")
    (out / "empty.poni").write_text("")
    f["poni_empty"] = out / "empty.poni"
    (out / "binary.poni").write_bytes(bytes(range(256)) * 8)
    f["poni_binary"] = out / "binary.poni"
    return f


def _frames(out: Path) -> dict[str, Path]:
    import fabio.cbfimage
    import fabio.edfimage
    import fabio.tifimage
    import h5py
    from pyFAI.detectors import detector_factory

    from halos_analysis.simulate.writers import write_eiger_data

    f: dict[str, Path] = {}
    shape = detector_factory(DETECTOR).shape
    rng = np.random.default_rng(14)
    frames = rng.poisson(50.0, (N_FRAMES, *shape)).astype(np.int32)
    cbf = out / "cbf"
    cbf.mkdir()
    for k in range(N_FRAMES):
        fabio.cbfimage.CbfImage(data=frames[k]).write(str(cbf / f"good_{k:03d}.cbf"))
    f["good_cbf"] = cbf / "good_000.cbf"
    whole = (cbf / "good_000.cbf").read_bytes()
    (out / "truncated.cbf").write_bytes(whole[: len(whole) // 3])
    f["truncated_cbf"] = out / "truncated.cbf"
    (out / "corrupt.cbf").write_bytes(whole[:400] + rng.bytes(len(whole) - 400))
    f["corrupt_cbf"] = out / "corrupt.cbf"
    fabio.edfimage.EdfImage(data=frames[0]).write(str(out / "good.edf"))
    f["good_edf"] = out / "good.edf"
    edf = (out / "good.edf").read_bytes()
    (out / "truncated.edf").write_bytes(edf[: len(edf) // 2])
    f["truncated_edf"] = out / "truncated.edf"
    fabio.tifimage.TifImage(data=frames[0]).write(str(out / "good.tif"))
    f["good_tif"] = out / "good.tif"
    tif = (out / "good.tif").read_bytes()
    (out / "truncated.tif").write_bytes(tif[: len(tif) // 2])
    f["truncated_tif"] = out / "truncated.tif"
    (out / "corrupt.tif").write_bytes(b"II*\x00" + rng.bytes(5000))
    f["corrupt_tif"] = out / "corrupt.tif"
    h5 = out / "good.h5"
    with h5py.File(h5, "w") as fh:
        fh["entry/data/data"] = frames
    f["good_h5"] = h5
    raw = h5.read_bytes()
    (out / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    f["truncated_h5"] = out / "truncated.h5"
    (out / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + rng.bytes(20000))
    f["corrupt_h5"] = out / "corrupt.h5"
    with h5py.File(out / "complex.h5", "w") as fh:
        fh["entry/data/data"] = frames.astype(np.complex64)
    f["wrong_dtype_complex"] = out / "complex.h5"
    with h5py.File(out / "strings.h5", "w") as fh:
        fh["entry/data/data"] = np.array([b"frame"] * N_FRAMES)
    f["wrong_dtype_strings"] = out / "strings.h5"
    with h5py.File(out / "small_frames.h5", "w") as fh:
        fh["entry/data/data"] = frames[:, :100, :100]
    f["frame_shape_mismatch"] = out / "small_frames.h5"
    np.save(out / "mask_wrong_shape.npy", np.zeros((100, 100), np.uint8))
    f["mask_wrong_shape"] = out / "mask_wrong_shape.npy"
    np.save(out / "mask_good.npy", np.zeros(shape, np.uint8))
    f["mask_good"] = out / "mask_good.npy"
    # Eiger: a master whose data file is missing, and one whose data file is short.
    for name, n_written in (("missing", None), ("short", 1)):
        d = out / f"eiger_{name}"
        d.mkdir()
        master = d / f"{name}_master.h5"
        with h5py.File(master, "w") as fh:
            entry = fh.create_group("entry")
            entry.attrs["NX_class"] = "NXentry"
            data = entry.create_group("data")
            data.attrs["NX_class"] = "NXdata"
            data["data_000001"] = h5py.ExternalLink(f"{name}_data_000001.h5", "/entry/data/data")
            det = entry.create_group("instrument/detector")
            det.attrs["NX_class"] = "NXdetector"
            spec = det.create_group("detectorSpecific")
            spec["nimages"] = np.uint32(N_FRAMES)
            spec["ntrigger"] = np.uint32(1)
        if n_written is not None:
            write_eiger_data(d / f"{name}_data_000001.h5", iter(frames[:n_written]),
                             n_written, shape, 0)  # fmt: skip
        f[f"eiger_{name}_data"] = master
    # Side tables: a frame without a row, a non-number, a NaN monitor.
    (out / "side_missing_frame.tsv").write_text("frame\tmonitor\n0\t1.0\n1\t1.0\n")
    f["side_missing_frame"] = out / "side_missing_frame.tsv"
    (out / "side_not_a_number.tsv").write_text("frame\tmonitor\n0\t1.0\n1\tlots\n2\t1.0\n")
    f["side_not_a_number"] = out / "side_not_a_number.tsv"
    (out / "side_nan_monitor.tsv").write_text("frame\tmonitor\n0\t1.0\n1\tnan\n2\t1.0\n")
    f["side_nan_monitor"] = out / "side_nan_monitor.tsv"
    (out / "side_negative_monitor.tsv").write_text("frame\tmonitor\n0\t1.0\n1\t-5\n2\t1.0\n")
    f["side_negative_monitor"] = out / "side_negative_monitor.tsv"
    return f


def _configs(out: Path) -> dict[str, Path]:
    f: dict[str, Path] = {}
    (out / "python_tag.yaml").write_text(
        "samples: config/samples.tsv\n"
        "results: !!python/object/apply:os.system ['touch PWNED']\n"
    )
    f["yaml_python_tag"] = out / "python_tag.yaml"
    (out / "yte.yaml").write_text(
        "__use_yte__: true\nresults:\n  ?__import__('os').system('touch PWNED') or 'results'\n"
    )
    f["yaml_yte_code"] = out / "yte.yaml"
    (out / "not_a_mapping.yaml").write_text("- just\n- a list\n")
    f["yaml_not_a_mapping"] = out / "not_a_mapping.yaml"
    # 100 MB, made sparse (a hole, then one line): no 100 MB written to disk.
    big = out / "huge.yaml"
    with big.open("wb") as fh:
        fh.write(b"results: results\n# ")
        fh.seek(100 * 2**20)
        fh.write(b"\n")
    f["yaml_100mb"] = big
    return f


def make_corpus(outdir: str | Path) -> dict[str, Path]:
    """Write every bad input (and the good ones they are variants of) under ``outdir``.

    Returns
    -------
    dict
        name -> path of each file written.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    return {**_curves(out), **_geometry(out), **_frames(out), **_configs(out)}


if __name__ == "__main__":
    for key, path in make_corpus(sys.argv[1] if len(sys.argv) > 1 else "bad").items():
        print(f"{key}\t{path}")
