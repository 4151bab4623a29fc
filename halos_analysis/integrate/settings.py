# SPDX-License-Identifier: MIT
"""How frames are integrated (:class:`IntegrationSettings`) and the dark/flat images they name."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from halos_analysis.errors import HalosInputError
from halos_analysis.types import normalise_q_unit

_ERROR_MODELS = ("poisson", "poisson_pyfai")


@dataclass(frozen=True)
class IntegrationSettings:
    """How frames are integrated.

    Parameters
    ----------
    npt : int
        Number of radial bins (pyFAI's ``npt``).
    unit : str
        ``"q_nm^-1"`` or ``"q_A^-1"`` (``"nm^-1"``, ``"A^-1"`` also accepted).
    method : str
        Pixel splitting: ``"no"`` (default; keeps neighbouring bins independent), ``"bbox"``
        or ``"full"``.
    polarization_factor : float or None
        pyFAI's polarisation factor (−1..1); None for no polarisation correction. 0.99 by
        default, as the CLI and the workflow (:mod:`halos_analysis.settings`): a synchrotron
        beam is horizontally polarised.
    solid_angle : bool
        Correct for the solid angle of each pixel.
    error_model : str
        ``"poisson"``: variance = counts (σ = sqrt(Σ c²x)/Σ c·norm); a bin whose counts sum
        to zero gets the variance of one count so that σ is never 0. ``"poisson_pyfai"``:
        pyFAI's variant, variance = max(counts, 1) per pixel, identical to
        ``integrate1d(error_model="poisson")`` but biased high where pixels hold < ~3 counts.
    dark, flat : str, Path, ndarray or None
        Dark image subtracted from each frame; flat field the normalisation is multiplied by.
    scale : float
        Absolute scale factor the intensities are multiplied by (from water or glassy carbon).
    absolute : bool
        The caller states that ``scale`` (with the monitor and transmission normalisation)
        puts the intensities in cm⁻¹: the curves are labelled ``intensity_unit = "1/cm"``,
        else ``"arbitrary"``. A label only; it changes no number and not the bin map.
    sigma_clip : float or None
        Reject pixels further than this many Poisson σ from their bin's mean (zingers),
        iterating until nothing changes (at most 5 times). Slower.
    batch_size : int or None
        Frames per parallel task (None: chosen so that each task takes ≳100 ms).
    radial_range : (float, float) or None
        q range of the bins in ``unit`` (None: pyFAI's default, the range of the pixels).
    """

    npt: int = 1000
    unit: str = "q_nm^-1"
    method: str = "no"
    polarization_factor: float | None = 0.99
    solid_angle: bool = True
    error_model: str = "poisson"
    dark: Any = None
    flat: Any = None
    scale: float = 1.0
    sigma_clip: float | None = None
    batch_size: int | None = None
    radial_range: tuple[float, float] | None = None
    absolute: bool = False

    def __post_init__(self) -> None:
        # Each error names the setting (``--npt`` on the command line, ``integration.npt`` in
        # the config); the CLI maps the field to its flag.
        try:
            unit = "q_" + normalise_q_unit(self.unit)
        except ValueError as exc:
            raise SettingsError(str(exc), field="unit") from None
        object.__setattr__(self, "unit", unit)
        if self.method not in ("no", "bbox", "full"):
            _bad("method", f"{self.method!r} is no pixel splitting: use 'no', 'bbox' or 'full'")
        if self.error_model not in _ERROR_MODELS:
            _bad("error_model", f"{self.error_model!r}: use one of {_ERROR_MODELS}")
        if isinstance(self.npt, bool) or int(self.npt) != self.npt or self.npt < 2:
            _bad("npt", f"must be a whole number of at least 2, got {self.npt!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            _bad("scale", f"must be a positive number, got {self.scale!r}")
        pf = self.polarization_factor
        if pf is not None and not (math.isfinite(pf) and -1 <= pf <= 1):
            _bad("polarization_factor", f"must be between -1 and 1, got {pf!r}")
        if self.sigma_clip is not None and not (
            math.isfinite(self.sigma_clip) and self.sigma_clip > 0
        ):
            _bad("sigma_clip", f"must be a positive number, got {self.sigma_clip!r}")
        if self.batch_size is not None and int(self.batch_size) < 1:
            _bad("batch_size", f"must be at least 1, got {self.batch_size!r}")
        rr = self.radial_range
        if rr is not None and not (
            len(rr) == 2 and all(math.isfinite(v) for v in rr) and 0 <= rr[0] < rr[1]
        ):
            _bad("radial_range", f"must be two finite q values, low < high, got {rr!r}")

    @property
    def q_unit(self) -> str:
        """``"nm^-1"`` or ``"A^-1"``."""
        return self.unit[2:]

    @property
    def intensity_unit(self) -> str:
        """``"1/cm"`` when the scale is stated to be absolute, else ``"arbitrary"``."""
        return "1/cm" if self.absolute else "arbitrary"

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain JSON (dark/flat given as arrays become ``"<array>"``)."""
        d = dataclasses.asdict(self)
        for key in ("dark", "flat"):
            if isinstance(d[key], np.ndarray):
                d[key] = "<array>"
            elif d[key] is not None:
                d[key] = str(d[key])
        return d


class SettingsError(HalosInputError, ValueError):
    """An impossible integration setting; ``field`` is the setting's name (``npt``, ...).

    Also a ValueError, so code that caught the old ValueError keeps working.
    """


def _bad(field: str, message: str) -> None:
    raise SettingsError(f"{field} {message}", field=field)


def as_array(value: Any, shape: tuple[int, int], what: str) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        arr = value
    else:
        from halos_analysis.io.poni import read_image

        arr = read_image(value)
    if arr.shape != tuple(shape):
        raise HalosInputError(
            f"{what} shape {arr.shape} does not match the frames {tuple(shape)}",
            None if isinstance(value, np.ndarray) else value,
            what,
        )
    return np.asarray(arr, np.float64)
