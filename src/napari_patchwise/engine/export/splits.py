"""Train / val / test splits of exported boxes: stratified, seedable, stable.

Boxes are grouped by :attr:`Box.stratum` (boxes without one form a group of
their own) so that every kind of region reaches every split in proportion.
Counts follow the largest-remainder method: per stratum, each split gets the
whole part of its share, and the units left over go where the fractional
parts are largest while keeping the totals across strata on target (so many
one-box strata still give a validation set). Which boxes of a stratum take
which split is drawn with a seeded :class:`numpy.random.Generator`.

Boxes pinned to the test split (a held-out difficult region) are always
``test``; boxes already exported keep their split. Both count towards the
fractions, and the other boxes fill what they leave.

Examples
--------
>>> from napari_patchwise.engine import Box
>>> boxes = [Box(i, (0, 0, 0), (4, 4, 4), stratum="dense" if i <= 5 else "sparse")
...          for i in range(1, 11)]
>>> splits = assign_splits(boxes, (0.6, 0.2, 0.2), seed=1, test_boxes=[10])
>>> sorted(splits.values()).count("train"), splits[10]
(6, 'test')
>>> assign_splits(boxes, (0.6, 0.2, 0.2), seed=1, test_boxes=[10]) == splits
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..geometry.box import Box
from .model import SPLITS


def check_fractions(fractions) -> tuple[float, float, float]:
    """Train / val / test fractions, normalised to sum to one.

    Raises
    ------
    ValueError
        Unless they are three finite non-negative numbers with a positive
        train share.

    Examples
    --------
    >>> check_fractions((8, 2, 0))
    (0.8, 0.2, 0.0)
    >>> check_fractions((0, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: the train fraction is 0; it must be positive (a model needs training data, give it a share); got train/val/test (0, 1, 1).
    """
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Iterable):
        raise ValueError(
            f"split fractions must be three numbers train/val/test (e.g. 0.8,0.2,0); got {fractions!r}."
        )
    values = tuple(fractions)
    if len(values) != 3:
        raise ValueError(
            f"split fractions must be three numbers train/val/test (e.g. 0.8,0.2,0); got {values!r}."
        )
    try:
        if any(isinstance(v, bool) for v in values):
            raise TypeError
        nums = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f"split fractions must be numbers; got {values!r}.") from None
    if not all(math.isfinite(v) and v >= 0 for v in nums):
        raise ValueError(f"split fractions must be finite and not negative; got train/val/test {values!r}.")
    if nums[0] <= 0:
        raise ValueError(
            f"the train fraction is {nums[0]:g}; it must be positive (a model needs training data, give "
            f"it a share); got train/val/test {values!r}."
        )
    total = sum(nums)
    return tuple(v / total for v in nums)  # type: ignore[return-value]


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` whole units in proportion to ``weights``.

    Every share gets the whole part of its quota; the units left over go to
    the largest fractional parts (ties to the earlier share).

    Examples
    --------
    >>> largest_remainder(7, (0.8, 0.2, 0.0))
    [6, 1, 0]
    >>> largest_remainder(3, (1, 1, 1))
    [1, 1, 1]
    >>> largest_remainder(0, (1, 0))
    [0, 0]
    """
    w = [max(float(x), 0.0) for x in weights]
    s = sum(w)
    if total <= 0 or s <= 0:
        return [0] * len(w)
    quotas = [total * x / s for x in w]
    shares = [math.floor(q) for q in quotas]
    order = sorted(range(len(w)), key=lambda i: (shares[i] - quotas[i], i))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _stratum_key(stratum):
    return (stratum is not None, stratum or "")


def _stratum_counts(sizes: dict, fractions, rng) -> dict:
    """Per stratum, how many of its boxes each split gets.

    Largest remainder per stratum; the leftover units are placed so that the
    totals across strata match the largest-remainder totals of all boxes
    (ties between strata are drawn with ``rng``).
    """
    keys = list(sizes)
    quotas = {k: [sizes[k] * f for f in fractions] for k in keys}
    counts = {k: [math.floor(q) for q in quotas[k]] for k in keys}
    left = {k: sizes[k] - sum(counts[k]) for k in keys}
    target = largest_remainder(sum(sizes.values()), fractions)
    need = [t - sum(counts[k][s] for k in keys) for s, t in enumerate(target)]
    rank = dict(zip(keys, rng.permutation(len(keys)).tolist()))
    cands = sorted(
        ((k, s) for k in keys for s in range(3) if fractions[s] > 0),
        key=lambda ks: (counts[ks[0]][ks[1]] - quotas[ks[0]][ks[1]], rank[ks[0]], ks[1]),
    )
    # first at most one unit per (stratum, split), largest fractional part first ...
    for k, s in cands:
        if left[k] > 0 and need[s] > 0:
            counts[k][s] += 1
            left[k] -= 1
            need[s] -= 1
    # ... then whatever is still left where it is still needed (sum(left) == sum(need))
    for k, s in cands:
        n = min(left[k], need[s])
        counts[k][s] += n
        left[k] -= n
        need[s] -= n
    return counts


def _fill_group(members: Sequence, counts: Sequence[int], out: dict, rng, keep_train: bool = False) -> None:
    """Give the members of one group (stratum or domain) that ``out`` holds no split for yet theirs.

    ``counts`` is what each split should hold of the whole group; members
    already in ``out`` count towards it and the others, in a seeded order,
    fill what is left. ``keep_train``: a group of two or more keeps a member
    in training.
    """
    free = [m for m in members if m not in out]
    if not free:
        return
    fixed = [sum(out.get(m) == s for m in members) for s in SPLITS]
    deficit = [max(0, c - f) for c, f in zip(counts, fixed)]
    # sum(deficit) >= len(free); more when fixed members took more than their share
    per_split = deficit if sum(deficit) == len(free) else largest_remainder(len(free), deficit)
    if keep_train and len(members) >= 2 and fixed[0] + per_split[0] == 0:
        j = 1 if per_split[1] >= per_split[2] else 2
        per_split[0], per_split[j] = 1, per_split[j] - 1
    order = [free[j] for j in rng.permutation(len(free))]
    start = 0
    for split, n in zip(SPLITS, per_split):
        for m in order[start:start + n]:
            out[m] = split
        start += n


def assign_splits(
    boxes: Sequence[Box],
    fractions=(0.8, 0.2, 0.0),
    seed: int = 0,
    test_boxes: Iterable[int] = (),
    existing: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Give every box a split (``'train'``, ``'val'`` or ``'test'``).

    Parameters
    ----------
    boxes : sequence of Box
        The boxes to export.
    fractions : three numbers
        Train / val / test shares (normalised); the train share must be positive.
    seed : int
        Same seed and boxes, same splits.
    test_boxes : iterable of int
        Ids of boxes that must be ``test`` (ids not among ``boxes`` are ignored).
    existing : mapping of int to str, optional
        Splits of boxes exported before; they keep them.

    Returns
    -------
    dict of int to str
        Box id to split, for every box of ``boxes`` (in their order).

    Raises
    ------
    ValueError
        For bad fractions, an unknown split in ``existing``, or a box pinned
        to test that was already exported in another split.

    Examples
    --------
    >>> from napari_patchwise.engine import Box
    >>> boxes = [Box(i, (0, 0, 0), (4, 4, 4)) for i in range(1, 6)]
    >>> assign_splits(boxes, (0.6, 0.4, 0), seed=0, existing={1: "val"})[1]
    'val'
    >>> sorted(assign_splits(boxes, (0.6, 0.4, 0), seed=0).values())
    ['train', 'train', 'train', 'val', 'val']
    >>> assign_splits(boxes, (0.8, 0.2, 0), test_boxes=[2], existing={2: "train"})
    Traceback (most recent call last):
    ...
    ValueError: box 2 is pinned to the test split but was already exported as train; export with overwrite to move it.
    """
    fr = check_fractions(fractions)
    existing = dict(existing or {})
    bad = {i: s for i, s in existing.items() if s not in SPLITS}
    if bad:
        raise ValueError(f"existing splits must be one of {SPLITS}; got {bad}.")
    ids = [b.id for b in boxes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"box ids must be unique; got {sorted(ids)}.")
    pinned = {int(i) for i in test_boxes} & set(ids)
    out: dict[int, str] = {}
    for i in sorted(pinned):
        if existing.get(i, "test") != "test":
            raise ValueError(
                f"box {i} is pinned to the test split but was already exported as {existing[i]}; "
                "export with overwrite to move it."
            )
        out[i] = "test"
    for i in ids:
        if i in existing and i not in out:
            out[i] = existing[i]
    strata: dict = {}
    for b in sorted(boxes, key=lambda b: (_stratum_key(b.stratum), b.id)):
        strata.setdefault(b.stratum, []).append(b)
    rng = np.random.default_rng(seed)
    counts = _stratum_counts({k: len(v) for k, v in strata.items()}, fr, rng)
    for k, members in strata.items():
        _fill_group([b.id for b in members], counts[k], out, rng)
    return {i: out[i] for i in ids}


def held_out_and_kept(
    images: Sequence[str],
    fractions,
    test_images: Iterable[str] = (),
    existing: Mapping[str, str] | None = None,
) -> tuple[tuple[float, float, float], dict[str, str], list[str], dict[str, str]]:
    """What splits of whole images start from: held-out images are ``test``, exported ones keep theirs.

    Returns
    -------
    fractions : tuple of float
        The fractions, checked and normalised (:func:`check_fractions`).
    existing : dict of str to str
        A copy of ``existing``.
    test : list of str
        The held-out images among ``images`` (each once, in order).
    out : dict of str to str
        The split of every held-out image and of every image exported before.

    Raises
    ------
    ValueError
        For bad fractions, or an image held out as test that was exported before in another split.

    Examples
    --------
    >>> held_out_and_kept(["a", "b", "c"], (4, 1, 0), ["c", "x"], {"a": "val"})
    ((0.8, 0.2, 0.0), {'a': 'val'}, ['c'], {'c': 'test', 'a': 'val'})
    >>> held_out_and_kept(["a"], (1, 0, 0), ["a"], {"a": "train"})
    Traceback (most recent call last):
    ...
    ValueError: image a is held out as test but was already exported as train; export with overwrite to move it.
    """
    fr = check_fractions(fractions)
    existing = dict(existing or {})
    test = [n for n in dict.fromkeys(test_images) if n in images]
    out: dict[str, str] = {}
    for name in test:
        if existing.get(name, "test") != "test":
            raise ValueError(f"image {name} is held out as test but was already exported as {existing[name]}; "
                             "export with overwrite to move it.")
        out[name] = "test"
    for name in images:
        if name in existing and name not in out:
            out[name] = existing[name]
    return fr, existing, test, out


def assign_domain_splits(
    images: Sequence[str],
    domains: Mapping[str, str | None],
    fractions=(0.8, 0.2, 0.0),
    seed: int = 0,
    test_images: Iterable[str] = (),
    existing: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Give every image a split, balanced across domains; all of an image's boxes take it.

    Like splitting by image (no image in two splits), but images are grouped
    by their domain tag (untagged images form one group) and each group is
    split in proportion, as :func:`assign_splits` does with strata, with the
    totals of all images on target. A domain with at least two images that are
    not held out always keeps one in training, so a model is never validated
    on a domain it has not seen; validation gets at least one image when its
    share is positive and training keeps two or more. Held-out test images
    are ``test``; images exported before keep their split.

    Parameters
    ----------
    images : sequence of str
        The exported images.
    domains : mapping of str to str or None
        Each image's domain tag (missing: none).
    fractions, seed, test_images, existing
        As for :func:`.images.assign_image_splits`.

    Raises
    ------
    ValueError
        When an image held out as test was exported before in another split.

    Examples
    --------
    >>> doms = {"em1": "em", "em2": "em", "lm1": "lm", "lm2": "lm", "lm3": "lm"}
    >>> splits = assign_domain_splits(list(doms), doms, (0.6, 0.4, 0), seed=3)
    >>> sorted({doms[n] for n, s in splits.items() if s == "train"}), sorted(splits.values())
    (['em', 'lm'], ['train', 'train', 'train', 'val', 'val'])
    """
    fr, existing, test, out = held_out_and_kept(images, fractions, test_images, existing)
    groups: dict = {}
    for name in images:
        if name not in test:
            groups.setdefault(domains.get(name), []).append(name)
    rng = np.random.default_rng(seed)
    counts = _stratum_counts({k: len(v) for k, v in groups.items()}, fr, rng)
    for k, members in groups.items():
        _fill_group(members, counts[k], out, rng, keep_train=True)
    pool = [n for n in images if n not in test]
    train = [n for n in pool if out[n] == "train"]
    if fr[1] > 0 and len(train) >= 2 and not any(out[n] == "val" for n in pool):
        # validation gets one image: a free one of the domain with the most training images
        per_domain = {k: sum(out[n] == "train" for n in v) for k, v in groups.items()}
        movable = [n for n in train if n not in existing and per_domain[domains.get(n)] >= 2]
        if movable:
            best = max(per_domain[domains.get(n)] for n in movable)
            choice = [n for n in movable if per_domain[domains.get(n)] == best]
            out[choice[int(rng.integers(len(choice)))]] = "val"
    return {n: out[n] for n in images}


def domain_split_note(units, splits: Mapping[str, str]) -> str | None:
    """One line: the cases of each domain and their splits (``None`` when no image has a domain).

    ``units`` are ``(source, box, case)`` with ``source.domain``; ``splits`` maps each case to its split.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> units = [(NS(domain="em"), None, "a_1"), (NS(domain="em"), None, "a_2"), (NS(domain=None), None, "b_1")]
    >>> domain_split_note(units, {"a_1": "train", "a_2": "val", "b_1": "train"})
    'cases per domain: em 2 (train 1, val 1); (no domain) 1 (train 1)'
    >>> domain_split_note(units[2:], {"b_1": "train"}) is None
    True
    """
    per: dict = {}
    for src, _, case in units:
        per.setdefault(getattr(src, "domain", None), Counter())[splits[case]] += 1
    if all(d is None for d in per):
        return None
    parts = [f"{d if d is not None else '(no domain)'} {sum(c.values())} ("
             + ", ".join(f"{s} {c[s]}" for s in SPLITS if c[s]) + ")" for d, c in per.items()]
    return "cases per domain: " + "; ".join(parts)
