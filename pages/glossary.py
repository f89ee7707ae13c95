"""Glossary: every term of the course in English and 简体中文 (text in lessons/<lang>/glossary.md)."""

import streamlit as st

from ui.shell import ensure_app_shell
from ui.strings import LESSONS_DIR, current_language

ensure_app_shell()
# The Chinese term (the second column) never breaks between its characters, even on a phone: it is what a student
# looks up. Our own CSS, no user text.
st.html("<style>.st-key-glossary td:nth-child(2), .st-key-glossary th:nth-child(2) { white-space: nowrap; }</style>")
with st.container(key="glossary"):
    st.markdown((LESSONS_DIR / current_language() / "glossary.md").read_text(encoding="utf-8"))
