"""The napari sample-data contribution."""

import numpy as np

from napari_patchwise._sample_data import sample_nuclei


def test_sample_gives_an_image_and_its_ground_truth():
    (img, img_kw, img_type), (lab, lab_kw, lab_type) = sample_nuclei()
    assert (img_type, lab_type) == ("image", "labels")
    assert img.ndim == 3 and img.shape == lab.shape
    assert img_kw["scale"] == lab_kw["scale"] == (2.0, 0.5, 0.5)
    lo, hi = img_kw["contrast_limits"]
    assert 0 <= lo < hi < np.iinfo(img.dtype).max  # the saturated stripe does not wash out the view
    assert np.issubdtype(lab.dtype, np.integer) and lab.max() > 50
