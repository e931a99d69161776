"""A report as one self-contained HTML page: inline CSS, pictures as base64 PNG, no link out.

:func:`render_html` is pure: it formats a :class:`.content.ReportContent`
(computed elsewhere) and escapes every text taken from the project.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from .content import ReportContent, headline, worst_first
from .figures import data_uri

__all__ = ["COLUMNS", "fmt", "render_html"]

#: Score columns of the tables: (heading, key of the scores).
COLUMNS = (("Dice", "dice"), ("IoU", "iou"), ("precision", "precision"), ("recall", "recall"), ("F1", "f1"),
           ("AP", "ap"), ("matched IoU", "mean_matched_iou"), ("splits", "splits"), ("merges", "merges"),
           ("VI split", "vi_split"), ("VI merge", "vi_merge"))

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1180px;
color:#1d1d1f;background:#fff;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:4px;
margin-top:28px}.sub{color:#666;margin-top:2px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 8px;border-bottom:1px solid #eee}
th{background:#f4f4f6;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.bad{background:#fde2e1}.notes{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 12px}
.figs img{max-width:100%;margin:4px 12px 4px 0;vertical-align:top}
.thumbs{display:flex;flex-wrap:wrap;gap:10px}.thumbs figure{margin:0;border:1px solid #ddd;padding:4px}
.thumbs figcaption{font-size:12px;max-width:240px}.thumbs img{width:240px;image-rendering:pixelated}
.legend span{padding:0 6px;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#f4f4f6;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:1.4em}
"""


