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

import contextlib
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from halos_analysis.errors import HalosError

__all__ = ["run_lock", "snakemake_command", "workflow_dir", "workflow_env"]


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


def package_source() -> Path:
    """Something ``pip install`` makes this very halos-analysis from (for conda envs).

    A checkout's root when the package runs from one; otherwise (a wheel install) a minimal
    project holding a copy of the installed package, made once per version in the user's
    cache folder. The workflow's ``envs/*.post-deploy.sh`` install it into each conda env
    (``--sdm conda``), so the rules there run the same code as the workflow.
    """
    from halos_analysis import __version__

    package = Path(__file__).resolve().parent
    root = package.parent
    if (root / "pyproject.toml").is_file() and (root / "workflow" / "Snakefile").is_file():
        return root
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache / "halos-analysis" / f"source-{__version__}"
    if not (target / "pyproject.toml").is_file():
        import shutil
        import tempfile

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent))
        shutil.copytree(package, tmp / "halos_analysis",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        (tmp / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["setuptools>=68"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "halos-analysis"\nversion = "{__version__}"\n\n'
            '[project.scripts]\nhalos = "halos_analysis.cli:main"\n\n'
            '[tool.setuptools.packages.find]\ninclude = ["halos_analysis*"]\n\n'
            '[tool.setuptools.package-data]\n"*" = ["**/*"]\n'
        )
        try:
            tmp.rename(target)
        except OSError:  # made meanwhile by another run
            shutil.rmtree(tmp, ignore_errors=True)
    return target


_CONDA_FLAGS = ("--sdm", "--software-deployment-method", "--use-conda", "--profile",
                "--workflow-profile")  # fmt: skip


def workflow_env(snakemake_args: Sequence[str] = ()) -> dict[str, str]:
    """Environment for the run: the rules call ``halos``, so this installation's comes
    first; with conda possibly in use (``--sdm``, or a profile that may say so)
    ``HALOS_PACKAGE_SOURCE`` names what the conda envs install (:func:`package_source`).
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    if any(a.split("=", 1)[0] in _CONDA_FLAGS for a in snakemake_args):
        env.setdefault("HALOS_PACKAGE_SOURCE", str(package_source()))
    return env


@contextlib.contextmanager
def run_lock(workdir: str | Path) -> Iterator[list[Path]]:
    """Hold the working directory's run lock while a ``halos run`` runs; clear the locks a
    killed run left.

    Snakemake locks its working directory with files in ``.snakemake/locks`` that a
    SIGKILL, an out-of-memory kill or a power loss leave behind, and then refuses every
    later run until ``--unlock``. Here each ``halos run`` also holds an ``flock`` on
    ``.snakemake/halos-run.lock`` (released by the kernel however the process ends) and
    writes its PID in it, cleared when it ends. A run that finds the lock free but a PID
    still written knows the previous run was killed: the Snakemake locks are that run's,
    and are removed (named on stderr). Locks of a plain ``snakemake`` run, or of a
    ``halos run`` still running, are never touched.

    Yields
    ------
    list of Path
        The stale lock files removed (empty when there were none).
    """
    import fcntl

    if not Path(workdir).is_dir():  # Snakemake says so; nothing is created here
        yield []
        return
    state = Path(workdir) / ".snakemake"
    state.mkdir(exist_ok=True)
    path = state / "halos-run.lock"
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield []  # another halos run holds it: Snakemake's own lock says the rest
            return
        fh.seek(0)
        killed = fh.read().strip()
        removed: list[Path] = []
        if killed:
            removed = sorted((state / "locks").glob("*.lock"))
            for lock in removed:
                lock.unlink(missing_ok=True)
            if removed:
                logging.getLogger(__name__).warning(
                    "removed %d Snakemake lock(s) of run %s, which was killed; its "
                    "unfinished files are redone",
                    len(removed),
                    killed,
                )
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield removed
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
