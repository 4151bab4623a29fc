# SPDX-License-Identifier: MIT
"""Live mode: follow a shift's data and process each measurement once it is complete.

A measurement is processed only when its frames are complete, never while a file is still
being written:

* **Eiger / NeXus master files** (``*_master.h5``): every data file the master links exists,
  can be opened (a writer still holding it keeps HDF5's file lock) and together they hold
  ``nimages × ntrigger`` frames;
* **frame files** (CBF, TIFF, EDF, one frame per file) and single HDF5 datasets: the sample
  sheet's ``n_frames`` column is reached, or, when no count is known, no file appeared or
  changed for the settle time; the newest file must be whole (its structure, not decoded).

Either way the files must also be unchanged between two polls. A measurement whose files stop
changing before they are complete is reported as *stalled* after the time-out (a writer that
crashed) and skipped; the watch goes on with the others.

The processing itself is the workflow (one ``snakemake`` run per batch of newly complete
samples, on a sheet of the complete measurements only), so a restart of the watch picks up
where it stopped through Snakemake's own bookkeeping and the results are those of
``halos run`` on the same data.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = [
    "FrameSet",
    "MeasurementState",
    "Tracker",
    "inspect_frames",
]

#: States of a measurement as the watch sees it.
WAITING = "waiting"  # no frame yet
GROWING = "growing"  # frames still arriving or files still changing
COMPLETE = "complete"
STALLED = "stalled"  # incomplete and unchanged for longer than the time-out
#: Seconds to the look that confirms files complete by their own account (the poll interval
#: when shorter): they must be unchanged between two looks, and this one is worth hurrying.
CONFIRM_S = 0.25
#: Seconds between looks at the run summary while a workflow run goes on (a sample's row
#: comes seconds before the run ends: its figures and the report are drawn after it).
ROW_POLL_S = 0.1


@dataclass(frozen=True)
class FrameSet:
    """What is on disk of one measurement's frames at one poll.

    ``signature`` changes whenever a file appears, grows or is rewritten (names, sizes and
    modification times); ``ready`` is True when the files themselves say they are complete
    (an Eiger master's frame count reached, the expected number of frame files present and the
    newest readable); ``n_frames`` and ``n_expected`` (None when not known) are for the status.
    """

    files: tuple[str, ...]
    signature: tuple[tuple[str, int, int], ...]
    n_frames: int
    n_expected: int | None
    ready: bool
    reason: str = ""


def _signature(paths: Iterable[str]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(sorted(out))


def _eiger(master: str) -> FrameSet:
    """An Eiger/NeXus master and the data files it links."""
    import h5py

    try:
        with h5py.File(master, "r") as f:
            spec = f.get("entry/instrument/detector/detectorSpecific")
            nimages = int(spec["nimages"][()]) if spec is not None and "nimages" in spec else None
            ntrigger = int(spec["ntrigger"][()]) if spec is not None and "ntrigger" in spec else 1
            links = []
            data = f.get("entry/data")
            for key in sorted(data or ()):
                link = data.get(key, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    links.append(os.path.join(os.path.dirname(master), link.filename))
    except OSError as exc:  # being written (locked) or truncated
        return FrameSet((master,), _signature([master]), 0, None, False, f"master: {exc}")
    expected = None if nimages is None else nimages * max(ntrigger, 1)
    files = (master, *links)
    n = 0
    for path in links:
        if not os.path.exists(path):
            return FrameSet(files, _signature(files), n, expected, False, f"{path} missing")
        try:
            with h5py.File(path, "r") as f:
                n += int(f["entry/data/data"].shape[0])
        except (OSError, KeyError) as exc:
            return FrameSet(files, _signature(files), n, expected, False, f"{path}: {exc}")
    ready = bool(links) and (expected is None or n >= expected)
    return FrameSet(files, _signature(files), n, expected, ready)


def _readable(path: str) -> bool:
    """Whether a frame file is whole, judged from its structure without decoding it.

    A miniCBF must hold the binary section its header announces (fabio itself can hang on a
    half-written CBF); an EDF the bytes its header's ``Size`` gives; other formats are judged
    by their size staying the same between polls only.
    """
    from halos_analysis.errors import HalosInputError
    from halos_analysis.io.frames.image import read_minicbf_header

    lower = path.lower()
    if lower.endswith(".cbf"):
        try:
            read_minicbf_header(path)
        except HalosInputError:
            return False
        return True
    if lower.endswith(".edf"):
        try:
            with open(path, "rb") as fh:
                head = fh.read(65536)
            end = head.find(b"}") + 1
            m = re.search(rb"Size\s*=\s*(\d+)", head[:end])
            return bool(end and m) and os.path.getsize(path) >= end + 1 + int(m.group(1))
        except OSError:
            return False
    return True


def inspect_frames(spec: str, expected: int | None = None, base: Path | None = None) -> FrameSet:
    """Look at one frames entry of the sample sheet (a glob, a master file, ``file::/path``).

    Parameters
    ----------
    spec : str
        The ``frames`` entry as the sheet gives it; relative to ``base``.
    expected : int, optional
        Number of frames the measurement will have (the sheet's ``n_frames``).
    base : Path, optional
        Folder relative paths start from (the sheet's folder).

    Returns
    -------
    FrameSet

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> inspect_frames(str(d / "frame_*.cbf"), expected=2).ready
    False
    """
    path_part = spec.split("::", 1)[0]
    pattern = path_part if base is None or os.path.isabs(path_part) else str(base / path_part)
    if pattern.endswith((".h5", ".hdf5", ".nxs")) and "_master" in os.path.basename(pattern):
        matches = sorted(glob.glob(pattern))
        if not matches:
            return FrameSet((), (), 0, expected, False, "no master file yet")
        return _eiger(matches[0])
    files = sorted(glob.glob(pattern))
    sig = _signature(files)
    if not files:
        return FrameSet((), sig, 0, expected, False, "no frame yet")
    if len(files) == 1 and files[0].endswith((".h5", ".hdf5", ".nxs")):
        # One HDF5 file holding all frames: complete when no writer holds it (its lock).
        import h5py

        try:
            with h5py.File(files[0], "r"):
                pass
        except OSError as exc:
            return FrameSet(tuple(files), sig, 0, expected, False, str(exc))
        return FrameSet(tuple(files), sig, 1, expected, expected is None)
    n = len(files)
    if expected is not None and n < expected:
        return FrameSet(tuple(files), sig, n, expected, False, f"{n} of {expected} frames")
    if not _readable(files[-1]):
        return FrameSet(tuple(files), sig, n, expected, False, f"{files[-1]} not readable yet")
    return FrameSet(tuple(files), sig, n, expected, expected is not None)


@dataclass
class MeasurementState:
    """What the watch knows of one measurement across polls."""

    name: str
    state: str = WAITING
    reason: str = ""
    frames: FrameSet | None = None
    last_change: float = field(default_factory=time.monotonic)
    complete_at: float | None = None  # when it was first seen complete (latency start)
    confirming: bool = False  # complete by its files' account, to be confirmed unchanged


class Tracker:
    """Follows the measurements of a sample sheet from poll to poll.

    Parameters
    ----------
    settle_s : float
        A frame set without a known count is complete once unchanged this long.
    timeout_s : float
        An incomplete frame set unchanged this long is *stalled* (reported, skipped).
    inspect : callable, optional
        ``inspect(spec, expected, base) -> FrameSet``; :func:`inspect_frames` by default.
    clock : callable, optional
        Monotonic clock (seconds); for tests.
    """

    def __init__(
        self,
        settle_s: float = 10.0,
        timeout_s: float = 600.0,
        inspect: Callable[..., FrameSet] = inspect_frames,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settle_s, self.timeout_s = settle_s, timeout_s
        self._inspect, self._clock = inspect, clock
        self.states: dict[str, MeasurementState] = {}

    def poll(
        self, measurements: Mapping[str, tuple[Iterable[str], int | None]], base: Path | None
    ) -> dict[str, MeasurementState]:
        """Look at every measurement once; returns the states (also kept in ``states``).

        ``measurements`` maps each name to (its frames entries, the expected frame count or
        None). A complete measurement stays complete.
        """
        now = self._clock()
        for name, (specs, expected) in measurements.items():
            st = self.states.setdefault(name, MeasurementState(name, last_change=now))
            if st.state == COMPLETE:
                continue
            sets = [self._inspect(s, expected, base) for s in specs]
            merged = FrameSet(
                tuple(f for s in sets for f in s.files),
                tuple(x for s in sets for x in s.signature),
                sum(s.n_frames for s in sets),
                expected,
                all(s.ready for s in sets),
                "; ".join(s.reason for s in sets if s.reason),
            )
            changed = st.frames is None or merged.signature != st.frames.signature
            if changed:
                st.last_change = now
            quiet = now - st.last_change
            st.frames = merged
            if not merged.files:
                st.state, st.reason = WAITING, merged.reason
            elif not changed and (merged.ready or (expected is None and quiet >= self.settle_s)):
                # Unchanged since the last poll, and complete by its own account (or, with no
                # count known, quiet for the settle time): safe to read.
                st.state, st.reason, st.complete_at = COMPLETE, "", now
            elif quiet >= self.timeout_s:
                st.state = STALLED
                st.reason = f"unchanged for {quiet:.0f} s and not complete ({merged.reason})"
            else:
                st.state, st.reason = GROWING, merged.reason
            st.confirming = st.state == GROWING and merged.ready
        return self.states

    def confirming(self) -> bool:
        """Whether a measurement is complete by its files' own account but changed since the
        last look: the next look, if it finds them unchanged, makes it complete."""
        return any(st.confirming for st in self.states.values())

    def ready_samples(self, buffers: Mapping[str, Iterable[str]]) -> list[str]:
        """Samples whose frames and every buffer's frames are complete.

        ``buffers`` maps each sample to the names of its buffers (empty for a SEC run).
        """

        def done(name: str) -> bool:
            return self.states.get(name, MeasurementState(name)).state == COMPLETE

        return [s for s, bufs in buffers.items() if done(s) and all(done(b) for b in bufs)]

    def summary(self) -> dict[str, int]:
        """Counts of measurements per state."""
        out = dict.fromkeys((WAITING, GROWING, COMPLETE, STALLED), 0)
        for st in self.states.values():
            out[st.state] += 1
        return out


# --- the watch loop ------------------------------------------------------------------------


def _jobs_elsewhere(snakemake_args: Iterable[str]) -> bool:
    """Whether the jobs run in other environments or on other hosts (conda, containers, a
    profile, an executor): there they cannot, and must not, reach a local warm worker."""
    flags = ("--sdm", "--software-deployment-method", "--use-conda", "--use-singularity",
             "--use-apptainer", "--profile", "--workflow-profile", "--executor", "-e",
             "--cluster", "--slurm")  # fmt: skip
    return any(a.split("=", 1)[0] in flags for a in snakemake_args)


def _merged_config(files: list[Path]) -> dict:
    """The config files merged in order (later keys win, nested mappings merged)."""
    from halos_analysis.app.config import read_config_file

    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        return out

    config: dict = {}
    for f in files:
        config = merge(config, read_config_file(f))  # untrusted: plain YAML, no template
    return config


def _read_sheet(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a TSV sheet (``#`` lines skipped), cells stripped."""
    import csv

    with path.open(newline="") as fh:
        reader = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in reader]
        header = [h.strip() for h in reader.fieldnames or []]
    return header, rows


def _write_sheet(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    from halos_analysis.io.atomic import write_text_atomic

    lines = ["\t".join(header)] + ["\t".join(r.get(h, "") for h in header) for r in rows]
    write_text_atomic("\n".join(lines) + "\n", path)


def _result_text(row: Mapping) -> str:
    """A sample's summary row as the status says it: name, Rg and doubts."""
    rg = row.get("guinier_rg")
    unit = row.get("length_unit") or ""
    doubts = ", ".join(row.get("doubts") or []) or "none"
    return f"{row.get('sample')} Rg {'–' if rg is None else f'{rg:.3g}'} {unit}, doubts: {doubts}"


class _RowWatch:
    """Says, while a workflow run goes on, when a sample's row is in the run summary: its
    figures and the report come after it, seconds later.

    Parameters
    ----------
    summary : Path
        The run summary (``results/summary.json``).
    waiting : mapping
        Sample -> when it was seen complete (monotonic clock), for the latency.
    echo : callable
        Where the line goes.
    """

    def __init__(self, summary: Path, waiting: Mapping[str, float], echo: Callable) -> None:
        self.summary, self.waiting, self.echo = summary, dict(waiting), echo
        self.since = time.time()  # only a summary this run wrote
        self.seen: float | None = None

    def look(self) -> None:
        import json

        try:
            mtime = self.summary.stat().st_mtime
            if not self.waiting or mtime < self.since or mtime == self.seen:
                return
            rows = json.loads(self.summary.read_text())["samples"]
        except (OSError, ValueError, KeyError):
            return  # not there yet (written atomically: never half)
        self.seen = mtime
        for row in rows:
            name = row.get("sample")
            if name in self.waiting:
                latency = time.monotonic() - self.waiting.pop(name)
                self.echo(
                    f"halos watch: {_result_text(row)} — in the run summary {latency:.1f} s "
                    "after its last frame; its figures and report.html follow"
                )


@dataclass
class WatchStatus:
    """What the watch reports after each cycle."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    last: dict | None = None
    latency_s: float | None = None

    def line(self, tracker: Tracker) -> str:
        counts = tracker.summary()
        text = (
            f"[{time.strftime('%H:%M:%S')}] samples done {len(self.done)} · measurements "
            f"waiting {counts[WAITING]} · growing {counts[GROWING]} · stalled {counts[STALLED]}"
            f" · failed {len(self.failed)}"
        )
        if self.last:
            text += f" — last: {_result_text(self.last)}"
            if self.latency_s is not None:
                text += f" ({self.latency_s:.1f} s after its last frame)"
        return text


def watch(
    configfiles: list[Path],
    snakemake_args: list[str] = (),
    *,
    cores: int = 2,
    interval: float = 1.0,
    settle: float = 10.0,
    timeout: float = 600.0,
    once: bool = False,
    refresh: float = 10.0,
    echo: Callable[[str], None] | None = None,
    warm: bool | None = None,
) -> int:
    """Follow the sample sheet and process each sample once it and its buffers are complete.

    Parameters
    ----------
    configfiles : list of Path
        The workflow's config files (their ``samples``, ``units`` and ``results``).
    snakemake_args : list of str
        More arguments for every Snakemake run.
    cores : int
        Cores of each Snakemake run.
    interval, settle, timeout : float
        Seconds between polls; quiet time after which frames without a known count are
        complete; quiet time after which incomplete frames are *stalled*.
    once : bool
        Process what is complete, then return as soon as nothing is still arriving.
    refresh : float
        The report reloads itself in a browser every this many seconds (0: never).
    echo : callable, optional
        Where status lines go (stderr by default).
    warm : bool, optional
        Serve the workflow's steps from a warm worker process (:mod:`.worker`), which
        imports the libraries once for the whole watch. Default: yes, unless
        ``HALOS_WATCH_WORKER=0`` or the Snakemake arguments send jobs elsewhere (conda
        environments, a profile, another executor), where the jobs must run as themselves.

    Returns
    -------
    int
        0, or 130 after Ctrl-C.
    """
    import signal
    import subprocess
    import sys

    echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
    config = _merged_config(configfiles)
    sheet = Path(config.get("samples", "config/samples.tsv"))
    results = Path(config.get("results", "results"))
    units = Path(config["units"]) if config.get("units") else None
    live = results / ".halos" / "live"
    tracker = Tracker(settle, timeout)
    status = WatchStatus()
    processed: set[str] = set()  # measurements given to a finished workflow run
    reported_stalled: set[str] = set()
    worker = None
    if warm is None:
        warm = os.environ.get("HALOS_WATCH_WORKER", "1") != "0" and not _jobs_elsewhere(
            snakemake_args
        )
    if warm:
        from halos_analysis.app.worker import Worker

        worker = Worker(live)
        worker.start()  # imports while the watch waits for the first complete sample

    def run_workflow(rows, unit_rows, header, unit_header, targets, waiting=None) -> int:
        from halos_analysis.app.manifest import COMMAND_ENV
        from halos_analysis.app.runner import snakemake_command, workflow_env

        _write_sheet(live / "samples.tsv", header, rows)
        # Targets first: --config takes every following name=value (and would take them).
        args = [*targets, "--cores", str(cores), "--keep-going", "--rerun-incomplete"]
        args += ["--configfile", *map(str, configfiles)]
        args += ["--config", f"samples={live / 'samples.tsv'}"]
        if units is not None:
            _write_sheet(live / "units.tsv", unit_header, unit_rows)
            args.append(f"units={live / 'units.tsv'}")
        args += list(snakemake_args)
        env = workflow_env(args)
        env[COMMAND_ENV] = "halos watch " + " ".join(str(f) for f in configfiles)
        env["HALOS_REPORT_REFRESH"] = str(refresh)
        if worker is not None:
            from halos_analysis.app.worker import WORKER_ENV

            worker.ensure()
            # Named even while it is still importing: until it listens, jobs run as themselves.
            env[WORKER_ENV] = worker.socket
        command = snakemake_command(args)
        if worker is not None:  # the same command line, started by the warm worker
            command = [sys.executable, "-m", "halos_analysis.app.worker", "snakemake",
                       *command[3:]]  # fmt: skip
        log = (live / "snakemake.log").open("a")
        rows_seen = _RowWatch(results / "summary.json", waiting or {}, echo)
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            while True:
                try:
                    return proc.wait(timeout=ROW_POLL_S)
                except subprocess.TimeoutExpired:
                    rows_seen.look()
        except KeyboardInterrupt:
            # Snakemake removes the outputs of the jobs it had started: nothing half-written.
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=120)
            raise
        finally:
            log.close()

    try:
        while True:
            header, rows = _read_sheet(sheet)
            unit_header, unit_rows = (["name", "frames"], [])
            if units is not None:
                unit_header, unit_rows = _read_sheet(units)
            by_name = {r["name"]: r for r in rows if r.get("name")}
            frames = {}
            for name, r in by_name.items():
                items = [u["frames"] for u in unit_rows if u.get("name") == name] or [r["frames"]]
                n = r.get("n_frames")
                frames[name] = (items, int(float(n)) if n else None)
            tracker.poll(frames, None)
            for name, st in tracker.states.items():
                if st.state == STALLED and name not in reported_stalled:
                    reported_stalled.add(name)
                    status.failed[name] = st.reason
                    echo(f"halos watch: {name}: {st.reason}; skipped")

            def buffers_of(r):
                return [b.strip() for b in (r.get("buffer") or "").split(",") if b.strip()]

            wanted = {
                n: buffers_of(r)
                for n, r in by_name.items()
                if r.get("type") in ("sample", "sec") and n not in status.failed
            }
            ready = tracker.ready_samples(wanted)
            ready_buffers = [
                n
                for n, r in by_name.items()
                if r.get("type") == "buffer" and tracker.states[n].state == COMPLETE
            ]
            new = [s for s in ready if s not in processed]
            new_buffers = [b for b in ready_buffers if b not in processed]
            if new or new_buffers:
                names = set(processed) | set(new) | set(new_buffers)
                for s in new:
                    names.update(wanted[s])
                take = [r for r in rows if r.get("name") in names]
                utake = [u for u in unit_rows if u.get("name") in names]
                # Buffers without a complete sample yet are integrated and averaged ahead,
                # so that a sample's turn only runs its own steps.
                # (Without a sample yet, only those: a run summary of no sample is no summary.)
                has_sample = any(n in wanted for n in processed | set(new))
                targets = (["all"] if has_sample else []) + [
                    str(results / b / f"{b}_avg.dat") for b in new_buffers if b not in wanted
                ]
                waiting = {s: tracker.states[s].complete_at or time.monotonic() for s in new}
                started = min(waiting.values(), default=None)
                code = run_workflow(take, utake, header, unit_header, targets, waiting)
                processed |= names
                for s in new:
                    summary = results / s / "summary.json"
                    if summary.is_file():
                        status.done.append(s)
                        import json

                        status.last = json.loads(summary.read_text())
                    else:
                        status.failed[s] = (
                            f"the workflow failed (exit {code}); see {results / 'logs'}"
                        )
                        echo(f"halos watch: {s}: {status.failed[s]}")
                if any(s in status.failed for s in new):
                    # Without the failed samples, so that the run summary and report update.
                    keep = {n for n in processed if n not in status.failed}
                    take = [r for r in rows if r.get("name") in keep]
                    utake = [u for u in unit_rows if u.get("name") in keep]
                    run_workflow(take, utake, header, unit_header, ["all"])
                if started is not None and status.done and status.done[-1] in new:
                    status.latency_s = time.monotonic() - started
                echo(status.line(tracker))
            counts = tracker.summary()
            if once and counts[GROWING] == 0 and counts[WAITING] == 0:
                echo(status.line(tracker))
                return 0
            time.sleep(min(interval, CONFIRM_S) if tracker.confirming() else interval)
    except KeyboardInterrupt:
        echo(status.line(tracker) + " — stopped")
        return 130
    finally:
        if worker is not None:
            worker.stop()  # after Snakemake: no step of it is still running
