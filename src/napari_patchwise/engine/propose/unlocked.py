"""The "replace unlocked proposals" rule: which earlier boxes a new proposal may drop.

Proposing again with *replace* first removes the boxes an earlier proposal of
the same kind made that nobody has taken on yet: neither locked (accepted)
nor started (status other than ``todo``). Boxes drawn by hand, locked or
started are always kept. The rule is here once; :func:`.propose.propose`,
the propose job (:mod:`.jobs.propose`), the ``patchwise propose --replace``
command and the Propose form all use it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..plan.plan import Plan

#: Box sources an earlier proposal of each kind left, which ``replace`` may drop.
PROPOSED_SOURCES = {
    "content": ("proposal", "uncertainty"),
    "uncertainty": ("proposal", "uncertainty"),
    "points": ("points",),
}


def drop_unlocked_proposals(plan: Plan, sources: Iterable[str]) -> Plan:
    """The plan without the boxes of ``sources`` that are neither locked nor started.

    Parameters
    ----------
    plan : Plan
        The plan.
    sources : iterable of str
        Box sources to drop (e.g. ``PROPOSED_SOURCES["points"]``).

    Returns
    -------
    Plan
        The plan with those boxes removed; every other box as it was.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> plan = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 8, 8))], source="points")
    >>> plan = plan.add_boxes([((8, 8, 8), (16, 16, 16))], source="points", locked=True)
    >>> [b.id for b in drop_unlocked_proposals(plan, PROPOSED_SOURCES["points"]).boxes]
    [2]
    """
    sources = set(sources)
    return plan.replace(boxes=tuple(
        b for b in plan.boxes if b.locked or b.status != "todo" or b.source not in sources))
