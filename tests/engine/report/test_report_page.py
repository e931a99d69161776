"""The report's pure parts: worst-first order, rounds, the HTML page (escaped, self-contained), the pictures."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest

from napari_patchwise.engine.evaluate.run import BoxResult
from napari_patchwise.engine.evaluate.tally import Tally
from napari_patchwise.engine.report import ReportContent, by_round, render_html, worst_first
from napari_patchwise.engine.report.content import Thumbnail

pytest.importorskip("matplotlib")
from napari_patchwise.engine.report import figures  # noqa: E402


def _scores(**kw):
    base = {"boxes": 1, "voxels": 10, "dice": None, "iou": None, "precision": None, "recall": None, "f1": None,
            "ap": None, "mean_matched_iou": None, "splits": None, "merges": None, "vi_split": None,
            "vi_merge": None, "classes": {}, "matching": []}
    return {**base, **kw}


def test_worst_first_puts_boxes_without_a_score_last_and_keeps_ties_in_order():
    rows = [{"id": i, "dice": d, "f1": f} for i, d, f in
            [(1, 0.9, None), (2, 0.2, 0.6), (3, 0.5, 0.6), (4, 0.99, 0.1)]]
    assert [r["id"] for r in worst_first(rows)] == [4, 2, 3, 1]
    assert [r["id"] for r in worst_first(rows, "dice")] == [2, 3, 1, 4]


@dataclass(frozen=True)
class _Box:  # a box of a plan that records rounds
    id: int
    round: int | None


def test_rounds_pool_counts_not_scores_and_list_boxes_without_a_round_last():
    t = (0.5,)
    rows = [BoxResult("a", 1, None, Tally(t, {"c": (1, 1, 0)}, voxels=2)),   # dice 2/3
            BoxResult("a", 2, None, Tally(t, {"c": (9, 0, 1)}, voxels=10)),  # dice 18/19
            BoxResult("b", 1, None, Tally(t, {"c": (0, 1, 1)}, voxels=2))]
    boxes = {("a", 1): _Box(1, 2), ("a", 2): _Box(2, 2), ("b", 1): _Box(1, None)}
    groups, any_round = by_round(rows, {k: getattr(b, "round", None) for k, b in boxes.items()}, t)
    assert any_round and [g for g, _ in groups] == ["round 2", "no round"]
    assert groups[0][1]["dice"] == pytest.approx(2 * 10 / (2 * 10 + 1 + 1))  # pooled: tp 10, fp 1, fn 1
    assert groups[0][1]["boxes"] == 2 and groups[1][1]["dice"] == 0.0


def _content(**kw):
    overall = _scores(boxes=2, voxels=20, dice=0.8125, f1=0.5)
    boxes = [{"id": 1, "image": "img<1>", "stratum": "dense", **_scores(dice=0.9, f1=0.75)},
             {"id": 2, "image": "img<1>", "stratum": None, **_scores(dice=0.7, f1=0.25)}]
    base = dict(title="T", created="2026-01-01T00:00:00+00:00", project="/p/<x>",
                evaluation={"iou_thresholds": [0.5], "overall": overall, "by_stratum": {"dense": overall},
                            "boxes": boxes},
                predictions={"img<1>": "pred.tif (instances)"}, settings={"threshold": 0.5},
                summary={"images": [{"name": "img<1>", "domain": None, "boxes": 2, "by_status": {"todo": 2},
                                     "annotated": 1234}], "findings": 1, "finding_codes": ["dtype-differs"]},
                rounds=[("all boxes", overall)], history=[{"number": 1, "created": "x", "prediction": "p",
                                                           "overall": overall}],
                figures={"per_box": b"\x89PNG-box", "history": b"\x89PNG-hist"},
                thumbnails=(Thumbnail("img<1>", 2, "f1", 0.25, 3, b"\x89PNG-thumb"),),
                advice={"problems": ["boundary"], "recommend": "stardist", "reasons": ["why <not>"],
                        "magnification": [1, 2, 2], "box_size": [16, 64, 64], "boxes": 10, "on": "box 1"},
                notes=("a note",))
    return ReportContent(**{**base, **kw})


def test_the_page_escapes_project_text_embeds_every_picture_and_links_nowhere():
    page = render_html(_content())
    assert "img&lt;1&gt;" in page and "img<1>" not in page and "why &lt;not&gt;" in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"https?://|<link|<script|@import|url\(", page)
    # worst first by F1: box 2 (0.25, marked bad) before box 1 (0.75)
    per_box = page[page.index("Per box, worst first (by F1)"):]
    assert per_box.index('<td class="bad">2</td>') < per_box.index("<td>1</td><td>dense</td>")
    assert "0.812" in page and "1,234" in page and "dtype-differs" in page and "a note" in page
    assert "F1 0.250" in page  # the thumbnail's caption: box, image, metric


def test_a_page_without_advice_or_history_says_so():
    page = render_html(_content(advice=None, history=[], thumbnails=()))
    assert "No advice" in page and "No evaluation saved yet" in page and "No box to show" in page


def test_pictures_are_png_and_outline_both_the_annotation_and_the_prediction():
    from PIL import Image
    import io

    raw = np.zeros((20, 20))
    ann = np.zeros((20, 20), int)
    ann[2:8, 2:8] = 1
    pred = np.zeros((20, 20), int)
    pred[12:18, 12:18] = 3
    img = np.asarray(Image.open(io.BytesIO(figures.thumbnail(raw, ann, pred))).convert("RGB")).astype(int)
    green = (img[..., 1] > 200) & (img[..., 0] < 80)
    magenta = (img[..., 0] > 200) & (img[..., 2] > 200) & (img[..., 1] < 100)
    ys, xs = np.nonzero(green)
    assert green.any() and magenta.any()
    h = img.shape[0]
    assert ys.max() < h / 2 and xs.max() < h / 2  # the annotation's outline where it is: top left
    ys, xs = np.nonzero(magenta)
    assert ys.min() > h / 2 and xs.min() > h / 2
    for png in (figures.bars(["a", "b"], {"dice": [0.1, None]}, "t"), figures.lines([1], {"f1": [None]}, "t", "x")):
        assert png.startswith(b"\x89PNG")
