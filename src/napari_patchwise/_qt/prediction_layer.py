"""The prediction evaluated, as a Labels layer named ``prediction`` on the image it predicts.

The file is opened by the engine (:func:`~napari_patchwise.engine.evaluate.prediction.open_prediction`:
the same shape check and kind as the evaluation) and read lazily: a volume
that is not in memory is wrapped in a dask array, so only the slices shown are
read. A probability map is shown thresholded (foreground 1), as it was
evaluated. A prediction of the image's shape sits on the image; one of the
annotation grid's sits where the annotation layers do.
"""

from __future__ import annotations

import numpy as np

from ..engine.evaluate.prediction import open_prediction
from ..engine.io.lazy import lazy_volume
from ..layers.annotation_layers import annotation_transform

#: The name of the layer (one per viewer: shown again, it is replaced).
PREDICTION_NAME = "prediction"
#: The layer's metadata key: what it shows (:func:`shown_key`).
PREDICTION_KEY = "patchwise prediction"


def prediction_layer_data(path, plan, kind: str = "auto", threshold: float = 0.5) -> tuple:
    """``(data, kwargs)`` of a Labels layer showing the prediction at ``path`` of ``plan``'s image.

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`~napari_patchwise.engine.evaluate.prediction.open_prediction` does.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 8, 8), voxel_size=(2.0, 1.0, 1.0)), magnification=(1, 2, 2))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/p.npy", np.full((4, 4, 4), 0.7, "float32"))
    ...     data, kw = prediction_layer_data(f"{tmp}/p.npy", plan)
    ...     print(data.dtype, int(np.asarray(data).max()), kw["scale"], kw["name"])
    uint8 1 (2.0, 2.0, 2.0) prediction
    """
    pred = open_prediction(path, plan, kind, threshold)
    data = pred.data
    if not isinstance(data, np.ndarray) or isinstance(data, np.memmap):  # on disk: read the slices shown
        data = lazy_volume(data)
    if pred.kind == "probability":
        data = (data >= pred.threshold).astype(np.uint8)
    elif np.dtype(data.dtype).kind == "b":
        data = data.astype(np.uint8)
    if pred.full_resolution:
        where = {"scale": tuple(plan.image.voxel_size), "translate": (0.0, 0.0, 0.0)}
    else:
        where = annotation_transform(plan)
    meta = {PREDICTION_KEY: shown_key(path, kind, threshold)}
    return data, {"name": PREDICTION_NAME, "opacity": 0.5, "metadata": meta, "units": (plan.image.unit,) * 3,
                  **where}


def shown_key(path, kind: str, threshold: float) -> str:
    """What a prediction layer shows, kept in its metadata: a click on the same shows it again only when this differs.

    Examples
    --------
    >>> shown_key("p.tif", "auto", 0.5)
    'p.tif (auto, threshold 0.5)'
    """
    return f"{path} ({kind}, threshold {float(threshold):g})"


def show_prediction(viewer, path, plan, kind: str = "auto", threshold: float = 0.5):
    """Add the ``prediction`` layer to ``viewer``, replacing the one it has; returns the layer."""
    data, kwargs = prediction_layer_data(path, plan, kind, threshold)
    if PREDICTION_NAME in viewer.layers:
        viewer.layers.remove(viewer.layers[PREDICTION_NAME])
    return viewer.add_labels(data, **kwargs)
