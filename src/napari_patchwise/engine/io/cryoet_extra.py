"""The optional packages behind MRC, NRRD and NIfTI (the ``cryoet`` extra), imported only when used."""

from __future__ import annotations

import importlib

#: import name -> (pip package, format it reads)
_PACKAGES = {"mrcfile": ("mrcfile", "MRC"), "nrrd": ("pynrrd", "NRRD"), "nibabel": ("nibabel", "NIfTI")}


def cryoet_module(name: str):
    """The module ``name`` (``'mrcfile'``, ``'nrrd'`` or ``'nibabel'``), or an ``ImportError`` naming
    the extra to install.

    Examples
    --------
    >>> cryoet_module("nibabel").__name__
    'nibabel'
    """
    package, fmt = _PACKAGES[name]
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(f"reading or writing {fmt} files needs {package}: pip install "
                          f"'napari-patchwise[cryoet]' (or pip install {package}).") from e
