"""One way to tell a student why something cannot be done: `explain(error)` in the student's language.

cnn_core raises CnnError(message, reason, **details); lessons/<lang>/ui/errors.toml holds one sentence per reason,
with the details as {placeholders}. A reason without a sentence falls back to cnn_core's English message.
"""

from __future__ import annotations

import streamlit as st

from cnn_core.errors import CnnError
from ui.strings import all_strings, current_language


def explain(error: Exception, **context) -> str:
    """The sentence for this error; `context` adds page-side words (e.g. what="the image")."""
    reason = getattr(error, "reason", None)
    values = {**getattr(error, "details", {}), **context}
    for lang in (current_language(), "en"):
        text = all_strings(lang).get(f"errors.{reason}")
        if text:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                break  # a sentence that wants a number this error did not carry: use the English message
    return str(error)


def show_problem(message: str | CnnError, **context) -> None:
    """A setting that does not fit: one sentence saying what happened and what to change, never a traceback."""
    text = explain(message, **context) if isinstance(message, Exception) else message
    st.warning(text, icon=":material/back_hand:")
