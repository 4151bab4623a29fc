# SPDX-License-Identifier: MIT
"""Start the project's Snakemake workflow: the one place that builds that command line.

The workflow (``Snakefile``, ``rules/``, ``schemas/``, ``profiles/``, ``envs/``, ``report/``)
ships inside the package (``halos_analysis/workflow`` in a wheel; a checkout's ``workflow/``
folder in an editable install), so ``halos run`` works wherever the package is installed.
Snakemake is given that ``Snakefile``, so it finds ``profiles/default`` beside it on its own
and says so in its log ("Using workflow specific profile ...").

``halos run`` and ``halos reproduce`` both go through :func:`snakemake_command` and
:func:`workflow_env`, so the workflow is started the same way wherever it is started from.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from halos_analysis.errors import HalosError

__all__ = ["snakemake_command", "workflow_dir", "workflow_env"]


def workflow_dir() -> Path:
    """The folder holding the workflow's ``Snakefile``, rules, schemas and profiles.

    Returns
    -------
    Path
        ``<package>/workflow`` when installed from a wheel, else the checkout's
        ``workflow/`` (editable install).

    Raises
    ------
    HalosError
        When neither holds a ``Snakefile`` (a broken installation).
    """
    packaged = Path(str(resources.files("halos_analysis") / "workflow"))
    checkout = Path(__file__).resolve().parents[1] / "workflow"
    for folder in (packaged, checkout):
        if (folder / "Snakefile").is_file():
            return folder
    raise HalosError(
        f"the workflow files are missing from this installation (looked in {packaged} and "
        f"{checkout}); reinstall halos-analysis"
    )


def _has_option(args: Sequence[str], *names: str) -> bool:
    return any(a in names or any(a.startswith(n + "=") for n in names) for a in args)


def snakemake_command(args: Sequence[str] = ()) -> list[str]:
    """The ``snakemake`` command line for the project's workflow.

    Parameters
    ----------
    args : sequence of str
        Snakemake arguments, passed through unchanged (``--configfile``, ``--config k=v``,
        ``-n``, ``--cores``, ``--profile``, ``--keep-going``, ``--report``, targets ...).
        ``--snakefile`` is added unless one is given.

    Returns
    -------
    list of str
        ``python -m snakemake`` of this interpreter, so the Snakemake that runs is the one
        installed beside this package.

    Raises
    ------
    HalosError
        When Snakemake is not installed (the ``workflow`` extra).
    """
    if importlib.util.find_spec("snakemake") is None:
        raise HalosError(
            "snakemake is not installed here: pip install 'halos-analysis[workflow]'"
        )
    cmd = [sys.executable, "-m", "snakemake"]
    if not _has_option(args, "--snakefile", "-s"):
        cmd += ["--snakefile", str(workflow_dir() / "Snakefile")]
    return cmd + list(args)


def workflow_env() -> dict[str, str]:
    """Environment for the run: the rules call ``halos``, so this installation's comes first."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env
