# SPDX-License-Identifier: MIT
"""Pieces every ``halos`` subcommand's arguments share: deprecated spellings of options.

An option renamed for clarity (``halos reduce --reference`` is now ``--frame-reference``,
since ``halos mw --reference`` meant a MW standard) keeps its old spelling for one release:
it sets the same value and :func:`main <halos_analysis.app.cli.main>` logs a warning naming
the new spelling.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["add_deprecated_alias", "deprecation_warnings"]

log = logging.getLogger(__name__)

_NOTES = "_deprecated_options"


class _DeprecatedAlias(argparse.Action):
    """Store like the new option does, and note that the old spelling was used."""

    def __init__(self, option_strings, dest, *, new: str, convert=None, **kwargs: Any):
        self.new = new
        self.convert = convert
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.nargs == 0:
            values = self.const
        elif self.convert is not None:
            values = self.convert(values)
        setattr(namespace, self.dest, values)
        notes = [*getattr(namespace, _NOTES, ()), (option_string, self.new)]
        setattr(namespace, _NOTES, notes)


def add_deprecated_alias(
    parser: argparse.ArgumentParser | Any,
    old: str,
    new: str,
    dest: str,
    convert: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> None:
    """Accept ``old`` as a hidden, deprecated spelling of option ``new`` (same ``dest``).

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
    old, new : str
        The old and the new option strings (``--reference``, ``--frame-reference``).
    dest : str
        The namespace attribute both set.
    convert : callable, optional
        Turns the old spelling's value into the new one's (``q_nm^-1`` → ``nm^-1``).
    **kwargs
        ``nargs``, ``type``, ``choices``, ``metavar`` of the old spelling (``nargs=0`` with
        ``const`` for a flag).
    """
    parser.add_argument(
        old, dest=dest, action=_DeprecatedAlias, new=new, convert=convert,
        help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs,
    )  # fmt: skip


def deprecation_warnings(args: argparse.Namespace) -> list[str]:
    """One message per deprecated spelling the command line used."""
    return [
        f"{old} is deprecated and goes in the next release; use {new}"
        for old, new in getattr(args, _NOTES, ())
    ]
