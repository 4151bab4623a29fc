# SPDX-License-Identifier: MIT
"""Read and write 1D curves as text: ATSAS ``.dat``, RAW ``### DATA:`` files, GNOM ``.out``.

Data rows are numbered from 0 in the order they appear in the file; every fitted range the
package reports is an inclusive pair of such indices.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import Curve, normalise_q_unit

# NaN and inf are matched so that such rows are reported, not silently skipped.
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_ROW = re.compile(rf"(?i)^\s*({_FLOAT})[\s,;]+({_FLOAT})(?:[\s,;]+({_FLOAT}))?(?:[\s,;].*)?$")

# Header phrases that state the q unit, as written by ATSAS, RAW, BM29/freesas, pyFAI.
_UNIT_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"q\s*\*?\s*nm|1\s*/\s*nm|nm\s*\^?\s*-\s*1|\[nm-1\]|\bq_nm", re.I), "nm^-1"),
    (re.compile(r"1\s*/\s*(?:a|å|angstrom)\b|(?:a|å)\s*\^?\s*-\s*1|\[a-1\]|\bq_a", re.I), "A^-1"),
)


def _unit_from_header(lines: Iterable[str]) -> str | None:
    for line in lines:
        for pattern, unit in _UNIT_HINTS:
            if pattern.search(line):
                return unit
    return None


def guess_q_unit(q: np.ndarray) -> str:
    """Guess the q unit from the q range of a SAXS curve.

    BioSAXS curves end between about 0.2 and 0.6 Å⁻¹ (2–6 nm⁻¹): a last q above 1 is taken
    as nm⁻¹, else Å⁻¹.
    """
    qmax = float(np.nanmax(q)) if len(q) else 0.0
    return "nm^-1" if qmax > 1.0 else "A^-1"


def _gnom_experimental_block(lines: list[str]) -> list[str] | None:
    # GNOM .out: the experimental block starts after the "S  J EXP  ERROR  J REG  I REG" header
    # and ends at the first blank line after data (then the real-space block follows).
    for i, line in enumerate(lines):
        if re.match(r"^\s*S\s+J\s+EXP\s+ERROR", line):
            block = []
            for row in lines[i + 1 :]:
                if not row.strip():
                    if block:
                        break
                    continue
                if "Distance distribution" in row or re.match(r"^\s*R\s+P\(R\)", row):
                    break
                # Rows extrapolated towards q = 0 carry only S and I REG: not measured data.
                if len(row.split()) == 5:
                    block.append(row)
            return block
    return None


def read_curve(path: str | Path, q_unit: str | None = None, name: str | None = None) -> Curve:
    """Read a curve from a text file.

    Understands ATSAS-style ``.dat`` (3 columns q, I, σ; comment and header lines skipped),
    RAW's ``### DATA:`` files (the data block only, not its JSON header) and the experimental
    block of GNOM ``.out`` files. Two-column files get σ = NaN.

    Parameters
    ----------
    path : str or Path
        The file.
    q_unit : str, optional
        The q unit; when absent it is read from the header where stated, else guessed from
        the q range (and the guess is said on stderr).
    name : str, optional
        Name for the curve; the file's stem by default.

    Returns
    -------
    Curve

    Raises
    ------
    HalosInputError
        When the file is missing, holds no data rows, or a row has a non-finite value,
        σ ≤ 0, or q that is not strictly increasing.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        raise HalosInputError("file not found", path) from None
    except IsADirectoryError:
        raise HalosInputError("is a directory, not a curve file", path) from None
    lines = text.splitlines()

    if (block := _gnom_experimental_block(lines)) is not None:
        data_lines = block
        header = [ln for ln in lines if not _ROW.match(ln)]
    else:
        # RAW files: the data block ends where "### HEADER:" begins.
        end = next((i for i, ln in enumerate(lines) if ln.startswith("### HEADER")), len(lines))
        data_lines, header = [], []
        for line in lines[:end]:
            if line.lstrip().startswith("#") or not _ROW.match(line):
                header.append(line)
            else:
                data_lines.append(line)

    rows, first_line = [], None
    for line in data_lines:
        m = _ROW.match(line)
        if m is None:
            continue
        vals = [float(v.replace("d", "e").replace("D", "e")) if v else math.nan for v in m.groups()]
        rows.append(vals)
        first_line = first_line or line
    if not rows:
        raise HalosInputError("no data rows (expected columns q, I, sigma)", path)
    data = np.asarray(rows, dtype=np.float64)
    q, intensity, sigma = data[:, 0], data[:, 1], data[:, 2]

    unit_source = "argument"
    if q_unit is None:
        q_unit = _unit_from_header(header)
        unit_source = "header"
    if q_unit is None:
        q_unit = guess_q_unit(q)
        print(
            f"{path}: q unit not stated, guessed {q_unit} from q max {q.max():.4g}"
            " (use --q-unit to set it)",
            file=sys.stderr,
        )
        unit_source = "guessed"
    try:
        q_unit = normalise_q_unit(q_unit)
    except ValueError as exc:
        raise HalosInputError(str(exc), path, "q unit") from None

    check_curve_arrays(q, intensity, sigma, path)
    meta: dict[str, object] = {"source": str(path), "q_unit_source": unit_source}
    # Quality flags written by write_dat ("# flags: a b") come back with the curve.
    for line in header:
        m = re.match(r"^#\s*flags:\s*(.*)$", line)
        if m:
            meta["flags"] = tuple(f for f in m.group(1).split() if f != "none")
    return Curve(q, intensity, sigma, q_unit, name=name or path.stem, meta=meta)


