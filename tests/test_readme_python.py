"""The README's "From Python" script runs as printed, on the sample volume, from image to export."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_snippet() -> str:
    """The first ```python block of the README's "From Python" section."""
    text = README.read_text("utf-8")
    section = text.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_script_goes_from_an_image_to_an_export(tmp_path, monkeypatch, capsys):
    from napari_patchwise.engine import make_sample, write_tiff

    snippet = readme_snippet()
    assert len([line for line in snippet.splitlines() if line.strip()]) <= 14
    sample = make_sample()
    write_tiff(tmp_path / "nuclei.tif", sample.image, sample.voxel_size)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(README), "exec"), {"__name__": "readme"})
    dataset = tmp_path / "export" / "Dataset501_Patchwise"
    cases = json.loads((dataset / "dataset.json").read_text())["numTraining"]
    assert cases >= 8  # 12 boxes proposed; seeding may find nothing in a dim one
    assert len(list((dataset / "labelsTr").glob("*.tiff"))) == cases
    assert (dataset / "patchwise_manifest.json").is_file()
    out = capsys.readouterr().out
    assert "proposed 12 boxes" in out and f"nnunet: {cases} new cases" in out
