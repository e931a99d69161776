"""The report's pictures as PNG bytes, drawn by matplotlib (imported lazily, Agg canvas).

Every function returns the PNG's bytes; :func:`data_uri` turns them into an
``<img src>`` that needs no file beside the page. matplotlib is an optional
dependency (the ``report`` extra): a missing one raises an ``ImportError``
that says how to install it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np

__all__ = ["bars", "data_uri", "figure_class", "lines", "thumbnail"]

#: Colours: outlines of the annotation only, the prediction only, both; the bars of each metric.
ANNOTATION_COLOUR = (0.1, 0.9, 0.2)
PREDICTION_COLOUR = (1.0, 0.2, 0.9)
BOTH_COLOUR = (1.0, 1.0, 1.0)
METRIC_COLOURS = {"dice": "#4c72b0", "f1": "#dd8452", "iou": "#55a868", "ap": "#c44e52"}


def figure_class():
    """matplotlib's Figure: drawn by the Agg canvas savefig picks for PNG, whatever
    backend pyplot (or napari) uses; pyplot itself is never imported."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("the report draws its plots with matplotlib: pip install "
                          "'napari-patchwise[report]' (or pip install matplotlib).") from e
    return Figure


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for an ``<img src>``.

    Examples
    --------
    >>> data_uri(b"\\x89PNG")
    'data:image/png;base64,iVBORw=='
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def bars(labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str,
         ylabel: str = "score") -> bytes:
    """Grouped bars: one group per label, one bar per metric of ``series`` (``None``: no bar).

    Examples
    --------
    >>> png = bars(["box 1", "box 2"], {"dice": [0.5, 0.9], "f1": [None, 0.7]}, "per box")
    >>> png[:4]
    b'\\x89PNG'
    """
    Figure = figure_class()
    n = max(len(labels), 1)
    fig = Figure(figsize=(min(max(4.0, 0.45 * n + 2), 12.0), 3.2), dpi=90)
    ax = fig.add_subplot()
    names = [k for k, v in series.items() if any(x is not None for x in v)]
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(labels))
    for k, name in enumerate(names):
        values = [np.nan if v is None else float(v) for v in series[name]]
        ax.bar(x + (k - (len(names) - 1) / 2) * width, values, width, label=name,
               color=METRIC_COLOURS.get(name))
    ax.set_xticks(x, labels, rotation=60 if n > 8 else 0, ha="right" if n > 8 else "center", fontsize=8)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10, pad=22)
    ax.grid(axis="y", alpha=0.3)
    if names:
        ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(names), frameon=False)
    return _png(fig)


def lines(xs: Sequence, series: dict[str, Sequence[float | None]], title: str, xlabel: str) -> bytes:
    """A metric (or several) against rounds or evaluations, points joined by lines.

    Examples
    --------
    >>> lines([1, 2, 3], {"dice": [0.4, 0.6, None]}, "history", "evaluation")[:4]
    b'\\x89PNG'
    """
    Figure = figure_class()
    fig = Figure(figsize=(5.0, 3.0), dpi=90)
    ax = fig.add_subplot()
    pos = np.arange(len(xs))
    drawn = 0
    for name, values in series.items():
        v = np.array([np.nan if x is None else float(x) for x in values])
        if np.isfinite(v).any():
            ax.plot(pos, v, marker="o", label=name, color=METRIC_COLOURS.get(name))
            drawn += 1
    ax.set_xticks(pos, [str(x) for x in xs], fontsize=8)
    ax.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score")
    ax.set_title(title, fontsize=10, pad=22)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=drawn, frameon=False)
    return _png(fig)


def _contours(labels: np.ndarray) -> np.ndarray:
    """Where a 2D label image changes (the outlines of its objects and classes)."""
    from skimage.segmentation import find_boundaries

    return find_boundaries(labels, mode="inner") & (labels > 0)


#: Thumbnails are drawn about this many pixels across (voxels enlarged, outlines one pixel thin).
THUMB_PIXELS = 240


def thumbnail(raw: np.ndarray, annotation: np.ndarray, prediction: np.ndarray,
              not_evaluated: np.ndarray | None = None) -> bytes:
    """A 2D plane of the raw image with the annotation and prediction outlines.

    Outlines of the annotation alone are green, of the prediction alone
    magenta, of both white; voxels enlarged to about :data:`THUMB_PIXELS`
    pixels across so that outlines are thin.

    Parameters
    ----------
    raw : ndarray, shape (y, x)
        Intensities (shown between their 1st and 99th percentile).
    annotation, prediction : ndarray of int, shape (y, x)
        Labels (instance ids or class values; 0 is background).
    not_evaluated : ndarray of bool, optional
        Voxels not annotated (or ignored): shaded blue-grey, as they are not evaluated.

    Examples
    --------
    >>> raw = np.random.default_rng(0).random((16, 16))
    >>> lab = np.zeros((16, 16), int); lab[4:10, 4:10] = 1
    >>> thumbnail(raw, lab, np.roll(lab, 2, axis=1))[:4]
    b'\\x89PNG'
    """
    Figure = figure_class()
    raw = np.asarray(raw, dtype=np.float32)
    h, w = raw.shape
    k = max(1, THUMB_PIXELS // max(h, w, 1))
    up = lambda a: np.kron(np.asarray(a), np.ones((k, k), dtype=np.asarray(a).dtype))  # noqa: E731
    lo, hi = np.percentile(raw, (1, 99)) if raw.size else (0.0, 1.0)
    grey = np.clip((raw - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    rgb = np.repeat(up(grey)[..., None], 3, axis=-1)
    if not_evaluated is not None:
        mask = up(not_evaluated.astype(np.uint8)).astype(bool)
        rgb[mask] = rgb[mask] * 0.45 + np.array([0.25, 0.25, 0.45]) * 0.55
    ann = _contours(up(annotation))
    pred = _contours(up(prediction))
    rgb[pred & ~ann] = PREDICTION_COLOUR
    rgb[ann & ~pred] = ANNOTATION_COLOUR
    rgb[ann & pred] = BOTH_COLOUR
    fig = Figure(figsize=(rgb.shape[1] / 100, rgb.shape[0] / 100), dpi=100)
    fig.figimage(rgb, resize=True)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
