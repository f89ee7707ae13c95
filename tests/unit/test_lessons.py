"""Every lesson parses, both languages have the same structure, and every UI string exists in both languages."""

import tomllib
from pathlib import Path

import pytest

from ui.lesson_format import LessonFormatError, Quiz, TryIt, join_cjk_lines, parse_lesson

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
TOPICS = sorted(p.stem for p in (LESSONS / "en").glob("*.md") if p.stem not in ("home", "glossary"))
# The lessons whose questions were reworked (issue 9); add a topic here once its quiz has a live question.
CHECKED_QUIZZES = ["activations", "batch_norm", "convolution", "pooling", "receptive_field", "stride_padding"]
PAGES = Path(__file__).resolve().parents[2] / "pages"


def structure(topic: str, lang: str):
    lesson = parse_lesson((LESSONS / lang / f"{topic}.md").read_text(encoding="utf-8"))
    shape = []
    for step in lesson.steps:
        for part in step.parts:
            if isinstance(part, TryIt):
                shape.append(("try", tuple(sorted((k, str(v)) for k, v in part.settings.items()))))
            elif isinstance(part, Quiz):
                shape.append(("quiz", part.answer, part.live, tuple(sorted(part.placeholders)), part.tolerance,
                              len(part.choices), part.correct))
        shape.append(("step",))
    return lesson, shape


def test_every_topic_page_has_a_lesson_in_both_languages():
    for page in PAGES.glob("*.py"):
        if page.stem != "home":
            assert (LESSONS / "en" / f"{page.stem}.md").exists() and (LESSONS / "zh" / f"{page.stem}.md").exists(), page.stem


@pytest.mark.parametrize("topic", TOPICS)
def test_both_languages_have_the_same_steps_try_blocks_and_answers(topic):
    english, en_shape = structure(topic, "en")
    chinese, zh_shape = structure(topic, "zh")
    assert en_shape == zh_shape
    assert len(english.steps) >= 4
    quizzes = [p for p in english.steps[-1].parts if isinstance(p, Quiz)]
    assert len(quizzes) >= 3, "the last step holds the check-yourself questions"
    assert any(ch >= "\u4e00" for ch in chinese.title + chinese.steps[0].title), "the Chinese lesson is in Chinese"


@pytest.mark.parametrize("topic", TOPICS)
def test_try_blocks_only_set_widgets_the_page_declares(topic):
    page_source = (PAGES / f"{topic}.py").read_text(encoding="utf-8")
    if "PAGE = Page(" in page_source:
        pytest.skip("a scaffolded page: tests/unit/test_page_scaffold.py checks its try blocks against its controls")
    lesson, _ = structure(topic, "en")
    for step in lesson.steps:
        for part in step.parts:
            if isinstance(part, TryIt):
                for key in part.settings:
                    assert f'"{key}"' in page_source or f"{key}=" in page_source, f"{topic}: unknown widget key {key}"


def test_ui_strings_exist_in_both_languages():
    def keys(lang):
        found = {}
        for path in (LESSONS / lang / "ui").glob("*.toml"):
            with path.open("rb") as file:
                found[path.stem] = set(tomllib.load(file))
        return found
    assert keys("en") == keys("zh")


def quizzes(topic: str, lang: str = "en") -> list[Quiz]:
    lesson, _ = structure(topic, lang)
    return [part for step in lesson.steps for part in step.parts if isinstance(part, Quiz)]


@pytest.mark.parametrize("topic", CHECKED_QUIZZES)
def test_every_lesson_asks_about_the_students_own_experiment(topic):
    assert any(quiz.live for quiz in quizzes(topic)), f"{topic}: no question computed from the student's own page"


@pytest.mark.parametrize("topic", CHECKED_QUIZZES)
def test_the_right_choice_is_not_always_in_the_same_place_in_the_file(topic):
    """The page shuffles, but a file that always puts the answer second (or makes it the longest) teaches a habit."""
    choice_quizzes = [quiz for quiz in quizzes(topic) if quiz.choices]
    assert len(choice_quizzes) >= 2, f"{topic}: at least two multiple-choice questions"
    assert len({quiz.correct for quiz in choice_quizzes}) > 1, f"{topic}: the right choice always at the same place"
    longest = [max(range(len(q.choices)), key=lambda i: len(q.choices[i])) == q.correct for q in choice_quizzes]
    assert not all(longest), f"{topic}: the right choice is always the longest"


def test_parser_reads_steps_try_blocks_and_quizzes():
    lesson = parse_lesson(
        "# T\n\n## One\nText $x$.\n\n```try\nlabel: Go\nsp_stride: 3\nconv_kernels: a, b\nflag: true\n```\n"
        "## Two\n```quiz\nquestion: Q?\nanswer: 3\ntolerance: 0.5\nexplain: Why.\n```\n"
        "```quiz\nquestion: Pick\nchoice: A\ncorrect: B\nexplain: B.\n```\n")
    assert [s.title for s in lesson.steps] == ["One", "Two"]
    text, button = lesson.steps[0].parts
    assert text == "Text $x$.\n" or text.strip() == "Text $x$."
    assert button == TryIt("Go", {"sp_stride": 3, "conv_kernels": ["a", "b"], "flag": True})
    numeric, choice = lesson.steps[1].parts
    assert (numeric.answer, numeric.tolerance) == (3.0, 0.5)
    assert choice.choices == ("A", "B") and choice.correct == 1


def test_parser_reads_live_answers_and_placeholders():
    lesson = parse_lesson("# T\n## S\n```quiz\nquestion: With kernel {sp_kernel}, how wide?\nanswer: =sp_out_width\n"
                          "tolerance: 0.5\nexplain: It is {sp_out_width}.\n```\n")
    (quiz,) = lesson.steps[0].parts
    assert quiz.live == "sp_out_width" and quiz.answer is None and quiz.tolerance == 0.5
    assert quiz.placeholders == {"sp_kernel", "sp_out_width"}


@pytest.mark.parametrize("bad", [
    "no title\n## s\n",
    "# T\n## S\n```quiz\nquestion: Q\nexplain: E\n```\n",  # neither answer nor choices
    "# T\n## S\n```quiz\nquestion: Q\nchoice: a\nchoice: b\nexplain: E\n```\n",  # no correct choice
    "# T\n## S\n```try\nsp_stride: 2\n```\n",  # no label
    "# T\n## S\n```try\nlabel: x\n",  # never closed
    "# T\n## S\n```quiz\nquestion: Q\nanswer: =not a name\nexplain: E\n```\n",  # live name with spaces
    "# T\n## S\n```quiz\nquestion: Q\nanswer: three\nexplain: E\n```\n",  # neither a number nor =name
])
def test_parser_names_the_problem(bad):
    with pytest.raises(LessonFormatError):
        parse_lesson(bad)


def test_wrapped_chinese_lines_are_joined_without_a_space():
    text = "图片上。\n在侧边栏\n- **课程**：每节课都有几道\n  自测题\n\n下一段\nEnglish\nwords 中文\n中文"
    assert join_cjk_lines(text) == "图片上。在侧边栏\n- **课程**：每节课都有几道自测题\n\n下一段\nEnglish\nwords 中文中文"
