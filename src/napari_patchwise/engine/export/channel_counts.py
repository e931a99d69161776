"""One dataset, one number of channels: which formats need it, and the refusal when images differ.

A dataset written by the nnU-Net, StarDist or Cellpose export trains one
model, and a model takes one number of input channels: nnU-Net's
``dataset.json`` names one set of channels, StarDist's
``stardist_config.json`` one ``n_channel_in``, and Cellpose trains on planes
with one channel axis. So these exports refuse images with different channel
counts in one folder, counting the cases an earlier export left there
(:func:`check_channel_counts`). OME-Zarr writes each case as an image of its
own, with its own channel axis and names, so it takes images of any channel
counts together.

Examples
--------
>>> check_channel_counts("omezarr", {"cho": 1, "ovule": 2})  # every case holds its own channels
>>> check_channel_counts("nnunet", {"cho": 1, "plant": 1})
>>> check_channel_counts("stardist", {"cho": 1, "ovule": 2})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
napari_patchwise.engine.export.model.ExportError: the stardist export writes one dataset, but its images have different channel counts (cho 1, ovule 2): ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .model import ExportError

#: Formats whose dataset needs every image to have the same channels, and why.
SAME_CHANNELS = {
    "nnunet": "dataset.json names one set of input channels",
    "stardist": "stardist_config.json gives one n_channel_in",
    "cellpose": "a Cellpose model trains on planes with one number of channels",
}


def case_channels(entry: Mapping) -> int:
    """The channels of a case a manifest lists: the first of its four-dimensional ``shape``, else one.

    Examples
    --------
    >>> case_channels({"shape": [2, 8, 16, 16]}), case_channels({"shape": [8, 16, 16]}), case_channels({})
    (2, 1, 1)
    """
    shape = entry.get("shape") or []
    return int(shape[0]) if len(shape) == 4 else 1


def image_label(project: str, image: str | None, multi: bool) -> str:
    """How an image is named in the message: ``IMAGE``, or ``PROJECT:IMAGE`` with several projects.

    Examples
    --------
    >>> image_label("cells", "fib", False), image_label("cells", "fib", True), image_label("cells", None, True)
    ('fib', 'cells:fib', 'cells')
    """
    if image is None:
        return project
    return f"{project}:{image}" if multi else image


def counted(new: Mapping[str, int], old_cases: Iterable[Mapping], multi: bool) -> dict[str, int]:
    """Channels per image: the images exported now (``new``), then those of the cases already in the
    folder (manifest entries with ``project`` and, for a project of several images, ``image``).

    An image already exported with another number of channels than now is listed twice, the earlier
    one as ``LABEL (exported before)``.

    Examples
    --------
    >>> counted({"b": 2}, [{"project": "p", "image": "a", "shape": [8, 8, 8]},
    ...                    {"project": "p", "image": "b", "shape": [1, 8, 8, 8]}], False)
    {'b': 2, 'a': 1, 'b (exported before)': 1}
    """
    out = dict(new)
    for entry in old_cases:
        label = image_label(str(entry.get("project")), entry.get("image"), multi)
        channels = case_channels(entry)
        if out.setdefault(label, channels) != channels:
            out[f"{label} (exported before)"] = channels
    return out


def check_channel_counts(fmt: str, channels: Mapping[str, int]) -> None:
    """Refuse a dataset of the format ``fmt`` whose images (label to channel count) differ in channels.

    Raises
    ------
    ExportError
        For nnU-Net, StarDist and Cellpose (:data:`SAME_CHANNELS`) when the
        images do not all have the same number of channels: the message names
        each image with its count, why the format needs one count, and the fix.
    """
    if fmt not in SAME_CHANNELS or len(set(channels.values())) <= 1:
        return
    listed = ", ".join(f"{name} {n}" for name, n in channels.items())
    raise ExportError(
        f"the {fmt} export writes one dataset, but its images have different channel counts ({listed}): "
        f"{SAME_CHANNELS[fmt]}. Export the images with the same channels together (patchwise export "
        "--images NAME,...) and the others into another output folder, or export as omezarr, which "
        "writes each case with its own channels."
    )
