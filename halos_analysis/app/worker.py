# SPDX-License-Identifier: MIT
"""A warm worker for ``halos watch``: the workflow's steps without their start-up cost.

Every job of the workflow is a ``halos <step>`` process that imports numpy, h5py, pyFAI and
matplotlib again before doing a second of work. During a shift that start-up is most of
the time from a sample's last frame to its result, so ``halos watch`` starts one worker
process that imports them once and serves the steps of its workflow runs:

* the jobs still run ``halos <step> ...`` (Snakemake's bookkeeping, logs, retries and
  Ctrl-C are those of any run); where the environment names the worker's socket
  (:data:`WORKER_ENV`, set only by the watch), :func:`forward_if_warm` sends the process's
  arguments, folder, environment and standard streams (their file descriptors) to the worker
  and exits with the step's exit code;
* the worker forks a child per request (a few milliseconds from the warm parent; the child
  has its own memory, matplotlib state and crashes), which takes the client's streams as its
  own, goes to its folder, takes its environment and thread counts, and runs the same
  ``halos`` entry point on the same arguments: results are the same bits as without it;
* a signal the client gets (Snakemake stopping a job) goes to the child; a client that dies
  (SIGKILL) has its child killed; the child dies with the worker. Outputs are written to a
  ``.part`` file and renamed, so a killed step leaves no half-written result;
* when the worker is not there, refuses (another installation, changed source files) or
  breaks before the child starts, the client runs the step itself: no job is lost.

This module is imported by every ``halos`` process before anything else, so the client part
imports only the standard library, and that only when the worker is named.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

__all__ = ["WORKER_ENV", "Worker", "forward_if_warm", "halos_main", "main", "serve", "snakemake"]

#: The environment variable naming the worker's socket (set by ``halos watch`` for its runs).
WORKER_ENV = "HALOS_WORKER"
#: Subcommands the workflow runs, the ones a worker serves; others run in their own process.
SERVED = frozenset(
    {"validate", "integrate", "reduce", "subtract", "analyse", "export", "summarise",
     "compare", "series"}
)  # fmt: skip
#: Subcommands that make no dense linear algebra (no BLAS threads needed).
_NO_BLAS = frozenset({"integrate"})
#: Seconds a client waits for the worker to take its request before running it itself.
ACCEPT_TIMEOUT_S = 20.0
_GLOBAL_FLAGS = ("--debug", "--overwrite", "-v", "--verbose", "-vv")
_RELAYED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
_forwarded = False  # one try per process: the fallback's own call returns at once


def _command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if arg not in _GLOBAL_FLAGS:
            return arg
    return None


def forward_if_warm(argv: Sequence[str] | None = None) -> int | None:
    """Run this ``halos`` command in the warm worker, when there is one.

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments (``sys.argv[1:]`` by default).

    Returns
    -------
    int or None
        The step's exit code when the worker ran it; None when this process should run it
        itself (no worker named, a command the worker does not serve, the worker absent,
        refusing, or failing before the step started). A step ended by a signal ends this
        process by the same signal.

    Examples
    --------
    >>> import os
    >>> os.environ.pop(WORKER_ENV, None) and None
    >>> forward_if_warm(["reduce", "frames.h5", "-o", "avg.dat"]) is None
    True
    """
    global _forwarded
    path = os.environ.get(WORKER_ENV)
    if not path or _forwarded:
        return None
    _forwarded = True
    argv = list(sys.argv[1:] if argv is None else argv)
    if _command(argv) not in SERVED:
        return None
    return _Client(path).run([sys.argv[0] or "halos", *argv])


def halos_main(argv: Sequence[str] | None = None) -> int:
    """The ``halos`` command's entry point: the warm worker's when there is one, else
    :func:`halos_analysis.app.cli.main` in this process.

    Importing the command line (numpy and the subcommands) costs more than a step the worker
    serves; this function looks for the worker first, importing only this module.
    """
    code = forward_if_warm(argv)
    if code is not None:
        return code
    import gc

    command = _command(list(sys.argv[1:] if argv is None else argv))
    if command in _NO_BLAS:
        # OpenBLAS starts a thread per core when numpy loads, and each spins a while before
        # it sleeps: CPU for nothing in a command that makes no dense linear algebra.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Start-up imports (numpy, scipy, h5py and the command's modules) make ~10^5 objects
    # and no garbage cycles: the cyclic collector would walk them again and again, and once
    # more at exit (~0.1 s of a 2 s `halos integrate`). It is off while they are imported,
    # then they are frozen out of its reach; it runs as usual from there on.
    gc.disable()
    try:
        from halos_analysis.app.cli import main as cli_main
        from halos_analysis.app.cli import preload

        preload(command)
    finally:
        gc.freeze()
        gc.enable()
    return cli_main(argv)


def _package() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- client: the `halos` process of a job ------------------------------------------------------


class _Client:
    """One request: send it, relay signals to the child, wait for its exit status."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid: int | None = None
        self.pending: list[int] = []

    def _relay(self, signum: int, frame: object) -> None:
        if self.pid is None:
            self.pending.append(signum)
            return
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def run(self, argv: list[str], program: str = "halos") -> int | None:
        import json
        import signal
        import socket

        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(ACCEPT_TIMEOUT_S)
            sock.connect(self.path)
        except OSError:
            return None  # no worker (it is starting, or gone): run here
        request = {
            "program": program,
            "argv": argv,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "umask": _umask(),
            "prefix": sys.prefix,
            "package": _package(),
        }
        data = json.dumps(request).encode()
        data = len(data).to_bytes(8, "big") + data
        previous = {}
        for name in _RELAYED:
            sig = getattr(signal, name)
            previous[sig] = signal.signal(sig, self._relay)
        try:
            try:
                sent = socket.send_fds(sock, [data], [0, 1, 2])
                sock.sendall(data[sent:])
                reader = sock.makefile("rb")
                first = json.loads(reader.readline() or b"{}")
            except (OSError, ValueError):
                first = {}
            if "pid" not in first:
                # Refused, or broke before a child started: this process runs the step.
                sock.close()
                if self.pending:
                    _die_by(self.pending[0])
                return None
            self.pid = int(first["pid"])
            for signum in self.pending:
                self._relay(signum, None)
            sock.settimeout(None)  # a step runs as long as it runs
            try:
                last = json.loads(reader.readline() or b"{}")
            except (OSError, ValueError):
                last = {}
            if "signal" in last:
                _die_by(int(last["signal"]))
                return 128 + int(last["signal"])
            if "exit" in last:
                return int(last["exit"])
            # The worker died while the step ran: the child dies with it (it asked the kernel
            # for that); its outputs were written atomically, so none is half-written.
            _wait_gone(self.pid)
            print(
                f"halos: the warm worker {self.path} stopped while it ran this step",
                file=sys.stderr,
            )
            return 1
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _die_by(signum: int) -> None:
    """End this process by ``signum``, as the step's own process would have ended."""
    import signal

    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    import select
    import signal

    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return  # gone already
    try:
        if not select.select([fd], [], [], timeout)[0]:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


