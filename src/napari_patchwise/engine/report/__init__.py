"""A self-contained HTML report of a project's evaluation.

:func:`build_report` evaluates a prediction (:mod:`..evaluate`), saves the
evaluation to the project's history, and renders one page
(:func:`render_html`): the metric tables overall, per stratum and per box
(worst first), bars per box and per stratum, the scores per annotation round
and per saved evaluation, pictures of the worst boxes with the annotation and
prediction outlines, the project's summary and the advisor's answer. The
pictures are drawn by matplotlib (imported lazily) and embedded in the page.
"""

from .content import ReportContent, Thumbnail, by_round, headline, worst_first
from .html import render_html
from .job import Report, ReportRequest, build_report

__all__ = ["Report", "ReportContent", "ReportRequest", "Thumbnail", "build_report", "by_round", "headline",
           "render_html", "worst_first"]
