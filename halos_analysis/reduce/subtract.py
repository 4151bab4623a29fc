# SPDX-License-Identifier: MIT
"""Buffer subtraction on one q grid, errors added in quadrature."""

from __future__ import annotations

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.io.curves import normalise_intensity_unit
from halos_analysis.reduce._grid import Q_RTOL, where, with_intensity_unit
from halos_analysis.types import Curve

__all__ = ["subtract"]


def subtract(sample: Curve, buffer: Curve, scale: float = 1.0) -> Curve:
    """Buffer subtraction I = I_sample − scale·I_buffer, errors added in quadrature.

    The grids must agree (within a relative 1e-5, what text files round to); curves on
    different grids are refused rather than interpolated, since interpolation correlates
    errors and hides a mismatched buffer.

    Parameters
    ----------
    sample, buffer : Curve
        Curves on the same q grid and in the same q unit.
    scale : float
        Factor applied to the buffer (e.g. a volume-fraction or transmission correction).

    Returns
    -------
    Curve
        Named ``"<sample> - <buffer>"``; σ = √(σ_s² + (scale·σ_b)²). ``meta["intensity_unit"]``
        is the curves' common intensity unit, absent when either states none. A bin that is
        NaN (no data) in either curve is NaN in the result.

    Raises
    ------
    HalosInputError
        q unit, q grid or stated intensity unit mismatch (naming both curves), or a
        non-finite scale.
    """
    if not np.isfinite(scale):
        raise HalosInputError(f"buffer scale must be finite, got {scale}", field="scale")
    s_name, b_name = where(sample), where(buffer)
    if sample.q_unit != buffer.q_unit:
        raise HalosInputError(
            f"q unit mismatch: sample {s_name} is in {sample.q_unit} but buffer {b_name} is in "
            f"{buffer.q_unit}; convert one of them first",
            s_name,
            "q unit",
        )
    if len(sample) != len(buffer) or not np.allclose(sample.q, buffer.q, rtol=Q_RTOL, atol=0.0):
        detail = f"{len(sample)} vs {len(buffer)} points"
        if len(sample) == len(buffer):
            k = int(np.argmax(~np.isclose(sample.q, buffer.q, rtol=Q_RTOL, atol=0.0)))
            detail = f"first difference at row {k}: q = {sample.q[k]:.6g} vs {buffer.q[k]:.6g}"
        raise HalosInputError(
            f"q grid mismatch between sample {s_name} and buffer {b_name} ({detail})",
            s_name,
            "q",
        )
    s_unit = normalise_intensity_unit(sample.meta.get("intensity_unit"))
    b_unit = normalise_intensity_unit(buffer.meta.get("intensity_unit"))
    if s_unit is not None and b_unit is not None and s_unit != b_unit:
        raise HalosInputError(
            f"intensity unit mismatch: sample {s_name} is in {s_unit} but buffer {b_name} is "
            f"in {b_unit}; integrate both on the same scale",
            s_name,
            "intensity unit",
        )
    intensity = sample.intensity - scale * buffer.intensity
    sigma = np.sqrt(np.square(sample.sigma) + np.square(scale * buffer.sigma))
    meta = with_intensity_unit(sample.meta, s_unit if s_unit == b_unit else None)
    meta.update({"buffer": buffer.name, "buffer_scale": float(scale)})
    return Curve(
        sample.q.copy(),
        intensity,
        sigma,
        sample.q_unit,
        name=f"{sample.name} - {buffer.name}",
        meta=meta,
    )
