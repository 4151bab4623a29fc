# SPDX-License-Identifier: MIT
"""Read and write 1D curves as text: ATSAS ``.dat``, RAW ``### DATA:`` files, GNOM ``.out``.

Data rows are numbered from 0 in the order they appear in the file; every fitted range the
package reports is an inclusive pair of such indices.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from halos_analysis import units as _units
from halos_analysis.errors import HalosInputError
from halos_analysis.io.atomic import write_text_atomic
from halos_analysis.types import Curve, RowUse, normalise_q_unit, row_use

logger = logging.getLogger(__name__)

# NaN and inf are matched so that such rows are reported, not silently skipped.
_FLOAT = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_ROW = re.compile(rf"(?i)^\s*({_FLOAT})[\s,;]+({_FLOAT})(?:[\s,;]+({_FLOAT}))?(?:[\s,;].*)?$")

# An explicit statement of the q unit, as write_dat writes it ("# q_unit: nm^-1") and as some
# programs write it ("Angular units: 1/nm"). It wins over every other hint.
_EXPLICIT_UNIT = re.compile(r"(?i)^[#\s]*(?:q[ _]?units?|angular\s+units?)\s*[:=]\s*(\S+)")

# A column-heading line names the q column as a word of its own ("q", "Q", "s", "S", or
# "q*nm", "q_nm^-1", "Q(1/A)", "q [nm-1]"): the unit is only looked for on such lines, so
# that a sample called "BSA-1" or "lysozyme_a-1" is not read as a unit.
_Q_COLUMN = re.compile(r"(?:^|[\s#])[qQsS](?=$|[\s*_(\[/,:])")

# Unit spellings written by ATSAS, RAW, BM29/freesas, pyFAI, SasView. Letters are not allowed
# right before or after, so that words which merely contain "nm" or "a" do not match.
_NM = r"(?:1\s*/\s*nm|nm\s*\^?\s*\{?\s*-\s*1\}?)"
_ANG = r"(?:a|å|ang|angstrom)"
_A = rf"(?:1\s*/\s*{_ANG}|{_ANG}\s*\^?\s*\{{?\s*-\s*1\}}?)"
_UNIT_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"(?i)(?<![a-z]){_NM}(?![a-z0-9])|\bq\s*[*_]\s*nm\b"), "nm^-1"),
    (re.compile(rf"(?i)(?<![a-z]){_A}(?![a-z0-9])|\bq\s*[*_]\s*{_ANG}\b"), "A^-1"),
)


def _unit_in(text: str) -> str | None:
    found = {unit for pattern, unit in _UNIT_HINTS if pattern.search(text)}
    # A line that names both units (e.g. a conversion note) states neither.
    return found.pop() if len(found) == 1 else None


def _unit_from_header(lines: Iterable[str]) -> str | None:
    """The q unit a file's header states, or None.

    An explicit ``q_unit: ...`` line wins; otherwise the first column-heading line (one that
    names a q/s column) that carries a unit decides.
    """
    lines = list(lines)
    for line in lines:
        m = _EXPLICIT_UNIT.match(line)
        if m:
            try:
                return normalise_q_unit(m.group(1))
            except ValueError:
                if (unit := _unit_in(m.group(1))) is not None:
                    return unit
    for line in lines:
        if _Q_COLUMN.search(line) and (unit := _unit_in(line)) is not None:
            return unit
    return None


# Intensity units: the spellings users and programs write, and what they mean (the registry).
_I_UNIT_ALIASES: dict[str, str] = _units.INTENSITY_ALIASES
_EXPLICIT_I_UNIT = re.compile(r"(?i)^[#\s]*intensity[ _]?units?\s*[:=]\s*(.*?)\s*$")

# Where a q range stops being believable for a bioSAXS curve in a unit (see guess_q_unit):
# a curve that ends below 1 nm⁻¹ (0.1 Å⁻¹) or above 2 Å⁻¹ (20 nm⁻¹) is not SAXS of a
# macromolecule in that unit, and far more often a mislabelled file.
_QMAX_BELIEVABLE = {"nm^-1": (1.0, 20.0), "A^-1": (0.1, 2.0)}


def normalise_intensity_unit(unit: object) -> str | None:
    """Canonical spelling of an intensity unit: ``"1/cm"``, ``"1/m"``, ``"arbitrary"``.

    Returns None for None or an empty string (unit not known); other spellings are kept as
    given (stripped), so that an unusual but stated unit is not silently renamed.
    """
    if unit is None:
        return None
    text = str(unit).strip()
    if not text:
        return None
    return _I_UNIT_ALIASES.get(text.lower().replace(" ", ""), text)


#: Typical first and last q of a bioSAXS curve in each unit (a synchrotron or lab SAXS
#: set-up, WAXS extensions included at the high end): used only to guess an unstated unit.
_TYPICAL_Q_RANGE = {"A^-1": (0.008, 0.4), "nm^-1": (0.08, 4.0)}


def guess_q_unit(q: np.ndarray) -> str:
    """Guess the q unit from the q range of a SAXS curve.

    BioSAXS curves start near 0.003–0.02 Å⁻¹ (0.03–0.2 nm⁻¹) and end between about 0.2 and
    0.6 Å⁻¹ (2–6 nm⁻¹), WAXS extensions to ~2 Å⁻¹. The unit whose typical range is closer on
    a log scale, first and last q together, is taken: q max alone cannot tell a WAXS curve
    in Å⁻¹ (q max 1.7) from a short SAXS curve in nm⁻¹.
    """
    finite = q[np.isfinite(q) & (q > 0)]
    if finite.size == 0:
        return "A^-1"
    qmin, qmax = float(finite.min()), float(finite.max())

    def distance(unit: str) -> float:
        lo, hi = _TYPICAL_Q_RANGE[unit]
        return abs(math.log(qmin / lo)) + abs(math.log(qmax / hi))

    return min(_TYPICAL_Q_RANGE, key=distance)


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
        The q unit. When absent it is read from the header: an explicit ``q_unit: ...`` line
        (as :func:`write_dat` writes) wins, else a column heading such as ``q*nm`` or
        ``q_A^-1``; when the header states none it is guessed from the q range (said on
        stderr). A given unit is kept, but a one-line warning goes to stderr when it
        contradicts the header or the q range is implausible in it (e.g. q max 0.28 as nm⁻¹).
    name : str, optional
        Name for the curve; the file's stem by default.

    Returns
    -------
    Curve
        ``meta`` holds ``source``, ``q_unit_source`` (argument, header or guessed), the
        ``intensity_unit`` when the header states one (``# intensity_unit: 1/cm``) and the
        ``flags`` written by :func:`write_dat`.

    Raises
    ------
    HalosInputError
        When the file is missing, holds no data rows, fewer than :data:`MIN_USABLE_ROWS`
        usable rows, or q that decreases. Rows with σ ≤ 0, NaN σ or I, or a repeated q are
        kept in the curve as read and left out of every fit (:meth:`Curve.rows`); a
        one-line warning names them.
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
    header_unit = _unit_from_header(header)
    if q_unit is None:
        q_unit = header_unit
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

    use = check_curve_arrays(q, intensity, sigma, path)
    if use.skipped:
        logger.warning("%s: %s", path, use.note())
    if unit_source in ("argument", "header"):
        _warn_doubtful_unit(path, q_unit, header_unit, q, unit_source)
    meta: dict[str, object] = {"source": str(path), "q_unit_source": unit_source}
    for line in header:
        m = _EXPLICIT_I_UNIT.match(line)
        if m and (i_unit := normalise_intensity_unit(m.group(1))) is not None:
            meta["intensity_unit"] = i_unit
            break
    # Quality flags and the frames' normalisation written by write_dat come back too.
    for line in header:
        m = re.match(r"^#\s*(flags|normalisation):\s*(.*)$", line)
        if m and m.group(1) == "flags":
            meta["flags"] = tuple(f for f in m.group(2).split() if f != "none")
        elif m:
            meta["normalisation"] = m.group(2).strip()
    return Curve(q, intensity, sigma, q_unit, name=name or path.stem, meta=meta)


def _warn_doubtful_unit(
    path: Path, q_unit: str, header_unit: str | None, q: np.ndarray, source: str = "argument"
) -> None:
    """One line on stderr when a q unit the caller or the header gave looks wrong (the choice
    is kept: nm⁻¹ values under an Å⁻¹ heading are a mistake seen in real files)."""
    qmax = float(np.nanmax(q)) if np.isfinite(q).any() else float("nan")
    low, high = _QMAX_BELIEVABLE[q_unit]
    if header_unit is not None and header_unit != q_unit:
        why = f"the file's header says {header_unit}"
    elif not low <= qmax <= high:
        why = f"q max {qmax:.4g} is implausible in {q_unit} (expected {low:g}-{high:g})"
    else:
        return
    given = "as asked" if source == "argument" else "as its header says"
    print(f"warning: {path}: reading q as {q_unit} {given}, but {why}", file=sys.stderr)


#: A file with fewer usable rows than this cannot be analysed at all (the smallest Guinier
#: fit takes 5 points); it is refused on reading.
MIN_USABLE_ROWS = 5


def check_curve_arrays(
    q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray, path: str | Path
) -> RowUse:
    """Check a curve's rows as a file gave them; return which rows a fit may use.

    Rows that real files carry (σ = 0 or NaN, NaN intensities, a repeated q) are kept and
    marked unusable (:func:`halos_analysis.types.row_use`), not refused. Refused, with
    :class:`HalosInputError` naming the row: q that decreases (rows out of order: nothing
    can say which q belongs to which intensity), and a curve with fewer than
    :data:`MIN_USABLE_ROWS` usable rows. Negative intensities are allowed: they are normal at
    high q after subtraction.
    """
    finite = np.flatnonzero(np.isfinite(q))
    if finite.size > 1:
        step = np.diff(q[finite])
        if (step < 0).any():
            k = int(np.argmax(step < 0)) + 1
            i = int(finite[k])
            raise HalosInputError(
                f"q must increase; decreasing q = {q[i]:g} at data row {i}", path, f"row {i}"
            )
    use = row_use(q, intensity, sigma)
    if use.n_usable < MIN_USABLE_ROWS:
        raise HalosInputError(
            f"only {use.n_usable} usable rows of {len(q)} (need at least {MIN_USABLE_ROWS}); "
            + use.note(),
            path,
            "rows",
        )
    return use


#: An analysis (automatic Guinier, P(r), MW) needs at least this many usable rows with I > 0:
#: P(r) takes 10, and the Guinier search's smallest window (5 rows) needs rows beyond it.
MIN_ANALYSIS_ROWS = 10


def require_analysable(curve: Curve, path: str | Path | None = None) -> Curve:
    """The curve, if an analysis can use it: else one :class:`HalosInputError`.

    A file the reader accepts may still be too short, or hold no positive intensity (an
    over-subtracted curve): no Guinier, P(r) or MW can come out of it, so it is an input error
    (exit 1), not a result with ``valid: false``.
    """
    use = curve.rows()
    positive = int(np.count_nonzero(use.usable & (curve.intensity > 0)))
    if positive < MIN_ANALYSIS_ROWS:
        where = path if path is not None else curve.meta.get("source")
        what = "no usable row" if positive == 0 else f"only {positive} usable rows"
        raise HalosInputError(
            f"{what} with I > 0 among {len(curve)} (an analysis needs at least "
            f"{MIN_ANALYSIS_ROWS}); {use.note()}",
            where,
            "rows",
        )
    return curve


def write_dat(curve: Curve, path: str | Path, header: dict[str, object] | None = None) -> Path:
    """Write a curve as an ATSAS-style three-column ``.dat`` file.

    The header names the sample, the q unit, the intensity unit (``meta["intensity_unit"]``,
    ``arbitrary`` when not known) and any ``header`` items, one ``# key: value`` line each.
    Written to a temporary name first, so that no half-written file is left.

    Points whose intensity is NaN (a q bin no frame had a valid pixel in, see
    :func:`halos_analysis.reduce.average`) are left out, so that every written file reads back
    with :func:`read_curve`; their number is written as ``# empty_bins_omitted: N`` and said on
    stderr. Any other non-finite value is written as is and refused on reading.
    """
    path = Path(path)
    i_unit = normalise_intensity_unit(curve.meta.get("intensity_unit")) or "arbitrary"
    lines = [f"# {curve.name}", f"# q_unit: {curve.q_unit}", f"# intensity_unit: {i_unit}"]
    empty = np.isnan(curve.intensity)
    if empty.any():
        lines.append(f"# empty_bins_omitted: {int(empty.sum())}")
        print(
            f"{path}: {int(empty.sum())} q bins without data (NaN in every frame) left out",
            file=sys.stderr,
        )
    for key, value in (header or {}).items():
        lines.append(f"# {key}: {value}")
    qcol = "q*nm^-1" if curve.q_unit == "nm^-1" else "q*A^-1"
    lines.append(f"# {qcol:>14s} {'I':>15s} {'sigma':>15s}")
    keep = ~empty
    body = "\n".join(
        f"{q:16.8e} {i:15.8e} {s:15.8e}"
        for q, i, s in zip(curve.q[keep], curve.intensity[keep], curve.sigma[keep], strict=True)
    )
    return write_text_atomic("\n".join(lines) + "\n" + body + "\n", path, make_parents=False)
