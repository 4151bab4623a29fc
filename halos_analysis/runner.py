# SPDX-License-Identifier: MIT
"""Start the project's Snakemake workflow: the one place that builds that command line.

``halos run`` and ``halos reproduce`` both go through :func:`snakemake_command` and
:func:`workflow_env`, so the workflow is started the same way wherever it is started from.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from halos_analysis.errors import HalosError, HalosInputError

ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = ROOT / "Snakefile"


def snakemake_command(
    *,
    cores: int,
    directory: str | Path | None = None,
    configfile: str | Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``snakemake`` command line for the project's workflow.

    Parameters
    ----------
    cores : int
        Cores Snakemake may use.
    directory : path, optional
        Working directory of the run (relative paths in the config are relative to it).
    configfile : path, optional
        Config file replacing ``config/config.yaml``.
    extra : sequence of str
        Further Snakemake arguments (targets, ``-n``, ``--forcerun`` ...).
    """
    here = str(Path(sys.executable).parent)
    snakemake = shutil.which("snakemake", path=here) or shutil.which("snakemake")
    if snakemake is None:
        raise HalosError("snakemake is not installed in this environment")
    cmd = [snakemake, "--snakefile", str(SNAKEFILE)]
    if directory is not None:
        if not Path(directory).is_dir():
            raise HalosInputError("working directory not found", directory)
        cmd += ["--directory", str(directory)]
    if configfile is not None:
        if not Path(configfile).is_file():
            raise HalosInputError("config file not found", configfile)
        cmd += ["--configfile", str(Path(configfile).resolve())]
    # --configfile takes several values: an option must follow it, not a target.
    return cmd + ["--cores", str(cores), *extra]


def workflow_env() -> dict[str, str]:
    """Environment for the run: the rules call ``halos``, so this installation's comes first."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env
