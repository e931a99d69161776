"""ClassSpec and parse_classes: names, kinds, reserved layers."""

from __future__ import annotations

import pytest

from napari_patchwise.engine.plan.classes import ClassSpec, parse_classes


@pytest.mark.parametrize("name", ["nuclei", "Mito", "er_2", "a", "cell-wall", "x" * 64])
@pytest.mark.parametrize("kind", ["instance", "semantic"])
def test_class_spec_accepts_valid(name, kind):
    c = ClassSpec(name, kind)
    assert (c.name, c.kind) == (name, kind)


@pytest.mark.parametrize("name", ["background", "ignore"])
def test_class_spec_rejects_reserved_names(name):
    with pytest.raises(ValueError, match="is reserved") as info:
        ClassSpec(name)
    assert "choose another name" in str(info.value)


@pytest.mark.parametrize("name", ["", "1abc", "_x", "-x", "a b", "nuclei!", "x" * 65, "é", 5, None])
def test_class_spec_rejects_invalid_names(name):
    with pytest.raises(ValueError, match="is not valid") as info:
        ClassSpec(name)
    assert "letters, digits" in str(info.value)


@pytest.mark.parametrize("kind", ["", "Instance", "panoptic", None])
def test_class_spec_rejects_unknown_kind(kind):
    with pytest.raises(ValueError, match="kind must be 'instance' or 'semantic'"):
        ClassSpec("nuclei", kind)


def test_parse_classes():
    assert parse_classes("nuclei, mito:semantic") == (
        ClassSpec("nuclei", "instance"),
        ClassSpec("mito", "semantic"),
    )
    assert parse_classes(" a : semantic ,, b ,") == (ClassSpec("a", "semantic"), ClassSpec("b"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nuclei, nuclei:semantic", "must be unique"),
        ("", "at least one class"),
        (" , ,", "at least one class"),
        ("background", "reserved"),
        ("nuclei:blob", "kind must be"),
        ("9lives", "not valid"),
    ],
)
def test_parse_classes_rejects(text, match):
    with pytest.raises(ValueError, match=match):
        parse_classes(text)
