"""Splits by image balanced across domain tags: every domain with two images trains; no image leaks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from napari_patchwise.engine.export.images import assign_image_splits
from napari_patchwise.engine.export.manifest import read_manifest
from napari_patchwise.engine.export.splits import assign_domain_splits
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.project_images import save_collection

sys.path.insert(0, str(Path(__file__).parent))
from test_export_images import _cases, _export, _project  # noqa: E402

#: two small domains beside a large one: an unbalanced random draw can put a whole small domain in val
DOMAINS = {"em1": "em", "em2": "em", "xr1": "xray", "xr2": "xray",
           **{f"lm{k}": "lm" for k in range(1, 7)}}


def _trained(splits, domains):
    return {domains[n] for n, s in splits.items() if s == "train"}


@pytest.mark.parametrize("fractions", [(0.6, 0.4, 0), (0.5, 0.3, 0.2), (0.8, 0.2, 0)])
def test_every_domain_of_two_or_more_images_keeps_one_in_training(fractions):
    names = list(DOMAINS)
    for seed in range(40):
        splits = assign_domain_splits(names, DOMAINS, fractions, seed)
        assert set(splits) == set(names)
        assert _trained(splits, DOMAINS) == {"em", "xray", "lm"}, (seed, splits)
        assert "val" in splits.values()
        assert splits == assign_domain_splits(names, DOMAINS, fractions, seed)  # same seed, same splits


def test_the_plain_image_split_can_leave_a_domain_out_of_training():
    """The reason for the domain split: without it some seed trains on no em (or no xray) image."""
    names = list(DOMAINS)
    missing = [seed for seed in range(40)
               if _trained(assign_image_splits(names, (0.6, 0.4, 0), seed), DOMAINS) != {"em", "xray", "lm"}]
    assert missing


def test_held_out_and_earlier_splits_are_kept():
    names = list(DOMAINS)
    splits = assign_domain_splits(names, DOMAINS, (0.6, 0.4, 0), 1, test_images=["lm6"],
                                  existing={"em1": "val", "lm1": "val"})
    assert splits["lm6"] == "test" and splits["em1"] == "val" and splits["lm1"] == "val"
    assert "em" in _trained(splits, DOMAINS)  # em1 was val before: em2 trains
    with pytest.raises(ValueError, match="held out as test but was already exported as train"):
        assign_domain_splits(names, DOMAINS, test_images=["em1"], existing={"em1": "train"})


def test_a_domain_of_one_image_and_untagged_images_are_split_like_the_rest():
    domains = {"a": None, "b": None, "c": None, "solo": "em"}
    for seed in range(20):
        splits = assign_domain_splits(list(domains), domains, (0.7, 0.3, 0), seed)
        assert list(splits.values()).count("val") >= 1 and list(splits.values()).count("train") >= 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_export_with_domains_never_leaks_an_image_and_counts_cases_per_domain(tmp_path, seed):
    names = ["cho", "plant", "fib_a", "fib_b", "fib_c"]
    folder = _project(tmp_path, names, n_boxes=2)
    coll = load_collection(folder)
    tags = {"cho": "lm", "plant": "lm", "fib_a": "em", "fib_b": "em", "fib_c": "em"}
    save_collection(folder, Collection(coll.images).set_domains(tags))
    out = tmp_path / "out"
    report = _export(folder, out, seed=seed, fractions=(0.6, 0.4, 0))
    root, cases = _cases(out)
    per_image: dict = {}
    for entry in cases.values():
        per_image.setdefault(entry["image"], set()).add(entry["split"])
    assert all(len(s) == 1 for s in per_image.values()), per_image
    trained = {tags[n] for n, s in per_image.items() if s == {"train"}}
    assert trained == {"lm", "em"}
    splits = json.loads((root / "splits_final.json").read_text())[0]
    images_in = {k: {c.rsplit("_box_", 1)[0] for c in v} for k, v in splits.items()}
    assert not images_in["train"] & images_in["val"]
    note = next(n for n in report.notes["nnunet"] if n.startswith("cases per domain"))
    lm = sum(1 for e in cases.values() if tags[e["image"]] == "lm")
    assert note.startswith(f"cases per domain: lm {lm} (train ") and "; em 6 (train " in note
    assert read_manifest(root)["split"]["by"] == "image"
