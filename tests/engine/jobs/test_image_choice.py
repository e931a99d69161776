"""Which images a command covers (--images) and box ids per image (--boxes NAME:ID); one request per image."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine.jobs.export import parse_test_boxes
from napari_patchwise.engine.jobs.image_choice import boxes_by_image, choose_images
from napari_patchwise.engine.jobs.seed import SeedRequest, image_requests

NAMES = ["cho_t000", "cho_t001", "fib"]


def test_images_keep_the_projects_order_each_once():
    assert choose_images(NAMES, "fib,cho_t000,fib") == ["cho_t000", "fib"]
    assert choose_images(NAMES, " ") == NAMES


@pytest.mark.parametrize("text, phrase", [
    ("fib,FIB", "'FIB'"), ("x,y", "'x', 'y'"), (",", "none in ','"),
])
def test_an_unknown_image_is_named_with_the_projects_images(text, phrase):
    with pytest.raises(ValueError, match="its images are cho_t000, cho_t001, fib") as e:
        choose_images(NAMES, text)
    assert phrase in str(e.value)


def test_boxes_named_per_image_leave_the_other_images_out():
    assert boxes_by_image(NAMES, "fib:3,cho_t000:2,fib:3,fib:1") == {"cho_t000": [2], "fib": [3, 1]}
    assert boxes_by_image(["fib"], "fib:3,2") == {"fib": [3, 2]}  # one image: plain ids and NAME:ID alike


@pytest.mark.parametrize("names, text, phrase", [
    (NAMES, "1,2", "box ids are per image and 3 images are chosen"),
    (NAMES, "fib:1,2", "'2' names no chosen image"),
    (NAMES, "fib:", "'fib:' has no box id"),
    (NAMES, "fib:0", "whole numbers >= 1"),
    (["fib"], "cho_t000:1", "NAME one of fib"),
    (["fib"], "x", "box ids like 1,4,7"),
])
def test_box_ids_that_name_no_box_of_a_chosen_image_are_refused(names, text, phrase):
    with pytest.raises(ValueError, match="--boxes") as e:
        boxes_by_image(names, text)
    assert phrase in str(e.value)


@pytest.mark.parametrize("text", ["fib:3, cho_t000:2 ,fib:3", " fib : 1", "cho:t:2,fib:4"])
def test_the_seed_boxes_and_the_pinned_test_boxes_read_name_id_alike(text):
    names = ["cho_t000", "fib", "cho:t"]
    per_image = boxes_by_image(names, text)
    pinned = parse_test_boxes(text)
    assert {(n, i) for n, ids in per_image.items() for i in ids} == set(pinned)
    assert len(pinned) == len(set(pinned))


def test_one_seed_request_per_image_an_import_or_an_array_into_one_only():
    reqs = image_requests(SeedRequest("p", method="li", diameter=4), {"fib": [1, 2], "cho_t000": None})
    assert [(r.image_name, r.box_ids, r.method, r.diameter) for r in reqs] == [
        ("fib", (1, 2), "li", 4), ("cho_t000", None, "li", 4)]
    one = image_requests(SeedRequest("p", method="probability", source="p.h5"), {"fib": None})
    assert [r.image_name for r in one] == ["fib"]
    with pytest.raises(ValueError, match="--method probability imports one file into one image"):
        image_requests(SeedRequest("p", method="probability", source="p.h5"), {"fib": None, "cho_t000": None})
    with pytest.raises(ValueError, match="an image array into one image"):
        image_requests(SeedRequest("p", image=np.zeros((2, 2, 2))), {"fib": None, "cho_t000": None})
