# SPDX-License-Identifier: MIT
"""The parts of a sample's and a run's outputs, by name: one source for the writers
(:mod:`halos_analysis.export.bundle`), the commands' ``--parts`` and the files they declare.

Light on purpose (no matplotlib): ``halos export --help`` and ``halos summarise --help``
read it.
"""

from __future__ import annotations

__all__ = ["PLOT_KINDS", "RUN_PARTS", "SAMPLE_PARTS"]

#: The parts of a sample's outputs (``halos export --parts``): ``data`` is the NXcanSAS file,
#: P(r) table, ``summary.json`` and ``provenance.json`` (what the run summary needs),
#: ``figures`` the plots (PNG and SVG).
SAMPLE_PARTS: tuple[str, ...] = ("data", "figures")
#: The parts of a run's outputs (``halos summarise --parts``): ``tables`` is
#: ``summary.csv``/``summary.json``, ``overview`` the figure of every sample's curve
#: (``overview.png``/``.svg``), ``report`` the ``report.html`` that shows it.
RUN_PARTS: tuple[str, ...] = ("tables", "overview", "report")
#: The plot kinds of a sample (``plots/<sample>_<kind>.png`` and ``.svg``).
PLOT_KINDS: tuple[str, ...] = ("intensity", "guinier", "kratky", "pr", "similarity")
