"""Pickled input (Cellpose ``*_seg.npy``) is read without running anything in it."""

from __future__ import annotations

import io
import pathlib
import pickle

import numpy as np
import numpy.lib.format as npy_format
import pytest

from napari_patchwise.engine.seed.imports import read_cellpose_seg, read_label_image
from napari_patchwise.engine.io.safeload import UnsafeFileError, load_npy, safe_loads


class _TouchOnLoad:
    """Unpickling this creates the file ``path`` (a stand-in for any code a crafted file runs)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


class _Lookalike:
    """A class outside numpy: rebuilt by ``copyreg`` from its module, which is code too."""

    def __init__(self):
        self.masks = np.ones((2, 2, 2), "uint16")


def _crafted_seg(path, marker):
    masks = np.ones((2, 4, 4), "uint16")
    np.save(path, {"masks": masks, "outlines": np.zeros_like(masks), "filename": "x.tif",
                   "payload": _TouchOnLoad(marker)})
    return path


def test_a_crafted_seg_file_runs_code_with_numpy_load(tmp_path):
    """The file used below is a real attack: numpy's own loader runs its payload."""
    marker = tmp_path / "ran"
    p = _crafted_seg(tmp_path / "evil_seg.npy", marker)
    np.load(p, allow_pickle=True)
    assert marker.exists()


@pytest.mark.parametrize("reader", [read_cellpose_seg, read_label_image, load_npy])
def test_a_crafted_seg_file_is_refused_and_runs_nothing(tmp_path, reader):
    marker = tmp_path / "ran"
    p = _crafted_seg(tmp_path / "evil_seg.npy", marker)
    with pytest.raises(UnsafeFileError, match=r"evil_seg.npy was refused: it asks to load pathlib\."):
        reader(p)
    assert not marker.exists()


def test_objects_of_other_classes_are_refused(tmp_path):
    np.save(tmp_path / "obj_seg.npy", {"masks": _Lookalike()})
    with pytest.raises(UnsafeFileError, match=r"obj_seg.npy was refused: .*_Lookalike"):
        read_cellpose_seg(tmp_path / "obj_seg.npy")


def test_a_cellpose_file_with_every_usual_entry_imports(tmp_path):
    masks = np.zeros((3, 8, 8), "uint16")
    masks[1, 2:5, 2:5] = 4
    np.save(tmp_path / "stack_seg.npy", {
        "masks": masks, "outlines": np.zeros_like(masks), "chan_choose": [0, 0],
        "ismanual": np.zeros(1, bool), "filename": "stack.tif", "diameter": 30.0,
        "est_diam": np.float64(28.5), "flows": [np.zeros((3, 8, 8, 3), "uint8"), None],
        "colors": np.zeros((1, 3), "int64"), "zdraw": [], "model_path": 0, "flow_threshold": 0.4,
        "cellprob_threshold": 0.0, "normalize_params": {"lowhigh": None, "percentile": [1.0, 99.0]},
        "restore": None, "ratio": 1.0, "diameter_tuple": (30.0, 30.0), "names": np.array(["a", None], object),
    })
    np.testing.assert_array_equal(read_cellpose_seg(tmp_path / "stack_seg.npy"), masks)


def test_a_seg_file_written_by_numpy_1_imports(tmp_path):
    """numpy 1.x names numpy.core and, at protocol 2, spells bytes through _codecs.encode."""
    masks = np.arange(2 * 3 * 3, dtype="uint16").reshape(2, 3, 3)
    payload = pickle.dumps(np.array({"masks": masks, "filename": "a.tif"}, dtype=object), protocol=2)
    payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in payload and b"_codecs" in payload
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    (tmp_path / "old_seg.npy").write_bytes(buf.getvalue() + payload)
    np.testing.assert_array_equal(read_cellpose_seg(tmp_path / "old_seg.npy"), masks)


def test_plain_arrays_and_damaged_pickles(tmp_path):
    np.save(tmp_path / "plain.npy", np.arange(6).reshape(1, 2, 3))
    assert load_npy(tmp_path / "plain.npy").shape == (1, 2, 3)
    good = pickle.dumps({"masks": np.ones(3)})
    with pytest.raises(ValueError, match="cut.npy is damaged or not a pickle numpy wrote"):
        safe_loads(good[: len(good) // 2], name="cut.npy")
    with pytest.raises(ValueError, match="not a NumPy .npy file"):
        load_npy(_write(tmp_path / "text_seg.npy", b"hello"))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
