# SPDX-License-Identifier: MIT
"""Reduce: frame similarity (CorMap) → frame selection → average → buffer subtraction.

``similarity`` is the CorMap test of a few curves and the frame selection built on it,
``cormap`` its vectorised core for many frames at once (the SEC series), ``average`` and
``subtract`` combine curves on one q grid. The per-measurement chain (select and average a
frames file, check and combine buffers) is :mod:`halos_analysis.analysis.pipeline`.
"""

from halos_analysis.reduce.average import average
from halos_analysis.reduce.cormap import (
    adjust_pvalues,
    cormap_against_reference,
    cormap_pairs,
    longest_runs,
    pvalue_table,
)
from halos_analysis.reduce.similarity import cormap_pvalue, cormap_test, longest_run, select_frames
from halos_analysis.reduce.subtract import subtract

__all__ = [
    "adjust_pvalues",
    "average",
    "cormap_against_reference",
    "cormap_pairs",
    "cormap_pvalue",
    "cormap_test",
    "longest_run",
    "longest_runs",
    "pvalue_table",
    "select_frames",
    "subtract",
]
