"""Which images of a project a command covers (``--images``), and box ids per image (``--boxes``).

A project holds several images, each with its own boxes numbered from 1, so a
box id alone names a box only once one image is chosen. :func:`choose_images`
reads ``--images NAME[,NAME]`` (every image, in the collection's order, when
it is not given); :func:`boxes_by_image` reads ``--boxes``, where ``NAME:ID``
names box ``ID`` of image ``NAME`` and a plain ``ID`` is allowed only when one
image is chosen. :func:`image_box_entries` splits such ``NAME:ID`` lists for
both and for the export's pinned test boxes.
"""

from __future__ import annotations

from collections.abc import Sequence

from .box_ids import parse_box_ids


def choose_images(names: Sequence[str], text: str | None, option: str = "--images") -> list[str]:
    """The images ``text`` names (``"a,b"``), in the project's order; every image when it is empty.

    Parameters
    ----------
    names : sequence of str
        The project's image names, in its order.
    text : str or None
        What was given, names separated by commas.

    Raises
    ------
    ValueError
        A name the project does not hold (the message lists its images).

    Examples
    --------
    >>> choose_images(["a", "b", "c"], None)
    ['a', 'b', 'c']
    >>> choose_images(["a", "b", "c"], "c, a,c")
    ['a', 'c']
    >>> choose_images(["a", "b"], "a,x")
    Traceback (most recent call last):
    ...
    ValueError: --images: the project has no image named 'x'; its images are a, b.
    """
    if text is None or not text.strip():
        return list(names)
    wanted = [w for w in (v.strip() for v in text.split(",")) if w]
    unknown = [w for w in wanted if w not in names]
    if unknown or not wanted:
        what = ", ".join(map(repr, unknown)) if unknown else f"none in {text!r}"
        raise ValueError(f"{option}: the project has no image named {what}; its images are {', '.join(names)}.")
    return [n for n in names if n in wanted]


def image_box_entries(text: str | None) -> list[tuple[str, str | None, str]]:
    """The comma-separated entries of ``text`` as ``(entry, image, box)``.

    ``NAME:ID`` is split at its last colon; a plain ``ID`` has image ``None``.
    Entries, images and boxes are stripped, and empty entries dropped; the box
    text is not checked (see :func:`.box_ids.parse_box_ids`).

    Examples
    --------
    >>> image_box_entries("fib:3, 4,,:2, a:b :1")
    [('fib:3', 'fib', '3'), ('4', None, '4'), (':2', '', '2'), ('a:b :1', 'a:b', '1')]
    >>> image_box_entries(None)
    []
    """
    out = []
    for entry in (v.strip() for v in (text or "").split(",")):
        if entry:
            image, colon, box = entry.rpartition(":")
            out.append((entry, image.strip() if colon else None, box.strip()))
    return out


def boxes_by_image(names: Sequence[str], text: str | None, option: str = "--boxes") -> dict[str, list[int] | None]:
    """The box ids ``text`` gives for each chosen image (``None``: all its boxes).

    ``NAME:ID`` entries name boxes of image ``NAME``; plain ids name boxes of
    the only chosen image. With ``NAME:ID`` entries, an image none of them
    names is left out. Ids keep the order given, each once.

    Parameters
    ----------
    names : sequence of str
        The chosen images, in the project's order (see :func:`choose_images`).
    text : str or None
        What was given, e.g. ``"a:1,a:4,b:2"`` or, with one image, ``"1,4"``.

    Raises
    ------
    ValueError
        Plain ids with several images, an image not chosen, or an id that is
        not a whole number >= 1 (the message says what to write).

    Examples
    --------
    >>> boxes_by_image(["a", "b"], None)
    {'a': None, 'b': None}
    >>> boxes_by_image(["a"], "3,1")
    {'a': [3, 1]}
    >>> boxes_by_image(["a", "b"], "b:2, a:1,b:5")
    {'a': [1], 'b': [2, 5]}
    >>> boxes_by_image(["a", "b"], "1,4")
    Traceback (most recent call last):
    ...
    ValueError: --boxes: box ids are per image and 2 images are chosen (a, b); write NAME:ID (e.g. a:1,b:4), or choose one image with --images NAME.
    """
    if text is None or not text.strip():
        return {n: None for n in names}
    entries = image_box_entries(text)
    if all(image is None for _, image, _ in entries):
        if len(names) == 1:  # one image: plain ids, read as for a project of one image
            return {names[0]: parse_box_ids(text, option)}
        raise ValueError(
            f"{option}: box ids are per image and {len(names)} images are chosen ({', '.join(names)}); "
            f"write NAME:ID (e.g. {names[0]}:1,{names[-1]}:4), or choose one image with --images NAME.")
    chosen: dict[str, list[str]] = {}
    for entry, name, box in entries:
        if not name and len(names) == 1:
            name = names[0]
        if name not in names:
            raise ValueError(f"{option}: {entry!r} names no chosen image; write NAME:ID with NAME one of "
                             f"{', '.join(names)}.")
        if not box:
            raise ValueError(f"{option}: {entry!r} has no box id; write NAME:ID (e.g. {name}:1).")
        chosen.setdefault(name, []).append(box)
    example = f"{names[0]}:1,{names[0]}:4"
    return {n: parse_box_ids(",".join(chosen[n]), option, example) for n in names if n in chosen}
