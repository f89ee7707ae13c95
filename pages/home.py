"""Home: what CNN Lab is and the course map (text in lessons/<lang>/home.md and ui/nav.toml)."""

import streamlit as st

from ui.shell import ensure_app_shell
from ui.strings import LESSONS_DIR, current_language, t

COURSE = ("convolution", "stride_padding", "receptive_field", "pooling", "batch_norm", "activations")

ensure_app_shell()
st.title(t("home.title"))
st.markdown((LESSONS_DIR / current_language() / "home.md").read_text(encoding="utf-8"))
st.subheader(t("home.course_map"))
columns = st.columns(3)
for number, topic in enumerate(COURSE):
    with columns[number % 3].container(border=True, height="stretch"):
        st.page_link(f"pages/{topic}.py", label=f"{number + 1}. {t(f'nav.{topic}')}", icon=":material/arrow_forward:")
        st.caption(t(f"home.about_{topic}"))
