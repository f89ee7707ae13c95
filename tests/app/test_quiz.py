"""Check-yourself questions check: the explanation waits for a right answer (or an explicit "show the answer"),
choices are shuffled per student session and stay put within it, the lesson keeps a score, and questions can take
their answer from the student's own experiment."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.lesson_format import Quiz, parse_lesson
from ui.strings import all_strings

EN = all_strings("en")
DEMO = """# Demo

## Check yourself
```quiz
question: Which one is right?
choice: Wrong A
choice: Wrong B
correct: Right C
choice: Wrong D
explain: Because C is the explanation.
```

```quiz
question: How much is 40 + 3?
answer: 43
explain: Forty plus three is 43.
```

```quiz
question: Your width is {demo_width}. What is it minus 2?
answer: =narrower
explain: {demo_width} − 2 = {narrower}.
```

```quiz
question: A question whose live answer fails here
answer: =broken
explain: Never shown.
```

```quiz
question: A question whose live answer the page does not provide
answer: =missing
explain: Never shown.
```
"""


def demo_app(text: str, topic: str = "demo") -> None:
    """The script AppTest runs: the lesson panel on a lesson given as text, with two live answers."""
    import streamlit as st

    import ui.lesson as lesson
    from ui.lesson_format import parse_lesson

    real_load_lesson = lesson.load_lesson
    lesson.load_lesson = lambda topic, lang: parse_lesson(text)
    try:  # AppTest runs this script in the test process: the real pages after this test must get real lessons
        st.session_state.setdefault("demo_width", 9)
        lesson.show_lesson(topic, live_answers={"narrower": lambda: st.session_state.demo_width - 2,
                                                "broken": lambda: 1 / 0})
    finally:
        lesson.load_lesson = real_load_lesson


def open_demo(salt: int | None = 1, text: str = DEMO) -> AppTest:
    at = AppTest.from_function(demo_app, args=(text,), default_timeout=30)
    if salt is not None:
        at.session_state["_quiz_salt"] = salt
    at.run()
    assert not at.exception, at.exception
    return at


def infos(at: AppTest) -> str:
    return "\n".join(str(element.value) for element in at.info)


def questions(at: AppTest) -> str:
    return "\n".join(str(element.value) for element in at.markdown)


def test_a_wrong_choice_does_not_reveal_the_explanation_until_asked():
    at = open_demo()
    radio = at.radio[0]
    radio.set_value("Wrong B").run()
    assert "Because C" not in infos(at) and len(at.error) == 1
    show = [button for button in at.button if button.label == EN["lesson.show_answer"]]
    assert len(show) == 1
    show[0].click().run()
    assert "Because C" in infos(at) and "Right C" in infos(at)  # the answer is named, then explained


def test_a_wrong_number_does_not_reveal_the_explanation_and_a_right_one_does():
    at = open_demo()
    at.number_input[0].set_value(42).run()
    assert "Forty plus three" not in infos(at) and len(at.error) == 1
    at.number_input[0].set_value(43).run()
    assert "Forty plus three" in infos(at) and len(at.success) == 1


def test_a_right_choice_shows_the_explanation_at_once():
    at = open_demo()
    at.radio[0].set_value("Right C").run()
    assert "Because C" in infos(at) and len(at.success) == 1 and not at.error


def test_choices_are_shuffled_per_session_and_stable_within_it():
    orders = set()
    for salt in range(8):
        at = open_demo(salt)
        order = tuple(at.radio[0].options)
        assert sorted(order) == ["Right C", "Wrong A", "Wrong B", "Wrong D"]
        at.number_input[0].set_value(1).run()  # any rerun of the same session keeps the order
        assert tuple(at.radio[0].options) == order
        orders.add(order)
    assert len(orders) > 1, "the same order for every student"
    assert len({order.index("Right C") for order in orders}) > 1, "the right choice always in the same place"


def test_a_new_session_gets_its_own_random_order():
    assert open_demo(salt=None).session_state["_quiz_salt"] != open_demo(salt=None).session_state["_quiz_salt"]


def test_the_score_counts_first_attempts_only():
    at = open_demo()
    assert EN["lesson.score"].format(right=0, total=3) in questions(at)  # two live questions are skipped
    at.radio[0].set_value("Wrong A").run()
    at.radio[0].set_value("Right C").run()  # right now, but not at the first attempt
    at.number_input[0].set_value(43).run()
    assert EN["lesson.score"].format(right=1, total=3) in questions(at)


def test_a_live_question_is_computed_from_the_page_and_unavailable_ones_are_skipped():
    at = open_demo()
    text = questions(at)
    assert "Your width is 9." in text
    assert "fails here" not in text and "does not provide" not in text
    assert len(at.number_input) == 2
    at.number_input[1].set_value(7).run()
    assert "9 − 2 = 7." in infos(at)
    at.session_state["demo_width"] = 12  # the student changes the experiment: the question is asked afresh
    at.run()
    assert "Your width is 12." in questions(at) and at.number_input[1].value is None
    at.number_input[1].set_value(7).run()
    assert "12 − 2 = 10" not in infos(at) and len(at.error) == 1


def test_the_answer_survives_a_language_switch():
    at = open_demo()
    at.number_input[0].set_value(43).run()
    at.session_state["lang"] = "zh"
    at.run()
    assert at.number_input[0].value == 43 and len(at.success) == 1


TOPICS = ["activations", "batch_norm", "convolution", "pooling", "receptive_field", "stride_padding"]


def real_lesson_app(topic: str, lang: str) -> None:
    """A real lesson at its last step, every name its questions use (live answers, {placeholders}) given the value 3."""
    import streamlit as st

    from ui.lesson import load_lesson, show_lesson

    st.session_state.lang = lang
    lesson = load_lesson(topic, lang)
    st.query_params["step"] = str(len(lesson.steps))
    names = set()
    for part in lesson.steps[-1].parts:
        if hasattr(part, "placeholders"):
            names |= part.placeholders | ({part.live} if part.live else set())
    show_lesson(topic, live_answers={name: (lambda: 3) for name in names})


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("topic", TOPICS)
def test_every_real_quiz_step_shows_all_its_questions_when_the_page_supplies_its_values(topic, lang):
    from ui.lesson import load_lesson

    quizzes = [part for part in load_lesson(topic, lang).steps[-1].parts if isinstance(part, Quiz)]
    at = AppTest.from_function(real_lesson_app, args=(topic, lang), default_timeout=30).run()
    assert not at.exception, at.exception
    assert len(at.radio) + len(at.number_input) == len(quizzes)
    assert any(quiz.live for quiz in quizzes), "every lesson has a question computed from the student's own page"


def test_the_demo_lesson_parses():
    assert [quiz.live for quiz in parse_lesson(DEMO).steps[0].parts] == [None, None, "narrower", "broken", "missing"]
