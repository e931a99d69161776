"""Generated plan.json files: ``load_plan`` and ``patchwise validate`` answer, never with a traceback.

Every file either loads (and then validates into findings) or is refused with
a :class:`ProjectError` (exit code 2 through the command line).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_patchwise import cli
from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.plan.plan_file import PLAN_FILE, ProjectError, load_plan

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _valid() -> dict:
    plan = Plan(ImageRef((20, 64, 64), "uint16", (2.0, 0.5, 0.5), path="raw.tif"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 2, 2), (ClassSpec("nuclei"), ClassSpec("mito", "semantic")))
    plan, _ = plan.add_box((0, 0, 0), (8, 32, 32), stratum="dense")
    plan, _ = plan.add_box((8, 32, 32), (16, 64, 64))
    return plan.to_dict()


VALID = _valid()

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from(["", "nuclei", "instance", "semantic", "done", "-1", "1e400"]))
values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                      max_leaves=12)


def _paths(obj, prefix=()):
    """Every key path of a JSON value (containers and leaves)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(VALID) if p]


@st.composite
def mutated(draw) -> dict:
    """The valid plan with a few values replaced by anything, or removed."""
    data = json.loads(json.dumps(VALID))
    for path in draw(st.lists(st.sampled_from(PATHS), min_size=1, max_size=3)):
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    return data


def _answer(text: bytes) -> None:
    """Write ``plan.json``; loading it gives a plan or a ProjectError, validate an exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, PLAN_FILE).write_bytes(text)
        try:
            plan = load_plan(tmp)
        except ProjectError:
            plan = None
        if plan is not None:
            plan.validate()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["validate", tmp])
        assert code == (2 if plan is None else code) and code in (0, 1, 2), err.getvalue()
        if code == 2:
            assert "patchwise validate: error:" in err.getvalue()


@FUZZ
@given(mutated())
def test_mutated_plans_load_or_are_refused(data):
    _answer(json.dumps(data).encode())


@FUZZ
@given(values)
def test_any_json_is_refused_or_loads(data):
    _answer(json.dumps(data).encode())


@settings(max_examples=60, deadline=None, database=None)
@given(st.binary(max_size=200) | st.builds(lambda a, b: json.dumps(VALID).encode()[:a] + b,
                                           st.integers(0, 400), st.binary(max_size=8)))
def test_bytes_and_cut_files_are_refused(raw):
    _answer(raw)
