# SPDX-License-Identifier: MIT
"""The ``halos`` command: one entry point, one thin subcommand per pipeline stage.

Each subcommand is a module of :mod:`halos_analysis.app.commands` that declares its help,
its arguments, the outputs it must not replace silently and its ``run`` (see
:class:`~halos_analysis.app.commands.Command`); this module holds the global options, the
list of those modules, the deprecated spellings' warnings, logging and the error handling.
Errors a user can cause print one line naming the file and field and exit 1; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from halos_analysis import __version__
from halos_analysis.app.commands import (
    analyse,
    compare,
    export,
    guinier,
    integrate,
    mw,
    pr,
    reduce,
    reproduce,
    run,
    series,
    similarity,
    simulate,
    subtract,
    summarise,
    validate,
    watch,
)
from halos_analysis.app.options import deprecation_warnings
from halos_analysis.app.worker import forward_if_warm
from halos_analysis.errors import HalosError, HalosInputError

#: The subcommands, in the order ``halos --help`` lists them; each is named after its module.
COMMANDS: tuple[ModuleType, ...] = (
    simulate,
    run,
    watch,
    integrate,
    reduce,
    subtract,
    analyse,
    export,
    summarise,
    reproduce,
    guinier,
    pr,
    mw,
    similarity,
    compare,
    validate,
    series,
)


def command_name(command: ModuleType) -> str:
    """The subcommand a module of :mod:`halos_analysis.app.commands` declares: its name.

    Examples
    --------
    >>> command_name(guinier)
    'guinier'
    """
    return command.__name__.rpartition(".")[2]


def preload(command: str | None) -> None:
    """Import the modules subcommand ``command``'s ``run`` imports (its ``PRELOAD``), so
    that the entry point imports them with the cyclic garbage collector off
    (:func:`halos_analysis.app.worker.halos_main`); one that cannot be imported is left
    to the command, which says what is missing."""
    import importlib

    for module in COMMANDS:
        if command_name(module) == command:
            for name in getattr(module, "PRELOAD", ()):
                try:
                    importlib.import_module(name)
                except ImportError:
                    return
            return


def build_parser() -> argparse.ArgumentParser:
    """The ``halos`` argument parser: the global options and one subparser per command."""
    # No abbreviations: `halos run --config k=v` must not become --configfile, and a
    # shortened option is never taken for another one.
    parser = argparse.ArgumentParser(
        prog="halos",
        description="HALOS Analysis: bioSAXS from detector frames to results.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"halos {__version__}")
    # --debug and --overwrite work before or after the subcommand; SUPPRESS keeps a
    # subcommand that does not repeat them from resetting what was given before it.
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="say more (-vv: debugging detail)",
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    common.add_argument(
        "--overwrite",
        action="store_true",
        default=argparse.SUPPRESS,
        help="replace outputs that exist already",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="say more (-vv: debugging detail)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that exist already"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = subparsers.add_parser(
            command_name(command),
            parents=[common],
            allow_abbrev=False,
            help=command.HELP,
            description=getattr(command, "DESCRIPTION", None),
            usage=getattr(command, "USAGE", None),
        )
        command.add_arguments(p)
        p.set_defaults(handler=command)
    return parser


def _existing_outputs(args: argparse.Namespace) -> list[Path]:
    """The outputs the subcommand declares (its ``outputs(args)``) that exist already."""
    return [Path(p) for p in args.handler.outputs(args) if p is not None and Path(p).exists()]


_GLOBAL_FLAGS = ("--debug", "--overwrite", "-v", "--verbose", "-vv")


def _split_run(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """``(halos options, snakemake args)`` when the command is ``run``, else None."""
    for i, arg in enumerate(argv):
        if arg == "run":
            return argv[: i + 1], argv[i + 1 :]
        if arg not in _GLOBAL_FLAGS:
            return None
    return None


def _setup_logging(verbosity: int) -> None:
    # The library logs; the command line shows warnings (and more with -v / -vv) on stderr.
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("halos_analysis")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``halos`` command."""
    if (warm := forward_if_warm(argv)) is not None:  # `halos watch`'s warm worker ran it
        return warm
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    split = _split_run(argv)
    if split is not None:
        # `halos run ...`: everything after `run` is Snakemake's (-h included, unless alone).
        own, extra = split
        if extra in (["-h"], ["--help"]):
            own, extra = own + extra, []
        args = parser.parse_args(own)
        args.snakemake_args = extra
    else:
        args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", 0) or 0)
    for message in deprecation_warnings(args):
        logging.getLogger(__name__).warning(message)
    try:
        # Results of another run are never replaced silently (the workflow removes a job's
        # old outputs itself before re-running it).
        existing = [] if args.overwrite else _existing_outputs(args)
        if existing:
            raise HalosInputError("exists already; pass --overwrite to replace it", existing[0])
        return args.handler.run(args)
    except (HalosError, OSError, ValueError) as exc:
        if args.debug:
            raise
        msg = str(exc) if isinstance(exc, HalosError) else f"{type(exc).__name__}: {exc}"
        print(f"halos {args.command}: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback on --debug
        if args.debug:
            raise
        print(
            f"halos {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
