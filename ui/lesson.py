"""The lesson panel every topic page shows: one step at a time, Prev / Next, "Try it" buttons, quizzes.

The step lives in the URL (?step=3) so a teacher can share a link to it, and in the session per topic, so a student
who comes back from another page finds the lesson where they left it.

Quizzes (format: lessons/README.md) check rather than tell: the explanation appears only after a right answer, or
after a wrong one when the student asks for the answer. Choices are shuffled once per student session (stable
while the session lasts, so a rerun never moves them). A per-lesson score counts the questions answered right at
the first attempt. A question may take its answer from the student's own experiment (`answer: =name`): the page
passes `live_answers`, name → a function of no arguments that computes it from the current image and settings
with cnn_core; `{name}` in the question or explanation shows such a value, or a page widget's current number.
A question whose value is unavailable (no such name, or the computation fails on these settings) is skipped.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

import streamlit as st

from ui.lesson_format import PLACEHOLDER, Lesson, Quiz, TryIt, parse_lesson
from ui.shell import ensure_app_shell, is_fragment_rerun
from ui.strings import LESSONS_DIR, current_language, t

LiveAnswers = Mapping[str, Callable[[], float]]
QUIZ_STATE = "_quiz_state"  # session state: quiz id → {"picked", "first_right", "revealed", "answer"}
SESSION_SALT = "_quiz_salt"  # session state: one random number per student session, seeds the choice order


@st.cache_data(show_spinner=False)
def _parse_cached(path: str, mtime: int) -> Lesson:
    return parse_lesson(Path(path).read_text(encoding="utf-8"))


def load_lesson(topic: str, lang: str) -> Lesson:
    path = LESSONS_DIR / lang / f"{topic}.md"
    return _parse_cached(str(path), path.stat().st_mtime_ns)


STEPS = "_lesson_steps"  # session state: topic → the step the student last saw (a page switch empties the URL)


def current_step(count: int, topic: str) -> int:
    """The 0-based step from ?step=k (1-based in the URL), clamped to the lesson; without one in the address (the
    student came back from another page), the step they left this lesson at, put back into the address."""
    saved = st.session_state.setdefault(STEPS, {})
    asked = st.query_params.get("step")
    if asked is None and topic in saved:
        step = saved[topic]
    else:
        try:
            step = int(asked or 1) - 1
        except ValueError:
            step = 0
    step = min(max(step, 0), count - 1)
    saved[topic] = step
    if step or asked is not None:
        st.query_params["step"] = str(step + 1)
    return step


def _go_to(topic: str, step: int) -> None:
    st.session_state.setdefault(STEPS, {})[topic] = step
    st.query_params["step"] = str(step + 1)


TRIED = "_tried_it"  # set by a "Try it" button, read (and cleared) by the page scaffold


def _apply(settings: dict[str, object]) -> None:
    """A "Try it" button: set the page's widgets through session state before they are drawn again."""
    for key, value in settings.items():
        current = st.session_state.get(key)
        if isinstance(current, list) and not isinstance(value, list):
            value = [value]  # "conv_kernels: sobel_x" sets a multi-select to one item
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # "bias: 0" on a float slider
        st.session_state[key] = value
    st.session_state[TRIED] = True  # the page scrolls to the experiment, so the student sees what changed


# -- quizzes ------------------------------------------------------------------------------------------------------
def choice_order(count: int, quiz_id: str, salt: int) -> list[int]:
    """The order in which a student sees a question's choices: a permutation fixed by (session, question)."""
    order = list(range(count))
    random.Random(f"{salt}/{quiz_id}").shuffle(order)
    return order


