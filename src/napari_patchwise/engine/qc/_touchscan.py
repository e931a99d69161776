"""Scanning kernel and input checks behind :mod:`.touching`.

A block of ``(z, y, x)`` labels is scanned as one flat C-ordered array: the
neighbour at offset ``(dz, dy, dx)`` sits ``dz * ny * nx + dy * nx + dx``
elements further on, so every offset is a comparison of two contiguous
slices: ``a != b`` masked by "nonzero" masks shared by all offsets with the
same ``dz``. Blocks are cut into chunks of whole rows (about ``_CHUNK``
voxels) so that the slices and the boolean work arrays stay in the CPU cache.
Rows wrap around in the flat view; the places where a pair would wrap (the
neighbour lies past a y or x face) are known from the row and are cleared in
the boolean buffer before ``np.flatnonzero``, so coordinates and ids are only
gathered for the sparse hits.
"""

from __future__ import annotations

import itertools

import numpy as np

_CHUNK = 1 << 16  # voxels per chunk of the flat scan (fits the L2 cache with its masks)
_SLAB_VOXELS = 1 << 22  # voxels read at a time from zarr-like arrays and strided views


def forward_offsets(connectivity: int) -> np.ndarray:
    """The lexicographically positive half of the ``connectivity`` neighbourhood."""
    rows = [o for o in itertools.product((0, 1), (-1, 0, 1), (-1, 0, 1))
            if o > (0, 0, 0) and sum(map(abs, o)) <= connectivity]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def check_connectivity(connectivity) -> int:
    if isinstance(connectivity, bool) or connectivity not in (1, 2, 3):
        raise ValueError(
            "connectivity must be 1 (faces, 6 neighbours), 2 (faces and edges, 18) or "
            f"3 (faces, edges and corners, 26); got {connectivity!r}."
        )
    return int(connectivity)


def check_labels(labels, expect=None) -> tuple[int, int, int]:
    """The shape of ``labels``, after checking it is a 3D volume of integer ids
    (of shape ``expect``, the shape a :class:`ContactIndex` was made for)."""
    if not (hasattr(labels, "shape") and hasattr(labels, "dtype")):
        raise ValueError(
            f"labels must be an array with a shape and a dtype (numpy, zarr, ...); "
            f"got {type(labels).__name__}. Wrap lists with np.asarray(...)."
        )
    shape = tuple(int(s) for s in labels.shape)
    if len(shape) != 3:
        raise ValueError(
            f"labels have shape {shape} ({len(shape)}D) but a 3D (z, y, x) volume is needed; "
            "for a single 2D image add a z axis, e.g. labels[np.newaxis]."
        )
    dtype = np.dtype(labels.dtype)
    if dtype.kind == "f":
        raise ValueError(
            f"labels have dtype {dtype}, but instance ids must be integers; convert them "
            "first, e.g. np.round(labels).astype(np.uint32)."
        )
    if dtype.kind not in "biu":
        raise ValueError(
            f"labels have dtype {dtype}, but instance ids must be integers "
            "(e.g. uint32, 0 = unlabelled); convert them first."
        )
    if expect is not None and shape != expect:
        raise ValueError(f"labels have shape {shape} but this index was made for "
                         f"{expect}; make a new ContactIndex for them.")
    return shape  # type: ignore[return-value]


def _bound(value, n: int, default: int, what: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"region {what} must be whole numbers or None; got {value!r}.")
    return min(max(int(value), 0), n)


def as_region(region, shape) -> tuple[slice, slice, slice]:
    """``region`` as three ``slice(start, stop)`` with bounds clipped to ``shape``."""
    if region is None:
        return tuple(slice(0, n) for n in shape)  # type: ignore[return-value]
    if not isinstance(region, (tuple, list)) or len(region) != 3 or not all(
            isinstance(s, slice) for s in region):
        raise ValueError(
            f"region must be a tuple of 3 slices (z, y, x), e.g. (slice(0, 8), slice(10, 40), "
            f"slice(10, 40)); got {region!r}."
        )
    out = []
    for s, n in zip(region, shape):
        if s.step not in (None, 1):
            raise ValueError(
                f"region slices must have step 1 (a solid box); got {s!r}. "
                "Drop the step, e.g. slice(start, stop)."
            )
        lo = _bound(s.start, n, 0, "bounds")
        out.append(slice(lo, max(lo, _bound(s.stop, n, n, "bounds"))))
    return tuple(out)  # type: ignore[return-value]


