# SPDX-License-Identifier: MIT
"""Long runs of raw Eiger2 4M frames for the benchmarks (a helper module, not a benchmark).

The example's 5 mg/ml BSA on absolute scale on the example's Eiger2 4M (2068 × 2162 pixels),
written as a DECTRIS master with bitshuffle-LZ4 data files of ``PER_FILE`` frames, the frames
drawn and written one by one (never held together). ``bench_series_frames.py`` writes a SEC
run with it, ``bench_soak.py`` a long stream.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from halos_analysis.io.curves import read_curve  # noqa: E402
from halos_analysis.simulate import (  # noqa: E402
    DETECTORS,
    ProteinModel,
    build_detector_model,
    default_profile_path,
    write_eiger_data,
    write_eiger_master,
)

#: Frames per data file, as a DECTRIS detector writes them.
PER_FILE = 1000
#: Sample transmission of every frame (the counts are drawn with it).
TRANSMISSION = 0.4


@dataclass(frozen=True)
class EigerBsa:
    """The detector model, the photons per frame, and the geometry and mask files written."""

    setup: object
    model: object
    flux: float
    poni: Path
    mask: Path

    def counts(self, expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One frame of Poisson counts of ``expected`` (per incident photon), gaps flagged."""
        counts = rng.poisson(expected * self.flux * TRANSMISSION).astype(np.uint32)
        counts[self.model.gaps] = np.uint32(2**32 - 1)
        return counts

    def write_data(
        self,
        outdir: Path,
        stem: str,
        n: int,
        frames: Callable[[int, int], Iterable[np.ndarray]],
        reuse: bool = False,
    ) -> list[tuple[str, int]]:
        """Data files ``<stem>_data_NNNNNN.h5`` of ``n`` frames, ``frames(first, m)`` giving
        the ``m`` frames from ``first`` on; with ``reuse`` a file there already is kept.
        Returns ``(file name, frames)`` of each, for :meth:`write_master`."""
        files = []
        for first in range(0, n, PER_FILE):
            m = min(PER_FILE, n - first)
            name = f"{stem}_data_{first // PER_FILE + 1:06d}.h5"
            if not (reuse and (outdir / name).is_file()):
                write_eiger_data(outdir / name, frames(first, m), m, self.model.gaps.shape, first)
            files.append((name, m))
        return files

    def write_master(self, outdir: Path, name: str, files: Sequence[tuple[str, int]],
                     sample: str) -> Path:  # fmt: skip
        """The master ``<name>_master.h5`` linking ``files`` (monitor and transmission of
        every frame as drawn)."""
        k = sum(m for _, m in files)
        return write_eiger_master(
            outdir, name, self.setup, self.model.ai, files, np.full(k, self.flux),
            np.full(k, TRANSMISSION), self.model.gaps.astype(np.uint32), sample,
        )  # fmt: skip


def eiger_bsa(outdir: Path) -> EigerBsa:
    """Build the model; write ``eiger4m.poni`` and ``eiger4m_mask.npy`` into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    setup = DETECTORS["eiger4m"]
    protein = ProteinModel.from_curve(read_curve(default_profile_path(), q_unit="nm^-1"))
    # The example's 5 mg/ml BSA on absolute scale (I0 ≈ 0.24 cm⁻¹), solvent displaced.
    model = build_detector_model(
        setup, protein, i0_cm=0.24, volume_fraction=0.0037, thickness_cm=0.17
    )
    poni, mask = outdir / "eiger4m.poni", outdir / "eiger4m_mask.npy"
    model.ai.write(str(poni))
    np.save(mask, model.mask)
    return EigerBsa(setup, model, 5e12 * setup.exposure_s, poni, mask)
