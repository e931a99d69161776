"""Which axis of a file is time, channel, z, y and x: the one rule every reader follows.

A file's axes come from its metadata (tifffile's ``series.axes`` for ImageJ and
OME-TIFF, the ``axes`` of OME-Zarr multiscales) or from the user (``--axes
TZYX``) when the file records none or records them wrong. Axes of length one
are dropped; what is left must be ``Z``, ``Y`` and ``X`` with at most a time
axis ``T`` and a channel axis ``C``. :class:`AxisView` then shows one time
point of such an array as ``(z, y, x)`` or ``(c, z, y, x)`` without reading
anything until it is sliced, and :class:`TiffPages` reads a compressed TIFF
one page (one plane) at a time, so one time point of a long series never
reads the others.

Examples
--------
>>> resolve_axes((20, 5, 64, 64), None, "tzyx")
'TZYX'
>>> view = AxisView(np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5), "TZYX", time=1)
>>> view.shape, int(view[0, 0, 0]), view[2, 1:3, 4].tolist()
((3, 4, 5), 60, [109, 114])
"""

from __future__ import annotations

import re
import threading

import numpy as np

#: The axes patchwise knows: time, channel, z, y, x.
AXIS_LETTERS = "TCZYX"
#: tifffile's letters for axes it cannot name (``Q``: unknown, ``I``: image sequence).
_UNKNOWN_TIFF_AXES = set("QIS")


def parse_axes(text, ndim: int | None = None) -> str:
    """``text`` (e.g. ``'tzyx'``) as upper-case axes, checked: letters of ``TCZYX``, each once,
    ``Z``, ``Y`` and ``X`` among them, one per dimension when ``ndim`` is given.

    Examples
    --------
    >>> parse_axes("czyx"), parse_axes("ZCYX", ndim=4)
    ('CZYX', 'ZCYX')
    >>> parse_axes("TYX")
    Traceback (most recent call last):
    ...
    ValueError: axes 'TYX' must name z, y and x (patchwise plans 3D boxes) with at most t (time) and c (channel), each once, e.g. TZYX, CZYX, TCZYX.
    >>> parse_axes("TZYX", ndim=5)
    Traceback (most recent call last):
    ...
    ValueError: axes 'TZYX' name 4 axes, but the image has 5; give one letter per axis, e.g. TCZYX.
    """
    axes = str(text).strip().upper()
    if (not axes or set(axes) - set(AXIS_LETTERS) or len(set(axes)) != len(axes)
            or not set("ZYX") <= set(axes)):
        raise ValueError(
            f"axes {text!r} must name z, y and x (patchwise plans 3D boxes) with at most t (time) and "
            "c (channel), each once, e.g. TZYX, CZYX, TCZYX.")
    if ndim is not None and len(axes) != ndim:
        example = {3: "ZYX", 4: "TZYX or CZYX", 5: "TCZYX"}.get(ndim, "TCZYX")
        raise ValueError(f"axes {text!r} name {len(axes)} axes, but the image has {ndim}; give one letter "
                         f"per axis, e.g. {example}.")
    return axes


def tiff_axes(series) -> str | None:
    """The axes a TIFF series records (tifffile's ``series.axes``), or ``None`` when it names
    some axis only as unknown (``Q``, ``I``) or as samples of a colour page (``S``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tiff_axes(SimpleNamespace(axes="TZYX")), tiff_axes(SimpleNamespace(axes="QQYX"))
    ('TZYX', None)
    """
    axes = str(getattr(series, "axes", "") or "").upper()
    if not axes or set(axes) & _UNKNOWN_TIFF_AXES or set(axes) - set(AXIS_LETTERS):
        return None
    return axes


