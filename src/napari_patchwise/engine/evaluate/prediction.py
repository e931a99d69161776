"""A model's prediction to evaluate: which file for which image, what it holds, read box by box.

A prediction is one file (a project of one image, or one image chosen) or a
folder with one file per image, named after the image (``NAME.tif``,
``NAME.h5``, ``NAME.zarr``, ...). Any volume :func:`..io.read_volume` reads
works: TIFF, Zarr / OME-Zarr, HDF5 (``file.h5:dataset``) and ``.npy``.

It holds one of three kinds of values (:data:`KINDS`):

``instances``
    integer object ids, 0 = background (one class of the plan);
``semantic``
    integer class values as the plan numbers them, 0 = background,
    ``1..K`` the classes in order;
``probability``
    floats in [0, 1], a voxel is foreground when its value is at least the
    threshold (one class of the plan).

``auto`` takes floats as a probability map, integers as semantic labels
when the plan has several classes and as instance ids otherwise.

Its shape must be the image's (full resolution) or the annotation grid's (the
image at the plan's magnification). A full-resolution prediction is brought to
the annotation grid box by box: labels by taking the first voxel of each
magnification block (the voxel the grid point stands on), probabilities by the
block mean (then thresholded).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry.magnification import Triple
from ..geometry.regions import region_to_full
from ..geometry.resample import downsample_mean
from ..io.filecheck import _is_zarr
from ..io.hdf5 import split_dataset
from ..io.volumes import FORMATS_HINT, read_volume

__all__ = ["KINDS", "Prediction", "open_prediction", "prediction_files"]

#: What a prediction holds (``auto``: decided from its dtype and the plan's classes).
KINDS = ("auto", "instances", "semantic", "probability")
#: File name endings a prediction file may have after the image's name.
_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".h5", ".hdf5", ".hdf", ".npy", ".zarr", ".ome.zarr")


def _is_folder_of_files(p: Path) -> bool:
    return p.is_dir() and not _is_zarr(p)


def _file_for(folder: Path, name: str) -> Path:
    """The file of ``folder`` named after image ``name`` (``NAME.<suffix>``, ``NAME.lzf.h5`` too)."""
    found = []
    for entry in sorted(folder.iterdir()):
        low, want = entry.name.lower(), name.lower()
        if not low.startswith(want + "."):
            continue
        rest = low[len(want):]
        if rest in _SUFFIXES or (rest.endswith((".h5", ".hdf5", ".tif", ".tiff")) and rest.count(".") == 2):
            found.append(entry)
    if len(found) > 1:
        raise ValueError(f"{folder} holds {len(found)} files for image {name!r} "
                         f"({', '.join(p.name for p in found)}); keep one of them there.")
    if not found:
        have = ", ".join(p.name for p in sorted(folder.iterdir())[:8]) or "nothing"
        raise ValueError(f"{folder} holds no prediction for image {name!r}: name its file after the image "
                         f"({name}.tif, {name}.h5, {name}.zarr ...); the folder holds {have}.")
    return found[0]


def prediction_files(prediction, names) -> dict[str, str]:
    """``{image name: path}``: the prediction of each image to evaluate.

    Parameters
    ----------
    prediction : path
        A file (or Zarr store, or ``file.h5:dataset``), used for the only
        image; or a folder with a file per image named after it.
    names : sequence of str
        The images evaluated.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for f in ("a.tif", "b.lzf.h5", "notes.txt"):
    ...         _ = Path(tmp, f).write_text("")
    ...     {k: Path(v).name for k, v in prediction_files(tmp, ["a", "b"]).items()}
    {'a': 'a.tif', 'b': 'b.lzf.h5'}
    """
    names = list(names)
    p, _ = split_dataset(prediction)
    if not p.exists():
        raise FileNotFoundError(f"no prediction at {p}; check the path.")
    if _is_folder_of_files(p):
        return {n: str(_file_for(p, n)) for n in names}
    if len(names) != 1:
        raise ValueError(
            f"{prediction} is one file but {len(names)} images are evaluated ({', '.join(names)}); give a "
            f"folder with one file per image named after it ({names[0]}.tif, ...), or choose one image "
            "with --images NAME.")
    return {names[0]: str(prediction)}


@dataclass(frozen=True, eq=False)
class Prediction:
    """One image's prediction, opened lazily (see :func:`open_prediction`).

    Attributes
    ----------
    path : str
    data : array-like
        The 3D volume as stored.
    kind : str
        ``'instances'``, ``'semantic'`` or ``'probability'``.
    magnification : tuple of int
        The plan's magnification.
    full_resolution : bool
        Whether ``data`` has the image's shape (else the annotation grid's).
    threshold : float
        Foreground from this probability on.
    """

    path: str
    data: object
    kind: str
    magnification: Triple
    full_resolution: bool
    threshold: float = 0.5

    def read(self, region) -> np.ndarray:
        """The values of an annotation-grid region (labels as int64, a probability map thresholded to 0/1).

        Examples
        --------
        >>> pred = Prediction("p", np.arange(8).reshape(1, 2, 4) / 10, "probability", (1, 2, 2), True, 0.3)
        >>> pred.read((slice(0, 1), slice(0, 1), slice(0, 2))).tolist()
        [[[0, 1]]]
        """
        m = self.magnification
        if self.full_resolution and m != (1, 1, 1):
            full = region_to_full(region, m, self.data.shape)
            block = np.asarray(self.data[full])
            if self.kind == "probability":
                block = downsample_mean(block, m)
            else:
                block = block[::m[0], ::m[1], ::m[2]]
        else:
            block = np.asarray(self.data[tuple(region)])
        if self.kind != "probability":
            if block.dtype.kind not in "biu":
                raise ValueError(f"{self.path} holds {block.dtype} values but is read as {self.kind} labels; "
                                 "give --kind probability for a probability map.")
            if block.dtype.kind == "i" and block.size and block.min() < 0:
                raise ValueError(f"{self.path} holds negative labels ({int(block.min())}); labels are 0 "
                                 "(background) and positive ids.")
            return block.astype(np.int64)
        block = block.astype(np.float64)
        if block.size and (np.nanmin(block) < 0 or np.nanmax(block) > 1):
            raise ValueError(
                f"{self.path} is read as a probability map but holds values from {np.nanmin(block):g} to "
                f"{np.nanmax(block):g}; probabilities lie in [0, 1]: rescale it, or give --kind instances "
                "(or semantic) for labels.")
        return (block >= self.threshold).astype(np.int64)


def _resolve_kind(kind: str, dtype, n_classes: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"the prediction kind must be one of {', '.join(KINDS)}; got {kind!r}.")
    if kind != "auto":
        return kind
    if np.dtype(dtype).kind == "f":
        return "probability"
    return "semantic" if n_classes > 1 else "instances"


def open_prediction(path, plan, kind: str = "auto", threshold: float = 0.5) -> Prediction:
    """Open a prediction for an image of ``plan`` and check its shape.

    Raises
    ------
    ValueError
        A shape that is neither the image's nor the annotation grid's (the
        message gives both and how to fix it), an unknown kind or a threshold
        outside [0, 1].

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 8, 8)), magnification=(1, 2, 2))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/p.npy", np.zeros((4, 4, 4), "uint16"))
    ...     pred = open_prediction(f"{tmp}/p.npy", plan)
    ...     print(pred.kind, pred.full_resolution)
    instances False
    """
    threshold = float(threshold)
    if not 0 <= threshold <= 1:
        raise ValueError(f"the probability threshold lies in [0, 1]; got {threshold}.")
    try:
        vol = read_volume(path)
    except ValueError as e:
        if "cannot read" in str(e) and FORMATS_HINT in str(e):
            raise ValueError(f"{e} (the prediction)") from None
        raise
    shape = tuple(int(s) for s in vol.data.shape)
    image_shape, grid = tuple(plan.image.shape), tuple(plan.annotation_shape)
    if shape == grid:
        full = False
    elif shape == image_shape:
        full = True
    else:
        at = "" if plan.magnification == (1, 1, 1) else \
            f" or the annotation grid {grid} (the image at magnification {tuple(plan.magnification)})"
        raise ValueError(
            f"the prediction {path} has shape {shape}; it must have the image's shape {image_shape}{at}. "
            "Predict on the whole image the project holds (not a crop), or resample the prediction to "
            "one of these shapes.")
    resolved = _resolve_kind(kind, vol.data.dtype, len(plan.classes))
    return Prediction(str(path), vol.data, resolved, tuple(plan.magnification), full, threshold)
