"""The lesson panel every topic page shows: one step at a time, Prev / Next, "Try it" buttons, quizzes.

The step lives in the URL (?step=3) so a teacher can share a link to it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.lesson_format import Lesson, Quiz, TryIt, parse_lesson
from ui.shell import ensure_app_shell
from ui.strings import LESSONS_DIR, current_language, t


@st.cache_data(show_spinner=False)
def _parse_cached(path: str, mtime: int) -> Lesson:
    return parse_lesson(Path(path).read_text(encoding="utf-8"))


def load_lesson(topic: str, lang: str) -> Lesson:
    path = LESSONS_DIR / lang / f"{topic}.md"
    return _parse_cached(str(path), path.stat().st_mtime_ns)


def current_step(count: int) -> int:
    """The 0-based step from ?step=k (1-based in the URL), clamped to the lesson."""
    try:
        step = int(st.query_params.get("step", 1)) - 1
    except ValueError:
        step = 0
    return min(max(step, 0), count - 1)


def _go_to(step: int) -> None:
    st.query_params["step"] = str(step + 1)


def _apply(settings: dict[str, object]) -> None:
    """A "Try it" button: set the page's widgets through session state before they are drawn again."""
    for key, value in settings.items():
        current = st.session_state.get(key)
        if isinstance(current, list) and not isinstance(value, list):
            value = [value]  # "conv_kernels: sobel_x" sets a multi-select to one item
        elif isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # "bias: 0" on a float slider
        st.session_state[key] = value


def _show_quiz(quiz: Quiz, key: str) -> None:
    st.markdown(f"**{t('lesson.question')}** {quiz.question}")
    if quiz.choices:
        picked = st.radio(quiz.question, quiz.choices, index=None, key=key, label_visibility="collapsed")
        if picked is None:
            return
        right = quiz.choices.index(picked) == quiz.correct
    else:
        given = st.number_input(t("lesson.your_answer"), value=None, step=1.0, format="%g", key=key)
        if given is None:
            return
        right = abs(given - quiz.answer) <= quiz.tolerance + 1e-9
    (st.success if right else st.error)(t("lesson.right") if right else t("lesson.wrong"))
    st.info(quiz.explain)


def show_lesson(topic: str) -> None:
    """Draw the lesson panel of `topic` (lessons/<lang>/<topic>.md) at the step in the URL. Call it first."""
    ensure_app_shell()
    lesson = load_lesson(topic, current_language())
    index = current_step(len(lesson.steps))
    step = lesson.steps[index]
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
                _show_quiz(part, key=f"quiz_{topic}_{current_language()}_{index}_{quiz_number}")
            else:
                st.markdown(part)
        back, _, forward = st.columns([1, 3, 1])
        back.button(t("lesson.prev"), key=f"prev_{topic}", disabled=index == 0, on_click=_go_to, args=(index - 1,),
                    width="stretch")
        forward.button(t("lesson.next"), key=f"next_{topic}", disabled=index == len(lesson.steps) - 1,
                       on_click=_go_to, args=(index + 1,), width="stretch")