def ome_tiff_channel_names(tif) -> tuple[str, ...] | None:
    """The channel names an OME-TIFF records for its first image (``Channel Name``), or ``None``."""
    if not getattr(tif, "is_ome", False):
        return None
    import tifffile

    try:
        image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
        pixels = (image[0] if isinstance(image, list) else image)["Pixels"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    channels = pixels.get("Channel") or []
    channels = channels if isinstance(channels, list) else [channels]
    names = tuple(str(c.get("Name") or "").strip() if isinstance(c, dict) else "" for c in channels)
    return names if names and all(names) else None


def ngff_channel_names(attrs) -> tuple[str, ...] | None:
    """The channel labels of an OME-Zarr image (``omero.channels[].label``), or ``None``.

    Examples
    --------
    >>> ngff_channel_names({"omero": {"channels": [{"label": "DAPI"}, {"label": "GFP"}]}})
    ('DAPI', 'GFP')
    """
    omero = attrs.get("omero") or (attrs.get("ome") or {}).get("omero") or {}
    channels = omero.get("channels") if isinstance(omero, dict) else None
    if not channels:
        return None
    names = tuple(str(c.get("label") or "").strip() if isinstance(c, dict) else "" for c in channels)
    return names if all(names) else None


def ngff_axes(multiscale) -> str | None:
    """The axes of an OME-Zarr multiscale (``axes``: names or ``{"name": ...}``), or ``None``.

    Examples
    --------
    >>> ngff_axes({"axes": [{"name": "t", "type": "time"}, {"name": "c"}, "z", "y", "x"]})
    'TCZYX'
    >>> ngff_axes({"datasets": []}) is None
    True
    """
    axes = multiscale.get("axes") if isinstance(multiscale, dict) else None
    if not axes:
        return None
    names = [a.get("name", "") if isinstance(a, dict) else str(a) for a in axes]
    text = "".join(n.upper() for n in names)
    if len(text) != len(names) or set(text) - set(AXIS_LETTERS):
        return None
    return text


def resolve_axes(shape, recorded: str | None, given: str | None = None, name: str = "the image") -> str:
    """The axes of an array of ``shape``: ``given`` (``--axes``) over ``recorded`` (the file's).

    Without either, a 3D array is ``ZYX`` and a larger one whose leading axes
    all have length one is ``ZYX`` after them (``Q`` for each); anything else
    is refused with its shape and the ``--axes`` to give.

    Returns
    -------
    str
        One letter per axis of ``shape`` (``Q``: a leading axis of length one).

    Examples
    --------
    >>> resolve_axes((1, 1, 4, 8, 8), None), resolve_axes((3, 4, 8, 8), "ZCYX")
    ('QQZYX', 'ZCYX')
    >>> resolve_axes((20, 5, 8, 8), None, name="cho.tif")
    Traceback (most recent call last):
    ...
    ValueError: cho.tif has shape (20, 5, 8, 8) and its metadata names no axes; patchwise needs one 3D (z, y, x) volume per image: say which axis is which with --axes (one letter per axis: TZYX for time points, CZYX for channels, TCZYX for both).
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 3:
        raise ValueError(f"{name} has shape {shape}; patchwise needs one 3D (z, y, x) volume (a z-stack).")
    if given:
        return parse_axes(given, len(shape))
    if recorded:
        try:
            return parse_axes(recorded, len(shape))
        except ValueError as e:
            raise ValueError(f"{name} records axes {recorded!r} for shape {shape}, which patchwise cannot use "
                             f"({e}); give the right ones with --axes.") from None
    if len(shape) == 3:
        return "ZYX"
    if len(shape) > 3 and all(s == 1 for s in shape[:-3]):
        return "Q" * (len(shape) - 3) + "ZYX"
    raise ValueError(
        f"{name} has shape {shape} and its metadata names no axes; patchwise needs one 3D (z, y, x) volume "
        "per image: say which axis is which with --axes (one letter per axis: TZYX for time points, CZYX "
        "for channels, TCZYX for both).")


def axis_length(shape, axes: str, letter: str) -> int:
    """The length of axis ``letter`` (1 when ``axes`` has none).

    Examples
    --------
    >>> axis_length((20, 5, 8, 8), "TZYX", "T"), axis_length((5, 8, 8), "ZYX", "C")
    (20, 1)
    """
    return int(shape[axes.index(letter)]) if letter in axes else 1


def parse_time_points(text: str, count: int) -> tuple[int, ...]:
    """Time points from ``0,5,10``, ranges ``0-19`` and steps ``0-19:5`` (mixed by commas), in order.

    Examples
    --------
    >>> parse_time_points("0,5,10", 20), parse_time_points("0-19:5", 20), parse_time_points("3-4,1", 20)
    ((0, 5, 10), (0, 5, 10, 15), (1, 3, 4))
    >>> parse_time_points("20", 20)
    Traceback (most recent call last):
    ...
    ValueError: time point 20 is outside 0-19 (the file has 20 time points).
    """
    picked: set[int] = set()
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?(?::\s*(\d+)\s*)?", part)
        if not m or (m.group(3) and not m.group(2)) or (m.group(3) and int(m.group(3)) < 1):
            raise ValueError(f"--time takes time points like 0,5,10 or ranges like 0-19 or 0-19:5; got {text!r}.")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        for t in (first, last):
            if t >= count:
                raise ValueError(f"time point {t} is outside 0-{count - 1} (the file has {count} time points).")
        if last < first:
            raise ValueError(f"--time range {part.strip()!r} runs backwards; write it as {last}-{first}.")
        picked.update(range(first, last + 1, int(m.group(3) or 1)))
    return tuple(sorted(picked))


def time_point_names(stem: str, times, count: int) -> list[str]:
    """Image names of time points: ``STEM_t000``, zero padded to the count's digits (at least 3).

    Examples
    --------
    >>> time_point_names("cho", [0, 5], 20), time_point_names("long", [7], 1500)
    (['cho_t000', 'cho_t005'], ['long_t0007'])
    """
    width = max(3, len(str(max(int(count) - 1, 0))))
    return [f"{stem}_t{int(t):0{width}d}" for t in times]


def _basic_key(key, ndim: int) -> list:
    """``key`` (ints, slices, ``...``) as one entry per axis; anything else is refused."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can have only one ellipsis")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (ndim - len(key) + 1) + key[i + 1:]
    if len(key) > ndim:
        raise IndexError(f"too many indices for an array of {ndim} dimensions")
    out = list(key) + [slice(None)] * (ndim - len(key))
    for k in out:
        if not isinstance(k, (slice, int, np.integer)):
            raise IndexError(f"only integers, slices and ... index a lazy view; got {k!r}")
    return out


