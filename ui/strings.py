"""Every UI string of the app, in both languages, read from lessons/<lang>/ui/*.toml.

A key is '<file>.<name>', e.g. t("conv.kernel") reads lessons/en/ui/conv.toml → kernel. Pages never hold
user-visible text themselves, so the two languages cannot drift apart in code.
"""

from __future__ import annotations

import time
import tomllib
from functools import lru_cache
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
LANGUAGES = {"en": "English", "zh": "简体中文"}


def _flatten(table: dict, prefix: str) -> dict[str, str]:
    flat = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}.{key}"))
        else:
            flat[f"{prefix}.{key}"] = value
    return flat


@lru_cache(maxsize=8)
def _load(lang: str, stamp: tuple) -> dict[str, str]:
    strings = {}
    for path in sorted((LESSONS_DIR / lang / "ui").glob("*.toml")):
        with path.open("rb") as file:
            strings.update(_flatten(tomllib.load(file), path.stem))
    return strings


_stamps: dict[str, tuple[float, tuple]] = {}


def _stamp(lang: str) -> tuple:
    """The files' mtimes, looked up at most once a second: t() runs a hundred times per rerun."""
    checked, stamp = _stamps.get(lang, (0.0, ()))
    if time.monotonic() - checked > 1.0:
        stamp = tuple(p.stat().st_mtime_ns for p in sorted((LESSONS_DIR / lang / "ui").glob("*.toml")))
        _stamps[lang] = (time.monotonic(), stamp)
    return stamp


def all_strings(lang: str) -> dict[str, str]:
    """All strings of one language; re-read when a teacher edits a file."""
    return _load(lang, _stamp(lang))


def current_language() -> str:
    """The language of this run. Read from session state once per run, not at every t() (a session-state lookup
    costs ~30 µs, and a page calls t() a few hundred times): remembered on the run's context, next to the cursors
    dict Streamlit makes afresh for every run (full or fragment), so the next run reads it again."""
    ctx = get_script_run_ctx(suppress_warning=True)
    memo = getattr(ctx, "_cnnlab_language", None)
    if memo is not None and memo[0] is ctx.cursors:
        return memo[1]
    lang = st.session_state.get("lang")
    if lang not in LANGUAGES:
        return "en"  # not chosen yet (app.py sets it first thing): not remembered
    if ctx is not None:
        ctx._cnnlab_language = (ctx.cursors, lang)
    return lang


def t(key: str, **values) -> str:
    """The string `key` in the current language (English if missing), with {placeholders} filled in."""
    text = all_strings(current_language()).get(key) or all_strings("en").get(key) or key
    return text.format(**values) if values else text


def labels(prefix: str, suffix: str = ""):
    """A `format_func` for select widgets: option → the string '<prefix><option><suffix>' in the current language.

    Use this instead of `lambda o: t(...)`: the language is fixed when the widget is drawn, so the labels stay
    right even when Streamlit calls the function outside a script run (its AppTest does, to match options).
    """
    strings, english = all_strings(current_language()), all_strings("en")
    return lambda option: strings.get(f"{prefix}{option}{suffix}") or english.get(f"{prefix}{option}{suffix}") or str(option)
