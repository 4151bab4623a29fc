# SPDX-License-Identifier: MIT
"""The ``halos`` subcommands: one module each, as pyFAI's and freesas' ``app/`` have them.

A subcommand's module declares, together, everything about it (the :class:`Command`
protocol): ``HELP`` (its line in ``halos --help``; ``DESCRIPTION`` and ``USAGE`` where
``--help`` needs more), ``add_arguments(parser)``, ``outputs(args)`` (the files it would
replace, which :func:`~halos_analysis.app.cli.main` refuses to overwrite without
``--overwrite``; may be empty) and ``run(args)`` (a thin function over the library that
returns the exit code). The subcommand is named after its module.

To add a subcommand, write its module here and add it to ``COMMANDS`` in
:mod:`halos_analysis.app.cli`; nothing else names it. Each module imports what it needs
inside ``run``, so that ``halos guinier`` loads neither pyFAI nor matplotlib.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["Command"]


@runtime_checkable
class Command(Protocol):
    """What a subcommand's module declares (modules satisfy it, no class is written).

    Examples
    --------
    >>> from halos_analysis.app.commands import guinier
    >>> isinstance(guinier, Command)
    True
    """

    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the subcommand's arguments to its parser."""

    def outputs(self, args: argparse.Namespace) -> Sequence[str | Path | None]:
        """The files the subcommand would write and must not replace silently."""

    def run(self, args: argparse.Namespace) -> int:
        """Do the work; the exit code."""
