"""What a report holds, and the pure rules that order and group its numbers.

:class:`ReportContent` is everything the page shows, already computed
(scores, pictures as PNG bytes, the advice); :func:`.html.render_html` turns it
into a page. The rules here choose the metric a box is judged by
(:func:`headline`), order boxes worst-first (:func:`worst_first`) and group
evaluated boxes by annotation round (:func:`by_round`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..evaluate.tally import pooled

__all__ = ["ReportContent", "Thumbnail", "by_round", "headline", "worst_first"]

#: The label of the one group when no box has a round.
ALL_BOXES = "all boxes"


@dataclass(frozen=True)
class Thumbnail:
    """One worst box's picture: a mid-z plane with outlines, and what it shows."""

    image: str
    box_id: int
    metric: str
    value: float | None
    z: int
    png: bytes = field(repr=False)


@dataclass(frozen=True)
class ReportContent:
    """Everything a report page shows.

    Attributes
    ----------
    title : str
    created : str
        When (ISO 8601, UTC).
    project : str
    evaluation : dict
        ``EvaluateResult.to_dict()``.
    predictions : mapping of str to str
        Per image, the prediction file and its kind (``"path (instances)"``).
    settings : dict
        Threshold, split, ... as given.
    summary : dict
        ``{"images": [{"name", "domain", "boxes", "annotated", "by_status"}], "findings": int,
        "finding_codes": [...]}``.
    rounds : list of (str, dict)
        Per round (label), the pooled scores of its boxes.
    history : list of dict
        Saved evaluations (``number``, ``created``, ``prediction``, ``overall``).
    figures : mapping of str to bytes
        PNGs by name: ``per_box``, ``per_stratum``, ``by_round``, ``history``.
    thumbnails : tuple of Thumbnail
    advice : dict or None
        ``Advice.to_dict()`` with ``"on"``: what was measured.
    notes : tuple of str
        Said at the top (rounds missing, a thumbnail not drawn, where the evaluation was saved).
    """

    title: str
    created: str
    project: str
    evaluation: dict
    predictions: Mapping[str, str]
    settings: dict
    summary: dict
    rounds: list
    history: list
    figures: Mapping[str, bytes]
    thumbnails: tuple = ()
    advice: dict | None = None
    notes: tuple = ()


def headline(scores: Mapping) -> str:
    """The metric a box is judged by: ``'f1'`` when objects were matched, else ``'dice'``.

    Examples
    --------
    >>> headline({"dice": 0.8, "f1": 0.5}), headline({"dice": 0.8, "f1": None})
    ('f1', 'dice')
    """
    return "f1" if scores.get("f1") is not None else "dice"


def worst_first(boxes: Sequence[Mapping], metric: str | None = None) -> list:
    """Boxes sorted by their metric, lowest first; boxes without a value come last.

    Parameters
    ----------
    boxes : sequence of dict
        Rows of ``EvaluateResult.to_dict()["boxes"]``.
    metric : str, optional
        Default: each row's :func:`headline` metric when any row has an F1,
        else Dice (one metric for all rows).

    Examples
    --------
    >>> rows = [{"id": 1, "dice": 0.9, "f1": 0.8}, {"id": 2, "dice": 0.7, "f1": None},
    ...         {"id": 3, "dice": 0.95, "f1": 0.4}]
    >>> [r["id"] for r in worst_first(rows)]
    [3, 1, 2]
    >>> [r["id"] for r in worst_first(rows, "dice")]
    [2, 1, 3]
    """
    if metric is None:
        metric = "f1" if any(r.get("f1") is not None for r in boxes) else "dice"
    key = {id(r): (r.get(metric) is None, r.get(metric) or 0.0, k) for k, r in enumerate(boxes)}
    return sorted(boxes, key=lambda r: key[id(r)])


def by_round(rows, rounds: Mapping[tuple[str, int], int | None], thresholds) -> tuple[list, bool]:
    """Pooled scores of the evaluated boxes of each annotation round.

    Parameters
    ----------
    rows : sequence of BoxResult
        ``EvaluateResult.rows``.
    rounds : mapping of (image, box id) to int or None
        Each box's round (``None``: none recorded).
    thresholds : sequence of float
        The IoU thresholds (for an empty pool).

    Returns
    -------
    groups : list of (str, dict)
        ``("round N", scores)`` in round order, then ``("no round", ...)``;
        ``[("all boxes", ...)]`` when no box has a round.
    any_round : bool
        Whether any box had one.

    Examples
    --------
    >>> from napari_patchwise.engine.evaluate.run import BoxResult
    >>> from napari_patchwise.engine.evaluate.tally import Tally
    >>> rows = [BoxResult("a", i, None, Tally((0.5,), {"c": c}, voxels=1))
    ...         for i, c in [(1, (1, 1, 0)), (2, (3, 0, 1)), (3, (1, 0, 0))]]
    >>> groups, any_round = by_round(rows, {("a", 1): 1, ("a", 2): 2, ("a", 3): 2}, (0.5,))
    >>> any_round, [(label, s["boxes"], round(s["dice"], 3)) for label, s in groups]
    (True, [('round 1', 1, 0.667), ('round 2', 2, 0.889)])
    >>> by_round(rows, {}, (0.5,))[0][0][0]
    'all boxes'
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault(rounds.get((r.image, r.box_id)), []).append(r.tally)
    any_round = any(k is not None for k in groups)
    if not any_round:
        return [(ALL_BOXES, pooled(groups.get(None, []), thresholds).scores())], False
    out = [(f"round {k}", pooled(v, thresholds).scores()) for k, v in sorted(
        ((k, v) for k, v in groups.items() if k is not None), key=lambda kv: kv[0])]
    if None in groups:
        out.append(("no round", pooled(groups[None], thresholds).scores()))
    return out, True
