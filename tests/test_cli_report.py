"""``patchwise report``: the page holds the evaluated numbers and its pictures, keeps the history,
never replaces a file unasked, opens in a real browser; and on the real FIB-SEM crop."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from scipy import ndimage

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project

pytest.importorskip("matplotlib")

SHAPE = (16, 48, 48)


@pytest.fixture
def project(tmp_path):
    """The synthetic nuclei sample annotated in three boxes (two strata), and an eroded prediction."""
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample(SHAPE, seed=5)
    write_tiff(tmp_path / "image.tif", s.image, s.voxel_size)
    plan = Plan(ImageRef(SHAPE, path=str(tmp_path / "image.tif"), voxel_size=tuple(s.voxel_size)))
    plan = plan.add_boxes([((0, 0, 0), (16, 24, 24)), ((0, 24, 0), (16, 48, 24))], stratum="dense")
    plan = plan.add_boxes([((0, 0, 24), (16, 24, 48))], stratum="sparse")
    folder = create_project(tmp_path / "proj", plan)
    group = open_annotations(folder)
    labels = s.labels.astype(np.uint32)
    for box in plan.boxes:
        region = box.slices()
        group["nuclei"][region] = labels[region]
        group["background"][region] = (labels[region] == 0).astype(np.uint8)
    eroded = np.where(ndimage.binary_erosion(labels > 0, iterations=2), labels, 0)
    write_tiff(tmp_path / "eroded.tif", eroded.astype(np.uint16))
    return tmp_path, folder


def _evaluate(capsys, folder, pred) -> dict:
    assert main(["evaluate", str(folder), "--prediction", str(pred), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _cells(page: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``, as the text of their cells."""
    part = page[page.index(heading):]
    table = part[part.index("<table>"):part.index("</table>")]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in table.split("<tr>")[1:]]
    return [r for r in rows if r]  # not the heading row


def test_the_page_holds_the_evaluated_numbers_and_embeds_its_pictures(project, capsys):
    d, folder = project
    expected = _evaluate(capsys, folder, d / "eroded.tif")
    out = d / "report.html"
    assert main(["report", str(folder), "-o", str(out), "--prediction", str(d / "eroded.tif")]) == 0
    assert "wrote" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    overall = _cells(page, "<h3>Overall</h3>")[0]
    e = expected["overall"]
    assert overall[:4] == ["overall", str(e["boxes"]), str(e["voxels"]), f"{e['dice']:.3f}"]
    assert overall[7] == f"{e['f1']:.3f}" and overall[-1] == f"{e['vi_merge']:.3f}"
    strata = _cells(page, "<h3>Per stratum</h3>")
    assert [r[0] for r in strata] == ["dense", "sparse"]
    assert strata[1][3] == f"{expected['by_stratum']['sparse']['dice']:.3f}"
    boxes = _cells(page, "<h3>Per box, worst first")
    by_f1 = sorted(expected["boxes"], key=lambda b: b["f1"])
    assert [int(r[1]) for r in boxes] == [b["id"] for b in by_f1]
    assert [r[8] for r in boxes] == [f"{b['f1']:.3f}" for b in by_f1]
    # four plots and a picture of each (three) box, all embedded; nothing fetched from elsewhere
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == 4 + 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"https?://|<link|<script|@import|url\(", page)
    assert "no box records an annotation round" in page and "all boxes" in page
    assert "recommended trainer" in page  # the advisor's answer
    assert "eval_001.json" in page


def test_history_grows_with_evaluate_save_and_each_report(project, capsys):
    d, folder = project
    pred = str(d / "eroded.tif")
    assert main(["evaluate", str(folder), "--prediction", pred, "--save"]) == 0
    assert "saved the evaluation as" in capsys.readouterr().out
    assert main(["report", str(folder), "-o", str(d / "r.html"), "--prediction", pred]) == 0
    assert main(["report", str(folder), "-o", str(d / "r2.html"), "--prediction", pred, "--no-save"]) == 0
    saved = sorted(p.name for p in (folder / "evaluations").iterdir())
    assert saved == ["eval_001.json", "eval_002.json"]
    first = json.loads((folder / "evaluations" / "eval_001.json").read_text())
    assert first["settings"]["threshold"] == 0.5 and first["prediction"].endswith("eroded.tif")
    rows = _cells((d / "r2.html").read_text(encoding="utf-8"), "<h2>Evaluation history</h2>")
    assert [r[0] for r in rows] == ["eval 1", "eval 2", "eval now"]


