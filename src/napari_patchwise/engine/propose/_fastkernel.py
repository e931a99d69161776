"""Whether the compiled sample loop (``_ckernel``, Cython) is used by the proposal.

:func:`._cellkernel.cells_piece` measures a chunk in numpy, or with the
compiled loop when the package was built with it (a C compiler at install;
``pip install`` builds it when it can and installs without it when not). The
compiled loop holds no GIL, so chunks measured on dask's threads and chunks
being decompressed share the cores instead of taking turns.

How the numbers compare: every per-sample value (gradient, flags, neighbour
difference, histogram bin) is computed with the same floating-point steps as
the numpy kernel; a cell's samples are added in another order (numpy adds
along axes, the loop in raster order), so the float sums agree to rounding and
the counts and histograms exactly. ``PATCHWISE_NO_COMPILED=1`` in the
environment makes the proposal use the numpy kernel.
"""

from __future__ import annotations

import os

try:
    from . import _ckernel
except ImportError:  # built without a compiler: the numpy kernel
    _ckernel = None


def available() -> bool:
    """Whether the compiled loop is used (built, and not switched off in the environment).

    Examples
    --------
    >>> isinstance(available(), bool)
    True
    """
    return _ckernel is not None and os.environ.get("PATCHWISE_NO_COMPILED", "") in ("", "0")
