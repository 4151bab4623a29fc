# SPDX-License-Identifier: MIT
"""One registry of the units the pipeline reads and writes (after pyFAI's ``units.py``).

Each q unit is one :class:`QUnit` entry that knows every name it goes by: our canonical
spelling (``nm^-1``, ``A^-1``), pyFAI's (``q_nm^-1``), NXcanSAS's (``1/nm``), the spellings
other programs write, its length unit, its factor to m⁻¹ and its axis labels. Intensity
units (:data:`INTENSITY_UNITS`) are NXcanSAS's spellings, which are ours too. Lengths and
times read from detector headers are in :data:`LENGTHS` and :data:`TIMES`. Modules look
units up here instead of keeping tables of their own.

A result field declares the *kind* of its unit (:data:`KINDS`: ``"length"``, ``"q"``,
``"intensity"``, ...); :func:`unit_of_kind` spells a kind for a curve's q unit and intensity
unit, in our spelling, NXcanSAS's or for people (``halos_analysis.types.units_of`` does it
for every field of a result).

Examples
--------
>>> q_unit("1/Å").name
'A^-1'
>>> q_unit("q_nm^-1").nexus
'1/nm'
>>> q_scale("nm^-1", "A^-1")
0.1
>>> unit_of_kind("length^3", "A^-1", spelling="nexus")
'angstrom^3'
>>> unit_of_kind("length", "A^-1", spelling="text")
'Å'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "INTENSITY_ALIASES",
    "INTENSITY_UNITS",
    "KINDS",
    "LENGTHS",
    "Q_UNITS",
    "SPELLINGS",
    "TIMES",
    "QUnit",
    "axis_label",
    "intensity_unit",
    "length_factor",
    "q_scale",
    "q_unit",
    "respell",
    "unit_of_kind",
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
    length_text : str
        That length unit for people (``"Å"``, ``"nm"``).
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
    length_text: str
    per_metre: float
    label: str
    label2: str
    aliases: tuple[str, ...]


Q_UNITS: dict[str, QUnit] = {
    "nm^-1": QUnit(
        "nm^-1", "q_nm^-1", "1/nm", "nm", "nm", "nm", 1e9, "nm$^{-1}$", "nm$^{-2}$",
        ("nm^-1", "1/nm", "nm-1", "q_nm^-1", "nm^{-1}"),
    ),
    "A^-1": QUnit(
        "A^-1", "q_A^-1", "1/angstrom", "A", "angstrom", "Å", 1e10, "Å$^{-1}$", "Å$^{-2}$",
        ("a^-1", "å^-1", "1/a", "1/å", "a-1", "angstrom^-1", "q_a^-1", "1/angstrom",
         "1/ang", "a^{-1}"),
    ),
}  # fmt: skip

_ALIASES = {alias: unit for unit in Q_UNITS.values() for alias in unit.aliases}

#: Intensity units allowed by NXcanSAS for I and Idev (our curves use the same spellings).
INTENSITY_UNITS: tuple[str, ...] = ("1/m", "1/cm", "m2/g", "cm2/g", "arbitrary")
#: The spellings of intensity units users and programs write, and what they mean (lower
#: case, no spaces). "arbitrary" is a statement too: the curve is known not to be on an
#: absolute scale.
INTENSITY_ALIASES: dict[str, str] = {
    "1/cm": "1/cm", "cm^-1": "1/cm", "cm-1": "1/cm", "1/m": "1/m", "m^-1": "1/m", "m-1": "1/m",
    "arbitrary": "arbitrary", "arb": "arbitrary", "arb.": "arbitrary", "a.u.": "arbitrary",
    "au": "arbitrary", "none": "arbitrary",
}  # fmt: skip

#: Kinds of unit a result field declares (``dataclasses.field(metadata=...)``), resolved by
#: :func:`unit_of_kind`. ``index`` is a row number, ``count`` a number of things; both and
#: ``dimensionless`` have no unit (spelled ``""``); ``arbitrary`` is a scale of its own.
KINDS: tuple[str, ...] = (
    "length", "length^2", "length^3", "q", "q^2", "intensity", "kDa", "arbitrary",
    "dimensionless", "count", "index",
)  # fmt: skip
#: How a unit may be spelled: ours (``nm``, ``A^-1``), NXcanSAS's ``units`` attribute
#: (``angstrom``, ``1/angstrom``), for people (``Å``, ``Å⁻¹``, ``nm³``) or for the axis
#: labels of figures (matplotlib mathtext: ``Å``, ``Å$^{-1}$``, ``nm$^{3}$``).
SPELLINGS: tuple[str, ...] = ("halos", "nexus", "text", "label")
_POWERS = {
    "halos": ("^2", "^3"), "nexus": ("^2", "^3"), "text": ("²", "³"), "label": ("$^2$", "$^3$"),
}  # fmt: skip

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


def intensity_unit(unit: str | None) -> str:
    """NXcanSAS (and our) spelling of an intensity unit: ``1/cm``, ``1/m``, ... or ``arbitrary``.

    Anything unknown, absent or not text (a damaged file) is ``"arbitrary"``.

    >>> intensity_unit("cm^-1"), intensity_unit(None)
    ('1/cm', 'arbitrary')
    """
    if not isinstance(unit, str):
        return "arbitrary"
    key = unit.strip().lower().replace(" ", "")
    return INTENSITY_ALIASES.get(key, unit if unit in INTENSITY_UNITS else "arbitrary")


def unit_of_kind(
    kind: str, q: str | None = None, intensity: str | None = None, *, spelling: str = "halos"
) -> str:
    """The unit of a kind of :data:`KINDS` for data in q unit ``q`` and intensity unit
    ``intensity``, spelled as one of :data:`SPELLINGS`.

    Parameters
    ----------
    kind : str
        ``"length"``, ``"length^2"``, ``"length^3"``, ``"q"``, ``"q^2"``, ``"intensity"``,
        ``"kDa"``, ``"arbitrary"``, ``"dimensionless"``, ``"count"`` or ``"index"``.
    q : str, optional
        The q unit, any spelling; needed by lengths and q.
    intensity : str, optional
        The intensity unit (``"arbitrary"`` when None or unknown).
    spelling : {"halos", "nexus", "text", "label"}

    Raises
    ------
    ValueError
        For an unknown kind or spelling, or a length or q kind without a q unit.

    Examples
    --------
    >>> unit_of_kind("length", "nm^-1"), unit_of_kind("q", "A^-1", spelling="nexus")
    ('nm', '1/angstrom')
    >>> unit_of_kind("intensity", "nm^-1", "cm^-1"), unit_of_kind("index")
    ('1/cm', '')
    >>> unit_of_kind("q^2", "A^-1", spelling="label"), unit_of_kind("q^2", "nm^-1")
    ('Å$^{-2}$', 'nm^-2')
    """
    if spelling not in SPELLINGS:
        raise ValueError(f"unknown unit spelling {spelling!r} (use one of {SPELLINGS})")
    if kind in ("dimensionless", "count", "index"):
        return ""
    if kind in ("kDa", "arbitrary"):
        return kind
    if kind == "intensity":
        return intensity_unit(intensity)
    if kind not in KINDS:
        raise ValueError(f"unknown unit kind {kind!r} (use one of {KINDS})")
    if q is None:
        raise ValueError(f"a {kind} needs the q unit")
    unit = q_unit(q)
    if kind == "q":
        return {"halos": unit.name, "nexus": unit.nexus, "text": unit.length_text + "⁻¹",
                "label": unit.label}[spelling]  # fmt: skip
    if kind == "q^2":
        return {"halos": f"{unit.length}^-2", "nexus": f"1/{unit.length_nexus}^2",
                "text": unit.length_text + "⁻²", "label": unit.label2}[spelling]  # fmt: skip
    length = {"halos": unit.length, "nexus": unit.length_nexus, "text": unit.length_text,
              "label": unit.length_text}[spelling]  # fmt: skip
    power = {"length": "", "length^2": _POWERS[spelling][0], "length^3": _POWERS[spelling][1]}
    return length + power[kind]


def respell(unit: str, spelling: str = "text") -> str:
    """A unit in our spelling (as :func:`unit_of_kind` gives it) in another spelling.

    Units that depend on no q unit (``1/cm``, ``kDa``, ``""``) are the same in every spelling.

    >>> respell("A^3"), respell("nm^-1"), respell("A", "nexus"), respell("kDa")
    ('Å³', 'nm⁻¹', 'angstrom', 'kDa')
    """
    for q in Q_UNITS.values():
        for kind in ("q", "q^2", "length", "length^2", "length^3"):
            if unit_of_kind(kind, q.name) == unit:
                return unit_of_kind(kind, q.name, spelling=spelling)
    return unit


def axis_label(quantity: str, kind: str, q: str | None = None, intensity: str | None = None) -> str:
    """Axis label of a figure: the quantity and, when it has one, its unit in brackets.

    The unit is that of :func:`unit_of_kind` in the ``"label"`` spelling (matplotlib
    mathtext), so every figure spells Å, Å⁻¹ and nm⁻² alike.

    >>> axis_label("q", "q", "A^-1"), axis_label("Rg", "length", "nm^-1")
    ('q (Å$^{-1}$)', 'Rg (nm)')
    >>> axis_label("q$^2$", "q^2", "nm^-1"), axis_label("qRg", "dimensionless")
    ('q$^2$ (nm$^{-2}$)', 'qRg')
    """
    unit = unit_of_kind(kind, q, intensity, spelling="label")
    return f"{quantity} ({unit})" if unit else quantity