class AxisView:
    """One time point of an array with axes ``axes``, as ``(z, y, x)`` or ``(c, z, y, x)``, read
    only when sliced (each slice reads only its part of the array underneath).

    Parameters
    ----------
    base : array-like
        Any array sliced with integers and slices (numpy, memmap, Zarr, h5py, :class:`TiffPages`).
    axes : str
        One letter per axis of ``base`` (``Q``: a dropped axis of length one).
    time : int or None
        The time point shown (needed when ``axes`` has ``T`` longer than one).

    Examples
    --------
    >>> base = np.arange(2 * 3 * 2 * 4 * 5).reshape(2, 3, 2, 4, 5)  # t, z, c, y, x
    >>> v = AxisView(base, "TZCYX", time=1)
    >>> v.shape, v.axes, bool((np.asarray(v) == base[1].transpose(1, 0, 2, 3)).all())
    ((2, 3, 4, 5), 'CZYX', True)
    """

    def __init__(self, base, axes: str, time: int | None = None):
        shape = tuple(int(s) for s in base.shape)
        if len(axes) != len(shape):
            raise ValueError(f"axes {axes!r} do not fit shape {shape}")
        fixed: dict[int, int] = {}
        for i, (a, n) in enumerate(zip(axes, shape)):
            if a == "Q" or (a in "TC" and n == 1):
                fixed[i] = 0
            elif a == "T":
                if time is None:
                    raise ValueError(f"the image has {n} time points; choose one.")
                if not 0 <= int(time) < n:
                    raise ValueError(f"time point {time} is outside 0-{n - 1} (the image has {n} time points).")
                fixed[i] = int(time)
        self.base = base
        self.fixed = fixed
        kept = [a for i, a in enumerate(axes) if i not in fixed]
        order = [a for a in "CZYX" if a in kept]
        self.axes = "".join(order)
        self._src = [axes.index(a) for a in order]  # base axis of each shown axis
        self.shape = tuple(shape[i] for i in self._src)
        self.dtype = np.dtype(base.dtype)
        self.ndim = len(self.shape)
        chunks = getattr(base, "chunks", None)
        if isinstance(chunks, tuple) and len(chunks) == len(shape) and all(isinstance(c, int) for c in chunks):
            self.chunks = tuple(int(chunks[i]) for i in self._src)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        key = _basic_key(key, self.ndim)
        base_key: list = [slice(None)] * len(self.base.shape)
        for i, v in self.fixed.items():
            base_key[i] = v
        for k, i in zip(key, self._src):
            base_key[i] = k
        out = np.asarray(self.base[tuple(base_key)])
        left = [i for i in range(len(base_key)) if not isinstance(base_key[i], (int, np.integer))]
        want = [i for k, i in zip(key, self._src) if not isinstance(k, (int, np.integer))]
        return out.transpose([left.index(i) for i in want]) if left != want else out

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out.astype(dtype, copy=False) if dtype is not None else out

    def __repr__(self) -> str:
        return f"AxisView(shape={self.shape}, axes={self.axes!r}, dtype={self.dtype})"


