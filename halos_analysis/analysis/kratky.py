# SPDX-License-Identifier: MIT
"""Dimensionless Kratky plot (qRg)²·I(q)/I0 against qRg and what its shape says.

A compact globular particle gives a bell with its maximum 3/e ≈ 1.104 at qRg = √3 that
falls back towards zero at high qRg (Durand et al. 2010, J. Struct. Biol. 169:45; Receveur-
Bréchot & Durand 2012). Flexible or multidomain particles keep a plateau, or peak later and
higher; unfolded chains rise steadily (Gaussian chain: a plateau at 2 reached from below).

Rules (on the curve averaged in qRg bins of 0.25, each bin an error-weighted mean):

- ``"globular"``: peak at qRg 1.5–2.2 and height 0.9–1.35, and the mean over qRg 4–6 is
  below half the peak height (a decay).
- ``"flexible"``: the mean over qRg 4–6 stays at or above half the peak (plateau), or the
  peak is late (qRg > 2.2) or high (> 1.35).
- ``"unfolded"``: no decay at all: the high-qRg mean is ≥ 0.9 of the peak and the curve
  still rises (positive slope over qRg 3–6). Implies flexible too.
- ``"limited_q_range"``: no data in qRg 4–6 (the curve stops before), so decay cannot be
  judged.

Points without a usable σ are left out of the bin means when the others have one (plain
means when no point has a σ).
"""

from __future__ import annotations

import math

import numpy as np

from halos_analysis.types import Curve, GuinierResult, KratkyResult

__all__ = ["dimensionless_kratky"]

_BIN = 0.25


def _binned(x: np.ndarray, y: np.ndarray, e: np.ndarray | None, width: float):
    """Means of y in bins of x (empty bins dropped): 1/e²-weighted, or plain if ``e`` is None."""
    idx = np.floor(x / width).astype(int)
    w = np.ones_like(y) if e is None else 1.0 / e**2
    n = idx.max() + 1
    sw = np.bincount(idx, w, n)
    swy = np.bincount(idx, w * y, n)
    have = sw > 0
    centres = (np.arange(n) + 0.5) * width
    return centres[have], swy[have] / sw[have]


def dimensionless_kratky(curve: Curve, guinier: GuinierResult) -> KratkyResult:
    """Dimensionless Kratky plot and shape flags.

    Parameters
    ----------
    curve : Curve
        Subtracted curve (any q unit; Rg from ``guinier`` is in the matching length).
    guinier : GuinierResult
        Supplies Rg and I0.

    Returns
    -------
    KratkyResult
        ``qrg``, ``kratky`` and its error (from σ only), the peak position and height (of
        the binned curve) and the flags described in the module docstring. With an invalid
        Guinier result, the arrays are empty and the flag is ``"no_guinier"``.
    """
    nan = math.nan
    if not (guinier.found and guinier.I0 > 0):
        empty = np.array([])
        return KratkyResult(empty, empty, empty, nan, nan, ("no_guinier",))
    qrg = curve.q * guinier.Rg
    k = qrg**2 * curve.intensity / guinier.I0
    k_err = qrg**2 * curve.sigma / guinier.I0
    use = np.isfinite(k) & (qrg > 0)
    # Error-weighted bin means over the points with a usable σ; a point without one is left
    # out of the means (any fixed weight would be arbitrary beside 1/σ²). Without σ
    # anywhere, plain means.
    has_err = np.isfinite(k_err) & (k_err > 0)
    weighted = bool((use & has_err).any())
    if weighted:
        use &= has_err
    if use.sum() < 3:
        return KratkyResult(qrg, k, k_err, nan, nan, ("limited_q_range",))
    xb, yb = _binned(qrg[use], k[use], k_err[use] if weighted else None, _BIN)
    in_range = xb <= 6.0
    if not in_range.any():  # data start past qRg 6: no peak to judge
        return KratkyResult(qrg, k, k_err, nan, nan, ("limited_q_range",))
    pk = int(np.argmax(np.where(in_range, yb, -np.inf)))
    peak_qrg, peak_h = float(xb[pk]), float(yb[pk])

    flags: list[str] = []
    hi = (xb >= 4.0) & (xb <= 6.0)
    # No binned data in qRg 4–6 (the curve stops, or has a gap there): decay not judged.
    if not hi.any():
        flags.append("limited_q_range")
        if 1.5 <= peak_qrg <= 2.2 and 0.9 <= peak_h <= 1.35:
            flags.append("globular")
        elif peak_qrg > 2.2 or peak_h > 1.35:
            flags.append("flexible")
    else:
        hi_mean = float(yb[hi].mean())
        mid = (xb >= 3.0) & (xb <= 6.0)
        slope = float(np.polyfit(xb[mid], yb[mid], 1)[0]) if mid.sum() >= 3 else 0.0
        if hi_mean >= 0.9 * peak_h and slope > 0:
            flags.extend(["unfolded", "flexible"])
        elif hi_mean >= 0.5 * peak_h or peak_qrg > 2.2 or peak_h > 1.35:
            flags.append("flexible")
        elif 1.5 <= peak_qrg <= 2.2 and 0.9 <= peak_h <= 1.35:
            flags.append("globular")
    return KratkyResult(
        qrg=qrg,
        kratky=k,
        kratky_err=k_err,
        peak_qrg=peak_qrg,
        peak_height=peak_h,
        flags=tuple(flags),
    )
