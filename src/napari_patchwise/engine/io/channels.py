"""What proposal and seeding measure on an image with several channels: one channel, or all.

An image with channels is read as ``(c, z, y, x)``. Proposal and seeding
measure one 3D volume: :func:`measured_channel` gives the chosen channel, or
(``channel=None``) the mean of every channel, each first normalised to its own
robust contrast limits (0.5th to 99.8th percentile of a sample), so a bright
channel does not drown a dim one. Both are lazy: a slice reads only its part of
every channel. Export writes every channel as it is stored.

A TIFF may name its channels (:func:`tiff_channel_names`): an OME-TIFF's
``Channel Name``, or the labels ImageJ / Fiji saves (``Labels``, one per
channel or per plane); ``--channel-names`` then need not give them.

Examples
--------
>>> data = np.stack([np.arange(64.0).reshape(1, 8, 8), 10 * np.arange(64.0).reshape(1, 8, 8)])
>>> measured_channel(data, 1).shape, float(measured_channel(data, 1)[0, 0, 5])
((1, 8, 8), 50.0)
>>> mean = np.asarray(measured_channel(data, None))  # channel 1 is channel 0 times 10: same once normalised
>>> mean.dtype.name, bool(np.allclose(mean, np.asarray(measured_channel(data[:1], None)))), bool(mean.max() > 0.9)
('float32', True, True)
"""

from __future__ import annotations

import numpy as np

from .axes import _basic_key, ome_tiff_channel_names
from .contrast import robust_contrast_limits


def parse_channel(text, channels: int) -> int | None:
    """``--channel``: a channel index (``0`` .. ``channels-1``) or ``all`` (``None``).

    Examples
    --------
    >>> parse_channel("1", 2), parse_channel("all", 2)
    (1, None)
    >>> parse_channel("2", 2)
    Traceback (most recent call last):
    ...
    ValueError: --channel 2 is outside 0-1 (the image has 2 channels); give a channel number or all.
    """
    text = str(text).strip().lower()
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < channels:
        raise ValueError(f"--channel {text} is outside 0-{channels - 1} (the image has {channels} channels); "
                         "give a channel number or all.")
    return value


def parse_channel_names(text, channels: int) -> tuple[str, ...]:
    """``--channel-names DAPI,GFP``: one non-empty name per channel.

    Examples
    --------
    >>> parse_channel_names("DAPI, membrane", 2)
    ('DAPI', 'membrane')
    >>> parse_channel_names("DAPI", 2)
    Traceback (most recent call last):
    ...
    ValueError: --channel-names gives 1 name, but the image has 2 channels; give one name per channel, e.g. --channel-names nuclei,membrane.
    """
    names = tuple(n.strip() for n in str(text).split(","))
    if len(names) != channels or not all(names):
        raise ValueError(f"--channel-names gives {len(names)} name{'s' if len(names) != 1 else ''}, but the "
                         f"image has {channels} channels; give one name per channel, e.g. "
                         "--channel-names nuclei,membrane.")
    return names


def imagej_channel_names(labels, axes: str, shape) -> tuple[str, ...] | None:
    """Channel names from an ImageJ TIFF's ``Labels`` (its slice labels), or ``None``.

    ``axes`` and ``shape`` are the file's series (e.g. ``'ZCYX'``). The labels
    name the channels when there is one per channel, or one per plane (in the
    file's plane order) with every plane of a channel labelled alike (or left
    empty). Names must be different from each other: labels that repeat across
    channels (a file name on every plane) or that change along z (``z:1/10``)
    name planes, not channels.

    Examples
    --------
    >>> imagej_channel_names(["DAPI", "GFP"], "ZCYX", (3, 2, 8, 8))
    ('DAPI', 'GFP')
    >>> imagej_channel_names(["DAPI", "GFP", "", "", "DAPI", "GFP"], "ZCYX", (3, 2, 8, 8))
    ('DAPI', 'GFP')
    >>> imagej_channel_names(["z1", "z1", "z2", "z2"], "ZCYX", (2, 2, 8, 8)) is None  # plane labels
    True
    """
    axes = str(axes or "").upper()
    lead = axes[:-3] if axes.endswith("YXS") else axes[:-2]
    if "C" not in lead or isinstance(labels, (str, bytes)) or not isinstance(labels, (list, tuple)):
        return None
    lead_shape = tuple(int(n) for n in tuple(shape)[:len(lead)])
    channels = lead_shape[lead.index("C")]
    texts = [str(t or "").strip() for t in labels]
    if len(texts) == channels:
        names = tuple(texts)
    elif len(texts) == int(np.prod(lead_shape)):
        per = [set() for _ in range(channels)]
        for plane, text in enumerate(texts):
            if text:
                per[int(np.unravel_index(plane, lead_shape)[lead.index("C")])].add(text)
        if not all(len(p) == 1 for p in per):
            return None
        names = tuple(p.pop() for p in per)
    else:
        return None
    return names if all(names) and len(set(names)) == len(names) else None


