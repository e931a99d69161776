"""Accept, reject, re-propose and lock proposed boxes (part of the Propose tab)."""

from __future__ import annotations

from collections.abc import Sequence

from napari.utils.notifications import show_error, show_info, show_warning

from ..engine.propose.run import Candidates, repropose_box
from .propose_form import MeasureRequest


class BoxActions:
    """The per-box actions of :class:`.propose_panel.ProposePanel`.

    Works on the panel's ``sync`` (plan and layers), ``rejected`` extents,
    table selection and measurement cache.
    """

    def _ids(self, ids) -> list[int] | None:
        if self.sync is None:
            show_error("No plan yet: start one with 'New plan on image' or press Propose.")
            return None
        ids = self.selected_ids() if ids is None else [int(i) for i in ids]
        known = {b.id for b in self.sync.plan.boxes}
        ids = [i for i in ids if i in known]
        if not ids:
            show_warning("Select one or more boxes in the table first.")
            return None
        return ids

    def accept(self, ids: Sequence[int] | None = None) -> None:
        """Lock the boxes: they are kept when proposing again (also with 'replace')."""
        self._set_locked(ids, True)

    def toggle_lock(self, ids: Sequence[int] | None = None) -> None:
        """Lock the boxes, or unlock them all if they are all locked."""
        ids = self._ids(ids)
        if ids is None:
            return
        by_id = {b.id: b for b in self.sync.plan.boxes}
        self._set_locked(ids, not all(by_id[i].locked for i in ids))

    def _set_locked(self, ids, locked: bool) -> None:
        ids = self._ids(ids)
        if ids is None:
            return
        plan = self.sync.plan.update_boxes({i: {"locked": locked} for i in ids})
        self.sync.set_plan(plan)
        word = "Locked" if locked else "Unlocked"
        show_info(f"{word} box{'es' if len(ids) > 1 else ''} {', '.join(map(str, ids))}"
                  + (" (kept when proposing again)." if locked else "."))

    def reject(self, ids: Sequence[int] | None = None) -> None:
        """Remove the boxes and keep their places free of proposals for this session."""
        ids = self._ids(ids)
        if ids is None:
            return
        plan = self.sync.plan
        by_id = {b.id: b for b in plan.boxes}
        locked = [i for i in ids if by_id[i].locked]
        if locked:
            show_warning(f"Box{'es' if len(locked) > 1 else ''} {', '.join(map(str, locked))} "
                         "locked: unlock before rejecting.")
        ids = [i for i in ids if i not in locked]
        if not ids:
            return
        self.rejected.extend((by_id[i].lo, by_id[i].hi) for i in ids)
        self.sync.set_plan(plan.remove_boxes(ids))
        show_info(f"Rejected box{'es' if len(ids) > 1 else ''} {', '.join(map(str, ids))}; "
                  "their places are not proposed again in this session.")

    def repropose(self, ids: Sequence[int] | None = None) -> None:
        """Swap each box for another candidate of its stratum (the old place is rejected)."""
        if self.busy:
            show_info("Still measuring the image; wait for the progress bar to finish.")
            return
        ids = self._ids(ids)
        if ids is None:
            return
        image = self._plan_image()
        if image is None:
            return
        # uncertainty boxes need the probability map; the others are swapped by image content
        plan = self.sync.plan
        source = "uncertainty" if any(plan.box(i).source == "uncertainty" for i in ids) else "image"
        request = self._request(image, source)
        if request is not None:
            self._with_candidates(request, lambda c, r: self._apply_repropose(c, r, ids))

    def _apply_repropose(self, cands: Candidates, request: MeasureRequest, ids) -> None:
        plan = self._current_plan_for(request)
        if plan is None:
            return
        seed = self.form.seed.value
        new_ids, errors, kept = [], [], []
        for i in ids:
            if not any(b.id == i for b in plan.boxes):
                continue
            old = plan.box(i)
            try:
                plan, new_id = repropose_box(plan, cands, i, seed=seed, exclude=self.rejected)
            except ValueError as e:
                errors.append(str(e))
                continue
            if new_id is None:
                kept.append(i)
                continue
            self.rejected.append((old.lo, old.hi))
            new_ids.append(new_id)
        if new_ids:
            self.sync.set_plan(plan)
            self.host.table.select_ids(new_ids)
            show_info(f"Re-proposed: new box{'es' if len(new_ids) > 1 else ''} "
                      f"{', '.join(map(str, new_ids))}.")
        if kept:
            show_warning(f"No other free place of the same stratum for box"
                         f"{'es' if len(kept) > 1 else ''} {', '.join(map(str, kept))}; kept.")
        for e in errors:
            show_error(f"Cannot re-propose: {e}")

    # -- layer bookkeeping ------------------------------------------------------------
