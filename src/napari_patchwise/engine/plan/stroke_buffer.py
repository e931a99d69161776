"""An annotation array that keeps the chunks of one stroke in memory until the stroke ends.

napari paints a brush stroke as one read and one write of the array per mouse
move (a *dab*). On a Zarr array each dab decodes, changes, compresses and
writes every chunk it touches, so a stroke of twenty dabs writes the same
chunk twenty times. :class:`StrokeBuffer` wraps the array: between
:meth:`~StrokeBuffer.hold` (the button goes down) and
:meth:`~StrokeBuffer.release` (the stroke ends) the chunks a dab touches are
read once, changed in memory and written once at the release; a dab that
changes nothing (the label already there) reads the chunks kept in memory too,
not the array. Outside a stroke it passes every write straight to the array,
and every read too, except for a moment after a stroke, when the checks of the
stroke read its chunks (the same values as on disk) from memory. The project
on disk is always the truth between strokes: every stroke is on disk when it
ends, and nothing else in the project (jobs, checks, other readers) can see a
stale array.

Examples
--------
>>> import zarr
>>> z = zarr.zeros((4, 8, 8), chunks=(2, 4, 4), dtype="uint32")
>>> b = StrokeBuffer(z)
>>> b.hold()
>>> b[1, 2:6, 3] = 7          # a dab: in memory only
>>> int(z[1, 3, 3]), int(b[1, 3, 3]), b.pending
(0, 7, 2)
>>> b.release()               # the stroke ends: both chunks written once
2
>>> int(z[1, 3, 3]), b.pending
(7, 0)
"""

from __future__ import annotations

import threading
import time
import weakref

import numpy as np

from .stroke_keys import _box, _chunk_indices, _chunk_key, _overlap, _plane_written, _points

#: Every buffer alive in this process, so that a writer opening the project can make them forget planes.
_LIVE: "weakref.WeakSet[StrokeBuffer]" = weakref.WeakSet()

#: Chunks a stroke may hold in memory before they are written anyway (256 KiB each at 16×64×64 uint32).
MAX_HELD = 512

#: A read during a stroke that meets at most this many chunks (a dab's) keeps them in memory.
DAB_CHUNKS = 8

#: Chunks of a stroke kept after its release (equal to the array), for the checks that read the
#: stroke next; a longer stroke lets them go.
KEEP_AFTER = 64

#: Seconds they are kept: the checks of a stroke read it within the next turns of the event loop.
KEEP_SECONDS = 1.0

#: Seconds a plane read ahead waits for its read (a job's layers refresh one per turn after it ends).
WARM_SECONDS = 5.0


