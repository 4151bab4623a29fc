# SPDX-License-Identifier: MIT
"""SHA-256 of the raw files a step reads, computed from the bytes it reads anyway.

Hashing a frame file after integrating it reads every byte a second time; for a shift of
Eiger 4M runs that is the dominant I/O. Inside :func:`record_reads` the frame readers open
their files through this module instead (:func:`open_h5_file` for HDF5, :func:`read_bytes`
for the images fabio decodes), and each file's digest is fed with the bytes the decoder asked
for, in file order:

- a read that continues the hashed prefix extends it at once;
- a read further on (HDF5 metadata, a chunk out of order) is kept until the prefix reaches
  it, up to :data:`PENDING_LIMIT` bytes; beyond that it is dropped and read again at the end;
- when the step is done, :meth:`ReadLog.finish` reads what the decoder never touched (free
  space, datasets that are not frames) to complete each digest.

So every byte of a file is read once, plus what HDF5 itself reads twice (its metadata cache
is small) and what did not fit in :data:`PENDING_LIMIT`; ``bytes_read`` counts all of it,
and the record says so beside each digest.

Outside :func:`record_reads` nothing changes: readers open files as before.

Examples
--------
>>> import os, tempfile
>>> import h5py, numpy as np
>>> from halos_analysis.io.frames import open_frames
>>> path = os.path.join(tempfile.mkdtemp(), "run.h5")
>>> with h5py.File(path, "w") as f:
...     f["entry/data"] = np.ones((5, 4, 6), np.uint16)
>>> with record_reads() as log:
...     total = sum(int(b.data.sum()) for b in open_frames(path + "::/entry/data").batches(5))
>>> record = log.finish()[0]
>>> sorted(record)
['bytes', 'bytes_read', 'path', 'role', 'sha256']
>>> len(record["sha256"]), record["bytes"] == os.path.getsize(path)
(64, True)
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "PENDING_LIMIT",
    "FileDigest",
    "ReadLog",
    "active_log",
    "open_h5_file",
    "read_bytes",
    "record_reads",
    "sha256_file",
]

log = logging.getLogger(__name__)

#: Bytes read ahead of a file's hashed prefix that are kept to be hashed later (per file).
PENDING_LIMIT = 64 << 20
#: Holes up to this size before the reads kept ahead are read and hashed once those pass
#: 1/16 of :data:`PENDING_LIMIT` (see :meth:`FileDigest._fill_gaps`).
GAP_FILL = 1 << 20
#: Block size of the reads that complete a digest.
_BLOCK = 4 << 20
#: A first read up to this size (a CBF header) is kept, so decoding the file does not read
#: it again.
_HEAD_LIMIT = 1 << 20


def sha256_file(path: str | Path, chunk: int = _BLOCK) -> str:
    """SHA-256 hex digest of a whole file, read in blocks (for files nothing else reads).

    Parameters
    ----------
    path : str or Path
        The file.
    chunk : int
        Bytes read at a time.

    Returns
    -------
    str
        The digest, 64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class FileDigest:
    """The SHA-256 of one file, fed by the reads a decoder makes (thread-safe).

    Parameters
    ----------
    path : str or Path
        The file; it is opened once, read with ``os.pread`` (no shared position).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._fd = os.open(self.path, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size
        self._hash = hashlib.sha256()
        self._done = 0  # bytes [0, _done) are hashed
        self._pending: dict[int, bytes] = {}
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self.bytes_read = 0
        self._digest: str | None = None
        self._head = b""  # the first bytes read (a header), kept for readall()

    def pread(self, size: int, offset: int) -> bytes:
        """Read ``size`` bytes at ``offset`` (fewer at the end of the file) and hash them."""
        data = os.pread(self._fd, size, offset)
        self.feed(offset, data)
        return data

    def readinto(self, buffer: Any, offset: int) -> int:
        """Read into ``buffer`` at ``offset`` (fewer bytes at the end of the file), hash
        them; returns the count. No bytes object in between: HDF5 reads whole chunks of a
        few MB, whose fresh copies cost page faults and a copy each."""
        view = memoryview(buffer).cast("B")
        if not hasattr(os, "preadv"):  # not on every platform (Windows)
            data = self.pread(len(view), offset)
            view[: len(data)] = data
            return len(data)
        n = os.preadv(self._fd, [view], offset)
        self.feed(offset, view[:n])
        return n

    def feed(self, offset: int, data: Any) -> None:
        """Count and hash ``data``, the file's bytes at ``offset`` (as read here, or another
        way: a memory map); the first bytes of the file are kept for :meth:`readall`."""
        view = memoryview(data).cast("B")
        with self._lock:
            self.bytes_read += len(view)
            if offset == 0 and not self._head and len(view) <= _HEAD_LIMIT:
                self._head = bytes(view)
            self._feed(offset, view)

    def readall(self) -> bytes:
        """The whole file, hashed on the way (what fabio decodes)."""
        with self._lock:
            head = self._head
            if self._done > len(head):
                # Hashed further than the kept header: read the file again from the start.
                head = b""
        rest = self.pread(self.size - len(head), len(head))
        return head + rest if head else rest

    def _feed(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        if end <= self._done or not data:
            return  # hashed already (a read HDF5 makes twice)
        if offset > self._done and self._pending_bytes + len(data) > PENDING_LIMIT // 16:
            # More than a few MB would wait: small holes before them are read now.
            self._fill_gaps(offset)
        if offset <= self._done:
            self._hash.update(memoryview(data)[self._done - offset :])
            self._done = end
            self._drain()
        elif self._pending_bytes + len(data) <= PENDING_LIMIT:
            if len(data) > len(self._pending.get(offset, b"")):
                self._pending_bytes += len(data) - len(self._pending.get(offset, b""))
                self._pending[offset] = bytes(data)

    def _fill_gaps(self, offset: int) -> None:
        """Read and hash the holes of at most :data:`GAP_FILL` bytes before ``offset`` and
        the pending reads: a small hole (the few kB HDF5 never reads between its metadata
        and the first chunk) must not hold back the prefix, else every chunk after it is
        kept aside, then dropped, and read again at the end."""
        while True:
            nxt = min([o for o in self._pending if o > self._done] + [offset])
            if nxt <= self._done or nxt - self._done > GAP_FILL:
                return
            gap = os.pread(self._fd, nxt - self._done, self._done)
            self.bytes_read += len(gap)
            if len(gap) != nxt - self._done:
                return  # the file shrank: the end completes the digest
            self._hash.update(gap)
            self._done = nxt
            self._drain()
            if offset <= self._done:
                return

    def _drain(self) -> None:
        while self._pending:
            offset = min(self._pending)
            if offset > self._done:
                return
            data = self._pending.pop(offset)
            self._pending_bytes -= len(data)
            end = offset + len(data)
            if end > self._done:
                self._hash.update(memoryview(data)[self._done - offset :])
                self._done = end

    def hexdigest(self) -> str:
        """Complete the digest (reading what was never read) and return it."""
        with self._lock:
            if self._digest is None:
                while self._done < self.size:
                    nxt = min((o for o in self._pending if o > self._done), default=self.size)
                    n = min(nxt - self._done, _BLOCK)
                    data = os.pread(self._fd, n, self._done)
                    if not data:
                        break  # the file shrank while it was read: the digest says what was
                    self.bytes_read += len(data)
                    self._feed(self._done, data)
                self._digest = self._hash.hexdigest()
                os.close(self._fd)
            return self._digest

    def record(self, role: str | None = None) -> dict[str, Any]:
        """``{"path", "sha256", "bytes", "bytes_read"}`` (+ ``role``), the digest completed."""
        out: dict[str, Any] = {
            "path": self.path,
            "sha256": self.hexdigest(),
            "bytes": self.size,
            "bytes_read": self.bytes_read,
        }
        if role:
            out["role"] = role
        return out


class _HashingFile(io.RawIOBase):
    """A read-only file object over a :class:`FileDigest`, for h5py's ``fileobj`` driver."""

    def __init__(self, digest: FileDigest) -> None:
        super().__init__()
        self._digest = digest
        self._pos = 0
        self.name = digest.path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._digest.size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        n = self._digest.readinto(buffer, self._pos)
        self._pos += n
        return n


