# SPDX-License-Identifier: MIT
"""``halos run``: the Snakemake workflow; every argument goes to snakemake.

:func:`~halos_analysis.app.cli.main` does not parse what follows ``run``: it hands it over
as ``args.snakemake_args``. ``--config a.b=v`` (a dotted key, which Snakemake's own
``--config`` does not take) becomes ``--config a={b: v}``; the workflow reads the value as
the schema's type.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
from collections.abc import Sequence
from pathlib import Path

from halos_analysis.app.commands import _common

HELP = "run the Snakemake workflow (every argument goes to snakemake)"
USAGE = (
    "halos run [snakemake arguments: --cores N, --configfile F..., --config k=v..., "
    "-n, --profile P, --keep-going, --report R, targets ...]"
)
DESCRIPTION = (
    "Runs snakemake on the workflow shipped with this package; its default "
    "profile (profiles/default beside the Snakefile) applies. Every argument is passed to "
    "snakemake as it is, except that --config accepts dotted keys (integration.npt=613)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Nothing to parse (the arguments are Snakemake's); the parser is for --help.
    p.set_defaults(snakemake_args=[])


# Snakemake guards the workflow's outputs itself.
outputs = _common.no_outputs


def run(args: argparse.Namespace) -> int:
    import shlex

    from halos_analysis.app.config import read_config_file
    from halos_analysis.app.manifest import COMMAND_ENV
    from halos_analysis.app.runner import (
        check_slurm_settings,
        run_lock,
        snakemake_command,
        workflow_env,
    )

    snakemake_args = list(args.snakemake_args)
    # Snakemake reads config files as YTE templates (Python expressions evaluated) when they
    # ask for it: every config file is checked as untrusted text before Snakemake sees it.
    for path in _config_files(snakemake_args):
        read_config_file(path)
    cmd = snakemake_command(_common.dotted_config(snakemake_args))
    env = workflow_env(snakemake_args)
    check_slurm_settings(cmd, env)
    env[COMMAND_ENV] = shlex.join(["halos", "run", *snakemake_args])
    log = logging.getLogger(__name__)
    log.info("running %s", shlex.join(cmd))
    if any(a in ("-n", "--dry-run", "--dryrun", "--unlock") for a in snakemake_args):
        return subprocess.call(cmd, env=env)
    with run_lock(_workdir(snakemake_args)) as lock, subprocess.Popen(cmd, env=env) as proc:
        lock.started(proc.pid)
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # Snakemake got the Ctrl-C too: let it finish its jobs
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            lock.ended(proc.wait())
            raise
        lock.ended(code)
        return code


def _workdir(args: Sequence[str]) -> str:
    """The working directory a snakemake command line names (``--directory``/``-d``)."""
    args = list(args)
    workdir = "."
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--directory", "-d"):
            workdir = value if eq else (args[i + 1] if i + 1 < len(args) else ".")
    return workdir


def _config_files(args: Sequence[str]) -> list[Path]:
    """The config files a snakemake command line makes the workflow read: every
    ``--configfile``/``--configfiles`` value, else the workflow's default
    ``config/config.yaml`` in the working directory (``--directory``/``-d``)."""
    files: list[str] = []
    workdir = _workdir(args)
    args = list(args)
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if name in ("--configfile", "--configfiles"):
            if eq:
                files.append(value)
                continue
            for nxt in args[i + 1 :]:
                if nxt.startswith("-"):
                    break
                files.append(nxt)
    if not files:
        default = Path(workdir) / "config" / "config.yaml"
        return [default] if default.is_file() else []
    # Relative config paths are Snakemake's own: relative to where it is started.
    return [Path(f) for f in files]