def test_an_existing_page_is_kept_unless_overwrite(project, capsys):
    d, folder = project
    out = d / "report.html"
    out.write_text("mine")
    argv = ["report", str(folder), "-o", str(out), "--prediction", str(d / "eroded.tif"), "--no-save"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "exists; give another -o, or --overwrite" in err and "Traceback" not in err
    assert out.read_text() == "mine" and not (folder / "evaluations").exists()
    assert main([*argv, "--overwrite"]) == 0 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("argv, phrase", [
    (["-o", "{d}", "--prediction", "{d}/eroded.tif"], "is a folder"),
    (["-o", "{d}/no/r.html", "--prediction", "{d}/eroded.tif"], "does not exist"),
    (["-o", "{d}/r.html", "--prediction", "{d}/missing.tif"], "no prediction at"),
    (["-o", "{d}/r.html", "--prediction", "{d}/eroded.tif", "--worst", "-1"], "0 or more"),
])
def test_bad_input_exits_2_with_a_message(project, capsys, argv, phrase):
    d, folder = project
    assert main(["report", str(folder), *(a.format(d=d) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise report: error:") and phrase in err and "Traceback" not in err
    assert not (d / "r.html").exists()


def _screenshot(page, tmp_path):
    png = tmp_path / "shot.png"
    run = subprocess.run([shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
                          "--hide-scrollbars", f"--screenshot={png}", "--window-size=1280,2000",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.exists(), run.stderr
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("RGB"))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium to render the page")
def test_the_page_renders_in_a_headless_browser(project, tmp_path):
    d, folder = project
    out = d / "report.html"
    assert main(["report", str(folder), "-o", str(out), "--prediction", str(d / "eroded.tif"), "--no-save"]) == 0
    img = _screenshot(out, tmp_path)
    assert img.shape[:2] == (2000, 1280)
    assert img.std() > 20 and len(np.unique(img.reshape(-1, 3), axis=0)) > 200  # text, plots, pictures
    # the bar colours of the plots are drawn (the embedded PNGs were decoded)
    blue = (np.abs(img - np.array([0x4C, 0x72, 0xB0])).sum(-1) < 30).sum()
    assert blue > 200


def test_the_fibsem_report_shows_the_evaluated_scores_of_the_shipped_segmentation(shared_data, tmp_path, capsys):
    h5py = pytest.importorskip("h5py")
    from napari_patchwise.engine.plan.classes import ClassSpec

    folder = shared_data / "fibsem_gala"
    with h5py.File(folder / "test-gt.lzf.h5", "r") as f:
        gt = f["stack"][()]
    plan = Plan(ImageRef(gt.shape, dtype="uint8", voxel_size=(10.0, 10.0, 10.0), unit="nanometer",
                         path=str(folder / "test-image.h5")), classes=(ClassSpec("neurons", "instance"),))
    plan = plan.add_boxes([((0, 0, 0), (25, 50, 50)), ((25, 50, 50), (50, 100, 100)),
                           ((0, 0, 120), (25, 50, 170))])
    project = create_project(tmp_path / "fib", plan)
    group = open_annotations(project)
    for box in plan.boxes:
        region = box.slices()
        group["neurons"][region] = gt[region].astype(np.uint32)
        group["background"][region] = (gt[region] == 0).astype(np.uint8)
    pred = folder / "test-seg1.lzf.h5"
    expected = _evaluate(capsys, project, pred)
    out = tmp_path / "fib.html"
    assert main(["report", str(project), "-o", str(out), "--prediction", str(pred), "--worst", "2"]) == 0
    page = out.read_text(encoding="utf-8")
    overall = _cells(page, "<h3>Overall</h3>")[0]
    e = expected["overall"]
    assert overall[-2:] == [f"{e['vi_split']:.3f}", f"{e['vi_merge']:.3f}"] and overall[7] == f"{e['f1']:.3f}"
    assert page.count('<figure><img src="data:image/png;base64,') == 2
    assert "<b>187,500</b>annotated voxels" in page  # three disjoint boxes of 25×50×50, every voxel annotated
    assert "box 1 of image test-image (25×50×50 voxels), its annotations as labels" in page
    assert "this image holds only" not in page  # the advisor measured a box, not the whole image


def test_without_matplotlib_the_command_says_what_to_install(project, capsys, monkeypatch):
    import sys

    d, folder = project
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # an import of it fails
    out = d / "r.html"
    assert main(["report", str(folder), "-o", str(out), "--prediction", str(d / "eroded.tif")]) == 2
    err = capsys.readouterr().err
    assert "napari-patchwise[report]" in err and "Traceback" not in err
    assert not out.exists() and not (folder / "evaluations").exists()  # failed before any work
