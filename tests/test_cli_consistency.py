"""``patchwise check`` compares a project's images; ``images --set-domain`` and ``propose --domain`` tag them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_collection

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import snapshot as _snapshot  # noqa: E402

SIZE = ["--size", "32,32,32"]
CONSISTENCY = {"voxel-size-differs", "unit-differs", "dtype-differs", "intensity-differs", "domains",
               "voxel-size-not-compared", "intensity-not-compared"}


def snapshot(folder: Path) -> dict:
    return {k: v for k, v in _snapshot(folder).items() if k != folder.as_posix()}


def _volume(seed, dtype=np.uint8, shape=(32, 64, 64)):
    rng = np.random.default_rng(seed)
    data = rng.normal(60, 10, shape)
    data[:, 20:30, 20:30] += 100
    return np.clip(data, 0, 255).astype(dtype)


@pytest.fixture
def images(tmp_path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    write_tiff(d / "a.tif", _volume(1), (1.0, 0.25, 0.25))
    write_tiff(d / "b.tif", _volume(2), (1.0, 0.25, 0.25))
    write_tiff(d / "coarse.tif", _volume(3, np.uint16), (4.0, 0.5, 0.5))
    return d


def _propose(images, out, *names, extra=()):
    assert main(["propose", *(str(images / f"{n}.tif") for n in names), "-o", str(out), *SIZE, "--n", "1",
                 *extra]) == 0


def _consistency(findings) -> list:
    return sorted((f["code"], tuple(f["images"])) for f in findings)


def test_check_reports_voxel_size_and_dtype_differences(images, tmp_path, capsys):
    out = tmp_path / "p"
    _propose(images, out, "a", "b", "coarse")
    capsys.readouterr()
    assert main(["check", str(out)]) == 0  # consistency findings are warnings: no error
    text = capsys.readouterr().out
    section = text[text.index("consistency of the 3 images:"):]
    assert "voxel-size-differs: coarse is 4x0.5x0.5 micrometer, a is 1x0.25x0.25 micrometer: coarse is 4x " \
           "coarser in z, 2x coarser in y and x." in section
    assert "dtype-differs: coarse is uint16 (16-bit unsigned integer), a is uint8" in section
    assert "total: 3 images" in text
    assert main(["check", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by = {r["image"]: _consistency(r["consistency"]) for r in rows}
    assert by["coarse"] == [("dtype-differs", ("coarse", "a")), ("voxel-size-differs", ("coarse", "a"))]
    assert by["b"] == []  # b matches a: nothing names it
    assert all(f["code"] not in CONSISTENCY for r in rows for f in r["findings"])  # each image's own apart
    # --images narrows the comparison too
    assert main(["check", str(out), "--images", "a,b", "--json"]) == 0
    assert all(_consistency(r["consistency"]) == [] for r in json.loads(capsys.readouterr().out))


def test_equal_images_and_one_image_have_no_consistency_findings(images, tmp_path, capsys):
    out = tmp_path / "p"
    _propose(images, out, "a", "b")
    capsys.readouterr()
    main(["check", str(out)])
    assert "consistency of" not in capsys.readouterr().out
    one = tmp_path / "one"
    _propose(images, one, "coarse")
    capsys.readouterr()
    main(["check", str(one), "--json"])
    assert "consistency" not in json.loads(capsys.readouterr().out)  # one image: printed as it always was


def test_images_of_other_domains_are_not_compared(images, tmp_path, capsys):
    out = tmp_path / "p"
    _propose(images, out, "a", "b", extra=["--domain", "fast"])
    _propose(images, out, "coarse", extra=["--domain", "slow"])
    assert [e.domain for e in load_collection(out).images] == ["fast", "fast", "slow"]
    capsys.readouterr()
    main(["check", str(out), "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert _consistency(rows[2]["consistency"]) == [("domains", ("a", "b", "coarse"))]
    assert "2 domains (fast: a, b; slow: coarse)" in rows[2]["consistency"][0]["message"]


def test_set_domain_round_trip(images, tmp_path, capsys):
    out = tmp_path / "p"
    _propose(images, out, "a", "b", "coarse")
    capsys.readouterr()
    assert main(["images", str(out), "--set-domain", "coarse=slow, a=fast"]) == 0
    text = capsys.readouterr().out
    assert "coarse: domain (none) -> slow" in text and "a: domain (none) -> fast" in text
    assert [e.domain for e in load_collection(out).images] == ["fast", None, "slow"]
    assert text.splitlines()[-1].split()[-1] == "slow"  # the table shows it
    assert main(["images", str(out), "--set-domain", "a=", "--json"]) == 0
    captured = capsys.readouterr()
    assert [r["domain"] for r in json.loads(captured.out)] == [None, None, "slow"]
    assert "a: domain fast -> (none)" in captured.err


@pytest.mark.parametrize("spec, phrase", [
    ("nope=x", "no image named 'nope' in the project; its images are a, b. Nothing was changed."),
    ("a", "--set-domain takes IMAGE=DOMAIN"),
    ("a=x,a=y", "'a' is named twice"),
])
def test_set_domain_refuses_bad_input_and_changes_nothing(images, tmp_path, capsys, spec, phrase):
    out = tmp_path / "p"
    _propose(images, out, "a", "b")
    before = snapshot(out)
    capsys.readouterr()
    assert main(["images", str(out), "--set-domain", spec]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err
    assert snapshot(out) == before


def test_real_volumes_report_their_voxel_size_and_dtype_differences(shared_data, tmp_path, capsys):
    out = tmp_path / "real"
    for spec, vox in ((shared_data / "fibsem_gala" / "train-image.h5", "10,10,10nm"),
                      (f"{shared_data / 'fibsem_neuroproof' / 'training_sample2_crop128.h5'}:raw", "10,10,10nm"),
                      (shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5:raw", None),
                      (shared_data / "plant_membrane" / "sample_patch.h5:raw", "0.5,0.25,0.25um")):
        assert main(["propose", str(spec), "-o", str(out), "--n", "1",
                     *(["--voxel-size", vox] if vox else [])]) == 0
    capsys.readouterr()
    main(["check", str(out), "--json"])
    found = {(f["code"], tuple(f["images"])) for r in json.loads(capsys.readouterr().out)
             for f in r["consistency"]}
    # the two FIB-SEM crops (10 nm) against the ovule (0.284x0.128x0.128 um, recorded in the file)
    assert ("voxel-size-differs", ("1136_mini", "train-image")) in found
    assert ("voxel-size-differs", ("sample_patch", "train-image")) in found
    assert ("dtype-differs", ("sample_patch", "train-image")) in found  # uint16 among uint8
    assert not any("training_sample2_crop128" == imgs[0] for code, imgs in found
                   if code in ("voxel-size-differs", "dtype-differs"))


def test_propose_domain_tags_a_new_one_image_project_and_notes_an_image_already_held(images, tmp_path, capsys):
    out = tmp_path / "one"
    _propose(images, out, "a", extra=["--domain", "em"])
    assert [e.domain for e in load_collection(out).images] == ["em"]
    capsys.readouterr()
    _propose(images, out, "a", extra=["--domain", "lm"])  # more boxes on the image it holds
    assert "--domain tags images added to a project" in capsys.readouterr().out
    assert [e.domain for e in load_collection(out).images] == ["em"]
