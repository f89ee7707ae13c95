"""Home: what CNN Lab is and the course map (text in lessons/<lang>/home.md and ui/nav.toml)."""

import streamlit as st

from ui.catalog import GLOSSARY, TOPICS
from ui.lesson_format import join_cjk_lines
from ui.shell import ensure_app_shell
from ui.strings import LESSONS_DIR, current_language, t

ensure_app_shell()
st.title(t("home.title"))
st.markdown(join_cjk_lines((LESSONS_DIR / current_language() / "home.md").read_text(encoding="utf-8")))
st.subheader(t("home.course_map"))
for number, topic in enumerate(TOPICS):
    if number % 3 == 0:  # a row of three: on a phone the columns stack, and the topics stay in course order
        columns = st.columns(3)
    with columns[number % 3].container(border=True, height="stretch"):
        st.page_link(topic.path, label=f"{number + 1}. {t(f'nav.{topic.name}')}", icon=topic.icon)
        st.caption(t(f"home.about_{topic.name}"))
st.page_link(GLOSSARY.path, label=t("nav.glossary"), icon=GLOSSARY.icon)
