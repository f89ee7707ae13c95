"""The page scaffold's declarations: cleaning values from outside, extremes, the address bar, lessons' Try-its."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ui.catalog import TOPICS
from ui.lesson_format import TryIt, parse_lesson
from ui.page import Choice, Multi, Number, Page, Slider, Toggle

ROOT = Path(__file__).resolve().parents[2]
IMAGE = np.zeros((40, 60, 3), dtype=np.float32)


def load_page(name: str) -> Page | None:
    """The PAGE a page file declares, without running the page (Streamlit runs pages as __main__)."""
    spec = importlib.util.spec_from_file_location(f"page_{name}", ROOT / "pages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "PAGE", None)


SCAFFOLDED = [topic.name for topic in TOPICS if "PAGE = Page(" in (ROOT / topic.path).read_text(encoding="utf-8")]


def test_numbers_are_clamped_and_coerced():
    width = Slider("w", "x.w", 0, lambda image: image.shape[1] - 1, default=3)
    assert width.clean(500, IMAGE) == 59 and width.clean(-4, IMAGE) == 0
    assert width.clean(2.6, IMAGE) == 3 and isinstance(width.clean(2.6, IMAGE), int)
    assert width.clean("seven", IMAGE) == 3 and width.clean(True, IMAGE) == 3 and width.clean(float("nan"), IMAGE) == 3
    bias = Slider("b", "x.b", -1.0, 1.0, default=0.0, step=0.05)
    assert bias.clean(2, IMAGE) == 1.0 and isinstance(bias.clean(0, IMAGE), float)


def test_options_fall_back_to_the_default_and_multiselect_keeps_known_items():
    mode = Choice("m", "x.m", ("zeros", "reflect"), default="reflect")
    assert mode.clean("zeros", IMAGE) == "zeros" and mode.clean("mirror", IMAGE) == "reflect"
    kernels = Multi("k", "x.k", ("a", "b", "c"), default=["a"], max_selections=2)
    assert kernels.clean("b", IMAGE) == ["b"]
    assert kernels.clean(["c", "zzz", "b", "a"], IMAGE) == ["c", "b"]
    assert kernels.clean(["zzz"], IMAGE) == ["a"] and kernels.clean([], IMAGE) == []
    assert Toggle("t", "x.t").clean("yes", IMAGE) is False and Toggle("t", "x.t").clean(True, IMAGE) is True


def test_defaults_may_depend_on_the_image():
    row = Number("r", "x.r", 0, lambda image: image.shape[0] - 1, default=lambda image: image.shape[0] // 2)
    assert row.default_for(IMAGE) == 20
    assert row.default_for(np.zeros((7, 7, 1), np.float32)) == 3
    assert row.extremes(IMAGE) == [0, 39]


@pytest.mark.parametrize("control, value", [
    (Slider("a", "x.a", 1, 11, default=3), 7),
    (Slider("b", "x.b", -1.0, 1.0, default=0.0, step=0.05), -0.35),
    (Choice("c", "x.c", (3, 5), default=3, style="radio"), 5),
    (Choice("g", "x.g", (0.5, 1.0, 5.0), default=1.0), 5.0),  # 5.0 travels as "5"
    (Choice("d", "x.d", ("zeros", "reflect"), default="zeros"), "reflect"),
    (Multi("e", "x.e", ("a", "b", "c"), default=["a"]), ["c", "a"]),
    (Toggle("f", "x.f"), True),
])
def test_url_round_trip(control, value):
    assert control.from_url(control.to_url(value), IMAGE) == value
    assert control.from_url("%%garbage%%", IMAGE) in (control.default_for(IMAGE), None)


@pytest.mark.parametrize("topic", SCAFFOLDED)
def test_every_try_it_sets_declared_controls_to_valid_values(topic):
    """A lesson's ```try may only set controls the page declares as lesson-settable, to values they accept."""
    page = load_page(topic)
    for lang in ("en", "zh"):
        lesson = parse_lesson((ROOT / "lessons" / lang / f"{topic}.md").read_text(encoding="utf-8"))
        tries = [part for step in lesson.steps for part in step.parts if isinstance(part, TryIt)]
        for block in tries:
            for key, value in block.settings.items():
                assert key in page.controls, f"{lang}/{topic}.md sets '{key}', which the page does not declare"
                control = page.controls[key]
                assert control.lesson, f"'{key}' is not lesson-settable"
                if control.kind == "multiselect" and not isinstance(value, list):
                    value = [value]
                assert control.clean(value, IMAGE) == (float(value) if control.is_float else value), (key, value)


@pytest.mark.parametrize("topic", SCAFFOLDED)
def test_docstring_lists_every_lesson_control(topic):
    page = load_page(topic)
    doc = (ROOT / "pages" / f"{topic}.py").read_text(encoding="utf-8").split('"""')[1]
    for key, control in page.controls.items():
        if control.lesson:
            assert key in doc, f"pages/{topic}.py's docstring does not list {key}"


@pytest.mark.parametrize("topic", SCAFFOLDED)
def test_scaffolded_pages_are_thin_and_import_no_torch(topic):
    source = (ROOT / "pages" / f"{topic}.py").read_text(encoding="utf-8")
    assert "import torch" not in source and "from torch" not in source
    assert len(source.splitlines()) <= 300


@pytest.mark.parametrize("topic", SCAFFOLDED)
def test_every_value_a_lesson_question_takes_from_the_page_exists_there(topic):
    """A question's `answer: =name` and `{name}` are a live answer the page computes or one of its controls; an
    unknown name would skip the question on every visit, silently (the lesson only skips values unavailable now)."""
    page = load_page(topic)
    known = set(page.controls) | set(page.live_answers)
    for lang in ("en", "zh"):
        path = ROOT / "lessons" / lang / f"{topic}.md"
        if not path.exists():
            continue
        lesson = parse_lesson(path.read_text(encoding="utf-8"))
        for step in lesson.steps:
            for quiz in (part for part in step.parts if hasattr(part, "placeholders")):
                names = quiz.placeholders | ({quiz.live} if quiz.live else set())
                assert names <= known, f"{topic} ({lang}): {sorted(names - known)} in «{quiz.question[:60]}»"
