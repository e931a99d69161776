"""Strata over a collection: stratum thresholds from every image's blocks at once.

Proposed on each image alone, every image has its own "worst", "dense",
"low SNR" fifth, however easy it is. Over a collection that is not what a
training set needs: the hard regions of the hardest volume should get the
boxes, not an easy volume's least easy blocks. :func:`pool_strata` assigns
the strata of the blocks of all images together (:func:`.strata.assign_strata`
on their pooled statistics), so a stratum's quantile thresholds are the
collection's; :func:`stratum_weights` says how much of the collection's strata
each image holds, to spread a total of boxes by
(:func:`~napari_patchwise.engine.jobs.spread.spread_boxes`).

What stays each image's own: which blocks are informative (contrast is
measured against the image's own reference contrast, so a dim image is not
"empty" beside a bright one) and which touch its border (edge blocks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .block_grid import edge_blocks
from .candidates import Candidates
from .strata import STRATA, StrataTable, assign_strata

__all__ = ["HARD_STRATA", "pool_strata", "stratum_weights"]

#: Statistics the strata are assigned from (besides the contrast, taken per image).
_KEYS = ("blank", "saturated", "foreground", "density", "snr", "border_distance", "uncertainty")
#: Strata of the regions where models fail: where the collection's boxes should go.
HARD_STRATA = ("worst", "low_snr", "artifact")
#: Smallest weight of an image (one with no informative block still gets its minimum of boxes).
MIN_WEIGHT = 1e-6


def pool_strata(cands: Sequence[Candidates]) -> list[Candidates]:
    """The candidates of several images with strata assigned over all of them together.

    Parameters
    ----------
    cands : sequence of Candidates
        One per image (from :func:`.candidates.measure_candidates`).

    Returns
    -------
    list of Candidates
        The same blocks and statistics, each with its share of the pooled
        :class:`.strata.StrataTable`. One image: its candidates unchanged.

    Notes
    -----
    Each block's contrast is its image's (``p99 - p01`` over the image's
    reference contrast, as :func:`.strata.assign_strata` computes it), so
    informative blocks are the same as per image; every other statistic
    (SNR, foreground share, object density, blank and saturated shares,
    border foreground) is pooled as measured, and the quantile strata
    (best, worst, dense, sparse) take the top or bottom fifth of the
    collection's blocks.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> from napari_patchwise.engine.propose.candidates import measure_candidates
    >>> from napari_patchwise.engine.samples.nuclei import make_sample
    >>> imgs = [make_sample((32, 96, 96), seed=s).image for s in (1, 2)]
    >>> cands = [measure_candidates(im, Plan(ImageRef(im.shape)), size=(32, 32, 32), scheduler="sync")
    ...          for im in imgs]
    >>> pooled = pool_strata(cands)
    >>> [len(c) for c in pooled] == [len(c) for c in cands]
    True
    >>> all((p.strata.informative == c.strata.informative).all() for p, c in zip(pooled, cands))
    True
    """
    cands = list(cands)
    if len(cands) < 2:
        return cands
    for c in cands:
        if not isinstance(c, Candidates):
            raise TypeError("pool_strata takes the Candidates of each image (measure_candidates).")
    stats = {k: np.concatenate([np.asarray(c.stats[k], float) for c in cands]) for k in _KEYS}
    stats["p01"] = np.zeros(len(stats["snr"]))
    stats["p99"] = np.concatenate([np.asarray(c.strata.contrast, float) for c in cands])
    if all("border_foreground" in c.stats for c in cands):
        stats["border_foreground"] = np.concatenate([np.asarray(c.stats["border_foreground"], float)
                                                     for c in cands])
    edge = np.concatenate([edge_blocks(c.grid.origins, c.grid.block, c.grid.image_shape) for c in cands])
    table = assign_strata(stats, edge=edge)
    informative = np.concatenate([c.strata.informative for c in cands])
    out, start = [], 0
    for c in cands:
        part = slice(start, start + len(c))
        start += len(c)
        member = table.member[part] & informative[part, None]
        strength = np.where(member, table.strength[part], 0.0)
        # a block in no content stratum of the collection is typical (as assign_strata does)
        typical = STRATA.index("typical")
        member[:, typical] = ~np.delete(member, typical, axis=1).any(axis=1) & informative[part]
        strength[:, typical] = np.where(member[:, typical], table.strength[part, typical], 0.0)
        own = StrataTable(member, strength, informative[part].copy(), np.asarray(c.strata.contrast))
        out.append(dataclasses.replace(c, strata=own))
    return out


def stratum_weights(cands: Sequence[Candidates]) -> tuple[float, ...]:
    """One weight per image to spread boxes by: half its share of the collection's informative
    blocks, half its share of the collection's hard blocks.

    Hard blocks are those in the failure-mode strata :data:`HARD_STRATA`
    (worst case, low SNR, artifacts) of the strata assigned over the
    collection (:func:`pool_strata`). Images alike weigh as their informative
    blocks do (about their size); an image holding most of the collection's
    hard regions gets up to half the boxes more. Without hard blocks anywhere
    the weights are the informative shares alone.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> def table(rows):  # the strata of each block, one tuple per block
    ...     m = np.array([[s in r for s in STRATA] for r in rows])
    ...     return NS(strata=NS(member=m, informative=np.ones(len(rows), bool)))
    >>> hard = table([("worst", "dense"), ("low_snr",), ("typical",)])
    >>> easy = table([("best",), ("typical",), ("typical",)])
    >>> stratum_weights([hard, easy])
    (0.75, 0.25)
    >>> stratum_weights([easy, easy])
    (0.5, 0.5)
    """
    hard_cols = [STRATA.index(s) for s in HARD_STRATA]
    informative = np.array([np.asarray(c.strata.informative).sum() for c in cands], float)
    hard = np.array([(np.asarray(c.strata.member)[:, hard_cols].any(axis=1)
                      & np.asarray(c.strata.informative)).sum() for c in cands], float)
    weights = informative / informative.sum() if informative.sum() > 0 else np.full(len(cands), 1 / len(cands))
    if hard.sum() > 0:
        weights = (weights + hard / hard.sum()) / 2
    return tuple(float(max(w, MIN_WEIGHT)) for w in weights)
