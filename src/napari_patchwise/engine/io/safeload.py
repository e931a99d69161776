"""Reading pickled input without running code from it.

A pickle is a small program: unpickling a crafted file can import any module
and call any function (``os.system`` included). Cellpose saves its
segmentations as ``*_seg.npy`` files holding a pickled dict, so reading them
must unpickle, but only what such a file holds: numpy arrays, dtypes and
scalars inside plain containers (dict, list, tuple, str, bytes, numbers, bool,
None). :class:`SafeUnpickler` allows exactly those; anything else stops the
reading before it is built, with an :class:`UnsafeFileError` naming the file
and what it asked for.

Examples
--------
>>> import io, pickle
>>> safe_loads(pickle.dumps({"masks": np.arange(3), "diameter": 30.0}))["masks"].tolist()
[0, 1, 2]
>>> safe_loads(pickle.dumps(print), name="evil_seg.npy")
Traceback (most recent call last):
...
napari_patchwise.engine.io.safeload.UnsafeFileError: evil_seg.npy was refused: it asks to load builtins.print, which a data file never needs (a crafted file can run code this way). Only numpy arrays and plain values (dict, list, tuple, text, numbers) are read; if the file is yours, save the masks as a label TIFF (*_masks.tif) and import that.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format

__all__ = ["SafeUnpickler", "UnsafeFileError", "load_npy", "safe_loads"]

#: ``(module, name)`` a data pickle may refer to: numpy's array, dtype and scalar
#: reconstruction, and plain values that pickle spells as calls.
ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("collections", "OrderedDict"),
    ("_codecs", "encode"),  # bytes as pickled by protocol 2
})

#: Files written by numpy 1.x name ``numpy.core``; numpy 2 moved it to ``numpy._core``.
_RENAMED = {"numpy.core.multiarray": "numpy._core.multiarray", "numpy.core.numeric": "numpy._core.numeric"}


_HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}


class UnsafeFileError(ValueError):
    """A pickled file asks for something other than arrays and plain values; it was not read."""


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that builds only numpy arrays, dtypes, scalars and plain containers.

    Parameters
    ----------
    file : binary file
        The pickle stream.
    name : str
        What to call the file in messages.
    """

    def __init__(self, file, *, name: str = "the file"):
        super().__init__(file)
        self._name = name

    def find_class(self, module: str, name: str):
        module = _RENAMED.get(module, module)
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeFileError(
                f"{self._name} was refused: it asks to load {module}.{name}, which a data file never "
                "needs (a crafted file can run code this way). Only numpy arrays and plain values "
                "(dict, list, tuple, text, numbers) are read; if the file is yours, save the masks "
                "as a label TIFF (*_masks.tif) and import that."
            )
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafeFileError(f"{self._name} was refused: it refers to outside objects ({pid!r}).")


def safe_loads(data: bytes, *, name: str = "the file"):
    """Unpickle ``data`` with :class:`SafeUnpickler`.

    Raises
    ------
    UnsafeFileError
        If the pickle refers to anything but arrays and plain values.
    ValueError
        If it is not a readable pickle.
    """
    return _load(io.BytesIO(data), name)


def _load(fh, name: str):
    try:
        return SafeUnpickler(fh, name=name).load()
    except UnsafeFileError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError, RecursionError) as e:
        raise ValueError(f"{name} is damaged or not a pickle numpy wrote ({type(e).__name__}: {e}).") from None


def load_npy(path):
    """A ``.npy`` file's content, unpickling object arrays with :class:`SafeUnpickler`.

    Plain arrays are read as :func:`numpy.load` reads them; object arrays (a
    Cellpose ``*_seg.npy`` holds a dict in one) are unpickled safely, and a 0-d
    object array is returned as the object it holds.

    Raises
    ------
    UnsafeFileError
        If the pickled part refers to anything but arrays and plain values.
    ValueError
        If the file is not a ``.npy`` file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/a_seg.npy", {"masks": np.ones((2, 2), "uint16")})
    ...     load_npy(f"{tmp}/a_seg.npy")["masks"].sum()
    np.uint64(4)
    """
    p = Path(path)
    with open(p, "rb") as fh:
        try:
            version = npy_format.read_magic(fh)
            if version not in _HEADER_READERS:
                raise ValueError(f"format version {version} is not read here; save it again with numpy.save")
            _, _, dtype = _HEADER_READERS[version](fh)
        except (ValueError, EOFError, SyntaxError, TypeError) as e:
            raise ValueError(f"{p.name} is not a NumPy .npy file ({e}).") from None
        if not dtype.hasobject:
            fh.seek(0)
            return np.load(fh, allow_pickle=False)
        obj = _load(fh, p.name)
    if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.shape == ():
        return obj.item()
    return obj
