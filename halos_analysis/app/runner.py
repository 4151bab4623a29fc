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
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

from halos_analysis.errors import HalosError

__all__ = [
    "check_slurm_settings",
    "resolve_profiles",
    "run_lock",
    "snakemake_command",
    "workflow_dir",
    "workflow_env",
]


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
    checkout = Path(__file__).resolve().parents[2] / "workflow"
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
    return cmd + resolve_profiles(args)


def resolve_profiles(args: Sequence[str], cwd: str | Path | None = None) -> list[str]:
    """``--profile NAME`` of a profile shipped with the workflow, as that folder.

    Snakemake looks a ``--profile`` name up in the working folder and the user's and site's
    config folders, not beside the Snakefile; ``halos run --profile slurm`` means the
    workflow's ``profiles/slurm`` (the one copy: ``profiles/`` at a checkout's root links
    to it). It becomes ``--workflow-profile`` of that folder, so it stands in for the
    default profile rather than under it (whose ``cores`` would cap every job's threads);
    where a ``--workflow-profile`` is given too, ``--profile`` of that folder. A name that
    is a file or folder in the working folder stays as it is.

    Parameters
    ----------
    args : sequence of str
        Snakemake arguments.
    cwd : str or Path, optional
        Where Snakemake looks relative names up (default: the current folder).

    Returns
    -------
    list of str
        The arguments, shipped profile names replaced by their paths.
    """
    args = list(args)
    base = Path(cwd) if cwd is not None else Path.cwd()
    shipped = workflow_dir() / "profiles"
    own_workflow_profile = _has_option(args, "--workflow-profile")
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--profile" and i + 1 < len(args):
            name, i = args[i + 1], i + 2
        elif arg.startswith("--profile="):
            name, i = arg.split("=", 1)[1], i + 1
        else:
            out.append(arg)
            i += 1
            continue
        path = _shipped_profile(name, base, shipped)
        flag = "--profile" if path is None or own_workflow_profile else "--workflow-profile"
        own_workflow_profile |= flag == "--workflow-profile"
        out += [flag, name if path is None else str(path)]
    return out


def _shipped_profile(name: str, base: Path, shipped: Path) -> Path | None:
    if "/" in name or os.sep in name or name == "none" or (base / name).exists():
        return None
    candidate = shipped / name
    return candidate if (candidate / "config.yaml").is_file() else None


def check_slurm_settings(cmd: Sequence[str], env: dict[str, str] | None = None) -> None:
    """Check ``HALOS_SLURM_PARTITION`` / ``HALOS_SLURM_ACCOUNT`` before a run with the
    shipped slurm profile: a wrong one otherwise fails every submission with a message
    Snakemake does not show for grouped jobs.

    Nothing is checked without that profile, on a dry run, or where ``sinfo`` is not
    installed; the account only where SLURM keeps accounts (``sacctmgr`` answers).

    Raises
    ------
    HalosInputError
        One line naming the variable, the value and what the cluster offers.
    """
    import shutil
    import subprocess

    from halos_analysis.errors import HalosInputError

    env = dict(os.environ if env is None else env)
    slurm = str(workflow_dir() / "profiles" / "slurm")
    if slurm not in cmd or _has_option(cmd, "-n", "--dry-run", "--dryrun"):
        return
    if not shutil.which("sinfo"):
        return

    def ask(cmd: list[str]) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None  # the controller does not answer: Snakemake will say so

    partition = env.get("HALOS_SLURM_PARTITION")
    run = ask(["sinfo", "-h", "-o", "%R"]) if partition else None
    if run is not None:
        known = sorted(set(run.stdout.split()))
        if run.returncode == 0 and partition not in known:
            raise HalosInputError(
                f"no partition {partition!r} on this cluster (sinfo: {', '.join(known)})",
                field="HALOS_SLURM_PARTITION",
            )
    account = env.get("HALOS_SLURM_ACCOUNT")
    user = env.get("USER") or env.get("LOGNAME") or ""
    run = None
    if account and shutil.which("sacctmgr"):
        run = ask(["sacctmgr", "-n", "-P", "list", "associations", f"user={user}",
                   "format=account"])  # fmt: skip
    if run is not None:
        known = sorted(set(run.stdout.lower().split()))
        if run.returncode == 0 and known and account.lower() not in known:
            raise HalosInputError(
                f"no account {account!r} of user {user} on this cluster "
                f"(sacctmgr: {', '.join(known)})",
                field="HALOS_SLURM_ACCOUNT",
            )


