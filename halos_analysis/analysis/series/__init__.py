# SPDX-License-Identifier: MIT
"""Series (SEC-SAXS) analysis: pure functions on typed results.

:func:`analyse_series` runs everything on one run; the steps are public too: traces and
peaks (:mod:`.traces`), buffer and sample ranges with their validation (:mod:`.ranges`),
subtraction and per-frame Rg/I0/MW vectorised over all frames (:mod:`.frames`), SVD and its
rank (:mod:`.svd`). Frame ranges are (first, last) pairs of 0-based inclusive positions.
"""

from halos_analysis.analysis.series.analyse import SeriesAnalysis, SeriesSettings, analyse_series
from halos_analysis.analysis.series.frames import (
    average_frames,
    frame_parameters,
    sliding_average,
    subtract_buffer,
)
from halos_analysis.analysis.series.ranges import (
    find_buffer_range,
    find_sample_range,
    validate_buffer_range,
    validate_sample_range,
)
from halos_analysis.analysis.series.results import (
    Baseline,
    Component,
    Deconvolution,
    EFAResult,
    FrameParameters,
    Peak,
    RangeCheck,
    RangeSearch,
    SeriesTraces,
    SVDResult,
    Test,
)
from halos_analysis.analysis.series.svd import svd_rank
from halos_analysis.analysis.series.traces import find_peaks, intensity_traces

__all__ = [
    "Baseline",
    "Component",
    "Deconvolution",
    "EFAResult",
    "FrameParameters",
    "Peak",
    "RangeCheck",
    "RangeSearch",
    "SVDResult",
    "SeriesAnalysis",
    "SeriesSettings",
    "SeriesTraces",
    "Test",
    "analyse_series",
    "average_frames",
    "find_buffer_range",
    "find_peaks",
    "find_sample_range",
    "frame_parameters",
    "intensity_traces",
    "sliding_average",
    "subtract_buffer",
    "svd_rank",
    "validate_buffer_range",
    "validate_sample_range",
]