class StrokeBuffer:
    """An annotation array whose writes wait in memory while a stroke is held.

    Parameters
    ----------
    array : zarr.Array
        The annotation array (any array with ``shape``, ``dtype``, ``chunks``
        and basic-index reads and writes).
    max_held : int
        Chunks held before they are written anyway (a very long stroke).

    Attributes
    ----------
    writes : int
        Writes through the buffer so far: a stroke's dabs, napari's undo and
        redo (which write the layer's data, then refresh it). A layer refresh
        with no write since the last one seen is slicing or a shown layer, never
        an edit (:class:`~napari_patchwise.layers.live_qc.LiveQC` tells them so).

    Notes
    -----
    Reads and writes by basic index (ints and unit-step slices) are served from
    the held chunks; any other index (napari's fancy ``data_setitem``) first
    writes the held chunks, then goes to the array. A lock makes a read from a
    worker thread see either the chunks before or after a dab, never half.
    """

    def __init__(self, array, max_held: int = MAX_HELD):
        self.array = array
        self.max_held = int(max_held)
        self._chunks: dict[tuple[int, ...], np.ndarray] = {}  # chunks read or changed during a stroke
        self._dirty: set[tuple[int, ...]] = set()  # those changed, written at the release
        self._kept_until = 0.0  # the chunks of a released stroke are let go then
        self._holding = False
        self._planes: dict[int, np.ndarray] = {}
        self._warm: tuple[int, np.ndarray, float] | None = None  # a plane read ahead for its display read
        self._lock = threading.RLock()
        self.writes = 0  # writes through the buffer so far (see :attr:`writes`)
        _LIVE.add(self)

    # -- what napari and numpy ask of an array -------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.array.dtype)

    @property
    def ndim(self) -> int:
        return len(self.array.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def chunks(self) -> tuple[int, ...]:
        return tuple(self.array.chunks)

    @property
    def attrs(self):
        return self.array.attrs

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"StrokeBuffer({self.array!r}, holding={self._holding}, pending={self.pending})"

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out if dtype is None else out.astype(dtype, copy=False)

    # -- the stroke ------------------------------------------------------------------------
    @property
    def holding(self) -> bool:
        """Whether a stroke is held (its writes wait in memory)."""
        return self._holding

    @property
    def pending(self) -> int:
        """Chunks changed in memory and not yet written."""
        return len(self._dirty)

    def hold(self) -> None:
        """A stroke starts: keep its writes in memory until :meth:`release`.

        Chunks kept from the last stroke are let go: a stroke reads what it
        changes from the array, never a copy someone may have written behind."""
        with self._lock:
            self._let_go()
            self._holding = True

    def release(self) -> int:
        """The stroke ends: write every changed chunk once; how many were written.

        The stroke's chunks stay in memory, equal to the array, for the reads that
        follow (up to :data:`KEEP_AFTER` of them), until a write outside a stroke or
        a writer opening the project (:func:`forget_planes`).
        """
        with self._lock:
            self._holding = False
            self._kept_until = time.monotonic() + KEEP_SECONDS
            return self.flush(keep=len(self._chunks) <= KEEP_AFTER)

    def flush(self, keep: bool = False) -> int:
        """Write the changed chunks now (the stroke, if held, goes on); how many were written.

        Every chunk kept in memory is let go, changed or not, unless ``keep``."""
        with self._lock:
            n = len(self._dirty)
            for index in sorted(self._dirty):
                self.array[_chunk_key(index, self.chunks, self.shape)] = self._chunks[index]
            self._dirty.clear()
            if not keep:
                self._chunks.clear()
            return n

    def _let_go(self) -> None:
        """Let the unchanged chunks go (they may have been written behind since)."""
        if len(self._chunks) > len(self._dirty):
            self._chunks = {i: c for i, c in self._chunks.items() if i in self._dirty}

    def _chunk(self, index) -> np.ndarray:
        """Chunk ``index`` as kept in memory for the stroke (read from the array the first time)."""
        chunk = self._chunks.get(index)
        if chunk is None:
            chunk = self._chunks[index] = np.array(self.array[_chunk_key(index, self.chunks, self.shape)], copy=True)
        return chunk

    def _load(self, indices) -> None:
        """Keep the chunks ``indices`` in memory, those not kept yet read by one read of the
        array (its chunks are then fetched and decoded together, not one call each)."""
        missing = [i for i in indices if i not in self._chunks]
        if len(missing) < 2:
            for index in missing:
                self._chunk(index)
            return
        lo = [min(i[a] for i in missing) for a in range(self.ndim)]
        hi = [max(i[a] for i in missing) for a in range(self.ndim)]
        first, last = (_chunk_key(i, self.chunks, self.shape) for i in (lo, hi))
        block = np.asarray(self.array[tuple(slice(a.start, b.stop) for a, b in zip(first, last))])
        for index in missing:
            key = _chunk_key(index, self.chunks, self.shape)
            self._chunks[index] = np.array(block[tuple(slice(k.start - f.start, k.stop - f.start)
                                                       for k, f in zip(key, first))], copy=True)

    # -- indexing --------------------------------------------------------------------------
    def __getitem__(self, key):
        with self._lock:
            if not self._holding and self._chunks and time.monotonic() > self._kept_until:
                self._let_go()
            if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < self.shape[0]:
                return self._plane(int(key))
            warm = self._warm
            if warm is not None:
                if time.monotonic() > warm[2]:
                    self._warm = None
                elif _box(key, self.shape) == ((warm[0], *[0] * (len(self.shape) - 1)),
                                               (warm[0] + 1, *self.shape[1:]), (0,)):
                    self._warm = None  # handed over once
                    return warm[1]
            box = _box(key, self.shape) if self._chunks or self._holding else None
            if box is None:
                points = _points(key, self.shape) if self._chunks or self._holding else None
                if points is not None:
                    out = self._read_points(*points)
                    if out is not None:
                        return out
                if self._dirty:  # an index the held chunks cannot answer
                    self.flush(keep=True)
                return self.array[key]
            starts, stops, ints = box
            indices = list(_chunk_indices(starts, stops, self.chunks))
            if self._holding and len(indices) <= DAB_CHUNKS:
                # a dab reads the chunks it paints: kept, so the next dab (or one changing nothing) reads memory
                if len(self._chunks) + len(indices) > self.max_held:
                    self.flush()
                self._load(indices)
            held = [i for i in indices if i in self._chunks]
            if not held:
                return self.array[key]
            if len(held) == len(indices):
                out = np.empty(tuple(b - a for a, b in zip(starts, stops)), self.dtype)
            else:
                out = np.array(self.array[tuple(slice(a, b) for a, b in zip(starts, stops))], copy=True)
            for index in held:
                in_chunk, in_box = _overlap(index, self.chunks, starts, stops)
                out[in_box] = self._chunks[index][in_chunk]
            return out.reshape([n for axis, n in enumerate(out.shape) if axis not in ints]) if ints else out

    def _block(self, starts, stops) -> np.ndarray:
        """The box ``starts``..``stops`` from the chunks kept in memory (all of its chunks are)."""
        out = np.empty(tuple(b - a for a, b in zip(starts, stops)), self.dtype)
        for index in _chunk_indices(starts, stops, self.chunks):
            in_chunk, in_box = _overlap(index, self.chunks, starts, stops)
            out[in_box] = self._chunks[index][in_chunk]
        return out

    def _read_points(self, points, starts, stops):
        """A read by one integer array per axis (napari's ``data_setitem`` reads the voxels it
        changes twice) from the chunks in memory, or None when they are not all there."""
        indices = list(_chunk_indices(starts, stops, self.chunks))
        if len(indices) > DAB_CHUNKS:
            return None
        if self._holding:
            self._load(indices)
        if any(i not in self._chunks for i in indices):
            return None
        return self._block(starts, stops)[tuple(p - a for p, a in zip(points, starts))]

    def _write_points(self, points, starts, stops, value) -> bool:
        """A write by one integer array per axis during a stroke, into the chunks in memory;
        False (nothing done) when it meets too many chunks."""
        indices = list(_chunk_indices(starts, stops, self.chunks))
        if len(indices) > DAB_CHUNKS:
            return False
        self._load(indices)
        value = np.broadcast_to(np.asarray(value, dtype=self.dtype), points[0].shape)
        at = [p // c for p, c in zip(points, self.chunks)]
        for index in indices:
            inside = np.logical_and.reduce([a == i for a, i in zip(at, index)])
            if inside.any():
                local = tuple(p[inside] - i * c for p, i, c in zip(points, index, self.chunks))
                self._chunks[index][local] = value[inside]
                self._dirty.add(index)
        return True

    def _plane(self, z: int) -> np.ndarray:
        """Plane ``z`` (read-only), kept until a write reaches it.

        napari asks ``data[0]`` for the layer's dtype before every dab of a
        brush (``napari.layers.labels._labels_utils.get_dtype``); on a Zarr
        array that decodes every chunk of a whole plane, which cost more than
        the dab itself. Only reads by one bare integer are kept.
        """
        plane = self._planes.get(z)
        if plane is None:
            plane = np.asarray(self[z, ...])
            plane.flags.writeable = False
            self._planes = {z: plane}  # one plane: napari asks the same one every time
        return plane

    def forget_planes(self) -> None:
        """Drop the kept plane, any plane read ahead and the chunks kept unchanged (the array
        was written by someone else)."""
        with self._lock:
            self._planes = {}
            self._warm = None
            self._let_go()

    def read_ahead(self, z: int) -> None:
        """Read plane ``z`` now (e.g. in a worker), for the next read of it.

        napari reads a 2D Labels layer's slice as ``data[z, :, :]``; after a job
        that wrote the array, the layer's refresh would decode that plane's chunks
        on the GUI thread. Read here, it is handed over by the next read of plane
        ``z`` (other reads, a check's in a worker say, go to the array meanwhile)
        within :data:`WARM_SECONDS`, if nothing was written in between: any
        write through the buffer or :func:`forget_planes` drops it.

        Examples
        --------
        >>> import zarr
        >>> z = zarr.zeros((2, 4, 4), dtype="uint8")
        >>> b = StrokeBuffer(z)
        >>> z[1] = 3
        >>> b.read_ahead(1)
        >>> int(b[1, :, :].sum()), b._warm is None
        (48, True)
        """
        with self._lock:
            z = int(z)
            if not 0 <= z < self.shape[0]:
                return
            # handed over, not kept: napari may write into it
            self._warm = (z, np.asarray(self.array[z]), time.monotonic() + WARM_SECONDS)
            self._let_go()  # the job that asks wrote the array

    def __setitem__(self, key, value) -> None:
        with self._lock:
            self.writes += 1
            self._warm = None
            box = _box(key, self.shape)
            if box is None:
                self._planes = {}
                points = _points(key, self.shape) if self._holding else None
                if points is not None and self._write_points(*points, value):
                    return
                if self._chunks:
                    self.flush()
                self.array[key] = value
                return
            starts, stops, ints = box
            full = tuple(b - a for a, b in zip(starts, stops))
            kept = tuple(n for axis, n in enumerate(full) if axis not in ints)
            if self._planes:  # napari's dtype probe reads plane 0 before every dab: kept up to date
                block = np.broadcast_to(np.asarray(value, dtype=self.dtype), kept).reshape(full)
                self._planes = {z: _plane_written(p, z, starts, stops, block) for z, p in self._planes.items()}
            if not self._holding:
                if self._chunks:
                    self.flush()
                self.array[key] = value
                return
            value = np.broadcast_to(np.asarray(value, dtype=self.dtype), kept).reshape(full)
            indices = list(_chunk_indices(starts, stops, self.chunks))
            if len(indices) <= DAB_CHUNKS:
                self._load(indices)
            for index in indices:
                in_chunk, in_box = _overlap(index, self.chunks, starts, stops)
                self._chunk(index)[in_chunk] = value[in_box]
                self._dirty.add(index)
            if len(self._chunks) > self.max_held:
                self.flush()


def forget_planes() -> None:
    """Every live buffer drops its kept plane: called when a project is opened for writing.

    Examples
    --------
    >>> import zarr
    >>> z = zarr.zeros((2, 4, 4), dtype="uint8")
    >>> b = StrokeBuffer(z)
    >>> int(b[0].sum())
    0
    >>> z[0] = 1                 # written behind the buffer's back
    >>> int(b[0].sum()), (forget_planes(), int(b[0].sum()))[1]
    (0, 16)
    """
    for buffer in list(_LIVE):
        buffer.forget_planes()
