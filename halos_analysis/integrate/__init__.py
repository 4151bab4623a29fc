# SPDX-License-Identifier: MIT
"""Azimuthal integration: a cached sparse bin map, batched kernels and Dask glue.

The geometry part is pyFAI's: the bin map is the CSR matrix pyFAI's own sparse integrator
builds (``ai.setup_sparse_integrator``: same radial range, same bin centres, same pixel
splitting), and the per-pixel normalisation is pyFAI's solid angle × polarisation (× flat).
What differs is how frames go through it. For a photon-counting detector the only per-frame
work is the signal sum Σ c·x per bin: the normalisation Σ c·norm does not depend on the frame
(the monitor and transmission are one scalar per frame) and under Poisson statistics the
variance sum equals the signal sum (Σ c²·x with pixel splitting). So each batch of frames
goes through one sparse × dense product, done pixel-chunk by pixel-chunk so that the
transposed, float32 copy of the frames stays in the CPU cache; chunk sums are accumulated in
float64. Per bin::

    I = scale · (Σ c·x − Σ c·dark) / (k · Σ c·norm)        k = monitor × transmission
    σ = scale · sqrt(Σ c²·x) / (k · Σ c·norm)

which is pyFAI's ``integrate1d`` (``normalization_factor = k / scale``).

Bad pixels that the static mask does not cover (Eiger ``2**bits − 1``, negative Pilatus
counts, NaN or inf) are found exactly inside the same pass, whatever the counts: after each
chunk is copied, one reduction over it (min, max or sum, as the dtype needs) says which frames
may hold one, and only in those are the chunk's pixels looked at. A bad pixel's value is
zeroed before the product, and the normalisation Σ c·norm (and the dark) of the few bins it
falls in is recomputed without it; a frame with a few bad pixels costs about what a clean one
does, and equals pyFAI's ``integrate1d`` with those pixels masked.
"""

from halos_analysis.integrate.binmap import BinMap, default_cache_dir
from halos_analysis.integrate.engine import Integrator
from halos_analysis.integrate.files import (
    ArrayFrames,
    close_scheduler,
    integrate_files,
    resolve_scheduler,
)
from halos_analysis.integrate.settings import IntegrationSettings, SettingsError

__all__ = [
    "ArrayFrames",
    "BinMap",
    "IntegrationSettings",
    "SettingsError",
    "Integrator",
    "default_cache_dir",
    "integrate_files",
    "close_scheduler",
    "resolve_scheduler",
]
