# SPDX-License-Identifier: MIT
"""Lazy public names of a subpackage (PEP 562), as scikit-image's ``lazy_loader.attach``.

A subpackage declares ``__all__`` and a table *name → module*; its names are imported on
first use, so a light command (``halos guinier``) loads neither pyFAI nor matplotlib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, table: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package whose public names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    table : mapping
        Public name -> the package's module (relative name) that defines it.
    names : sequence of str
        The package's ``__all__``.

    Returns
    -------
    (callable, callable)
        Assign them to the package's ``__getattr__`` and ``__dir__``.

    Examples
    --------
    >>> getattr_, dir_ = attach("halos_analysis.analysis", {"bift": "pr"}, ["bift"])
    >>> getattr_("bift").__name__
    'bift'
    """

    def __getattr__(name: str) -> Any:
        if name in table:
            module = importlib.import_module(f"{package}.{table[name]}")
            value = getattr(module, name)
            setattr(importlib.import_module(package), name, value)  # once: next time direct
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(names))

    return __getattr__, __dir__
