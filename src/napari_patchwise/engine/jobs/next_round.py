"""The next-round job: failure-scan boxes mixed with stratified ones, as a new round of the project.

``patchwise next-round`` builds a :class:`NextRoundRequest` and calls
:func:`run_next_round` holding the project's lock: the failure scan
(:mod:`napari_patchwise.engine.scan`, imported only here) ranks the regions
where the prediction is likely wrong, the normal stratified proposal
(:func:`..propose.run.propose`) ranks boxes on each chosen image,
:func:`..propose.mix.mix_round` mixes them, and the new boxes are added as the
project's next round (:mod:`..plan.rounds`). The job returns the new
collection and the round's record; the caller saves both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..plan.collection import Collection
from ..plan.rounds import next_round, round_record
from ..propose.mix import Candidate, MixResult, add_picks, mix_round


@dataclass(frozen=True)
class NextRoundRequest:
    """A next round: the project, the prediction(s), how many boxes and the mix; checked when made.

    Attributes
    ----------
    folder : Path
        The project folder.
    prediction : str, Path or mapping
        The model's prediction: one file, a folder of one file per image, or
        ``{image: path}`` (read by the failure scan).
    second_prediction : optional
        A second prediction (their disagreement is a failure signal).
    threshold : float, optional
        Threshold of a probability map.
    images : tuple of str, optional
        Images that get boxes (default: every image).
    n : int
        Boxes of the round.
    mix : float
        Fraction of them from the failure scan, in [0, 1].
    seed : int
        Seed of the stratified proposal.
    command : str
        What made the round (written in its record).

    Examples
    --------
    >>> NextRoundRequest("proj", "pred.tif", mix=1.5)
    Traceback (most recent call last):
    ...
    ValueError: --mix is the fraction of failure boxes, from 0 to 1; got 1.5.
    """

    folder: Any
    prediction: Any
    second_prediction: Any = None
    threshold: float | None = None
    images: tuple[str, ...] | None = None
    n: int = 10
    mix: float = 0.5
    seed: int = 0
    scheduler: str | None = None
    command: str = "patchwise next-round"

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"-n is the number of boxes of the round, a whole number >= 1; got {self.n!r}.")
        if isinstance(self.mix, bool) or not isinstance(self.mix, (int, float)) or not 0 <= self.mix <= 1:
            raise ValueError(f"--mix is the fraction of failure boxes, from 0 to 1; got {self.mix!r}.")
        if self.images is not None:
            object.__setattr__(self, "images", tuple(self.images))

    def settings(self) -> dict:
        """The request's settings, JSON-ready, for the round's record."""
        return {"n": self.n, "mix": self.mix, "seed": self.seed, "threshold": self.threshold,
                "images": None if self.images is None else list(self.images)}

    def predictions(self) -> list:
        """The prediction files, for the record (a mapping gives each of its files)."""
        out = []
        for p in (self.prediction, self.second_prediction):
            if isinstance(p, Mapping):
                out.extend(p.values())
            elif p is not None:
                out.append(p)
        return out


@dataclass(frozen=True)
class NextRoundResult:
    """What a next round added: the new collection (not saved), the round, its boxes and its record."""

    collection: Collection = field(repr=False)
    round: int
    added: dict
    mix: MixResult
    record: dict = field(repr=False)

    def summary(self) -> str:
        """One line: the round and its mix.

        Examples
        --------
        >>> m = MixResult((), 5, 4, 6)
        >>> NextRoundResult(None, 3, {"a": (1,)}, m, {}).summary()
        'round 3: 10 boxes, 4 where the prediction fails (5 asked) and 6 stratified'
        """
        total = self.mix.failures + self.mix.stratified
        return (f"round {self.round}: {total} box{'es' if total != 1 else ''}, {self.mix.failures} where "
                f"the prediction fails ({self.mix.asked} asked) and {self.mix.stratified} stratified")


def scan_regions(request: NextRoundRequest, images: Sequence[str], progress=None) -> tuple:
    """The failure scan's regions, worst first (:func:`..scan.scan_failures`, imported here).

    Three times ``request.n`` regions (at least 10) are asked for, so that
    regions overlapping the boxes a mix keeps still leave enough.
    """
    from ..scan import ScanRequest, scan_failures

    kwargs = {"project": request.folder, "prediction": request.prediction,
              "second_prediction": request.second_prediction, "images": tuple(images),
              "n": max(3 * request.n, 10)}
    if request.threshold is not None:
        kwargs["threshold"] = request.threshold
    return tuple(scan_failures(ScanRequest(**kwargs), progress).regions)


def stratified_candidates(request: NextRoundRequest, collection: Collection, images: Sequence[str],
                          read_image: Callable | None = None) -> list[Candidate]:
    """The stratified proposal's boxes on each image (``n`` each), taken in turns across images."""
    from ..propose.candidates import measure_candidates
    from ..propose.run import propose
    from .seed import project_image

    read = read_image or (lambda name, plan: project_image(request.folder, plan))
    per_image = []
    for name in images:
        plan = collection.plan(name)
        cands = measure_candidates(read(name, plan), plan, scheduler=request.scheduler)
        proposed, report = propose(plan, cands, n=request.n, seed=request.seed)
        per_image.append([Candidate(name, proposed.box(i).lo, proposed.box(i).hi, proposed.box(i).stratum,
                                    proposed.box(i).stats) for i in report.added])
    out = []
    for k in range(max((len(c) for c in per_image), default=0)):  # in turns: every image gets boxes
        out.extend(c[k] for c in per_image if k < len(c))
    return out