def fmt(value) -> str:
    """A score as the tables show it (``'-'`` where undefined).

    Examples
    --------
    >>> fmt(0.81234), fmt(None), fmt(7), fmt(float("nan"))
    ('0.812', '-', '7', '-')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _table(head: Sequence[str] | None, rows: Sequence[Sequence], numeric_from: int = 1, css_rows=None) -> str:
    out = ["<table>" + ("" if head is None else "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>")]
    for k, row in enumerate(rows):
        cls = f' class="{css_rows[k]}"' if css_rows and css_rows[k] else ""
        cells = [f"<td{cls}>{escape(str(c))}</td>" if i < numeric_from else f'<td class="n">{fmt(c)}</td>'
                 for i, c in enumerate(row)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _scores(scores: Mapping) -> list:
    return [scores.get("boxes"), scores.get("voxels"), *(scores.get(k) for _, k in COLUMNS)]


def _figure(figures: Mapping[str, bytes], name: str, alt: str) -> str:
    png = figures.get(name)
    return "" if png is None else f'<img src="{data_uri(png)}" alt="{escape(alt)}">'


def _summary(c: ReportContent) -> str:
    s = c.summary
    images = s.get("images", [])
    cards = [("images", len(images)), ("boxes", sum(i["boxes"] for i in images)),
             ("annotated voxels", sum(i["annotated"] for i in images)), ("consistency findings", s.get("findings", 0))]
    out = ['<div class="cards">' + "".join(f'<div class="card"><b>{v:,}</b>{escape(k)}</div>' for k, v in cards)
           + "</div>"]
    rows = [[i["name"], i.get("domain") or "", ", ".join(f"{k} {v}" for k, v in i.get("by_status", {}).items()),
             i["boxes"], i["annotated"]] for i in images]
    out.append(_table(["image", "domain", "box statuses", "boxes", "annotated voxels"], rows, numeric_from=3))
    if s.get("finding_codes"):
        out.append("<p>consistency findings: " + escape(", ".join(s["finding_codes"])) + "</p>")
    return "\n".join(out)


def _evaluation(c: ReportContent) -> str:
    ev = c.evaluation
    t = ev["iou_thresholds"]
    head = ["", "boxes", "voxels", *(h for h, _ in COLUMNS)]
    out = [f'<p class="sub">IoU thresholds {escape(", ".join(f"{v:g}" for v in t))}: precision, recall and F1 '
           f"at {t[0]:g}; AP = TP/(TP+FP+FN) averaged over them; VI in bits. Only annotated, not ignored voxels "
           "count.</p>", "<h3>Overall</h3>", _table(head, [["overall", *_scores(ev["overall"])]])]
    classes = ev["overall"].get("classes", {})
    if classes:
        out.append(_table(["class", "Dice", "IoU", "TP voxels", "FP voxels", "FN voxels"],
                          [[n, x["dice"], x["iou"], x["tp"], x["fp"], x["fn"]] for n, x in classes.items()]))
    matching = ev["overall"].get("matching", [])
    if matching:
        out.append(_table(["IoU ≥", "TP", "FP", "FN", "precision", "recall", "F1", "AP"],
                          [[f"{m['threshold']:g}", m["tp"], m["fp"], m["fn"], m["precision"], m["recall"], m["f1"],
                            m["ap"]] for m in matching]))
    out += ["<h3>Per stratum</h3>", _table(head, [[k, *_scores(v)] for k, v in ev["by_stratum"].items()])]
    rows = worst_first(ev["boxes"])
    metric = headline(rows[0]) if rows else "dice"
    out.append(f"<h3>Per box, worst first (by {'F1' if metric == 'f1' else 'Dice'})</h3>")
    bad = ["bad" if (r.get(metric) is not None and r[metric] < 0.5) else "" for r in rows]
    out.append(_table(["image", "box", "stratum", *head[2:]],
                      [[r["image"], r["id"], r["stratum"] or "", *_scores(r)[1:]] for r in rows],
                      numeric_from=3, css_rows=bad))
    return "\n".join(out)


def _rounds(c: ReportContent) -> str:
    head = ["round", "boxes", "voxels", *(h for h, _ in COLUMNS)]
    return _table(head, [[label, *_scores(s)] for label, s in c.rounds])


def _history(c: ReportContent) -> str:
    if not c.history:
        return "<p>No evaluation saved yet.</p>"
    rows = [[f"eval {h.get('number', '?')}", h.get("created", ""), h.get("prediction", ""),
             h.get("overall", {}).get("dice"), h.get("overall", {}).get("f1"), h.get("overall", {}).get("ap"),
             h.get("overall", {}).get("boxes")] for h in c.history]
    return _table(["evaluation", "when", "prediction", "Dice", "F1", "AP", "boxes"], rows, numeric_from=3)


def _thumbnails(c: ReportContent) -> str:
    if not c.thumbnails:
        return "<p>No box to show.</p>"
    legend = ('<p class="legend">outlines of <span style="color:#1ae633">■ the annotation only</span>'
              '<span style="color:#ff33e6">■ the prediction only</span><span style="color:#999">□ both</span>; '
              '<span style="color:#5a5a8c">■ not annotated or ignored</span> (not evaluated)</p>')
    figs = []
    for t in c.thumbnails:
        caption = (f"box {t.box_id} of image {t.image}: {'F1' if t.metric == 'f1' else 'Dice'} {fmt(t.value)} "
                   f"(plane z={t.z})")
        figs.append(f'<figure><img src="{data_uri(t.png)}" alt="{escape(caption)}">'
                    f"<figcaption>{escape(caption)}</figcaption></figure>")
    return legend + '<div class="thumbs">' + "".join(figs) + "</div>"


def _advice(c: ReportContent) -> str:
    a = c.advice
    if a is None:
        return "<p>No advice: the project's first image could not be read.</p>"
    x = "×".join
    rows = [["measured on", a.get("on", "")], ["problems", ", ".join(a["problems"])],
            ["recommended trainer", a["recommend"]], ["magnification", x(map(str, a["magnification"]))],
            ["box size", x(map(str, a["box_size"]))], ["boxes to plan", a["boxes"]]]
    reasons = "".join(f"<li>{escape(r)}</li>" for r in a["reasons"])
    return _table(None, rows, numeric_from=2) + f"<ul>{reasons}</ul>"


def render_html(content: ReportContent) -> str:
    """The page: summary, metric tables, plots, worst boxes, history, advice.

    Every picture is embedded (``data:`` URIs) and the CSS inline: the file
    opens anywhere, offline, on its own.

    Examples
    --------
    >>> from napari_patchwise.engine.report.content import ReportContent
    >>> scores = {"boxes": 1, "voxels": 8, "dice": 0.75, "f1": None, "classes": {}, "matching": []}
    >>> page = render_html(ReportContent(
    ...     "Report <p>", "2026-01-01T00:00:00+00:00", "proj", {"iou_thresholds": [0.5], "overall": scores,
    ...     "by_stratum": {"none": scores}, "boxes": [{"id": 1, "image": "a", "stratum": None, **scores}]},
    ...     {"a": "pred.tif (semantic)"}, {}, {"images": [], "findings": 0}, [("all boxes", scores)], [], {}))
    >>> page.startswith("<!DOCTYPE html>"), "Report &lt;p&gt;" in page, page.count("0.750"), "http" in page
    (True, True, 4, False)
    """
    c = content
    figs = c.figures
    notes = "".join(f"<li>{escape(n)}</li>" for n in c.notes)
    pred = "; ".join(f"{k}: {v}" for k, v in c.predictions.items())
    settings = ", ".join(f"{k} {v}" for k, v in c.settings.items() if v is not None)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(c.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(c.title)}</h1>",
        f'<p class="sub">project {escape(c.project)} · {escape(c.created)}<br>prediction {escape(pred)}'
        + (f"<br>{escape(settings)}" if settings else "") + "</p>",
        f'<div class="notes"><ul>{notes}</ul></div>' if notes else "",
        "<h2>Project</h2>", _summary(c),
        "<h2>Evaluation</h2>",
        '<div class="figs">' + _figure(figs, "per_stratum", "scores per stratum")
        + _figure(figs, "per_box", "scores per box, worst first") + "</div>",
        _evaluation(c),
        "<h2>Worst boxes</h2>", _thumbnails(c),
        "<h2>By round</h2>", '<div class="figs">' + _figure(figs, "by_round", "scores per round") + "</div>",
        _rounds(c),
        "<h2>Evaluation history</h2>",
        '<div class="figs">' + _figure(figs, "history", "overall scores per saved evaluation") + "</div>",
        _history(c),
        "<h2>Advice</h2>", _advice(c),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
