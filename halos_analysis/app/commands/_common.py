# SPDX-License-Identifier: MIT
"""What several subcommands share: argument groups, curve reading, JSON output.

Private to :mod:`halos_analysis.app.commands`: the names need no underscore here, the
module's leading one keeps them in the package.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from halos_analysis.app.options import add_deprecated_alias
from halos_analysis.settings import ANALYSIS

#: The multiple-testing corrections of the CorMap test.
CORRECTIONS = ["bonferroni", "holm", "none"]

#: The q units a curve can be given in, one spelling for every subcommand.
Q_UNITS = ["A^-1", "nm^-1"]


def no_outputs(args: argparse.Namespace) -> list[Path]:
    """The outputs of a subcommand that writes no file of its own (it prints, or its
    library call guards what it writes)."""
    return []


def print_json(obj: object) -> None:
    """Print ``obj`` as indented JSON (NaN refused: a missing value is ``null``)."""
    print(json.dumps(obj, indent=2, allow_nan=False))


def atomic_json(obj: object, path: str | Path) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (never half a file)."""
    from halos_analysis.io.atomic import write_text_atomic

    return write_text_atomic(json.dumps(obj, indent=2, allow_nan=False) + "\n", path)


def read(path: str, q_unit: str | None, analyse: bool = True):
    """A curve file; with ``analyse`` also refused when too short for any analysis."""
    from halos_analysis.io.curves import read_curve, require_analysable

    curve = read_curve(path, q_unit=q_unit)
    return require_analysable(curve, path) if analyse else curve


def float_or_none(text: str) -> float | str:
    """A number, or ``"none"`` (the caller turns it into None)."""
    if text.strip().lower() in ("none", "null", "off"):
        return "none"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'none': {text!r}") from None


def none_or(value: float | None) -> float | str:
    """A default for :func:`float_or_none`: the value, or ``"none"`` for None."""
    return "none" if value is None else value


def add_q_unit(p: argparse.ArgumentParser) -> None:
    """``--q-unit`` of a subcommand that reads curves."""
    p.add_argument(
        "--q-unit",
        choices=Q_UNITS,
        help="q unit of the curve (default: from the header, else guessed from the q range)",
    )


def add_mw_arguments(p: argparse.ArgumentParser) -> None:
    """The molecular-weight options ``halos mw`` and ``halos analyse`` share."""
    p.add_argument("--conc", type=float, help="concentration in mg/ml (for MW from I0)")
    p.add_argument("--absolute", action="store_true", help="the curve is on absolute scale (1/cm)")
    p.add_argument(
        "--psv", type=float, default=ANALYSIS.psv_cm3_g, help="partial specific volume, cm3/g"
    )
    p.add_argument("--macromolecule", choices=["protein", "rna"], default=ANALYSIS.macromolecule)
    p.add_argument(
        "--mw-standard",
        dest="reference",
        nargs=3,
        type=float,
        metavar=("I0", "CONC", "MW_KDA"),
        help="a MW standard measured alike: its I0, concentration (mg/ml) and MW (kDa)",
    )
    add_deprecated_alias(p, "--reference", "--mw-standard", "reference", nargs=3, type=float)


def absolute(args: argparse.Namespace, curve) -> bool:
    """On absolute scale: said by ``--absolute`` or by the curve's own intensity unit (1/cm,
    as our integration and NXcanSAS files record it) — the same for every MW command."""
    return bool(args.absolute) or curve.meta.get("intensity_unit") == "1/cm"


def dotted_config(args: Sequence[str]) -> list[str]:
    """Snakemake arguments with ``--config`` entries ``a.b.c=v`` nested as ``a={b: {c: v}}``.

    Entries of one top-level key are merged into one (``a.x=1 a.y=2`` -> ``a={x: 1, y: 2}``),
    the values kept as text (JSON-quoted), which the workflow converts to the schema's type.

    Examples
    --------
    >>> dotted_config(["-n", "--config", "integration.npt=613", "results=out"])
    ['-n', '--config', 'results=out', 'integration={"npt": "613"}']
    """
    out: list[str] = []
    i = 0
    args = list(args)
    while i < len(args):
        arg = args[i]
        if arg != "--config" and not arg.startswith("--config="):
            out.append(arg)
            i += 1
            continue
        entries = [arg.split("=", 1)[1]] if arg.startswith("--config=") else []
        i += 1
        while i < len(args) and "=" in args[i] and not args[i].startswith("-"):
            entries.append(args[i])
            i += 1
        nested: dict = {}
        flat: list[str] = []
        for entry in entries:
            key, _, value = entry.partition("=")
            if "." not in key:
                flat.append(entry)
                continue
            node = nested
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        out += ["--config", *flat, *(f"{k}={json.dumps(v)}" for k, v in nested.items())]
    return out
