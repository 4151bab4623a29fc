# SPDX-License-Identifier: MIT
"""Compare two results folders of the workflow: the numbers must be identical.

Used by ``tests/cluster/slurm_local.sh`` (a SLURM run against a local run of the same
inputs) and by the cluster tests. Curves (``.dat``), tables (``.csv``), analysis and summary
JSON and the PNG plots must be byte-identical; in the HDF5 files (NXcanSAS results, frames
files) every numeric dataset must be equal, NaN where NaN. What records when and where a run
happened (run manifest, provenance, RO-Crate, HTML report, SVG ids, logs) is not compared.

    python tests/cluster/compare_results.py RESULTS_A RESULTS_B
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

log = logging.getLogger("compare_results")

# Files that record the run itself (times, hosts, paths, random SVG ids), not its numbers.
VOLATILE_NAMES = {"provenance.json", "run.json", "ro-crate-metadata.json", "report.html"}
VOLATILE_PARTS = {"logs", ".halos", ".cache"}


def _compared(root: Path) -> set[str]:
    out = set()
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or VOLATILE_PARTS & set(rel.parts[:-1]):
            continue
        if rel.name in VOLATILE_NAMES or rel.suffix in (".svg", ".html"):
            continue
        out.add(rel.as_posix())
    return out


def _h5_differences(a: Path, b: Path) -> list[str]:
    import h5py

    diffs: list[str] = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a: list[str] = []
        fa.visit(names_a.append)
        names_b: list[str] = []
        fb.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            diffs.append(f"{a.name}: other HDF5 objects ({set(names_a) ^ set(names_b)})")
            return diffs
        for name in names_a:
            da, db = fa[name], fb[name]
            if not isinstance(da, h5py.Dataset) or da.dtype.kind not in "biufc":
                continue
            xa, xb = da[()], db[()]
            if np.shape(xa) != np.shape(xb) or not np.array_equal(xa, xb, equal_nan=True):
                diffs.append(f"{a.name}:{name} differs")
    return diffs


def differences(a: str | Path, b: str | Path) -> list[str]:
    """What differs between two results folders (empty: the same numbers).

    Parameters
    ----------
    a, b : str or Path
        Two ``results/`` folders of the workflow.

    Returns
    -------
    list of str
        One line per file missing on one side or differing.
    """
    a, b = Path(a), Path(b)
    files_a, files_b = _compared(a), _compared(b)
    diffs = [f"only in {a}: {f}" for f in sorted(files_a - files_b)]
    diffs += [f"only in {b}: {f}" for f in sorted(files_b - files_a)]
    for rel in sorted(files_a & files_b):
        pa, pb = a / rel, b / rel
        if pa.suffix == ".h5":
            diffs += [f"{rel}: {d}" for d in _h5_differences(pa, pb)]
        elif pa.read_bytes() != pb.read_bytes():
            diffs.append(f"{rel}: contents differ")
    return diffs


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = p.parse_args(argv)
    found = differences(args.a, args.b)
    for line in found:
        log.error("%s", line)
    n = len(_compared(args.a))
    if not n:
        log.error("no results in %s", args.a)
        return 1
    log.info("%d files compared: %s", n, "identical" if not found else f"{len(found)} differ")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
