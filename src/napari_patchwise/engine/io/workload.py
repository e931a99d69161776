"""How much work a volume's claimed size asks for, checked before any of it is done.

A volume's shape comes from its file header (Zarr metadata, HDF5 dataspace,
TIFF tags) and is not to be trusted: an 8 KB Zarr folder can claim 10⁶ × 10⁶ ×
10⁶ voxels. Before the proposal lays out its candidates it asks here

- how many chunks of the volume hold data (:func:`stored_chunks`): a volume with
  none is empty (every voxel is the fill value), so there is nothing to propose;
- how much memory the measurement needs (:func:`proposal_memory`) against the
  memory available (:func:`available_memory`);

and :func:`check_proposal` refuses with a message naming the image, its shape,
what it would take and how to make it smaller, or returns a
:class:`ProposalWork` whose :meth:`~ProposalWork.summary` says what is about to
happen, shown before the long pass starts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Memory the measurement holds per cell of the candidate layout (histograms of
#: values and of neighbour differences, sums, and their summed-area tables),
#: measured at about 5.4 KB and rounded up.
BYTES_PER_CELL = 8 * 1024
#: Memory per candidate (its origin, statistics and strata).
BYTES_PER_CANDIDATE = 512
#: Memory the chunks being read and the global levels take whatever the size.
BYTES_FIXED = 512 * 2**20
#: Share of the available memory the proposal may plan to use.
MEMORY_SHARE = 0.75

_METADATA = {"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"}
_NESTED = ("zarr.json", ".zarray", ".zgroup")  # a folder holding one is another array or group


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _fmt(t: Sequence[int]) -> str:
    return "×".join(f"{int(v):,}" for v in t)


def available_memory() -> int | None:
    """Bytes of memory available to this process now (``None`` if unknown).

    ``MemAvailable`` of ``/proc/meminfo`` on Linux, else free physical pages.

    Examples
    --------
    >>> n = available_memory()
    >>> n is None or n > 0
    True
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def stored_chunks(array) -> tuple[int, int] | None:
    """``(written, total)`` chunks of a Zarr array on disk or an HDF5 dataset.

    ``None`` when it cannot be told without reading (numpy arrays, TIFF
    memory maps, remote stores, dask arrays): they hold what they claim.
    Counting looks at file names (Zarr) or the chunk index (HDF5); no chunk
    is read.

    Examples
    --------
    >>> import tempfile, zarr
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     z = zarr.create_array(f"{tmp}/v.zarr", shape=(64, 64, 64), chunks=(32, 32, 32), dtype="u1")
    ...     before = stored_chunks(z)
    ...     z[:32, :32, :40] = 1
    ...     print(before, stored_chunks(z))
    (0, 8) (2, 8)
    >>> stored_chunks(np.zeros((2, 2, 2))) is None
    True
    """
    h5 = _hdf5_chunks(array)
    if h5 is not None:
        return h5
    root = _zarr_folder(array)
    if root is None:
        return None
    grid = getattr(array, "shards", None) or array.chunks
    total = math.prod(-(-int(s) // int(c)) for s, c in zip(array.shape, grid))
    written = 0
    for folder, dirs, files in os.walk(root):  # arrays nested inside are not this one's chunks
        written += sum(f not in _METADATA for f in files)
        here = Path(folder)
        dirs[:] = [d for d in dirs if not any((here / d / m).exists() for m in _NESTED)]
    return written, total


def _zarr_folder(array) -> Path | None:
    try:
        import zarr
    except ImportError:  # pragma: no cover - zarr is a dependency
        return None
    if not isinstance(array, zarr.Array):
        return None
    root = getattr(array.store, "root", None)
    if root is None:
        return None
    folder = Path(root) / array.path if array.path else Path(root)
    return folder if folder.is_dir() else None


def _hdf5_chunks(array) -> tuple[int, int] | None:
    if type(array).__module__.split(".")[0] != "h5py":
        return None
    try:
        if array.chunks is None:
            return (1 if array.id.get_storage_size() > 0 else 0), 1
        total = math.prod(-(-int(s) // int(c)) for s, c in zip(array.shape, array.chunks))
        return int(array.id.get_num_chunks()), total
    except (AttributeError, OSError, RuntimeError):
        return None


def proposal_memory(n_cells: int, n_candidates: int) -> int:
    """Bytes the proposal's measurement needs for a layout (an estimate, on the high side).

    Examples
    --------
    >>> _gib(proposal_memory(32_768, 27_783))  # a 2 GiB volume, 64³ boxes
    '782 MiB'
    """
    return BYTES_FIXED + BYTES_PER_CELL * int(n_cells) + BYTES_PER_CANDIDATE * int(n_candidates)


@dataclass(frozen=True)
class ProposalWork:
    """What measuring a volume's candidates will take.

    Parameters
    ----------
    name : str
        The image (file name or layer name).
    shape : tuple of int
        Its full-resolution shape.
    block : tuple of int
        Candidate size (full-resolution voxels).
    n_candidates, n_cells : int
        Candidates and layout cells.
    memory : int
        Estimated bytes (:func:`proposal_memory`).
    chunks : tuple of int or None
        ``(written, total)`` chunks (:func:`stored_chunks`).
    """

    name: str
    shape: tuple[int, int, int]
    block: tuple[int, int, int]
    n_candidates: int
    n_cells: int
    memory: int
    chunks: tuple[int, int] | None = None

    def summary(self) -> str:
        """One line saying what is about to be measured.

        Examples
        --------
        >>> ProposalWork("v.zarr", (4096, 4096, 4096), (64, 64, 64), 2_048_383, 2_097_152,
        ...              proposal_memory(2_097_152, 2_048_383), (40, 16_384)).summary()
        'measuring 2,048,383 candidate boxes of 64×64×64 in v.zarr (4,096×4,096×4,096 voxels; 40 of 16,384 chunks hold data), about 17.5 GiB of memory'
        """
        held = ""
        if self.chunks is not None:
            held = f"; {self.chunks[0]:,} of {self.chunks[1]:,} chunks hold data"
        return (f"measuring {self.n_candidates:,} candidate boxes of {_fmt(self.block)} in "
                f"{self.name} ({_fmt(self.shape)} voxels{held}), about {_gib(self.memory)} of memory")


def check_proposal(image, name: str, shape: Sequence[int], block: Sequence[int],
                   n_cells: int, n_candidates: int, *, available: int | None = None) -> ProposalWork:
    """Refuse a proposal the volume cannot feed or the memory cannot hold; else say what it takes.

    Parameters
    ----------
    image : array-like
        The volume (its chunks are counted when it is a Zarr or HDF5 array).
    name : str
        How to name it in messages (its file).
    shape, block : tuple of int
        Full-resolution shape and candidate size.
    n_cells, n_candidates : int
        Size of the candidate layout.
    available : int, optional
        Bytes of memory to allow for (default: :func:`available_memory`).

    Returns
    -------
    ProposalWork

    Raises
    ------
    ValueError
        If no chunk of the volume holds data (it is empty), or the estimate
        exceeds :data:`MEMORY_SHARE` of the available memory; the message
        names the image, its shape and the fix.

    Examples
    --------
    >>> check_proposal(None, "big.zarr", (10**6,) * 3, (64,) * 3, 15_625**3, 31_249**3,
    ...                available=16 * 2**30)
    Traceback (most recent call last):
    ...
    ValueError: big.zarr claims 1,000,000×1,000,000×1,000,000 voxels (10¹⁸); proposing boxes of 64×64×64 in it would measure 30,514,648,531,249 candidates and need about 4.26e+04 TiB of memory, more than the 12 GiB it may use (75% of the 16 GiB available). If the shape is right, propose at a larger magnification (e.g. 4,4,4) or with larger boxes, or on a crop of the volume; if it is not, the file's metadata is wrong.
    """
    shape = tuple(int(s) for s in shape)
    block = tuple(int(b) for b in block)
    work = ProposalWork(name, shape, block, int(n_candidates), int(n_cells),
                        proposal_memory(n_cells, n_candidates), stored_chunks(image))
    if work.chunks is not None and work.chunks[0] == 0:
        fill = getattr(image, "fill_value", None)
        fill = f" ({fill})" if isinstance(fill, (int, float, np.number)) else ""
        raise ValueError(
            f"{name} holds no data: none of its {work.chunks[1]:,} chunks is stored, so every "
            f"one of its {_fmt(shape)} voxels is the fill value{fill} and there is nothing to "
            "propose. "
            "Write the image into it first, or open the file that holds the data.")
    free = available_memory() if available is None else int(available)
    if free is not None and work.memory > MEMORY_SHARE * free:
        voxels = math.prod(shape)
        power = f" (10{_superscript(len(str(voxels)) - 1)})" if voxels >= 10**12 else ""
        need = (f"{work.memory / 2**40:.3g} TiB" if work.memory >= 2**40 else _gib(work.memory))
        raise ValueError(
            f"{name} claims {_fmt(shape)} voxels{power}; proposing boxes of {_fmt(block)} in it "
            f"would measure {work.n_candidates:,} candidates and need about {need} of memory, "
            f"more than the {_gib(MEMORY_SHARE * free)} it may use ({MEMORY_SHARE:.0%} of the "
            f"{_gib(free)} available). If the shape is right, propose at a larger "
            "magnification (e.g. 4,4,4) or with larger boxes, or on a crop of the volume; "
            "if it is not, the file's metadata is wrong.")
    return work


def check_grid_memory(shape: Sequence[int], block: Sequence[int], n_blocks: int, *,
                      available: int | None = None) -> None:
    """Refuse a grid of blocks whose origins and statistics would not fit in memory.

    Examples
    --------
    >>> check_grid_memory((10**6,) * 3, (64,) * 3, 15_625**3, available=2**34)
    Traceback (most recent call last):
    ...
    ValueError: a grid of 64×64×64 blocks over 1,000,000×1,000,000×1,000,000 voxels has 3,814,697,265,625 blocks and needs about 1.78e+03 TiB of memory, more than 75% of the 16 GiB available; use larger blocks, a larger magnification or a crop of the volume.
    """
    need = int(n_blocks) * BYTES_PER_CANDIDATE
    free = available_memory() if available is None else int(available)
    if free is not None and need > MEMORY_SHARE * free:
        text = f"{need / 2**40:.3g} TiB" if need >= 2**40 else _gib(need)
        raise ValueError(
            f"a grid of {_fmt(block)} blocks over {_fmt(shape)} voxels has {int(n_blocks):,} blocks "
            f"and needs about {text} of memory, more than {MEMORY_SHARE:.0%} of the {_gib(free)} "
            "available; use larger "
            "blocks, a larger magnification or a crop of the volume.")


def check_tiff_read(path, shape: Sequence[int], dtype, compressed: bool, *,
                    available: int | None = None) -> None:
    """Refuse to read a TIFF whole when its header claims more than the file or memory holds.

    A TIFF that cannot be memory-mapped (compressed, tiled, or not laid out in
    one piece) is read whole into memory; its shape comes from its tags.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp, "v.tif")
    ...     _ = p.write_bytes(b"II*" + bytes(8189))
    ...     check_tiff_read(p, (60000, 60000), "uint16", compressed=False)
    Traceback (most recent call last):
    ...
    ValueError: v.tif claims 60,000×60,000 pixels of uint16 (6.71 GiB) but the file holds 8,192 bytes and is not compressed; the file is truncated or its tags are wrong.
    """
    p = Path(path)
    need = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    size = p.stat().st_size
    what = f"{p.name} claims {_fmt(shape)} pixels of {np.dtype(dtype)} ({_gib(need)})"
    if not compressed and need > size:
        raise ValueError(f"{what} but the file holds {size:,} bytes and is not compressed; the "
                         "file is truncated or its tags are wrong.")
    free = available_memory() if available is None else int(available)
    if free is not None and need > MEMORY_SHARE * free:
        raise ValueError(
            f"{what}; it cannot be memory-mapped (compressed or tiled), so it would be read whole, "
            f"more than {MEMORY_SHARE:.0%} of the {_gib(free)} of memory available. Save it as "
            "Zarr / OME-Zarr or as an uncompressed TIFF, which are read piece by piece.")


def check_region_memory(shape: Sequence[int], bytes_per_voxel: int, what: str, *,
                        available: int | None = None) -> None:
    """Refuse to load a region (a box's image or annotation) that memory cannot hold.

    Parameters
    ----------
    shape : tuple of int
        Shape of the region as it will be held.
    bytes_per_voxel : int
        Memory the step holds per voxel (its arrays together).
    what : str
        The region, for the message (e.g. ``'box 7'``).
    available : int, optional
        Bytes to allow for (default :func:`available_memory`).

    Examples
    --------
    >>> check_region_memory((64, 64, 64), 16, "box 1", available=2**30)
    >>> check_region_memory((100_000,) * 3, 16, "box 7", available=2**34)
    Traceback (most recent call last):
    ...
    ValueError: box 7 spans 100,000×100,000×100,000 voxels; working on it needs about 1.46e+04 TiB of memory, more than 75% of the 16 GiB available. Shrink or split the box (redraw it, or edit its lo/hi in plan.json), or plan at a larger magnification.
    """
    need = math.prod(int(s) for s in shape) * int(bytes_per_voxel)
    free = available_memory() if available is None else int(available)
    if free is not None and need > MEMORY_SHARE * free:
        text = f"{need / 2**40:.3g} TiB" if need >= 2**40 else _gib(need)
        raise ValueError(
            f"{what} spans {_fmt(shape)} voxels; working on it needs about {text} of memory, more "
            f"than {MEMORY_SHARE:.0%} of the {_gib(free)} available. Shrink or split the box "
            "(redraw it, or edit its lo/hi in plan.json), or plan at a larger magnification.")


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