def check_curve_arrays(
    q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray, path: str | Path
) -> None:
    """Raise :class:`HalosInputError` naming the first bad point of a curve.

    Checks finite q and I, σ finite and > 0 (where σ is given), and strictly increasing q.
    Negative intensities are allowed: they are normal at high q after subtraction.
    """
    bad = ~np.isfinite(q) | ~np.isfinite(intensity)
    if bad.any():
        i = int(np.argmax(bad))
        raise HalosInputError(f"non-finite q or I at data row {i}", path, f"row {i}")
    has_sigma = ~np.isnan(sigma)
    if has_sigma.any():
        bad = has_sigma & (~np.isfinite(sigma) | (sigma <= 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise HalosInputError(
                f"sigma must be finite and > 0, got {sigma[i]!r} at data row {i}",
                path,
                f"row {i}",
            )
    if len(q) > 1:
        step = np.diff(q)
        if (step <= 0).any():
            i = int(np.argmax(step <= 0)) + 1
            what = "duplicated" if step[i - 1] == 0 else "decreasing"
            raise HalosInputError(
                f"q must increase strictly; {what} q = {q[i]!r} at data row {i}", path, f"row {i}"
            )


def write_dat(curve: Curve, path: str | Path, header: dict[str, object] | None = None) -> Path:
    """Write a curve as an ATSAS-style three-column ``.dat`` file.

    The header names the sample, the q unit and any ``header`` items, one ``# key: value``
    line each. Written to a temporary name first, so that no half-written file is left.
    """
    path = Path(path)
    lines = [f"# {curve.name}", f"# q_unit: {curve.q_unit}"]
    for key, value in (header or {}).items():
        lines.append(f"# {key}: {value}")
    qcol = "q*nm^-1" if curve.q_unit == "nm^-1" else "q*A^-1"
    lines.append(f"# {qcol:>14s} {'I':>15s} {'sigma':>15s}")
    body = "\n".join(
        f"{q:16.8e} {i:15.8e} {s:15.8e}"
        for q, i, s in zip(curve.q, curve.intensity, curve.sigma, strict=True)
    )
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines) + "\n" + body + "\n")
    tmp.replace(path)
    return path
