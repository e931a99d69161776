"""Annotation classes of a plan: a name and a kind (instance or semantic).

The layers ``background`` and ``ignore`` always exist, so no class may take
those names.

Examples
--------
>>> [(c.name, c.kind) for c in parse_classes("nuclei, membrane:semantic")]
[('nuclei', 'instance'), ('membrane', 'semantic')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLASS_KINDS = ("instance", "semantic")
RESERVED_LAYERS = ("background", "ignore")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


@dataclass(frozen=True)
class ClassSpec:
    """An annotation class.

    Parameters
    ----------
    name : str
        Letters, digits, ``_`` and ``-``, starting with a letter; not
        ``background`` or ``ignore`` (those layers always exist).
    kind : {'instance', 'semantic'}
        Instance classes hold ids ``1..N``; semantic classes hold ``1``.

    Examples
    --------
    >>> ClassSpec("nuclei").kind
    'instance'
    >>> ClassSpec("background")
    Traceback (most recent call last):
    ...
    ValueError: class name 'background' is reserved (background and ignore layers always exist); choose another name.
    """

    name: str
    kind: str = "instance"

    def __post_init__(self):
        if self.name in RESERVED_LAYERS:
            raise ValueError(
                f"class name {self.name!r} is reserved (background and ignore layers always "
                "exist); choose another name."
            )
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValueError(
                f"class name {self.name!r} is not valid; use letters, digits, '_' or '-', "
                "starting with a letter (e.g. 'nuclei')."
            )
        if self.kind not in CLASS_KINDS:
            raise ValueError(f"class kind must be 'instance' or 'semantic'; got {self.kind!r}.")


def parse_classes(text: str) -> tuple[ClassSpec, ...]:
    """Parse ``"nuclei:instance, membrane:semantic"`` into class specs.

    The kind defaults to ``instance``.

    Examples
    --------
    >>> [(c.name, c.kind) for c in parse_classes("nuclei, mito:semantic")]
    [('nuclei', 'instance'), ('mito', 'semantic')]
    """
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, kind = part.partition(":")
        out.append(ClassSpec(name.strip(), kind.strip() or "instance"))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"class names must be unique; got {names}.")
    if not out:
        raise ValueError("give at least one class, e.g. 'nuclei:instance'.")
    return tuple(out)
