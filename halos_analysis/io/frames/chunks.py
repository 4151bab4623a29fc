# SPDX-License-Identifier: MIT
"""Compressed HDF5 frames read at core speed: raw chunks in, decompression outside h5py's lock.

h5py holds one global lock around every HDF5 call, and HDF5 runs a dataset's filters
(bitshuffle/LZ4 for Eiger data) inside that call: reading frames from several threads
decompresses them one at a time. Here a frame's compressed chunk is read as it is stored:
HDF5 gives its place in the file (``DatasetID.get_chunk_info_by_coord``) and the chunk is a
view of a read-only memory map of the file (no copy under the lock, no fresh buffer to fault
in; ``HALOS_MAP_CHUNKS=0``, or a file HDF5 reads through another driver, takes the copy of
``read_direct_chunk`` instead); it is decompressed by the bitshuffle library (the code HDF5
runs as filter 32008, called through :mod:`ctypes`, which releases the GIL), straight into
the caller's frame buffer and in parallel threads. The library is the ``bitshuffle``
package's where it is installed (its wheels choose AVX2 at run time: ~1.5x faster here than
hdf5plugin's build, which is SSE2 only), else hdf5plugin's.

Only what is decoded exactly as HDF5 would is handled: one frame per chunk
(``chunks == (1, ny, nx)``), a native-endian numeric dtype, and a filter pipeline of
bitshuffle alone with LZ4 or Zstandard compression. :func:`chunk_reader` returns None for any
other dataset (gzip, LZ4 filter 32004, virtual datasets, ...), and the caller reads it with
plain h5py; so it does when the bitshuffle library cannot be loaded.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import struct
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import h5py
import numpy as np

from halos_analysis.errors import HalosInputError

__all__ = [
    "ChunkReader",
    "CompressedFrames",
    "bitshuffle_library",
    "chunk_reader",
    "decode_threads",
]

log = logging.getLogger(__name__)

#: HDF5 filter id of bitshuffle, and its compression codes (``cd_values[4]``).
_BSHUF_FILTER = 32008
_BSHUF_LZ4, _BSHUF_ZSTD = 2, 3
#: Bytes before the compressed blocks: uncompressed size (uint64 BE), block size (uint32 BE).
_HEADER = struct.Struct(">QI")
_BLOCK = struct.Struct(">I")

_lock = threading.Lock()
_library: dict[str, object] = {}
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def bitshuffle_library() -> dict[int, ctypes._CFuncPtr] | None:
    """The bitshuffle decompressors, by compression code.

    From the ``bitshuffle`` package's compiled module where it is installed (not imported:
    its C functions are called directly), else from hdf5plugin's filter library; each code
    from the first library that has it. ``HALOS_BITSHUFFLE=hdf5plugin`` skips the package.

    Returns
    -------
    dict or None
        ``{2: bshuf_decompress_lz4, 3: bshuf_decompress_zstd}`` (the codes present), or None
        when no library with ``bshuf_decompress_lz4`` can be loaded.
    """
    with _lock:
        if "funcs" not in _library:
            _library["funcs"] = _load_library()
        return _library["funcs"]  # type: ignore[return-value]


def _library_paths() -> list[str]:
    """Candidate shared libraries with bitshuffle's C API, best first."""
    import glob
    import importlib.util

    paths = []
    if os.environ.get("HALOS_BITSHUFFLE", "") != "hdf5plugin":
        try:
            spec = importlib.util.find_spec("bitshuffle")
        except (ImportError, ValueError):
            spec = None
        for folder in (spec and spec.submodule_search_locations) or ():
            paths += sorted(glob.glob(os.path.join(folder, "ext*.so")))
    try:
        import hdf5plugin  # importing it registers (and so loads) the filter libraries

        path = hdf5plugin.get_config().registered_filters.get("bshuf")
        paths.append(str(path or os.path.join(hdf5plugin.PLUGINS_PATH, "libh5bshuf.so")))
    except (ImportError, AttributeError) as exc:
        log.info("hdf5plugin's bitshuffle filter not found (%s)", exc)
    return paths


def _load_single_threaded(path: str) -> ctypes.CDLL:
    """Load a library whose OpenMP runtime (the bitshuffle wheel brings its own) is to run
    one thread per call: the decoding threads are ours, one per core; OpenMP teams inside
    each call would oversubscribe the cores and spin (10x slower calls on small ranges).
    Its runtime reads ``OMP_NUM_THREADS`` once, when it is loaded."""
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        return ctypes.CDLL(path)
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


