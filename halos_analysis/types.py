# SPDX-License-Identifier: MIT
"""Typed results shared by every stage of the pipeline.

Each result is a frozen dataclass that carries its units, puts every uncertainty beside its
value, prints as one readable line and turns into plain JSON with ``to_dict()`` and back with
``from_dict()`` (the one serialiser of each type: JSON, NXcanSAS, the summary and the report
all go through it). Lengths are always in the unit that matches the curve's q unit: Å for
``A^-1``, nm for ``nm^-1``.

Every number field declares the *kind* of its unit as field metadata
(``Rg: float = field(metadata=unit("length"))``); :func:`units_of` spells them for the
result's q unit (and the curve's intensity unit) through :mod:`halos_analysis.units`:

>>> g = GuinierResult(3.2, 0.01, 0.24, 0.001, 25, 64, 0.58, 1.29, "nm^-1")
>>> units_of(g, "1/cm")["Rg"], units_of(g, "1/cm")["I0"], units_of(g)["qRg_max"]
('nm', '1/cm', '')
>>> units_of(g, spelling="nexus", intensity_unit="1/cm")["Rg"]
'nm'
>>> GuinierResult.from_dict(g.to_dict()) == g
True

A failed analysis is a falsy result that says why, never a sentinel: its numbers are NaN
here and ``null`` in JSON.

>>> failed = GuinierResult.not_found("A^-1", "no Guinier region: the curve rises at low q")
>>> bool(failed), failed.to_dict()["Rg"], failed.first
(False, None, None)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from halos_analysis import units as _units

#: q units understood everywhere, and the length unit that goes with each (from the one
#: registry, :mod:`halos_analysis.units`).
Q_UNITS: dict[str, str] = {u.name: u.length for u in _units.Q_UNITS.values()}


def normalise_q_unit(unit: str) -> str:
    """Return the canonical spelling (``"nm^-1"`` or ``"A^-1"``) of a q unit.

    Parameters
    ----------
    unit : str
        Any common spelling: ``nm^-1``, ``1/nm``, ``q_nm^-1``, ``A^-1``, ``1/Å``, ``q_A^-1``.

    Raises
    ------
    ValueError
        When the unit is none of these.
    """
    return _units.q_unit(unit).name


def length_unit(q_unit: str) -> str:
    """Length unit (``"nm"`` or ``"A"``) that goes with a q unit."""
    return _units.q_unit(q_unit).length


def q_scale(from_unit: str, to_unit: str) -> float:
    """Factor that converts q values from one unit to the other (1 nm^-1 = 0.1 A^-1)."""
    return _units.q_scale(from_unit, to_unit)


def unit(kind: str) -> dict[str, str]:
    """Field metadata naming the kind of a field's unit (one of :data:`halos_analysis.units.KINDS`).

    >>> unit("length")
    {'unit': 'length'}
    """
    if kind not in _units.KINDS:
        raise ValueError(f"unknown unit kind {kind!r} (use one of {_units.KINDS})")
    return {"unit": kind}


def unit_kinds(result: Any) -> dict[str, str]:
    """Kind of unit of each field (and derived ``to_dict`` key) of a result that has one."""
    kinds = {f.name: f.metadata["unit"] for f in dataclasses.fields(result) if "unit" in f.metadata}
    return kinds | dict(getattr(result, "_derived_units", {}))


def units_of(
    result: Any,
    intensity_unit: str | None = None,
    *,
    spelling: str = "halos",
    q_unit: str | None = None,
) -> dict[str, str]:
    """The unit of every field of a result that declares one, spelled for its q unit.

    Lengths follow the result's ``q_unit`` (nm for ``nm^-1``, Å for ``A^-1``); intensities
    are in ``intensity_unit`` (the curve's ``meta["intensity_unit"]``; ``"arbitrary"`` when
    None and the result carries no ``meta``). Dimensionless numbers, counts and row indices
    have ``""``.

    Parameters
    ----------
    result : result dataclass
        A :class:`GuinierResult`, :class:`PrResult`, :class:`MWResult`, :class:`Curve`, ...
    intensity_unit : str, optional
        Unit of the intensities the result was computed from (``"1/cm"``, ``"arbitrary"``).
    spelling : {"halos", "nexus", "text", "label"}
        Ours (``A``, ``nm^-1``, ``nm^3``), NXcanSAS's ``units`` attribute (``angstrom``,
        ``1/nm``), for people (``Å``, ``nm⁻¹``, ``nm³``) or for axis labels (mathtext).
    q_unit : str, optional
        The q unit of a result that carries none (a peak, an SVD) or of a result *type*
        given instead of a result (the units of a table's columns before any row exists).

    Returns
    -------
    dict
        Field name (and derived ``to_dict`` key, e.g. ``n_points``) -> unit string.
    """
    meta = getattr(result, "meta", None)
    if intensity_unit is None and isinstance(meta, Mapping):
        intensity_unit = meta.get("intensity_unit")
    q = getattr(result, "q_unit", None)
    q = q if isinstance(q, str) else q_unit  # a result's own q unit comes first
    return {
        name: _units.unit_of_kind(kind, q, intensity_unit, spelling=spelling)
        for name, kind in unit_kinds(result).items()
    }


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: numpy numbers, booleans, text and arrays as Python ones,
    NaN and ±inf as None, a record inside a result by its ``to_dict()``.

    >>> jsonable({"rg": np.float32(2.5), "ok": np.bool_(True), "x": np.array([1.0, np.nan])})
    {'rg': 2.5, 'ok': True, 'x': [1.0, None]}
    """
    if isinstance(value, _Result):  # a record inside a result (meta["integration"])
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_):  # a test's verdict computed with numpy
        return bool(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def _from_plain(f: dataclasses.Field, value: Any, array: bool) -> Any:
    """One field's value from its plain-JSON form (the inverse of :func:`jsonable`)."""
    kind = f.metadata.get("unit")
    t = str(f.type).replace(" ", "")
    if array:
        if kind is None:  # an array of text (a status per frame)
            return np.asarray(value if value is not None else [], dtype=str)
        dtype = np.int64 if kind in ("count", "index") else np.float64
        return np.asarray(value if value is not None else [], dtype=dtype)
    if value is None:
        return math.nan if t == "float" else {} if t.startswith("Mapping") else None
    if t.startswith("tuple[tuple[str,tuple[int"):  # skipped rows: {reason: [rows]}
        pairs = value.items() if isinstance(value, Mapping) else value
        return tuple((str(reason), tuple(int(r) for r in rows)) for reason, rows in pairs)
    if t.startswith("tuple[tuple[int,int],"):  # frame ranges: ((first, last), ...)
        return tuple((int(a), int(b)) for a, b in value)
    if t.startswith("tuple[int"):
        return tuple(int(v) for v in value)
    if t.startswith("tuple[float"):
        return tuple(float(v) for v in value)
    if t.startswith("tuple") and isinstance(value, (list, tuple)):
        return tuple(value)
    if t.startswith("dict[int"):
        return {int(k): v for k, v in value.items()}
    if t == "float":
        return float(value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN equal to NaN and arrays compared element by element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype.kind in "iufb" and b.dtype.kind in "iufb":
            return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
        return a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _hashable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None  # NaN equals NaN here (see _same), so it must hash alike
    if isinstance(value, (tuple, list)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (np.ndarray, Mapping)):
        return None  # left out of the hash (equal objects still hash alike)
    return value


class _Result:
    """Mixin: ``to_dict()`` for JSON, ``from_dict()`` back, and a one-line ``__str__``."""

    #: Fields that are arrays: left out of ``to_dict(arrays=False)``.
    _array_fields: tuple[str, ...] = ()
    #: Keys ``to_dict`` adds that are no field, with the kind of their unit.
    _derived_units: dict[str, str] = {}

    @classmethod
    def array_fields(cls) -> tuple[str, ...]:
        """Names of the fields that are arrays (left out of ``to_dict(arrays=False)``)."""
        return cls._array_fields

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        """The result back from its ``to_dict(arrays=True)`` view (or a JSON file of it).

        Derived keys that are no field (``valid``, ``length_unit``, ...) are ignored;
        ``None`` (JSON ``null``) becomes NaN for a float field; lists become arrays or tuples
        as the field wants. A float field that is absent (not written, being NaN) is NaN.

        Raises
        ------
        ValueError
            When a field without a default is absent.
        """
        kwargs = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            array = f.name in cls._array_fields
            if f.name in d:
                kwargs[f.name] = _from_plain(f, d[f.name], array)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                if str(f.type) == "float" or "None" in str(f.type) or array:
                    kwargs[f.name] = _from_plain(f, None, array)
                else:
                    raise ValueError(f"{cls.__name__}: {f.name!r} missing")
        return cls(**kwargs)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        """Plain-JSON view of the result (NaN and inf become ``None``).

        Parameters
        ----------
        arrays : bool
            Include array fields (curves, P(r)); off by default to keep summaries small.
        """
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            if not arrays and f.name in self._array_fields:
                continue
            out[f.name] = jsonable(getattr(self, f.name))
        return out


class _SameValues:
    """Mixin: results are equal when every field is (NaN equals NaN, arrays by element)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
        )

    def __hash__(self) -> int:
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        return hash((type(self).__name__, *(_hashable(getattr(self, f.name)) for f in fields)))


class TypedResult(_SameValues, _Result):
    """Base of the typed results defined in other modules (the series results).

    What every result of this module has: ``to_dict()`` and ``from_dict()``, equality by
    value (NaN equal to NaN, arrays element by element) and units declared as field metadata
    (``field(metadata=unit("length"))``) that :func:`units_of` spells. Subclasses are frozen
    dataclasses declared with ``eq=False`` (the equality is this one).
    """


class _ReadOnlyMeta:
    """Mixin: ``meta`` is a read-only copy of the mapping given (``types.MappingProxyType``).

    A frozen result must not change behind its back: ``dataclasses.replace`` copies used to
    share one mutable dict. To change metadata, make a new object:
    ``dataclasses.replace(curve, meta={**curve.meta, "key": value})``.
    """

    def _freeze_meta(self) -> None:
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    # A mappingproxy does not pickle (Dask's processes, multiprocessing): pickle a dict.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["meta"] = dict(state["meta"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._freeze_meta()


#: Why a row of a curve is left out of every fit (the row itself stays in the curve).
ROW_SKIP_REASONS: dict[str, str] = {
    "q_not_finite": "q is NaN or infinite",
    "intensity_not_finite": "I is NaN or infinite",
    "sigma_not_positive": "σ is 0, negative, NaN or infinite while other rows have σ",
    "duplicate_q": "q repeats the previous row's q (the first of the rows is used)",
    "beamstop_shadow": "intensity still rising at the lowest q (beam-stop shadow or edge)",
}


@dataclass(frozen=True)
class RowUse:
    """Which rows of a curve an analysis may use, and why the others are left out.

    ``usable`` is one bool per row; ``skipped`` pairs a reason of :data:`ROW_SKIP_REASONS`
    with the rows (0-based) it applies to, in the order the reasons were found. A row is
    never removed from the curve: the analysis only leaves it out and says so.
    """

    usable: np.ndarray
    skipped: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def n_usable(self) -> int:
        return int(np.count_nonzero(self.usable))

    def without(self, reason: str, rows: np.ndarray) -> RowUse:
        """Same selection with ``rows`` also left out for ``reason`` (usable rows only)."""
        rows = np.asarray(rows, dtype=int)
        rows = rows[self.usable[rows]] if rows.size else rows
        if rows.size == 0:
            return self
        usable = self.usable.copy()
        usable[rows] = False
        return RowUse(usable, (*self.skipped, (reason, tuple(int(r) for r in rows))))

    def to_dict(self) -> dict[str, list[int]]:
        """``{reason: [rows]}`` for JSON."""
        return {reason: list(rows) for reason, rows in self.skipped}

    def note(self) -> str:
        """One line for people, e.g. ``"2 rows left out (sigma_not_positive: 0, 1)"``."""
        n = sum(len(r) for _, r in self.skipped)
        if n == 0:
            return "all rows used"

        def rows_text(rows: tuple[int, ...]) -> str:
            shown = ", ".join(str(r) for r in rows[:8])
            return shown + (f", … ({len(rows)} rows)" if len(rows) > 8 else "")

        parts = "; ".join(f"{reason}: {rows_text(rows)}" for reason, rows in self.skipped)
        return f"{n} row{'s' if n != 1 else ''} left out ({parts})"


def row_use(q: np.ndarray, intensity: np.ndarray, sigma: np.ndarray) -> RowUse:
    """Rows of a curve usable in a fit: finite q and I, σ > 0 where the curve has σ, q new.

    A curve without any σ (two-column file: σ all NaN) keeps its rows: fits are then
    unweighted. Negative intensities are usable (normal at high q after subtraction; a
    Guinier fit leaves them out on its own, as it needs ln I).
    """
    q, intensity, sigma = (np.asarray(a, dtype=np.float64) for a in (q, intensity, sigma))
    use = RowUse(np.ones(len(q), dtype=bool))
    use = use.without("q_not_finite", np.flatnonzero(~np.isfinite(q)))
    use = use.without("intensity_not_finite", np.flatnonzero(~np.isfinite(intensity)))
    if not np.isnan(sigma).all():
        bad_sigma = ~(np.isfinite(sigma) & (sigma > 0))
        use = use.without("sigma_not_positive", np.flatnonzero(bad_sigma))
    idx = np.flatnonzero(use.usable)
    if idx.size > 1:
        repeat = idx[1:][np.diff(q[idx]) == 0]
        use = use.without("duplicate_q", repeat)
    return use


@dataclass(frozen=True, eq=False)
class Curve(_ReadOnlyMeta, _Result):
    """A 1D scattering curve: q, I and σ with the q unit.

    Parameters
    ----------
    q, intensity, sigma : ndarray
        Scattering vector, intensity and its standard uncertainty, same length.
    q_unit : str
        ``"nm^-1"`` or ``"A^-1"``.
    name : str
        Sample or frame name (for messages and headers).
    meta : mapping
        Free metadata carried along (source file, concentration, ...); read-only, a copy of
        the mapping given.
    """

    q: np.ndarray = field(metadata=unit("q"))
    intensity: np.ndarray = field(metadata=unit("intensity"))
    sigma: np.ndarray = field(metadata=unit("intensity"))
    q_unit: str
    name: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    _array_fields = ("q", "intensity", "sigma")

    def __post_init__(self) -> None:
        self._freeze_meta()
        object.__setattr__(self, "q_unit", normalise_q_unit(self.q_unit))
        for name in ("q", "intensity", "sigma"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        n = {len(self.q), len(self.intensity), len(self.sigma)}
        if len(n) != 1:
            raise ValueError(f"curve {self.name!r}: q, I and sigma have different lengths {n}")

    def __len__(self) -> int:
        return len(self.q)

    def rows(self) -> RowUse:
        """Rows usable in a fit and why the others are left out (see :func:`row_use`)."""
        return row_use(self.q, self.intensity, self.sigma)

    def __iter__(self):
        # Unpacks as q, I, sigma, like pyFAI's Integrate1dResult.
        return iter((self.q, self.intensity, self.sigma))

    @property
    def length_unit(self) -> str:
        """Length unit matching ``q_unit`` (``"A"`` or ``"nm"``)."""
        return Q_UNITS[self.q_unit]

    def to_unit(self, q_unit: str) -> Curve:
        """Same curve with q expressed in another unit."""
        f = q_scale(self.q_unit, q_unit)
        if f == 1.0:
            return self
        return dataclasses.replace(self, q=self.q * f, q_unit=normalise_q_unit(q_unit))

    def select(self, index: slice | np.ndarray) -> Curve:
        """Sub-curve with the given points (a slice or boolean/integer index)."""
        return dataclasses.replace(
            self, q=self.q[index], intensity=self.intensity[index], sigma=self.sigma[index]
        )

    def __str__(self) -> str:
        if len(self) == 0:
            return f"Curve({self.name!r}, empty, q in {self.q_unit})"
        return (
            f"Curve({self.name!r}, {len(self)} points, "
            f"q {self.q[0]:.4g}–{self.q[-1]:.4g} {self.q_unit})"
        )


@dataclass(frozen=True, eq=False)
class GuinierResult(_SameValues, _Result):
    """Guinier fit ln I = ln I0 − (q Rg)²/3 over rows ``first``..``last`` (inclusive, 0-based).

    ``flags`` name what looks wrong: ``"aggregation"``, ``"repulsion"``, ``"few_points"``,
    ``"no_guinier_region"``. When no region was found the result is falsy (``bool(result)``
    is ``found``): the numbers are NaN, ``first``/``last`` are None unless a given range was
    fitted, ``valid`` is False and ``reason`` says why, in one line.
    """

    Rg: float = field(metadata=unit("length"))
    Rg_err: float = field(metadata=unit("length"))
    I0: float = field(metadata=unit("intensity"))
    I0_err: float = field(metadata=unit("intensity"))
    first: int | None = field(metadata=unit("index"))
    last: int | None = field(metadata=unit("index"))
    qRg_min: float = field(metadata=unit("dimensionless"))
    qRg_max: float = field(metadata=unit("dimensionless"))
    q_unit: str
    r2: float = field(default=math.nan, metadata=unit("dimensionless"))
    chi2: float = field(default=math.nan, metadata=unit("dimensionless"))
    quality: float = field(default=math.nan, metadata=unit("dimensionless"))
    flags: tuple[str, ...] = ()
    skipped: tuple[tuple[str, tuple[int, ...]], ...] = ()
    reason: str = ""

    _derived_units = {"n_points": "count"}

    @classmethod
    def not_found(cls, q_unit: str, reason: str, **fields: Any) -> GuinierResult:
        """The falsy result of a search that found no Guinier region, saying why.

        Its numbers are NaN (``null`` in JSON), ``first``/``last`` None unless given.
        """
        nan = math.nan
        kwargs: dict[str, Any] = dict(Rg=nan, Rg_err=nan, I0=nan, I0_err=nan, first=None,
                                      last=None, qRg_min=nan, qRg_max=nan)  # fmt: skip
        return cls(**(kwargs | fields), q_unit=q_unit, reason=reason)

    @property
    def found(self) -> bool:
        """A Guinier range was found: Rg and I0 are numbers (maybe doubtful, see ``valid``)."""
        return math.isfinite(self.Rg) and self.Rg > 0

    def __bool__(self) -> bool:
        return self.found

    @property
    def valid(self) -> bool:
        """Found, and no flag casts doubt on it (:mod:`halos_analysis.flags`)."""
        from halos_analysis.flags import doubts

        return self.found and not doubts(self.flags)

    @property
    def n_points(self) -> int:
        return self.last - self.first + 1 if self.found else 0

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        d = super().to_dict(arrays)
        if self.found:
            d.pop("reason")  # nothing to explain
        else:
            # Without an Rg, a fitted range and its qRg have no meaning: JSON readers get
            # null, not a row index that looks real.
            for key in ("first", "last", "qRg_min", "qRg_max"):
                d[key] = None
        d["length_unit"] = length_unit(self.q_unit)
        d["n_points"] = self.n_points
        d["skipped"] = {reason: list(rows) for reason, rows in self.skipped}
        d["found"] = self.found
        d["valid"] = self.valid
        return d

    def __str__(self) -> str:
        if not self.found:
            why = f": {self.reason}" if self.reason else ""
            return f"Guinier: no region found ({', '.join(self.flags) or 'no flag'}){why}"
        lu = length_unit(self.q_unit)
        return (
            f"Guinier: Rg = {self.Rg:.4g} ± {self.Rg_err:.2g} {lu}, I0 = {self.I0:.5g} ± "
            f"{self.I0_err:.2g}, points {self.first}–{self.last}, "
            f"qRg {self.qRg_min:.2f}–{self.qRg_max:.2f}"
            + (f" [{', '.join(self.flags)}]" if self.flags else "")
        )


@dataclass(frozen=True, eq=False)
class PrResult(_SameValues, _Result):
    """Pair-distance distribution from an indirect Fourier transform.

    ``r``, ``pr`` and ``pr_err`` are in the length unit matching ``q_unit``; ``q_fit`` and
    ``i_fit`` are the transform of P(r) back on the data's q points (``q_fit`` is the part of
    the curve that was used).
    """

    Dmax: float = field(metadata=unit("length"))
    Dmax_err: float = field(metadata=unit("length"))
    Rg: float = field(metadata=unit("length"))
    Rg_err: float = field(metadata=unit("length"))
    I0: float = field(metadata=unit("intensity"))
    I0_err: float = field(metadata=unit("intensity"))
    chi2: float = field(metadata=unit("dimensionless"))
    alpha: float = field(metadata=unit("dimensionless"))
    q_unit: str
    r: np.ndarray = field(metadata=unit("length"))
    # P(r) is written on a scale of its own (its integral is not tied to I(0) here).
    pr: np.ndarray = field(metadata=unit("arbitrary"))
    pr_err: np.ndarray = field(metadata=unit("arbitrary"))
    q_fit: np.ndarray = field(metadata=unit("q"))
    i_fit: np.ndarray = field(metadata=unit("intensity"))
    evidence: float = field(default=math.nan, metadata=unit("dimensionless"))
    flags: tuple[str, ...] = ()
    skipped: tuple[tuple[str, tuple[int, ...]], ...] = ()

    _array_fields = ("r", "pr", "pr_err", "q_fit", "i_fit")

    @property
    def valid(self) -> bool:
        """Dmax is a number and no flag casts doubt on it (:mod:`halos_analysis.flags`)."""
        from halos_analysis.flags import doubts

        return math.isfinite(self.Dmax) and not doubts(self.flags)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        d = super().to_dict(arrays)
        d["skipped"] = {reason: list(rows) for reason, rows in self.skipped}
        d["valid"] = self.valid
        return d

    def __str__(self) -> str:
        lu = length_unit(self.q_unit)
        return (
            f"P(r): Dmax = {self.Dmax:.4g} ± {self.Dmax_err:.2g} {lu}, Rg = {self.Rg:.4g} ± "
            f"{self.Rg_err:.2g} {lu}, I0 = {self.I0:.5g}, chi2 = {self.chi2:.3g}"
        )


@dataclass(frozen=True, eq=False)
class MWResult(_SameValues, _Result):
    """Molecular weight estimates in kDa, each NaN when it could not be computed.

    ``porod_volume`` is in the cubed length unit of ``q_unit`` (Å³ or nm³).
    """

    mw_vp_kda: float = field(metadata=unit("kDa"))
    mw_vc_kda: float = field(metadata=unit("kDa"))
    porod_volume: float = field(metadata=unit("length^3"))
    volume_of_correlation: float = field(metadata=unit("length^2"))
    q_unit: str
    mw_abs_kda: float = field(default=math.nan, metadata=unit("kDa"))
    mw_ref_kda: float = field(default=math.nan, metadata=unit("kDa"))
    mw_consensus_kda: float = field(default=math.nan, metadata=unit("kDa"))
    mw_spread_kda: float = field(default=math.nan, metadata=unit("kDa"))
    macromolecule: str = "protein"
    flags: tuple[str, ...] = ()
    #: Upper q limits of the Porod-volume and Vc integrals, in ``q_unit``.
    vp_qmax: float = field(default=math.nan, metadata=unit("q"))
    vc_qmax: float = field(default=math.nan, metadata=unit("q"))

    def __str__(self) -> str:
        parts = [f"Vp {self.mw_vp_kda:.1f}", f"Vc {self.mw_vc_kda:.1f}"]
        if math.isfinite(self.mw_abs_kda):
            parts.append(f"abs {self.mw_abs_kda:.1f}")
        if math.isfinite(self.mw_ref_kda):
            parts.append(f"ref {self.mw_ref_kda:.1f}")
        return f"MW (kDa): {', '.join(parts)}; consensus {self.mw_consensus_kda:.1f}"


@dataclass(frozen=True, eq=False)
class KratkyResult(_SameValues, _Result):
    """Dimensionless Kratky plot (qRg)²·I/I0 against qRg, and what its shape says.

    For a compact globular particle the peak is at qRg = √3 with height 3/e ≈ 1.104.
    """

    qrg: np.ndarray = field(metadata=unit("dimensionless"))
    kratky: np.ndarray = field(metadata=unit("dimensionless"))
    kratky_err: np.ndarray = field(metadata=unit("dimensionless"))
    peak_qrg: float = field(metadata=unit("dimensionless"))
    peak_height: float = field(metadata=unit("dimensionless"))
    flags: tuple[str, ...] = ()

    _array_fields = ("qrg", "kratky", "kratky_err")

    def __str__(self) -> str:
        return f"Kratky: peak {self.peak_height:.3f} at qRg {self.peak_qrg:.2f}" + (
            f" [{', '.join(self.flags)}]" if self.flags else ""
        )


@dataclass(frozen=True, eq=False)
class SimilarityResult(_SameValues, _Result):
    """Pairwise CorMap test of a set of curves and the frames kept.

    ``pvalues`` holds the raw pairwise p-values, ``adjusted`` the p-values after the
    multiple-testing correction named in ``correction``; ``selected`` are the indices of the
    frames kept, ``rejected`` maps each dropped index to the reason.
    """

    pvalues: np.ndarray = field(metadata=unit("dimensionless"))
    adjusted: np.ndarray = field(metadata=unit("dimensionless"))
    longest_run: np.ndarray = field(metadata=unit("count"))
    alpha: float = field(metadata=unit("dimensionless"))
    correction: str
    selected: tuple[int, ...] = field(metadata=unit("index"))
    rejected: dict[int, str]

    _array_fields = ("pvalues", "adjusted", "longest_run")

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        d = super().to_dict(arrays)
        d["rejected"] = {str(k): v for k, v in self.rejected.items()}
        return d

    def __str__(self) -> str:
        n = len(self.pvalues)
        return f"CorMap: {len(self.selected)}/{n} frames kept, {len(self.rejected)} rejected"


@dataclass(frozen=True, eq=False)
class FrameCurves(_ReadOnlyMeta, _Result):
    """The curves of many frames of one measurement, on one q grid.

    ``intensity`` and ``sigma`` have shape (n_frames, n_q); ``frame_ids`` are the frames'
    0-based positions in the measurement. ``meta`` carries the geometry and normalisation used
    (wavelength, distance, monitor and transmission per frame, ...).
    """

    q: np.ndarray = field(metadata=unit("q"))
    intensity: np.ndarray = field(metadata=unit("intensity"))
    sigma: np.ndarray = field(metadata=unit("intensity"))
    q_unit: str
    name: str = ""
    frame_ids: tuple[int, ...] = field(default=(), metadata=unit("index"))
    meta: Mapping[str, Any] = field(default_factory=dict)

    _array_fields = ("q", "intensity", "sigma")

    def __post_init__(self) -> None:
        self._freeze_meta()
        object.__setattr__(self, "q_unit", normalise_q_unit(self.q_unit))
        if not self.frame_ids:
            object.__setattr__(self, "frame_ids", tuple(range(len(self.intensity))))
        if self.intensity.shape != self.sigma.shape or self.intensity.shape[1:] != self.q.shape:
            raise ValueError(
                f"frames {self.name!r}: shapes q {self.q.shape}, I {self.intensity.shape}, "
                f"sigma {self.sigma.shape} do not agree"
            )

    def __len__(self) -> int:
        return len(self.intensity)

    def curve(self, i: int) -> Curve:
        """Curve of the i-th frame held (not frame id ``i``)."""
        return Curve(
            self.q,
            self.intensity[i],
            self.sigma[i],
            self.q_unit,
            name=f"{self.name}_{self.frame_ids[i]:05d}",
            # The intensity unit of the measurement is every frame's unit.
            meta={"frame_id": self.frame_ids[i]}
            | (
                {"intensity_unit": self.meta["intensity_unit"]}
                if "intensity_unit" in self.meta
                else {}
            ),
        )

    def curves(self) -> list[Curve]:
        """One :class:`Curve` per frame."""
        return [self.curve(i) for i in range(len(self))]


@dataclass(frozen=True, eq=False)
class IntegrationMethod(_SameValues, _Result):
    """How integrated curves were made, as pyFAI's ``Integrate1dResult`` names its method.

    Built once from the integration settings (their ``to_dict()`` view, the one source of
    each fact) where the frames are integrated, and carried in ``FrameCurves.meta
    ["integration"]``, the frames file, the sample's NXcanSAS ``SASprocess`` and its
    provenance.

    Parameters
    ----------
    method : str
        Pixel splitting of the bin map: ``"no"``, ``"bbox"`` or ``"full"``.
    engine : str
        What computes the per-bin sums.
    error_model : str
        ``"poisson"`` or ``"poisson_pyfai"`` (see ``IntegrationSettings``).
    solid_angle : bool
        Solid-angle correction applied.
    polarization_factor : float or None
        Polarisation factor of the correction; None when no polarisation correction.
    dark, flat : str or None
        Dark image subtracted, flat field applied (a path, ``"<array>"``), None when not.
    normalisation : str
        What each frame was divided by: ``monitor``, ``exposure`` or ``none``, with
        ``+transmission`` when it was divided by the transmission too.
    scale : float
        Factor the intensities were multiplied by (absolute scale).
    intensity_unit : str
        ``"1/cm"`` when the scale was stated absolute, else ``"arbitrary"``.
    q_unit : str
        ``"nm^-1"`` or ``"A^-1"``.
    npt : int
        Radial bins asked for.
    n_bins : int
        Bins kept (those at least one unmasked pixel reaches).
    radial_range : (float, float) or None
        q range of the bins (None: that of the pixels).
    sigma_clip : float or None
        Pixels further than this many σ from their bin's mean left out (None: none).
    masked_pixels : int
        Pixels masked in every frame (user, detector and file masks together).

    Examples
    --------
    >>> m = IntegrationMethod.from_settings(
    ...     {"npt": 800, "unit": "q_nm^-1", "method": "no", "polarization_factor": 0.99,
    ...      "solid_angle": True, "error_model": "poisson", "dark": None, "flat": None,
    ...      "scale": 1.0, "sigma_clip": None, "radial_range": None},
    ...     engine="csr", normalisation="monitor+transmission", intensity_unit="arbitrary",
    ...     n_bins=790, masked_pixels=1200)
    >>> m.corrections
    ('solid_angle', 'polarisation')
    >>> print(m)  # doctest: +NORMALIZE_WHITESPACE
    Integration: no splitting (csr), poisson errors, corrections solid_angle,
    polarisation (0.99), normalised by monitor+transmission, 790/800 bins in nm^-1
    """

    method: str
    engine: str
    error_model: str
    solid_angle: bool
    polarization_factor: float | None = field(metadata=unit("dimensionless"))
    dark: str | None
    flat: str | None
    normalisation: str
    scale: float = field(metadata=unit("dimensionless"))
    intensity_unit: str
    q_unit: str
    npt: int = field(metadata=unit("count"))
    n_bins: int = field(metadata=unit("count"))
    radial_range: tuple[float, float] | None = field(default=None, metadata=unit("q"))
    sigma_clip: float | None = field(default=None, metadata=unit("dimensionless"))
    masked_pixels: int = field(default=0, metadata=unit("count"))

    def __post_init__(self) -> None:
        object.__setattr__(self, "q_unit", normalise_q_unit(self.q_unit))

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        engine: str,
        normalisation: str,
        intensity_unit: str,
        n_bins: int,
        masked_pixels: int = 0,
    ) -> IntegrationMethod:
        """The record of an integration from its settings' ``to_dict()`` and what the
        integrator knows besides (engine, normalisation found in the frames, bins kept)."""
        rr = settings.get("radial_range")
        return cls(
            method=settings["method"],
            engine=engine,
            error_model=settings["error_model"],
            solid_angle=bool(settings["solid_angle"]),
            polarization_factor=settings.get("polarization_factor"),
            dark=settings.get("dark"),
            flat=settings.get("flat"),
            normalisation=normalisation,
            scale=float(settings["scale"]),
            intensity_unit=intensity_unit,
            q_unit=settings["unit"],
            npt=int(settings["npt"]),
            n_bins=int(n_bins),
            radial_range=None if rr is None else (float(rr[0]), float(rr[1])),
            sigma_clip=settings.get("sigma_clip"),
            masked_pixels=int(masked_pixels),
        )

    @property
    def corrections(self) -> tuple[str, ...]:
        """The corrections applied, in the order they act on a pixel."""
        applied = (
            ("dark", self.dark is not None),
            ("flat", self.flat is not None),
            ("solid_angle", self.solid_angle),
            ("polarisation", self.polarization_factor is not None),
        )
        return tuple(name for name, on in applied if on)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        return super().to_dict(arrays) | {"corrections": list(self.corrections)}

    def __str__(self) -> str:
        pol = f" ({self.polarization_factor:g})" if self.polarization_factor is not None else ""
        clip = f", sigma clip {self.sigma_clip:g}" if self.sigma_clip is not None else ""
        return (
            f"Integration: {self.method} splitting ({self.engine}), {self.error_model} errors, "
            f"corrections {', '.join(self.corrections) or 'none'}{pol}, normalised by "
            f"{self.normalisation}{clip}, {self.n_bins}/{self.npt} bins in {self.q_unit}"
        )


@dataclass(frozen=True)
class FrameMetadata(_Result):
    """What a detector file says about how its frames were taken (SI units, pixels).

    Fields a file does not carry are ``None``. Beam centre is in pixels from the first pixel,
    x along the fast (column) axis and y along the slow (row) axis, as in DECTRIS headers.
    """

    detector: str | None = None
    shape: tuple[int, int] | None = None
    n_frames: int | None = None
    pixel1_m: float | None = None
    pixel2_m: float | None = None
    wavelength_m: float | None = None
    distance_m: float | None = None
    beam_center_x_px: float | None = None
    beam_center_y_px: float | None = None
    count_time_s: float | None = None
    bit_depth: int | None = None
    sample_name: str | None = None
    source: str | None = None
