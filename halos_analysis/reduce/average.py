# SPDX-License-Identifier: MIT
"""Averaging the kept frames of a measurement, bin by bin."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.reduce._grid import check_same_grid, common_intensity_unit, with_intensity_unit
from halos_analysis.types import Curve

__all__ = ["average"]


def average(curves: Sequence[Curve]) -> Curve:
    """Mean of curves on one q grid, bin by bin over the curves that have data there.

    A bin whose intensity is NaN in a curve (no valid pixel in that frame, e.g. a pixel
    flagged invalid in one exposure) is left out of that bin's mean only, so one bad frame
    does not erase the bin: I = Σ Iᵢ / nₖ and σ = √(Σ σᵢ²) / nₖ over the nₖ curves with a
    finite intensity there. A bin with no data in any curve stays NaN (the q grid is kept, so
    that sample and buffer still line up); :func:`halos_analysis.io.curves.write_dat` leaves
    such bins out of the file.

    Parameters
    ----------
    curves : sequence of Curve
        The curves (frames) to average; same q unit and q grid.

    Returns
    -------
    Curve
        Named after the first curve. ``meta["averaged_from"]`` lists the names averaged;
        ``meta["intensity_unit"]`` is the curves' common intensity unit (absent when one of
        them states none); ``meta["bins_partly_averaged"]`` and ``meta["empty_bins"]`` count
        the bins averaged over fewer than all curves and over none.

    Raises
    ------
    HalosInputError
        No curves, or a curve whose q unit, q grid or stated intensity unit differs from the
        first (named).
    """
    if len(curves) == 0:
        raise HalosInputError("nothing to average: no curves given", field="curves")
    check_same_grid(curves, "average")
    unit = common_intensity_unit(curves, "average")
    n = len(curves)
    data = np.vstack([c.intensity for c in curves])
    var = np.vstack([np.square(c.sigma) for c in curves])
    # Only NaN marks a missing bin; an infinite value is an error upstream and must show.
    present = ~np.isnan(data)
    counts = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        intensity = np.where(present, data, 0.0).sum(axis=0) / counts
        sigma = np.sqrt(np.where(present, var, 0.0).sum(axis=0)) / counts
    # σ is unknown (NaN) in a bin when any curve counted there has no σ (two-column files).
    sigma[(present & np.isnan(var)).any(axis=0)] = np.nan
    intensity[counts == 0] = sigma[counts == 0] = np.nan
    first = curves[0]
    meta = with_intensity_unit(first.meta, unit)
    meta["averaged_from"] = [c.name for c in curves]
    meta["bins_partly_averaged"] = int(((counts > 0) & (counts < n)).sum())
    meta["empty_bins"] = int((counts == 0).sum())
    return Curve(first.q.copy(), intensity, sigma, first.q_unit, name=first.name, meta=meta)