def _load_library():
    funcs: dict[int, ctypes._CFuncPtr] = {}
    names = {_BSHUF_LZ4: "bshuf_decompress_lz4", _BSHUF_ZSTD: "bshuf_decompress_zstd"}
    for path in _library_paths():
        try:
            lib = _load_single_threaded(path)
        except OSError as exc:
            log.info("bitshuffle library %s not loadable (%s)", path, exc)
            continue
        for code, name in names.items():
            fn = getattr(lib, name, None)
            if fn is None or code in funcs:
                continue
            # int64_t f(const void* in, void* out, size_t size, size_t elem_size,
            #           size_t block_size)
            fn.restype = ctypes.c_int64
            fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 3
            funcs[code] = fn
            log.debug("bitshuffle code %d from %s", code, path)
    if _BSHUF_LZ4 not in funcs:
        log.info("no bitshuffle library with bshuf_decompress_lz4: frames are read through h5py")
        return None
    return funcs


def decode_threads() -> int:
    """Threads that decompress chunks: ``HALOS_DECODE_THREADS``, else the number of cores.

    1 decompresses in the reading thread itself (no pool).
    """
    env = os.environ.get("HALOS_DECODE_THREADS", "")
    try:
        n = int(env) if env.strip() else 0
    except ValueError:
        n = 0
    return max(1, n or os.cpu_count() or 1)


def _decode_pool() -> ThreadPoolExecutor:
    # One pool for the process: callers in several threads (Dask workers) share its threads,
    # so decompression never runs on more threads than there are cores.
    # A forked child (a process scheduler) inherits the pool object but not its threads:
    # it makes its own.
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(decode_threads(), thread_name_prefix="halos-decode")
            _pool_pid = os.getpid()
        return _pool


