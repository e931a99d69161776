"""Messages the docks show."""

from __future__ import annotations


def failure_message(what: str, exc: Exception) -> str:
    """What a person reads when work in a worker failed.

    Errors the engine raises on purpose (bad input, a missing optional
    package, a file problem) carry their own explanation; anything else is
    named by its type so it can be reported.

    Examples
    --------
    >>> failure_message("Export", ValueError("choose a folder."))
    'Export failed: choose a folder.'
    >>> failure_message("Export", KeyError("x"))
    "Export failed (KeyError): 'x'"
    """
    if isinstance(exc, ValueError | ImportError | OSError):  # ExportError, ProjectError are ValueErrors
        return f"{what} failed: {exc}"
    return f"{what} failed ({type(exc).__name__}): {exc}"