def run_next_round(request: NextRoundRequest, collection: Collection, *, regions: Sequence | None = None,
                   read_image: Callable | None = None, progress=None) -> NextRoundResult:
    """Add the next round of boxes to ``collection``: failures mixed with stratified boxes.

    Parameters
    ----------
    request : NextRoundRequest
        The project, prediction, ``n`` and ``mix``.
    collection : Collection
        The project's images, read under its lock.
    regions : sequence, optional
        Failure regions measured before (default: run the failure scan).
    read_image : callable, optional
        ``read_image(name, plan)`` gives an image's array (default: read from the project).

    Returns
    -------
    NextRoundResult
        The collection with the round's boxes and the round's record; nothing is saved.

    Raises
    ------
    ValueError
        An image the project does not hold.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((32, 64, 64)), box_size=(32, 32, 32))
    >>> coll = Collection.from_plan(plan.add_boxes([((0, 0, 0), (32, 32, 32))], source="proposal"), "a")
    >>> region = SimpleNamespace(image="a", lo=(0, 32, 32), hi=(32, 64, 64), kind="merge",
    ...                          reason="merges 2 objects", score=0.8)
    >>> image = np.random.default_rng(0).integers(0, 255, (32, 64, 64), dtype=np.uint8)
    >>> result = run_next_round(NextRoundRequest("proj", "pred.tif", n=1, mix=1.0), coll, regions=[region],
    ...                         read_image=lambda name, plan: image)
    >>> result.summary()
    'round 2: 1 box, 1 where the prediction fails (1 asked) and 0 stratified'
    >>> [(b.id, b.round, b.stratum) for b in result.collection.plan("a").boxes]
    [(1, None, None), (2, 2, 'failure:merge')]
    """
    from ..propose.candidates import box_size_for
    from .image_choice import choose_images

    images = choose_images(collection.names, ",".join(request.images) if request.images else None)
    number = next_round(collection, request.folder)
    plans = {name: collection.plan(name) for name in images}
    sizes = {name: box_size_for(p) for name, p in plans.items()}
    failures = (lambda: regions) if regions is not None else (lambda: scan_regions(request, images, progress))
    stratified = lambda: stratified_candidates(request, collection, images, read_image)  # noqa: E731

    def mixed_from(found, candidates) -> MixResult:
        return mix_round(found, candidates, n=request.n, mix=request.mix, plans=plans, sizes=sizes)

    # a part whose share is 0 (mix 0 or 1) is measured only if the other falls short (the result is the same)
    if request.mix >= 1:
        found = failures()
        mixed = mixed_from(found, [])
        if len(mixed.picks) < request.n:
            mixed = mixed_from(found, stratified())
    elif request.mix <= 0:
        candidates = stratified()
        mixed = mixed_from([], candidates)
        if len(mixed.picks) < request.n:
            mixed = mixed_from(failures(), candidates)
    else:
        mixed = mixed_from(failures(), stratified())
    added, boxes = {}, []
    for name in images:
        plan, new = add_picks(plans[name], [p for p in mixed.picks if p.image == name], number)
        if new:
            collection = collection.replace(name, plan)
            added[name] = tuple(b.id for b in new)
            boxes.extend((name, b) for b in new)
    order = {(p.image, p.lo, p.hi): k for k, p in enumerate(mixed.picks)}
    boxes.sort(key=lambda nb: order[(nb[0], nb[1].lo, nb[1].hi)])
    record = round_record(number, request.command, boxes, predictions=request.predictions(),
                          mix={"fraction": request.mix, **mixed.to_dict()}, request=request.settings())
    return NextRoundResult(collection, number, added, mixed, record)