def format_number(value: float) -> str:
    """43.0 → '43', 0.66524 → '0.6652': how a number appears in question text and answers."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.4g}"


def _page_value(name: str, live_answers: LiveAnswers) -> float | None:
    """A live answer computed by the page, or else the current number of the page widget with that key."""
    if name in live_answers:
        try:
            value = live_answers[name]()
        except Exception:  # noqa: BLE001 — any failure means "not available with these settings": skip the question
            return None
    else:
        value = st.session_state.get(name)
    if isinstance(value, (bool, str)) or not hasattr(value, "__float__"):  # None, a word, a list: not a number
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def quiz_values(quiz: Quiz, live_answers: LiveAnswers) -> dict[str, float] | None:
    """The page values a quiz needs (its live answer and its {placeholders}), or None when one is unavailable."""
    values = {}
    for name in sorted(quiz.placeholders | ({quiz.live} if quiz.live else set())):
        value = _page_value(name, live_answers)
        if value is None:
            return None
        values[name] = value
    return values


def _fill(text: str, values: dict[str, float]) -> str:
    return PLACEHOLDER.sub(lambda match: format_number(values[match.group(1)]), text)


def _reveal(quiz_id: str) -> None:
    st.session_state[QUIZ_STATE][quiz_id]["revealed"] = True


def _show_quiz(quiz: Quiz, quiz_id: str, key: str, values: dict[str, float]) -> None:
    """One question; its record in session state says what the student answered and whether they asked to see."""
    states = st.session_state.setdefault(QUIZ_STATE, {})
    answer = values[quiz.live] if quiz.live else quiz.answer
    state = states.setdefault(quiz_id, {})
    if quiz.live and state.get("answer") not in (None, answer):  # new settings, new question: start again
        state.clear()
        st.session_state.pop(key, None)
    state["answer"] = answer
    question = _fill(quiz.question, values)
    st.markdown(f"**{t('lesson.question')}** {question}")
    if quiz.live:
        st.caption(t("lesson.live_note"))
    if quiz.choices:
        order = choice_order(len(quiz.choices), quiz_id, st.session_state[SESSION_SALT])
        if key not in st.session_state and state.get("picked") is not None:  # e.g. back from the other language
            st.session_state[key] = quiz.choices[state["picked"]]
        picked = st.radio(question, [quiz.choices[i] for i in order], index=None, key=key,
                          label_visibility="collapsed")
        picked = quiz.choices.index(picked) if picked is not None else None
        right = picked == quiz.correct
        shown_answer = quiz.choices[quiz.correct]
    else:
        if key not in st.session_state and state.get("picked") is not None:
            st.session_state[key] = state["picked"]
        picked = st.number_input(t("lesson.your_answer"), value=None, step=1.0, format="%g", key=key)
        right = picked is not None and abs(picked - answer) <= quiz.tolerance + 1e-9
        shown_answer = format_number(answer)
    if picked is None:
        return
    state["picked"] = picked
    state.setdefault("first_right", right and not state.get("revealed", False))
    explanation = _fill(quiz.explain, values)
    if right:
        st.success(t("lesson.right"))
        st.info(explanation)
    elif state.get("revealed"):
        st.error(t("lesson.wrong_revealed"))
        st.info(f"**{t('lesson.answer_is', answer=shown_answer)}** {explanation}")
    else:
        st.error(t("lesson.wrong"))
        st.button(t("lesson.show_answer"), key=f"{key}_show", on_click=_reveal, args=(quiz_id,))


def lesson_score(lesson: Lesson, topic: str, live_answers: LiveAnswers) -> tuple[int, int]:
    """(right at the first attempt, questions available) over the whole lesson; skipped questions do not count."""
    states = st.session_state.get(QUIZ_STATE, {})
    right = total = 0
    for index, step in enumerate(lesson.steps):
        quizzes = [part for part in step.parts if isinstance(part, Quiz)]
        for number, quiz in enumerate(quizzes, start=1):
            if quiz_values(quiz, live_answers) is not None:
                total += 1
                right += bool(states.get(f"{topic}/{index}/{number}", {}).get("first_right"))
    return right, total


def shown_values(topic: str, live_answers: LiveAnswers | None = None) -> tuple:
    """What the visible step's questions take from the page (each question's values, or None when unavailable).
    The page scaffold compares it after an experiment-only rerun: if it changed, the lesson is redrawn too."""
    lesson = load_lesson(topic, current_language())
    step = lesson.steps[current_step(len(lesson.steps), topic)]
    return tuple(quiz_values(part, live_answers or {}) for part in step.parts if isinstance(part, Quiz))


def show_lesson(topic: str, live_answers: LiveAnswers | None = None) -> tuple:
    """Draw the lesson panel of `topic` (lessons/<lang>/<topic>.md) at the step in the URL. Call it first.

    `live_answers` maps the names that the lesson's `answer: =name` and `{name}` use to functions of no arguments
    computing them from the student's image and settings (via cnn_core); a question whose name is missing or whose
    function fails is skipped. Returns the values its questions showed (see shown_values)."""
    ensure_app_shell()
    st.session_state.setdefault(SESSION_SALT, secrets.randbits(32))
    return _lesson_panel(topic, live_answers or {})


@st.fragment
def _lesson_panel(topic: str, live_answers: LiveAnswers) -> tuple:
    """A fragment: Prev / Next and answering a question rerun the lesson alone, not the experiment below it. A
    "Try it" changes the experiment, so its press runs the whole page again."""
    if st.session_state.get(TRIED) and is_fragment_rerun():
        st.rerun(scope="app")
    lesson = load_lesson(topic, current_language())
    index = current_step(len(lesson.steps), topic)
    step = lesson.steps[index]
    shown = []
    with st.container(border=True):
        head, progress = st.columns([3, 1])
        head.markdown(f"#### {step.title}")
        progress.caption(t("lesson.step_of", k=index + 1, n=len(lesson.steps)))
        progress.progress((index + 1) / len(lesson.steps))
        quiz_number = 0
        for number, part in enumerate(step.parts):
            if isinstance(part, TryIt):
                st.button("▶ " + part.label, key=f"try_{topic}_{index}_{number}", on_click=_apply, args=(part.settings,))
            elif isinstance(part, Quiz):
                quiz_number += 1
                values = quiz_values(part, live_answers)
                shown.append(values)
                if values is not None:
                    _show_quiz(part, f"{topic}/{index}/{quiz_number}", f"quiz_{topic}_{current_language()}_{index}_"
                               f"{quiz_number}", values)
            else:
                st.markdown(part)
        if quiz_number:
            right, total = lesson_score(lesson, topic, live_answers)
            st.markdown(f"**{t('lesson.score', right=right, total=total)}**")
        back, _, forward = st.columns([1, 3, 1])
        back.button(t("lesson.prev"), key=f"prev_{topic}", disabled=index == 0, on_click=_go_to, args=(topic, index - 1),
                    width="stretch")
        forward.button(t("lesson.next"), key=f"next_{topic}", disabled=index == len(lesson.steps) - 1,
                       on_click=_go_to, args=(topic, index + 1), width="stretch")
    return tuple(shown)