def package_source() -> Path:
    """Something ``pip install`` makes this very halos-analysis from (for conda envs).

    A checkout's root when the package runs from one; otherwise (a wheel install) a minimal
    project holding a copy of the installed package, made once per version in the user's
    cache folder. The workflow's ``envs/*.post-deploy.sh`` install it into each conda env
    (``--sdm conda``), so the rules there run the same code as the workflow.
    """
    from halos_analysis import __version__

    package = Path(__file__).resolve().parents[1]
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
            '[project.scripts]\nhalos = "halos_analysis.app.cli:main"\n\n'
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


class RunLock:
    """What :func:`run_lock` yields: the stale locks it removed; :meth:`started` records the
    Snakemake process, :meth:`ended` clears its locks when a signal ended it."""

    def __init__(self, state: Path | None, fh=None):
        self.state, self._fh, self.removed = state, fh, []
        self._t0 = time.time()

    def _write(self, text: str) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(text)
            self._fh.flush()

    def started(self, pid: int) -> None:
        """Record the Snakemake process ``pid`` beside this run's own."""
        self._write(f"pid {os.getpid()} snakemake {pid}\n")

    def ended(self, returncode: int) -> None:
        """Snakemake ended; killed by a signal (``returncode`` < 0) it could not remove its
        locks: the ones made since this run started are removed here."""
        if returncode < 0 and self.state is not None:
            for lock in (self.state / "locks").glob("*.lock"):
                if lock.stat().st_mtime >= self._t0 - 1:
                    lock.unlink(missing_ok=True)


def _alive(record: str) -> bool:
    """Whether a process a lock record names still runs (the Snakemake of a halos run that
    was itself killed may still be running)."""
    for pid in (int(w) for w in record.split() if w.isdigit()):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            return True
        try:  # a killed process not yet reaped (a zombie) is not running
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    continue
        except (OSError, IndexError):
            pass
        return True
    return False


@contextlib.contextmanager
def run_lock(workdir: str | Path) -> Iterator[RunLock]:
    """Hold the working directory's run lock while a ``halos run`` runs; clear the locks a
    killed run left.

    Snakemake locks its working directory with files in ``.snakemake/locks`` that a
    SIGKILL, an out-of-memory kill or a power loss leave behind, and then refuses every
    later run until ``--unlock``. Here each ``halos run`` also holds an ``flock`` on
    ``.snakemake/halos-run.lock`` (released by the kernel however the process ends) and
    writes its PID and its Snakemake's in it, cleared when it ends. A run that finds the
    lock free but PIDs written, none of them running, knows the previous run was killed:
    the Snakemake locks are that run's, and are removed (said on stderr). Locks of a plain
    ``snakemake`` run, or of a run still going, are never touched.

    Yields
    ------
    RunLock
        ``removed``: the stale lock files removed (empty when there were none).
    """
    import fcntl

    if not Path(workdir).is_dir():  # Snakemake says so; nothing is created here
        yield RunLock(None)
        return
    state = Path(workdir) / ".snakemake"
    state.mkdir(exist_ok=True)
    with (state / "halos-run.lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield RunLock(None)  # another halos run holds it: Snakemake's lock says the rest
            return
        lock = RunLock(state, fh)
        fh.seek(0)
        killed = fh.read().strip()
        if killed and not _alive(killed):
            lock.removed = sorted((state / "locks").glob("*.lock"))
            for path in lock.removed:
                path.unlink(missing_ok=True)
            if lock.removed:
                logging.getLogger(__name__).warning(
                    "removed %d Snakemake lock(s) of run %s, which was killed; its "
                    "unfinished files are redone",
                    len(lock.removed),
                    killed,
                )
        lock._write(f"pid {os.getpid()}\n")
        try:
            yield lock
        finally:
            lock._write("")