@dataclass(frozen=True)
class ChunkReader:
    """Reads the frames of one bitshuffle-compressed dataset by raw chunks.

    Made by :func:`chunk_reader`, which checks that the dataset is one this class decodes
    exactly. Holds no HDF5 handle: :meth:`read` takes the open dataset.

    Attributes
    ----------
    frame_shape : tuple of int
        (ny, nx).
    dtype : numpy.dtype
    compression : int
        Bitshuffle's compression code (2 LZ4, 3 Zstandard).
    path : str, optional
        The dataset's file, where its chunks are read from a memory map (default: read
        through HDF5).
    """

    frame_shape: tuple[int, int]
    dtype: np.dtype
    compression: int
    path: str | None = None
    _spare: list = field(default_factory=list, compare=False, repr=False)
    _spare_lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)
    _maps: dict = field(default_factory=dict, compare=False, repr=False)

    def __getstate__(self) -> dict:
        return {"frame_shape": self.frame_shape, "dtype": self.dtype,
                "compression": self.compression, "path": self.path}  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_spare", [])
        object.__setattr__(self, "_spare_lock", threading.Lock())
        object.__setattr__(self, "_maps", {})

    def close(self) -> None:
        """Unmap the files mapped to read their chunks (those still in use stay mapped
        until their frames are released)."""
        with self._spare_lock:
            maps = list(self._maps.values())
            self._maps.clear()
        for m in maps:
            if m is not None:
                m.close()

    def _file_map(self, ds: h5py.Dataset) -> _FileMap | None:
        """The memory map of ``ds``'s file (made on first use), or None where chunks are
        read through HDF5."""
        name = self.path
        if name is None or not _MAP_CHUNKS:
            return None
        with self._spare_lock:
            if name in self._maps:
                return self._maps[name]
        fmap = _FileMap.open(ds, name, self.frame_bytes)
        with self._spare_lock:
            return self._maps.setdefault(name, fmap)

    def _take(self, size: int) -> np.ndarray:
        # Raw-chunk buffers are reused: a fresh 1–5 MB bytes object per frame costs page
        # faults (system time) in every decoding thread.
        with self._spare_lock:
            for k, buf in enumerate(self._spare):
                if len(buf) >= size:
                    return self._spare.pop(k)
        return np.empty(size + size // 8, np.uint8)  # room for the next, larger chunks

    def _give(self, buf: np.ndarray) -> None:
        if not buf.flags.owndata:  # a view of the mapped file: nothing to keep
            fmap = _FileMap.of(buf)
            if fmap is not None:
                fmap.drop(buf)
            return
        with self._spare_lock:
            if len(self._spare) < 40:  # bounds what is kept: 40 × a chunk's size
                self._spare.append(buf)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one decompressed frame."""
        return self.frame_shape[0] * self.frame_shape[1] * self.dtype.itemsize

    def read(
        self, ds: h5py.Dataset, start: int, stop: int, out: np.ndarray, *, threads: bool = True
    ) -> None:
        """Frames ``start..stop-1`` of ``ds`` into ``out`` (shape (stop-start, ny, nx)).

        The chunks are read in order under h5py's lock and each is decompressed in the
        decode pool (``threads``) or in the calling thread, straight into ``out``.

        Raises
        ------
        HalosInputError
            A chunk that cannot be read or does not decompress to one frame (corrupt file).
        """
        if out.shape != (stop - start, *self.frame_shape) or out.dtype != self.dtype:
            raise ValueError(f"out must be {(stop - start, *self.frame_shape)} {self.dtype}")
        if not out.flags.c_contiguous:
            raise ValueError("out must be C-contiguous")
        pool = _decode_pool() if threads and stop - start > 1 and decode_threads() > 1 else None
        # A few decodes in flight per caller: enough to keep the pool busy, few raw-chunk
        # buffers (they are reused, and each new one costs page faults).
        limit = 2 * decode_threads()
        pending: deque[Future] = deque()
        try:
            for k, i in enumerate(range(start, stop)):
                raw = self._raw_chunk(ds, i)
                if raw is None:  # chunk never written: HDF5 gives the fill value
                    ds.read_direct(out, np.s_[i : i + 1], np.s_[k : k + 1])
                    continue
                if pool is None:
                    self._decode(*raw, out[k], ds, i)
                    continue
                while len(pending) >= limit:
                    pending.popleft().result()
                pending.append(pool.submit(self._decode, *raw, out[k], ds, i))
            while pending:
                pending.popleft().result()
        finally:
            for fut in pending:  # after an error: let every decode finish before returning
                fut.exception()

    def read_compressed(self, ds: h5py.Dataset, start: int, stop: int) -> CompressedFrames | None:
        """Frames ``start..stop-1`` of ``ds`` as they are stored, to be decompressed piece by
        piece (:class:`CompressedFrames`), or None when a chunk is not bitshuffle-compressed
        (unwritten, or stored unfiltered): read those with :meth:`read`.

        Raises
        ------
        HalosInputError
            A chunk that cannot be read, or whose compressed blocks do not fill it exactly.
        """
        frames: list = []
        try:
            for i in range(start, stop):
                raw = self._raw_chunk(ds, i)
                if raw is None:
                    break
                mask, buf, size = raw
                if mask & 1:
                    self._give(buf)
                    break
                # Its blocks are walked (and checked) by the caller's thread, on first use.
                frames.append((buf, size, None))
            else:
                return CompressedFrames(self, frames, ds.file.filename, ds.name, start)
        except BaseException:
            for f in frames:
                self._give(f[0])
            raise
        for f in frames:
            self._give(f[0])
        return None

    def _block_offsets(self, data: np.ndarray, where: tuple[str, str], i: int) -> list[int]:
        """Where each compressed block of a chunk starts (its 4-byte count), checked."""
        if len(data) < _HEADER.size:
            raise _corrupt(*where, i, f"chunk of {len(data)} bytes")
        total, block = _HEADER.unpack_from(data)
        item = self.dtype.itemsize
        if total != self.frame_bytes or block <= 0 or block % item or (block // item) % 8:
            raise _corrupt(*where, i, f"header says {total} bytes in blocks of {block}")
        offsets = _block_starts(data, total // item, block // item, item)
        if offsets is None:
            raise _corrupt(*where, i, "its compressed blocks do not fill the chunk exactly")
        return offsets

    def _raw_chunk(self, ds: h5py.Dataset, i: int):
        """(filter mask, buffer, stored size) of frame ``i``'s chunk, or None if unwritten."""
        try:
            info = ds.id.get_chunk_info_by_coord((i, 0, 0))
            if info.byte_offset is None or info.size == 0:
                return None
            fmap = self._file_map(ds)
            view = None if fmap is None else fmap.view(info.byte_offset, info.size)
            if view is not None:
                return info.filter_mask, view, info.size
            buf = self._take(info.size)
            mask, _ = ds.id.read_direct_chunk((i, 0, 0), out=buf)
            return mask, buf, info.size
        except (OSError, RuntimeError, ValueError) as exc:
            raise HalosInputError(
                f"cannot read the stored chunk of frame {i}: {exc}", ds.file.filename, ds.name
            ) from None

    def _decode(self, filter_mask: int, buf: np.ndarray, size: int, out: np.ndarray, ds,
                i: int) -> None:  # fmt: skip
        try:
            self._decode_into(filter_mask, buf[:size], out, ds, i)
        finally:
            self._give(buf)

    def _decode_into(self, filter_mask: int, data: np.ndarray, out: np.ndarray, ds,
                     i: int) -> None:  # fmt: skip
        nbytes = self.frame_bytes
        if filter_mask & 1:  # HDF5 stored this chunk without running the filter
            if len(data) != nbytes:
                raise self._corrupt(ds, i, f"{len(data)} bytes stored, {nbytes} expected")
            out.reshape(-1).view(np.uint8)[:] = data
            return
        if len(data) < _HEADER.size:
            raise self._corrupt(ds, i, f"chunk of {len(data)} bytes")
        total, block = _HEADER.unpack_from(data)
        item = self.dtype.itemsize
        if total != nbytes or block <= 0 or block % item or (block // item) % 8:
            raise self._corrupt(ds, i, f"header says {total} bytes in blocks of {block}")
        if not _blocks_fit(data, total // item, block // item, item):
            raise self._corrupt(ds, i, "its compressed blocks do not fill the chunk exactly")
        fn = bitshuffle_library()[self.compression]  # type: ignore[index]
        src = data.ctypes.data + _HEADER.size
        used = fn(src, out.ctypes.data, nbytes // item, item, block // item)
        if used != len(data) - _HEADER.size:
            raise self._corrupt(ds, i, f"bitshuffle returned {used}")

    @staticmethod
    def _corrupt(ds, i: int, why: str) -> HalosInputError:
        return _corrupt(ds.file.filename, ds.name, i, why)


def _corrupt(filename: str, dataset: str, i: int, why: str) -> HalosInputError:
    return HalosInputError(
        f"frame {i}: compressed chunk does not decode ({why}); file corrupt or truncated?",
        filename,
        dataset,
    )


#: Stored chunks are read from a memory map of their file (``HALOS_MAP_CHUNKS=0``: through
#: HDF5's ``read_direct_chunk``).
_MAP_CHUNKS = os.environ.get("HALOS_MAP_CHUNKS", "1") != "0"


class _FileMap:
    """A read-only memory map of an HDF5 file: its stored chunks as views, not copies.

    HDF5's ``read_direct_chunk`` copies a chunk into a buffer under h5py's lock: for an
    Eiger 4M frame 4 MB of copying, and fresh buffers' page faults in a new process (as
    much CPU as the copy). A view of the mapped file costs neither: the decompressor
    reads the page cache. A chunk's bytes go to the file's digest when a recording is on
    (:mod:`halos_analysis.io.digest`: HDF5 no longer reads them), and a view's pages are
    unmapped when its frame is released, so memory holds the frames in flight only.
    """

    _by_address: dict[int, _FileMap] = {}

    def __init__(self, path: str, mm: mmap.mmap, size: int) -> None:
        self.path, self._mm, self.size = path, mm, size
        self.array = np.frombuffer(mm, np.uint8)
        self.address = self.array.ctypes.data
        self._digest = None
        from halos_analysis.io.digest import active_log

        recording = active_log()
        if recording is not None:
            self._digest = recording.digest(path)
        with _lock:
            _FileMap._by_address[self.address] = self

    @classmethod
    def open(cls, ds: h5py.Dataset, path: str, frame_bytes: int) -> _FileMap | None:
        """The map of ``path``, ``ds``'s file; None when it cannot be mapped, or when it is
        not one file read as it is (HDF5's family, split or multi drivers spread a file's
        addresses over several: only the default driver and the recording's file object
        give the chunks' offsets in this file), or when the first stored chunk does not
        start with the header of a frame (read it through HDF5, which says what is wrong).
        """
        try:
            if ds.file.driver not in ("sec2", "fileobj"):
                return None
            info = ds.id.get_chunk_info(0)
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        except (OSError, RuntimeError, ValueError) as exc:
            log.info("%s not mapped (%s): chunks read through HDF5", path, exc)
            return None
        if mm is None:
            return None
        head = mm[info.byte_offset : info.byte_offset + _HEADER.size]
        if len(head) < _HEADER.size or _HEADER.unpack(head)[0] != frame_bytes:
            mm.close()
            return None
        return cls(path, mm, size)

    @staticmethod
    def of(view: np.ndarray) -> _FileMap | None:
        base = view.base
        address = base.ctypes.data if isinstance(base, np.ndarray) else None
        return _FileMap._by_address.get(address)

    def view(self, offset: int, size: int) -> np.ndarray | None:
        """Bytes ``offset..offset+size-1`` of the file (hashed into its digest), or None
        when they lie beyond what was mapped (the file grew: read through HDF5)."""
        if offset < 0 or offset + size > self.size:
            return None
        data = self.array[offset : offset + size]
        if self._digest is not None:
            self._digest.feed(offset, data)
        return data

    def drop(self, view: np.ndarray) -> None:
        """Unmap the pages of ``view`` (they stay in the page cache; a page it shares with
        a chunk still in use is mapped again on its next read)."""
        if not hasattr(self._mm, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
            return
        start = view.ctypes.data - self.address
        first = start - start % mmap.PAGESIZE
        end = min(start + len(view), self.size)
        try:
            self._mm.madvise(mmap.MADV_DONTNEED, first, end - first)
        except (OSError, ValueError):
            pass  # the map was closed, or the kernel refuses: only memory is at stake

    def close(self) -> None:
        with _lock:
            _FileMap._by_address.pop(self.address, None)
        self.array = None
        try:
            self._mm.close()
        except BufferError:
            pass  # views still in use: the map goes when they do


def chunk_reader(ds: h5py.Dataset, path: str | None = None) -> ChunkReader | None:
    """A :class:`ChunkReader` for ``ds``, or None when plain h5py must read it.

    Parameters
    ----------
    ds : h5py.Dataset
        A (n, ny, nx) frame stack.
    path : str, optional
        Its file's path, where the chunks are to be read from a memory map of the file.

    Returns
    -------
    ChunkReader or None
        None unless: 3D, one frame per chunk, native-endian integer or float data, one
        filter (bitshuffle with LZ4 or Zstandard, element size = the dtype's), not virtual,
        and hdf5plugin's bitshuffle library loads.
    """
    if os.environ.get("HALOS_H5PY_READ") == "1":  # escape hatch, and the reference in tests
        return None
    if ds.ndim != 3 or ds.chunks is None or ds.is_virtual:
        return None
    ny, nx = ds.shape[1:]
    if tuple(ds.chunks) != (1, ny, nx):
        return None
    dtype = ds.dtype
    if dtype.kind not in "iuf" or not dtype.isnative:
        return None
    plist = ds.id.get_create_plist()
    if plist.get_nfilters() != 1:
        return None
    code, _flags, values, _name = plist.get_filter(0)
    if code != _BSHUF_FILTER or len(values) < 5 or values[2] != dtype.itemsize:
        return None
    funcs = bitshuffle_library()
    if funcs is None or values[4] not in funcs:
        return None
    return ChunkReader((int(ny), int(nx)), np.dtype(dtype), int(values[4]),
                       None if path is None else str(path))  # fmt: skip


def _blocks_fit(data: np.ndarray, size: int, block: int, item: int) -> bool:
    """Whether the compressed blocks of a bitshuffle chunk end exactly where it ends.

    The layout (bitshuffle's): blocks of ``block`` elements, then one of the leftover
    elements rounded down to a multiple of 8, each as a big-endian uint32 byte count and
    that many compressed bytes; then the last ``size % 8`` elements as they are. The
    decompressor trusts those counts (as HDF5's own filter does, which crashes on a corrupt
    chunk): walking them first turns a corrupt or cut chunk into an error, for ~0.3 ms a
    4M frame.
    """
    nblocks = size // block
    last = size % block - size % 8
    end = len(data) - (size % 8) * item
    off = _HEADER.size
    unpack = _BLOCK.unpack_from
    for _ in range(nblocks + (1 if last else 0)):
        if off + 4 > end:
            return False
        off += 4 + unpack(data, off)[0]
    return off == end


class CompressedFrames:
    """A few frames as their stored bitshuffle chunks, decompressed a pixel range at a time.

    From :meth:`ChunkReader.read_compressed`. A bitshuffle chunk is a series of blocks of
    ``block`` pixels, each compressed on its own: pixels ``a..b-1`` of every frame (``a`` a
    multiple of the block) decompress into a small buffer that stays in the CPU cache,
    instead of whole frames into a large one (whose fresh pages cost more to fault in and
    zero than the decompression itself). The bytes are those HDF5 would give.

    Attributes
    ----------
    n : int
        Frames.
    block : int
        Pixels per compressed block (pixel ranges start at its multiples).
    npix : int
        Pixels per frame.
    dtype : numpy.dtype
    """

    def __init__(self, reader: ChunkReader, frames: list, filename: str, dataset: str,
                 first: int) -> None:  # fmt: skip
        self._reader, self._frames = reader, frames
        self._where = (filename, dataset)
        self.first = first
        self.n = len(frames)
        self.dtype = reader.dtype
        self.npix = reader.frame_shape[0] * reader.frame_shape[1]
        self.block = 0
        if frames and frames[0][1] >= _HEADER.size:
            self.block = _HEADER.unpack_from(frames[0][0])[1] // reader.dtype.itemsize
        self._fn = bitshuffle_library()[reader.compression]  # type: ignore[index]

    def _offsets(self, j: int) -> tuple[list[int], int]:
        """Block offsets of frame ``j``'s chunk (walked and checked on first use) and the
        address of its buffer."""
        buf, size, offsets = self._frames[j]
        if offsets is None:
            walked = self._reader._block_offsets(buf[:size], self._where, self.first + j)
            if _HEADER.unpack_from(buf)[1] // self.dtype.itemsize != self.block:
                raise _corrupt(*self._where, self.first + j, "block size differs")
            offsets = (walked, buf.ctypes.data)
            self._frames[j] = (buf, size, offsets)
        return offsets

    def __len__(self) -> int:
        return self.n

    def decode_pixels(self, a: int, b: int, out: np.ndarray) -> np.ndarray:
        """Pixels ``a..b-1`` of every frame into ``out`` (n, b-a), C-contiguous rows.

        ``a`` must be a multiple of :attr:`block`, ``b`` too unless it is :attr:`npix`.
        """
        if self.block < 1:
            self._offsets(0)  # raises: the first chunk has no usable header
        blk, item = self.block, self.dtype.itemsize
        if a % blk or (b % blk and b != self.npix) or not 0 <= a < b <= self.npix:
            raise ValueError(f"pixels {a}..{b} do not start and end on blocks of {blk}")
        ia, ib = a // blk, -(-b // blk)
        if out.shape != (self.n, b - a) or out.dtype != self.dtype or out.strides[1] != item:
            raise ValueError(f"out must be ({self.n}, {b - a}) {self.dtype}, rows contiguous")
        row, step = out.ctypes.data, out.strides[0]
        for j in range(self.n):
            offsets, address = self._offsets(j)
            start = offsets[ia]
            used = self._fn(address + start, row + j * step, b - a, item, blk)
            # Whole blocks: up to where block ib starts; to the end, the raw tail included.
            end = self._frames[j][1] if b == self.npix else offsets[ib]
            if used != end - start:
                raise HalosInputError(
                    f"frame {self.first + j}: compressed chunk does not decode (bitshuffle "
                    f"returned {used}); file corrupt or truncated?", *self._where,
                )  # fmt: skip
        return out

    def decode_all(self, out: np.ndarray) -> np.ndarray:
        """Every frame into ``out`` ((n, npix) or (n, ny, nx), C-contiguous); returns it."""
        self.decode_pixels(0, self.npix, out.reshape(self.n, self.npix))
        return out

    def release(self) -> None:
        """Give the chunk buffers back to the reader (for the next frames)."""
        for buf, _size, _offsets in self._frames:
            self._reader._give(buf)
        self._frames = []


def _block_starts(data: np.ndarray, size: int, block: int, item: int) -> list[int] | None:
    """Offsets of the compressed blocks of a bitshuffle chunk (as :func:`_blocks_fit`),
    with the end of the last one appended; None when they do not end where the chunk
    does (minus its raw tail of ``size % 8`` elements)."""
    nblocks = size // block
    last = size % block - size % 8
    end = len(data) - (size % 8) * item
    count = nblocks + (1 if last else 0)
    # A list and a memoryview: ~1.5x faster than numpy scalars and the array's buffer
    # taken again at every unpack (~2000 blocks an Eiger 4M frame).
    offsets = [0] * (count + 1)
    view = memoryview(data)
    off = _HEADER.size
    unpack = _BLOCK.unpack_from
    for k in range(count):
        if off + 4 > end:
            return None
        offsets[k] = off
        off += 4 + unpack(view, off)[0]
    offsets[count] = off
    return offsets if off == end else None
