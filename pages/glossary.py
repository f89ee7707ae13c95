"""Glossary: every term of the course in English and 简体中文 (text in lessons/<lang>/glossary.md)."""

import streamlit as st

from ui.shell import ensure_app_shell
from ui.strings import LESSONS_DIR, current_language

ensure_app_shell()
st.markdown((LESSONS_DIR / current_language() / "glossary.md").read_text(encoding="utf-8"))