@dataclass
class ReadLog:
    """The raw files read inside one :func:`record_reads` block, with their digests."""

    def __post_init__(self) -> None:
        self._files: dict[str, FileDigest] = {}
        self._roles: dict[str, str] = {}
        self._lock = threading.Lock()

    def digest(self, path: str | Path, role: str = "frames") -> FileDigest:
        """The (one) digest of ``path``; opened on first use."""
        key = os.path.abspath(str(path))
        with self._lock:
            if key not in self._files:
                self._files[key] = FileDigest(path)
                self._roles[key] = role
            return self._files[key]

    def names(self) -> list[str]:
        """Absolute paths of the files read so far."""
        with self._lock:
            return list(self._files)

    def add_file(self, path: str | Path, role: str) -> None:
        """Record a file in ``role`` (PONI, mask, side table): hashed from the reads made
        already through this log, else read for the digest now."""
        d = self.digest(path, role)
        with self._lock:
            self._roles[os.path.abspath(str(path))] = role
        d.hexdigest()

    def finish(self) -> list[dict[str, Any]]:
        """Complete every digest; one record per file, in the order they were first read.

        Paths inside the working directory are given relative to it (as a sample sheet
        names them), others absolute, whichever way the reader opened them.
        """
        cwd = os.getcwd()
        out = []
        for key, d in list(self._files.items()):
            rec = d.record(self._roles[key])
            rec["path"] = os.path.relpath(key, cwd) if key.startswith(cwd + os.sep) else key
            out.append(rec)
        return out


