"""napari-patchwise: guided 3D patch annotation for training segmentation models.

The package has three tiers whose imports flow one way:

``engine``
    pure numpy / scipy / scikit-image / zarr code (no Qt, no napari);
``layers``
    napari adapters that turn engine objects into layer data and back;
``_qt``
    thin dock widgets.

The ``patchwise`` command (:mod:`napari_patchwise.cli`) calls the same engine
functions as the widgets.
"""

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("napari-patchwise")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