class TiffPages:
    """A TIFF series read plane by plane: slicing reads only the pages (planes) it needs.

    For files tifffile cannot memory-map (compressed or tiled). The file is
    opened at the first read and kept open (reads take turns); a pickled
    copy opens it again, so the object can go to threads and processes.

    Parameters
    ----------
    path : str or Path
    series : int
        The series of the file (0: the first).
    """

    def __init__(self, path, series: int = 0):
        import tifffile

        self.path = str(path)
        self.series = int(series)
        with tifffile.TiffFile(self.path) as tif:
            s = tif.series[self.series]
            self.shape = tuple(int(v) for v in s.shape)
            self.dtype = np.dtype(s.dtype)
            plane = tuple(int(v) for v in s.keyframe.shape)
        if self.shape[-len(plane):] != plane or len(plane) != 2:
            raise ValueError(f"{path}: pages of shape {plane} are not planes of one channel; save the image "
                             "with one plane per page (channels as separate planes).")
        self.ndim = len(self.shape)
        self.chunks = (1,) * (self.ndim - 2) + self.shape[-2:]
        self._lock = threading.Lock()
        self._tif = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_tif")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._tif = None

    def __del__(self):
        self.close()

    def close(self) -> None:
        """Close the file (the next read opens it again)."""
        tif, self._tif = getattr(self, "_tif", None), None
        if tif is not None:
            tif.close()

    def read_pages(self, pages: list[int]) -> np.ndarray:
        """The planes ``pages`` (indices into the series), stacked."""
        import tifffile

        with self._lock:
            if self._tif is None:
                self._tif = tifffile.TiffFile(self.path)
            out = self._tif.asarray(key=pages, series=self.series)
        return out.reshape((len(pages),) + self.shape[-2:])

    def __getitem__(self, key):
        key = _basic_key(key, self.ndim)
        lead, plane = key[:-2], tuple(key[-2:])
        ranges = [np.arange(n)[k] for n, k in zip(self.shape[:-2], lead)]
        grid = np.ix_(*[np.atleast_1d(r) for r in ranges]) if ranges else ()
        index = np.ravel_multi_index(grid, self.shape[:-2]) if ranges else np.zeros((), int)
        pages = [int(p) for p in np.ravel(index)]
        lead_shape = tuple(np.atleast_1d(r).size for r in ranges)
        if not pages:
            return np.empty(lead_shape + np.empty(self.shape[-2:])[plane].shape, self.dtype)
        out = self.read_pages(pages).reshape(lead_shape + self.shape[-2:])
        drop = tuple(0 if isinstance(k, (int, np.integer)) else slice(None) for k in lead)
        return out[drop + plane]

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out.astype(dtype, copy=False) if dtype is not None else out