# --- worker: the warm process --------------------------------------------------------------

#: Imported once by the worker: what the workflow's steps need (each is optional).
PRELOAD = (
    "numpy",
    "scipy.optimize",
    "scipy.linalg",
    "h5py",
    "hdf5plugin",
    "fabio",
    "matplotlib",
    "matplotlib.pyplot",
    "dask",
    "dask.threaded",
    "pyFAI.integrator.azimuthal",
    "halos_analysis.app.cli",
    "halos_analysis.analysis.pipeline",
    "halos_analysis.integrate",
    "halos_analysis.io.nxcansas",
    "halos_analysis.io.curves",
    "halos_analysis.io.validate",
    "halos_analysis.reduce",
    "halos_analysis.export.bundle",
    "halos_analysis.export.plots",
    "halos_analysis.export.provenance",
    "halos_analysis.export.crate",
    "halos_analysis.app.manifest",
    "halos_analysis.app.config",
    # The watch's Snakemake runs start here too (:func:`snakemake`).
    "snakemake.cli",
    "snakemake.api",
    # What a Snakemake run imports when it reads the workflow (its source cache, the schema
    # validation): 0.1-0.2 s per run otherwise.
    "smart_open",
    "jsonschema",
    "requests",
)


#: Snakemake's plugin registries (module, class): each run otherwise scans every installed
#: module for plugins; they are singletons, so one scan in the parent serves every run.
_REGISTRIES = (
    ("snakemake_interface_executor_plugins.registry", "ExecutorPluginRegistry"),
    ("snakemake_interface_storage_plugins.registry", "StoragePluginRegistry"),
    ("snakemake_interface_report_plugins.registry", "ReportPluginRegistry"),
    ("snakemake_interface_logger_plugins.registry", "LoggerPluginRegistry"),
    ("snakemake_interface_scheduler_plugins.registry", "SchedulerPluginRegistry"),
)