def tiff_channel_names(tif) -> tuple[str, ...] | None:
    """The channel names a TIFF file records: an OME-TIFF's ``Channel Name``, else an ImageJ
    TIFF's labels (:func:`imagej_channel_names`); ``None`` when it records none.

    Examples
    --------
    >>> import tempfile, tifffile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     tifffile.imwrite(f"{tmp}/ij.tif", np.zeros((3, 2, 8, 8), "uint8"), imagej=True,
    ...                      metadata={"axes": "ZCYX", "Labels": ["DAPI", "GFP"]})
    ...     with tifffile.TiffFile(f"{tmp}/ij.tif") as tif:
    ...         print(tiff_channel_names(tif))
    ('DAPI', 'GFP')
    """
    names = ome_tiff_channel_names(tif)
    if names is not None:
        return names
    meta = getattr(tif, "imagej_metadata", None)
    if not meta or not getattr(tif, "series", None):
        return None
    series = tif.series[0]
    return imagej_channel_names(meta.get("Labels"), getattr(series, "axes", ""), series.shape)


class _ChannelMean:
    """The mean of normalised channels of a ``(c, z, y, x)`` array, read when sliced."""

    def __init__(self, data, limits):
        self.data = data
        self.limits = np.asarray(limits, np.float32)  # (c, 2)
        self.shape = tuple(int(s) for s in data.shape[1:])
        self.ndim = 3
        self.dtype = np.dtype(np.float32)
        chunks = getattr(data, "chunks", None)
        if isinstance(chunks, tuple) and len(chunks) == 4 and all(isinstance(c, int) for c in chunks):
            self.chunks = chunks[1:]

    def __getitem__(self, key):
        key = tuple(_basic_key(key, 3))
        block = np.asarray(self.data[(slice(None),) + key], np.float32)
        lo = self.limits[:, 0].reshape((-1,) + (1,) * (block.ndim - 1))
        span = (self.limits[:, 1] - self.limits[:, 0]).reshape(lo.shape)
        return ((block - lo) / span).mean(axis=0, dtype=np.float32)

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out.astype(dtype, copy=False) if dtype is not None else out


class _OneChannel:
    """Channel ``channel`` of a ``(c, z, y, x)`` array, read when sliced."""

    def __init__(self, data, channel: int):
        self.data, self.channel = data, int(channel)
        self.shape = tuple(int(s) for s in data.shape[1:])
        self.ndim = 3
        self.dtype = np.dtype(data.dtype)
        chunks = getattr(data, "chunks", None)
        if isinstance(chunks, tuple) and len(chunks) == 4 and all(isinstance(c, int) for c in chunks):
            self.chunks = chunks[1:]

    def __getitem__(self, key):
        return np.asarray(self.data[(self.channel,) + tuple(_basic_key(key, 3))])

    def __array__(self, dtype=None, copy=None):
        out = self[...]
        return out.astype(dtype, copy=False) if dtype is not None else out


def measured_channel(data, channel: int | None):
    """The 3D volume proposal and seeding measure: ``data`` itself when 3D; of a
    ``(c, z, y, x)`` array, channel ``channel``, or (``None``) the mean of the
    channels each normalised to its robust contrast limits (float32)."""
    if len(data.shape) == 3:
        return data
    if len(data.shape) != 4:
        raise ValueError(f"expected a (z, y, x) or (c, z, y, x) image; got shape {tuple(data.shape)}.")
    if channel is not None:
        return _OneChannel(data, channel)
    limits = [robust_contrast_limits(_OneChannel(data, c)) for c in range(int(data.shape[0]))]
    return _ChannelMean(data, limits)


def read_measured(path, image):
    """The 3D volume proposal and seeding measure of a plan's image ``image`` (an
    :class:`~napari_patchwise.engine.plan.image_ref.ImageRef`) stored at ``path``:
    its time point, and its chosen channel (or the mean of its channels)."""
    from .volumes import read_volume

    return measured_channel(read_volume(path, **image.read_options()).data, image.channel)
