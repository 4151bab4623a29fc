# SPDX-License-Identifier: MIT
"""One registry of the units the pipeline reads and writes (after pyFAI's ``units.py``).

Each q unit is one :class:`QUnit` entry that knows every name it goes by: our canonical
spelling (``nm^-1``, ``A^-1``), pyFAI's (``q_nm^-1``), NXcanSAS's (``1/nm``), the spellings
other programs write, its length unit, its factor to m⁻¹ and its axis labels. Lengths and
times read from detector headers are in :data:`LENGTHS` and :data:`TIMES`. Modules look
units up here instead of keeping tables of their own.

Examples
--------
>>> q_unit("1/Å").name
'A^-1'
>>> q_unit("q_nm^-1").nexus
'1/nm'
>>> q_scale("nm^-1", "A^-1")
0.1
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "LENGTHS",
    "Q_UNITS",
    "TIMES",
    "QUnit",
    "length_factor",
    "q_scale",
    "q_unit",
]


@dataclass(frozen=True)
class QUnit:
    """A unit of the scattering vector q.

    Attributes
    ----------
    name : str
        Canonical spelling (``"nm^-1"`` or ``"A^-1"``).
    pyfai : str
        pyFAI's radial unit (``"q_nm^-1"``).
    nexus : str
        NXcanSAS ``Q@units``.
    length : str
        The length unit that goes with it (Rg, Dmax): ``"nm"`` or ``"A"``.
    length_nexus : str
        NXcanSAS spelling of that length unit.
    per_metre : float
        1 of this unit in m⁻¹.
    label, label2 : str
        Axis labels (matplotlib mathtext) of q and q².
    aliases : tuple of str
        Other spellings accepted on reading (lower case, no spaces).
    """

    name: str
    pyfai: str
    nexus: str
    length: str
    length_nexus: str
    per_metre: float
    label: str
    label2: str
    aliases: tuple[str, ...]


Q_UNITS: dict[str, QUnit] = {
    "nm^-1": QUnit(
        "nm^-1", "q_nm^-1", "1/nm", "nm", "nm", 1e9, "nm$^{-1}$", "nm$^{-2}$",
        ("nm^-1", "1/nm", "nm-1", "q_nm^-1", "nm^{-1}"),
    ),
    "A^-1": QUnit(
        "A^-1", "q_A^-1", "1/angstrom", "A", "angstrom", 1e10, "Å$^{-1}$", "Å$^{-2}$",
        ("a^-1", "å^-1", "1/a", "1/å", "a-1", "angstrom^-1", "q_a^-1", "1/angstrom",
         "1/ang", "a^{-1}"),
    ),
}  # fmt: skip

_ALIASES = {alias: unit for unit in Q_UNITS.values() for alias in unit.aliases}

#: Length units of detector headers and geometry, in metres.
LENGTHS: dict[str, float] = {
    "m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9,
    "a": 1e-10, "å": 1e-10, "angstrom": 1e-10,
}  # fmt: skip
#: Time units of detector headers, in seconds.
TIMES: dict[str, float] = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6}


def q_unit(text: str) -> QUnit:
    """The :class:`QUnit` of any spelling (``nm^-1``, ``1/nm``, ``q_A^-1``, ``1/Å`` ...).

    Raises
    ------
    ValueError
        When the spelling is of no known q unit.
    """
    key = str(text).strip().lower().replace(" ", "")
    if key not in _ALIASES:
        raise ValueError(f"unknown q unit {text!r} (use nm^-1 or A^-1)")
    return _ALIASES[key]


def q_scale(from_unit: str, to_unit: str) -> float:
    """Factor converting q values from one unit to another (1 nm⁻¹ = 0.1 Å⁻¹)."""
    a, b = q_unit(from_unit), q_unit(to_unit)
    return a.per_metre / b.per_metre if a is not b else 1.0


def length_factor(unit: str) -> float:
    """Metres in one ``unit`` of :data:`LENGTHS` (case-insensitive).

    Raises
    ------
    KeyError
        For a unit that is no length.
    """
    return LENGTHS[unit.strip().lower()]
