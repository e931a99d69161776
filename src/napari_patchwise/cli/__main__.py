"""``python -m napari_patchwise.cli``: the ``patchwise`` command."""

import sys

from .main import main

sys.exit(main())
