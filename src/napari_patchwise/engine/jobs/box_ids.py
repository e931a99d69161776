"""Box ids as people write them: ``"1,4,7"`` (the seed command's ``--boxes``, the export's test boxes)."""

from __future__ import annotations

from ..geometry.box import as_box_id


def parse_box_ids(text: str | None, option: str = "--boxes", example: str = "1,4,7") -> list[int] | None:
    """Box ids written as ``"1,4,7"``, in order, each once; ``None`` for empty text (all boxes).

    Raises
    ------
    ValueError
        If a value is not a whole number >= 1 (the message names ``option``).

    Examples
    --------
    >>> parse_box_ids("3, 1,3")
    [3, 1]
    >>> parse_box_ids("") is None
    True
    >>> parse_box_ids("0")
    Traceback (most recent call last):
    ...
    ValueError: --boxes takes box ids like 1,4,7 (whole numbers >= 1); got '0'.
    """
    if not text or not text.strip():
        return None
    try:
        ids = [as_box_id(int(v)) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        ids = []
    if not ids:
        raise ValueError(f"{option} takes box ids like {example} (whole numbers >= 1); got {text!r}.")
    return list(dict.fromkeys(ids))