def _preload(names: Sequence[str], log) -> None:
    import importlib

    os.environ.setdefault("MPLBACKEND", "Agg")  # what the steps select themselves
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a step that needs it imports it (and fails)
            log.warning("could not preload %s: %s", name, exc)
    if "snakemake.cli" in sys.modules:
        for module, cls in _REGISTRIES:
            try:
                getattr(importlib.import_module(module), cls)()
            except Exception as exc:  # noqa: BLE001 - Snakemake scans for itself then
                log.warning("could not scan %s: %s", cls, exc)


def _source_stamp() -> dict[str, int]:
    """Modification times of this package's loaded source files."""
    out = {}
    for mod in list(sys.modules.values()):
        name, path = getattr(mod, "__name__", ""), getattr(mod, "__file__", None)
        if path and name.split(".")[0] == "halos_analysis":
            try:
                out[path] = os.stat(path).st_mtime_ns
            except OSError:
                out[path] = -1
    return out


def _match_threads(env: dict[str, str]) -> None:
    """Give the child the thread counts a new process would read from ``env``.

    OpenBLAS and OpenMP read their thread counts (``OPENBLAS_NUM_THREADS``,
    ``OMP_NUM_THREADS``, which Snakemake sets per job) when loaded, which in a child of the
    worker was before its request; they are set here through their own calls.
    """
    import ctypes

    cores = os.cpu_count() or 1

    def count(*names: str) -> int:
        for name in names:
            try:
                return max(1, int(env[name]))
            except (KeyError, ValueError):
                continue
        return cores

    blas = count("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
    omp = count("OMP_NUM_THREADS")
    try:
        with open("/proc/self/maps") as fh:
            libs = {ln.split()[-1] for ln in fh if ".so" in ln}
    except OSError:
        return
    for lib in sorted(libs):
        base = os.path.basename(lib).lower()
        if "openblas" in base:
            calls = [("openblas_set_num_threads", blas), ("scipy_openblas_set_num_threads", blas),
                     ("openblas_set_num_threads64_", blas),
                     ("scipy_openblas_set_num_threads64_", blas)]  # fmt: skip
        elif "gomp" in base or "libomp" in base:
            calls = [("omp_set_num_threads", omp)]
        else:
            continue
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for name, n in calls:
            func = getattr(handle, name, None)
            if func is not None:
                func(ctypes.c_int(n))


def _child(request: dict, fds: list[int], keep_open: Sequence[int], parent: int) -> None:
    """In the forked child: become the client's ``halos`` process and run it. Never returns."""
    import signal

    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                    signal.SIGUSR2, signal.SIGCHLD):  # fmt: skip
            signal.signal(sig, signal.SIG_DFL)
        _die_with_parent(signal.SIGKILL, parent)
        for fd in keep_open:
            os.close(fd)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        env = dict(request["env"])
        if request.get("program") != "snakemake":  # its jobs are to find the worker
            env.pop(WORKER_ENV, None)
        os.environ.clear()
        os.environ.update(env)
        _match_threads(env)
        if "dask" in sys.modules:  # Dask reads DASK_* variables when imported
            import dask.config

            dask.config.refresh()
        import logging

        for handler in logging.getLogger("halos_analysis").handlers[:]:
            logging.getLogger("halos_analysis").removeHandler(handler)
        sys.argv = list(request["argv"])
        if request.get("program") == "snakemake":
            from snakemake.cli import main as snakemake_main

            code = snakemake_main(sys.argv[1:])
        else:
            from halos_analysis.app.cli import main

            code = main(sys.argv[1:])
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # noqa: BLE001 - as Python itself: the traceback, exit 1
        import traceback

        traceback.print_exc()
        code = 1
    _flush()
    os._exit(int(code) & 0xFF if isinstance(code, int) else 1)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _die_with_parent(signum: int, parent: int) -> None:
    """Ask the kernel for ``signum`` when the parent process ``parent`` ends (Linux)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signum))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it ended before that
        os.kill(os.getpid(), signum)


class _Server:
    """The warm process's server: one listening socket, one forked child per request.

    Parameters
    ----------
    path : str
        Where the Unix socket is made (readable and writable by this user only).
    preload : sequence of str
        Modules imported before the first request.
    """

    def __init__(self, path: str, preload: Sequence[str] = PRELOAD) -> None:
        import logging

        self.path = path
        self.log = logging.getLogger(__name__)
        self.served = 0
        _preload(preload, self.log)
        self.stamp = _source_stamp()
        self.running: dict[int, dict] = {}  # pidfd -> {pid, conn, argv, t0}
        self.stopping = False

    def _refusal(self, request: dict, peer_uid: int) -> str | None:
        if peer_uid != os.getuid():
            return "another user"
        if request.get("prefix") != sys.prefix or request.get("package") != _package():
            return f"another installation ({request.get('prefix')}, {request.get('package')})"
        if _source_stamp_changed(self.stamp):
            return "the package's source files changed since the worker started"
        return None

    def serve(self) -> int:
        """Serve until SIGTERM, SIGINT or SIGHUP; then kill the children still running."""
        import selectors
        import signal
        import socket
        import time

        if os.path.exists(self.path):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        finally:
            os.umask(old)
        listener.listen(64)
        listener.setblocking(False)
        wake_r, wake_w = socket.socketpair()
        wake_r.setblocking(False)
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())

        def stop(signum, frame):
            self.stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, stop)
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ, ("accept", None))
        sel.register(wake_r, selectors.EVENT_READ, ("wake", None))
        self.log.info("worker %d ready on %s", os.getpid(), self.path)
        print(f"ready {self.path}", flush=True)
        try:
            while not self.stopping:
                for key, _ in sel.select(timeout=5.0):
                    kind, job = key.data
                    if kind == "wake":
                        try:
                            wake_r.recv(4096)
                        except BlockingIOError:
                            pass
                    elif kind == "accept":
                        own = [listener.fileno(), wake_r.fileno(), wake_w.fileno(), sel.fileno()]
                        self._accept(listener, sel, own)
                    elif kind == "client":
                        # The client spoke or hung up while its step ran: it was killed.
                        if not job["conn_open"] or job["pidfd"] not in self.running:
                            continue
                        try:
                            gone = not job["conn"].recv(1, socket.MSG_PEEK)
                        except OSError:
                            gone = True
                        if gone:
                            self.log.warning(
                                "client of %s (pid %d) gone: killing it", job["cmd"], job["pid"]
                            )
                            sel.unregister(job["conn"])
                            job["conn_open"] = False
                            _kill(job["pidfd"], signal.SIGKILL)
                    elif kind == "child":
                        self._reap(job, sel, time.monotonic())
        finally:
            sel.close()
            listener.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass
            for job in list(self.running.values()):
                _kill(job["pidfd"], signal.SIGTERM)
            deadline = time.monotonic() + 5.0
            for job in list(self.running.values()):
                _wait_pidfd(job["pidfd"], max(0.0, deadline - time.monotonic()))
                _kill(job["pidfd"], signal.SIGKILL)
                try:
                    os.waitpid(job["pid"], 0)
                except ChildProcessError:
                    pass
                os.close(job["pidfd"])
                job["conn"].close()
            self.log.info("worker %d stopped after %d steps", os.getpid(), self.served)
        return 0

    def _accept(self, listener, sel, own_fds: list[int]) -> None:
        import json
        import selectors
        import socket
        import struct
        import time

        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        fds: list[int] = []
        try:
            conn.settimeout(5.0)
            creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _, uid, _ = struct.unpack("3i", creds)
            data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
            while len(data) < 8 or len(data) < 8 + int.from_bytes(data[:8], "big"):
                more = conn.recv(1 << 16)
                if not more:
                    raise OSError("request cut short")
                data += more
            request = json.loads(data[8 : 8 + int.from_bytes(data[:8], "big")])
            if len(fds) != 3:
                raise OSError("the client's streams did not come with the request")
        except (OSError, ValueError) as exc:
            self.log.warning("bad request: %s", exc)
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        cmd = "snakemake" if request.get("program") == "snakemake" else _describe(request["argv"])
        refusal = self._refusal(request, uid)
        if refusal:
            self.log.info("refused %s: %s", cmd, refusal)
            _send(conn, {"declined": refusal})
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        _flush()
        keep = [*own_fds, conn.fileno()] + [
            fd for job in self.running.values() for fd in (job["pidfd"], job["conn"].fileno())
        ]
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            _child(request, fds, keep, me)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        job = {"pid": pid, "pidfd": pidfd, "conn": conn, "cmd": cmd, "t0": time.monotonic(),
               "conn_open": True}  # fmt: skip
        self.running[pidfd] = job
        self.log.info("running %s (pid %d)", cmd, pid)
        sel.register(pidfd, selectors.EVENT_READ, ("child", job))
        if not _send(conn, {"pid": pid}):
            _kill(pidfd, 9)  # the client went away meanwhile
        conn.setblocking(False)
        sel.register(conn, selectors.EVENT_READ, ("client", job))

    def _reap(self, job: dict, sel, now: float) -> None:
        _, status = os.waitpid(job["pid"], 0)
        sel.unregister(job["pidfd"])
        os.close(job["pidfd"])
        del self.running[job["pidfd"]]
        self.served += 1
        if os.WIFSIGNALED(status):
            reply = {"signal": os.WTERMSIG(status)}
        else:
            reply = {"exit": os.waitstatus_to_exitcode(status)}
        self.log.info("served %s (pid %d): %s in %.2f s", job["cmd"], job["pid"],
                      reply, now - job["t0"])  # fmt: skip
        if job["conn_open"]:
            sel.unregister(job["conn"])
            job["conn"].setblocking(True)
            _send(job["conn"], reply)
        job["conn"].close()


def _describe(argv: Sequence[str]) -> str:
    """A step as its log lines name it: the subcommand, the part it writes (``export
    --parts figures`` is ``export:figures``), its first argument."""
    words = list(argv[1:3])
    if "--parts" in argv[:-1] and words:
        words[0] += ":" + argv[list(argv).index("--parts") + 1]
    return " ".join(words)


def _source_stamp_changed(stamp: dict[str, int]) -> bool:
    for path, mtime in stamp.items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


def _send(conn, obj: dict) -> bool:
    import json

    try:
        conn.sendall(json.dumps(obj).encode() + b"\n")
        return True
    except OSError:
        return False


def _kill(pidfd: int, signum: int) -> None:
    import signal

    try:
        signal.pidfd_send_signal(pidfd, signum)
    except (ProcessLookupError, OSError):
        pass


def _wait_pidfd(pidfd: int, timeout: float) -> None:
    import select

    select.select([pidfd], [], [], timeout)


def serve(path: str, preload: Sequence[str] = PRELOAD) -> int:
    """Import the steps' modules, then serve requests on the Unix socket ``path``.

    Returns
    -------
    int
        0 once stopped (SIGTERM, SIGINT or SIGHUP).
    """
    return _Server(path, preload).serve()


#: Variables that set a library's thread count when it is loaded: one thread in the warm
#: parent (it computes nothing); each child gets its request's (:func:`_match_threads`).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip


class Worker:
    """A warm worker process, as ``halos watch`` starts and stops it.

    Parameters
    ----------
    folder : Path
        Where its socket (``worker.sock``) and log (``worker.log``) go
        (``results/.halos/live``); a path too long for a Unix socket puts the socket in a
        private temporary folder instead.
    preload : sequence of str, optional
        Modules it imports before serving (default :data:`PRELOAD`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> w = Worker(pathlib.Path(tempfile.mkdtemp()))
    >>> w.ready()  # not started
    False
    """

    def __init__(self, folder, preload: Sequence[str] | None = None) -> None:
        from pathlib import Path

        self.folder = Path(folder)
        self.preload = preload
        self.log_path = self.folder / "worker.log"
        self.socket = str((self.folder / "worker.sock").resolve())
        self._tmp: str | None = None
        if len(os.fsencode(self.socket)) > 100:  # sun_path holds 108 bytes
            import tempfile

            self._tmp = tempfile.mkdtemp(prefix="halos-worker-")
            self.socket = os.path.join(self._tmp, "worker.sock")
        self.proc = None
        self.starts = 0

    def start(self) -> None:
        """Start the process (it imports for a few seconds, then listens)."""
        import subprocess

        self.folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop(WORKER_ENV, None)
        env.update(dict.fromkeys(_THREAD_VARS, "1"))
        command = [sys.executable, "-m", "halos_analysis.app.worker", self.socket]
        command += ["--parent", str(os.getpid())]
        if self.preload is not None:
            command += ["--preload", ",".join(self.preload)]
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                # Its own session: a Ctrl-C at the terminal reaches the jobs' processes, which
                # pass it on to their children; the worker is stopped by the watch, last.
                start_new_session=True,
            )
        self.starts += 1

    def ready(self) -> bool:
        """Whether it runs and listens (the watch names it to a workflow run only then)."""
        return self.proc is not None and self.proc.poll() is None and os.path.exists(self.socket)

    def ensure(self) -> None:
        """Start it again if it died (a crash is logged in its log)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop it (SIGTERM: it kills the steps still running), then its exit status."""
        import shutil
        import subprocess

        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        return code


def snakemake(args: Sequence[str]) -> int:
    """Run ``snakemake ARGS`` in the warm worker named by :data:`WORKER_ENV`, else here.

    ``halos watch`` starts its workflow runs so: Snakemake then starts without importing
    itself, the package and its libraries again (seconds per run). The run is the same
    ``snakemake`` as ``python -m snakemake ARGS`` (in a process of its own, with this
    process's folder, environment and streams); signals sent here go to it.

    Returns
    -------
    int
        Snakemake's exit code (where no worker runs it, this process becomes Snakemake).
    """
    path = os.environ.get(WORKER_ENV)
    code = _Client(path).run(["snakemake", *args], program="snakemake") if path else None
    if code is None:
        _flush()
        os.execv(sys.executable, [sys.executable, "-m", "snakemake", *args])
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m halos_analysis.app.worker SOCKET``: run a worker (what ``halos watch``
    starts; its log goes to stderr). ``python -m halos_analysis.app.worker snakemake ARGS``:
    :func:`snakemake`."""
    import argparse
    import logging
    import signal

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["snakemake"]:
        return snakemake(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m halos_analysis.app.worker")
    ap.add_argument("socket", help="path of the Unix socket to listen on")
    ap.add_argument("--parent", type=int, help="stop when this process (the watch) ends")
    ap.add_argument("--preload", help="modules to import first, comma-separated")
    args = ap.parse_args(argv)
    if args.parent:
        _die_with_parent(signal.SIGTERM, args.parent)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
    log = logging.getLogger(__name__)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    preload = PRELOAD if args.preload is None else [m for m in args.preload.split(",") if m]
    return serve(args.socket, preload)


if __name__ == "__main__":
    sys.exit(main())