def id_dtype(dtype) -> np.dtype:
    """Ids keep the labels' integer dtype (native byte order; bool becomes uint8)."""
    dtype = np.dtype(dtype)
    return np.dtype(np.uint8) if dtype == bool else dtype.newbyteorder("=")


def blocks(labels, region):
    """Yield ``(block, owned_planes, z0)``: C-contiguous pieces of ``labels[region]``.

    Pairs are looked for from the first ``owned_planes`` planes of each block;
    a block holds one more plane after those when the region goes on. ``z0`` is
    the global z of the block's first plane.
    """
    zs, ys, xs = region
    if isinstance(labels, np.ndarray):
        view = labels[region]
        if view.flags.c_contiguous:  # the whole region at once, without a copy
            yield view, view.shape[0], zs.start
            return
    plane = max(1, (ys.stop - ys.start) * (xs.stop - xs.start))
    step = max(1, _SLAB_VOXELS // plane)
    chunks = getattr(labels, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], (int, np.integer)):
        step = max(1, step // int(chunks[0])) * int(chunks[0])  # whole zarr chunks
    last = None
    for z0 in range(zs.start, zs.stop, step):
        z1 = min(zs.stop, z0 + step)
        slab = np.ascontiguousarray(labels[z0:z1, ys, xs])
        if last is not None:  # pairs between the previous slab's last plane and this one
            yield np.concatenate([last[np.newaxis], slab[:1]]), 1, z0 - 1
        own = len(slab) if z1 == zs.stop else len(slab) - 1
        if own:
            yield slab, own, z0
        last = slab[-1]


def scan_block(block, owned: int, offsets: np.ndarray):
    """Contacts whose first voxel lies in the first ``owned`` planes of ``block``.

    Returns ``(g, a, b, counts)``: the flat index in ``block`` of the first
    voxel and the two ids, ordered by offset; ``counts[k]`` of them are pairs
    along ``offsets[k]``.
    """
    if block.dtype == bool:
        block = block.view(np.uint8)
    nz, ny, nx = block.shape
    flat = block.reshape(-1)
    size, own = flat.size, owned * ny * nx
    strides = offsets @ np.array([ny * nx, nx, 1], dtype=np.int64)
    # offsets with dz == 0 read at most one row ahead, those with dz == 1 about a plane;
    # strides <= 0 only occur when ny or nx is 1, and then every such pair wraps around
    groups = []
    for dz in (0, 1):
        group = [(k, int(s), int(offsets[k, 1]), int(offsets[k, 2]))
                 for k, s in enumerate(strides) if offsets[k, 0] == dz and s > 0]
        if group:
            groups.append((min(g[1] for g in group), max(g[1] for g in group), group))
    step = max(1, _CHUNK // nx) * nx  # whole rows, so wrapped pairs sit in known places
    work = np.empty(min(step, own), dtype=bool)
    hits: list[list[tuple[np.ndarray, ...]]] = [[] for _ in offsets]
    for i0 in range(0, own, step):
        i1 = min(own, i0 + step)
        grid = work[:i1 - i0].reshape(-1, nx)
        r0 = i0 // nx
        near = None
        for smin, smax, group in groups:
            lo = i0 if near is None else i0 + smin
            if lo >= size:
                continue
            nonzero = flat[lo:min(size, i1 + smax)] != 0
            if near is None:
                near = nonzero  # starts at i0, so it is also the mask of the first voxels
            for k, s, dy, dx in group:
                n = min(i1, size - s) - i0
                if n <= 0:
                    continue
                w = work[:n]
                np.not_equal(flat[i0:i0 + n], flat[i0 + s:i0 + s + n], out=w)
                w &= near[:n]
                w &= nonzero[i0 + s - lo:i0 + s - lo + n]
                work[n:i1 - i0] = False
                if dx:  # the neighbour would lie past an x or a y face
                    grid[:, 0 if dx < 0 else nx - 1] = False
                if dy:
                    grid[(-r0 if dy < 0 else ny - 1 - r0) % ny::ny] = False
                h = np.flatnonzero(work[:i1 - i0])
                if h.size:
                    h += i0
                    hits[k].append((h, flat[h], flat[h + s]))
    counts = np.array([sum(len(h[0]) for h in part) for part in hits], dtype=np.int64)
    found = [h for part in hits for h in part]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, flat[:0], flat[:0], counts
    return (*(np.concatenate([h[i] for h in found]) for i in range(3)), counts)


def coordinates(g, counts, offsets, shape, origin):
    """Global ``first`` and ``second`` voxels, shape (N, 3), of flat indices ``g``.

    ``g`` indexes a block of ``shape`` whose first voxel is ``origin``; the
    first ``counts[0]`` pairs go along ``offsets[0]``, and so on.
    """
    _, ny, nx = shape
    first = np.empty((3, len(g)), dtype=np.int64)  # rows are the z, y and x columns
    np.floor_divide(g, nx, out=first[1])
    np.floor_divide(first[1], ny, out=first[0])
    np.multiply(first[1], nx, out=first[2])
    np.subtract(g, first[2], out=first[2])
    first[1] -= first[0] * ny
    first += np.asarray(origin, dtype=np.int64)[:, None]
    second = np.empty_like(first)
    stops = np.cumsum(counts)
    for off, a, b in zip(offsets, stops - counts, stops):
        np.add(first[:, a:b], off[:, None], out=second[:, a:b])
    return first.T, second.T


def dedupe_keys(keys: np.ndarray) -> np.ndarray:
    """Sorted unique values; drops runs of repeats first (contacts come in runs).

    A plain sort is several times faster here than ``np.unique``'s hashing.
    """
    for i in range(2):
        if keys.size > 1:
            keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
        if not i:
            keys = np.sort(keys)
    return keys


def unique_pairs(lo: np.ndarray, hi: np.ndarray, counts: bool = False):
    """Unique rows of ``(lo, hi)`` sorted lexicographically (and how often each occurs)."""
    dt = np.result_type(lo.dtype, hi.dtype) if lo.size else lo.dtype
    if lo.size and lo.min() >= 0 and hi.max() < 2**32:
        keys = lo.astype(np.uint64)
        keys <<= np.uint64(32)
        np.bitwise_or(keys, hi, out=keys, dtype=np.uint64, casting="unsafe")  # hi >= 0 here
        if counts:
            keys = np.sort(keys)
            start = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
            keys, n = keys[start], np.diff(np.append(start, keys.size))
        else:
            keys, n = dedupe_keys(keys), None
        rows = np.stack([keys >> np.uint64(32), keys & np.uint64(2**32 - 1)], axis=1)
        return (rows.astype(dt), n) if counts else rows.astype(dt)
    order = np.lexsort((hi, lo))
    lo, hi = lo[order], hi[order]
    start = np.ones(lo.size, dtype=bool)
    start[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    rows = np.stack([lo[start], hi[start]], axis=1).astype(dt).reshape(-1, 2)
    if not counts:
        return rows
    return rows, np.diff(np.append(np.flatnonzero(start), lo.size))


def merged_counts(rows: list, counts: list) -> dict[tuple[int, int], int]:
    """``{(lo, hi): n}`` of several ``unique_pairs(..., counts=True)`` results, counts summed.

    Examples
    --------
    >>> rows = [np.array([[1, 2], [1, 3]]), np.array([[1, 3]])]
    >>> merged_counts(rows, [np.array([4, 1]), np.array([2])])
    {(1, 2): 4, (1, 3): 3}
    """
    if not rows:
        return {}
    lo, hi = (np.concatenate([r[:, i] for r in rows]) for i in (0, 1))
    n = np.concatenate(counts)
    if len(rows) > 1:
        unique, at = pair_index(lo, hi)
        lo, hi, n = unique[:, 0], unique[:, 1], np.bincount(at, weights=n, minlength=len(unique)).astype(np.int64)
    return {(int(p), int(q)): int(k) for p, q, k in zip(lo.tolist(), hi.tolist(), n.tolist())}


def unique_voxels(v: np.ndarray) -> np.ndarray:
    """Unique rows of ``(K, 3)`` non-negative voxel indices, sorted lexicographically."""
    if not len(v):
        return np.zeros((0, 3), dtype=np.int64)
    dims = v.max(axis=0) + 1
    if float(np.prod(dims.astype(float))) < 2**62:
        flat = np.unique(np.ravel_multi_index(v.T, dims))
        return np.stack(np.unravel_index(flat, dims), axis=1).astype(np.int64)
    return np.unique(v, axis=0)


def pair_index(lo: np.ndarray, hi: np.ndarray):
    """Unique ``(lo, hi)`` rows and, for every input row, the index of its unique row."""
    if lo.size and lo.min() >= 0 and hi.max() < 2**32:
        keys = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
        keys, inv = np.unique(keys, return_inverse=True)
        rows = np.stack([keys >> np.uint64(32), keys & np.uint64(2**32 - 1)], axis=1)
        return rows.astype(lo.dtype), inv.reshape(-1)
    rows, inv = np.unique(np.stack([lo, hi], axis=1).reshape(-1, 2), axis=0, return_inverse=True)
    return rows, inv.reshape(-1)


def id_counts(data: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """How many voxels of ``data`` hold each of ``ids``."""
    flat = data.reshape(-1)
    if not flat.size or not ids.size:
        return np.zeros(ids.size, dtype=np.int64)
    top = int(flat.max())
    if flat.dtype.kind in "bu" and top < 2**24 or flat.dtype.kind == "i" and flat.min() >= 0 \
            and top < 2**24:
        small = flat if flat.dtype.kind == "u" and flat.itemsize < 8 else flat.astype(np.intp)
        return np.bincount(small, minlength=top + 1)[ids.astype(np.int64)]
    values, counts = np.unique(flat, return_counts=True)
    at = np.clip(np.searchsorted(values, ids), 0, len(values) - 1)
    return np.where(values[at] == ids, counts[at], 0)


def same_contacts(x, y, shape) -> bool:
    """Whether two sets of contacts (``first``, ``second``, ``a``, ``b``) are equal."""
    if len(x.a) != len(y.a):
        return False
    sides = []
    for c in (x, y):
        code = (c.second - c.first + 1) @ np.array([9, 3, 1])
        key = np.ravel_multi_index(c.first.T, shape) * 27 + code
        order = np.argsort(key)
        sides.append((key[order], c.a[order], c.b[order]))
    return all(np.array_equal(p, q) for p, q in zip(*sides))


def bucket_order(first: np.ndarray, bucket, grid):
    """``(order, keys, starts)``: the rows of ``first`` ordered by bucket (stable), the
    bucket keys present, and where each bucket's rows begin in ``order`` (one more
    entry: the end), so bucket ``keys[i]`` holds ``order[starts[i]:starts[i + 1]]``."""
    if not len(first):
        return np.zeros(0, np.intp), [], np.zeros(1, np.intp)
    lin = np.ravel_multi_index((first // np.asarray(bucket)).T, grid)
    if int(np.prod(grid)) <= 1 << 16:
        lin = lin.astype(np.uint16)  # numpy sorts 16-bit integers stably by radix: several times faster
    order = np.argsort(lin, kind="stable")
    lin = lin[order]
    starts = np.flatnonzero(np.concatenate([[True], lin[1:] != lin[:-1], [True]]))
    keys = list(zip(*(k.tolist() for k in np.unravel_index(lin[starts[:-1]], grid))))
    return order, keys, starts


def inside_buckets(buckets: dict, box, bucket):
    """``(key, contacts, inside)`` for the buckets overlapping ``box`` (3 slices)
    that hold contacts with both voxels inside it; ``inside`` marks those rows."""
    lo = np.array([s.start for s in box])
    hi = np.array([s.stop for s in box])
    found = []
    for key in itertools.product(*(range(s.start // b, (s.stop - 1) // b + 1)
                                   for s, b in zip(box, bucket))):
        c = buckets.get(key)
        if c is not None:
            inside = ((c.first >= lo) & (c.first < hi) & (c.second >= lo)
                      & (c.second < hi)).all(axis=1)
            if inside.any():
                found.append((key, c, inside))
    return found


def group_by_pair(a: np.ndarray, b: np.ndarray):
    """``(rows, first column of rows, order, starts)``: the unique pairs; the
    contacts of pair ``i`` are ``order[starts[i]:starts[i + 1]]``."""
    rows, inv = pair_index(np.minimum(a, b), np.maximum(a, b))
    order = np.argsort(inv, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=len(rows)))])
    rows = rows.reshape(-1, 2)
    return rows, np.ascontiguousarray(rows[:, 0]), order, starts


def find_row(rows: np.ndarray, col: np.ndarray, lo, hi) -> int:
    """Index of the row ``(lo, hi)`` of lexicographically sorted ``rows`` (whose
    first column is ``col``), or -1."""
    i0, i1 = (int(np.searchsorted(col, lo, side=side)) for side in ("left", "right"))
    i = i0 + int(np.searchsorted(rows[i0:i1, 1], hi))
    return i if i < i1 and rows[i, 1] == hi else -1
