"""Atomic file writes: a temporary file in the same folder, fsync, rename.

A crash or a full disk during a write leaves the previous file intact.
:func:`write_new` writes a file that must not exist yet the same way, and never
replaces one that appeared meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path


def write_json_atomic(path, obj) -> Path:
    """Write ``obj`` as indented JSON: temporary file, fsync, rename into place.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_json_atomic(f"{tmp}/a.json", {"b": 1}).read_text()
    '{\\n  "b": 1\\n}\\n'
    """
    return _write_bytes_atomic(Path(path), _json_bytes(obj))


def _json_bytes(obj) -> bytes:
    text = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    # Lone surrogates cannot be UTF-8 encoded; inside JSON strings "\udcxx" is a
    # valid escape, so backslashreplace keeps the round trip exact.
    return text.encode("utf-8", "backslashreplace")


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) in place of ``path``'s content: temporary file, fsync, rename."""
    return _write_bytes_atomic(Path(path), text.encode("utf-8"))


def write_new(path, data: bytes | str) -> Path:
    """Write a new file whole (temporary file, fsync, hard link into place); never replaces a file.

    Raises
    ------
    FileExistsError
        ``path`` exists, or appeared while the data was written (it is left as it is).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_new(f"{tmp}/page.html", "<p>one</p>")
    ...     try:
    ...         write_new(p, "<p>two</p>")
    ...     except FileExistsError:
    ...         print(p.read_text())
    <p>one</p>
    """
    path = Path(path)
    return _write_bytes_atomic(path, data.encode("utf-8") if isinstance(data, str) else data, replace=False)


def _write_bytes_atomic(path: Path, data: bytes, replace: bool = True) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600 files; take the old file's mode, else the folder's (umask)
        os.chmod(tmp, (path if path.exists() else path.parent).stat().st_mode & 0o666)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name is taken
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # persist the rename (not possible on Windows)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    return path


def remove_stale_temps(path) -> int:
    """Remove the temporary files a killed atomic write of ``path`` left beside it; how many.

    Only files named exactly as :func:`write_json_atomic` names them
    (``.NAME.xxxxxxxx.tmp``). Call it only as the file's one writer.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in (".a.json.k2_9xq0z.tmp", ".a.json.tmp", ".b.json.k2_9xq0z.tmp"):
    ...         _ = Path(tmp, name).write_text("{")
    ...     print(remove_stale_temps(f"{tmp}/a.json"), sorted(p.name for p in Path(tmp).iterdir()))
    1 ['.a.json.tmp', '.b.json.k2_9xq0z.tmp']
    """
    path = Path(path)
    pattern = re.compile(r"\." + re.escape(path.name) + r"\.[a-z0-9_]{8}\.tmp\Z")
    n = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if pattern.match(entry.name) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    n += 1
    return n