_active: ReadLog | None = None
_active_lock = threading.Lock()


def active_log() -> ReadLog | None:
    """The :class:`ReadLog` of the enclosing :func:`record_reads`, or None."""
    return _active


@contextmanager
def record_reads() -> Iterator[ReadLog]:
    """Record and hash the raw files read inside this block (by any thread of the process).

    Yields
    ------
    ReadLog
        Call :meth:`ReadLog.finish` for the records (after the readers are closed).
    """
    global _active
    with _active_lock:
        if _active is not None:
            raise RuntimeError("record_reads() blocks do not nest")
        _active = ReadLog()
        current = _active
    try:
        yield current
    finally:
        with _active_lock:
            _active = None


def open_h5_file(path: str | Path) -> Any:
    """``h5py.File`` of ``path`` read-only; inside :func:`record_reads` through its digest."""
    import h5py

    current = _active
    if current is None:
        return h5py.File(path, "r")
    return _RecordedFile(_HashingFile(current.digest(path)), str(path))


def _recorded_file_class() -> type:
    import h5py

    class RecordedFile(h5py.File):
        """An ``h5py.File`` read through a :class:`FileDigest`; ``filename`` is the path
        (h5py would give the file object's repr), so links resolve beside it."""

        def __init__(self, fileobj: _HashingFile, path: str) -> None:
            super().__init__(fileobj, "r")
            self._halos_path = path

        @property
        def filename(self) -> str:
            return self._halos_path

    return RecordedFile


def _RecordedFile(fileobj: _HashingFile, path: str) -> Any:  # noqa: N802 - a class factory
    global _RECORDED_FILE
    if _RECORDED_FILE is None:
        _RECORDED_FILE = _recorded_file_class()
    return _RECORDED_FILE(fileobj, path)


_RECORDED_FILE: type | None = None


def read_bytes(path: str | Path) -> bytes | None:
    """The whole file hashed on the way inside :func:`record_reads`, else None."""
    current = _active
    if current is None:
        return None
    return current.digest(path).readall()
