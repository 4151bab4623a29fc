# SPDX-License-Identifier: MIT
"""What the reduce steps share: one q grid, one intensity unit, how a curve is named.

A private module of :mod:`halos_analysis.reduce`: its names are public to the modules of
``reduce/`` and to nobody else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import normalise_intensity_unit
from halos_analysis.types import Curve

# Relative tolerance for "the same q grid": text files round q to 6-9 significant digits.
Q_RTOL = 1e-5


def where(curve: Curve) -> str:
    """How to name a curve in a message: its source file, else its name."""
    return str(curve.meta.get("source") or curve.name or "<unnamed curve>")


def check_same_grid(curves: Sequence[Curve], what: str) -> None:
    ref = curves[0]
    for c in curves[1:]:
        if c.q_unit != ref.q_unit:
            raise HalosInputError(
                f"q unit {c.q_unit} differs from {ref.q_unit} of {where(ref)}; cannot {what}",
                where(c),
                "q unit",
            )
        if len(c) != len(ref) or not np.allclose(c.q, ref.q, rtol=Q_RTOL, atol=0.0):
            raise HalosInputError(
                f"q grid ({len(c)} points) differs from that of {where(ref)} ({len(ref)} points); "
                f"cannot {what} curves on different q grids",
                where(c),
                "q",
            )


def common_intensity_unit(curves: Sequence[Curve], what: str) -> str | None:
    """The intensity unit all curves share; None when any of them does not state one.

    Two different stated units (``1/cm`` and ``arbitrary``) are refused: the result would be
    on no scale at all.
    """
    units = [normalise_intensity_unit(c.meta.get("intensity_unit")) for c in curves]
    known = [(u, c) for u, c in zip(units, curves, strict=True) if u is not None]
    for u, c in known[1:]:
        if u != known[0][0]:
            ref = known[0][1]
            raise HalosInputError(
                f"intensity unit {u} differs from {known[0][0]} of {where(ref)}; cannot {what} "
                "curves on different intensity scales",
                where(c),
                "intensity unit",
            )
    # A curve that does not say is not assumed to share the others' scale.
    return known[0][0] if known and len(known) == len(curves) else None


def with_intensity_unit(meta: dict, unit: str | None) -> dict:
    meta = dict(meta)
    meta.pop("intensity_unit", None)
    if unit is not None:
        meta["intensity_unit"] = unit
    return meta
