"""CNN Lab — entry point: `streamlit run app.py`.

Builds the navigation over pages/, the shared sidebar (language, image source) and runs the chosen page.
"""

import gc

import streamlit as st
import torch
from threadpoolctl import threadpool_limits

from ui.catalog import HOME, PAGES
from ui.classroom import presenting, style_page
from ui.image_source import sidebar_image_picker
from ui.strings import LANGUAGES, t


@st.cache_resource(show_spinner=False)
def one_thread_per_computation() -> None:
    """Once per process. Parallel sessions would oversubscribe the cores if every torch call, every NumPy matrix
    product (OpenBLAS) and every OpenMP loop used all of them: learning a kernel cost twice the CPU with a second
    BLAS thread (it spins) and was slower, not faster. OpenBLAS is loaded before this script runs, so its
    environment variable would come too late: threadpoolctl sets the live libraries."""
    torch.set_num_threads(1)
    threadpool_limits(1)


one_thread_per_computation()


def freeze_long_lived_objects() -> None:
    """Streamlit runs gc.collect(2) after every script run, fragment runs included (runner.postScriptGC). With torch,
    matplotlib and pandas loaded that walks some 300 000 long-lived objects: about 150 ms of CPU per slider move on
    a busy 2-core box, more than most pages' own work. So, after a full run that left many tracked objects (the
    imports; a library's first use: torch's optimizers import sympy, ~120 000 objects), collect once and move what
    is still alive into the permanent generation (gc.freeze), which later collections skip. Rare: a few times per
    process. Objects made later are collected as before."""
    if len(gc.get_objects()) > 50_000:
        gc.collect()
        gc.freeze()


def default_language() -> str:
    """A shared link's ?lang=zh wins; otherwise the browser's locale (zh-* → Chinese); otherwise English."""
    asked = st.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    locale = (st.context.locale or "").lower()
    return "zh" if locale.startswith("zh") else "en"


def keep_choices_across_languages() -> None:
    """Keep every choice when the language changes.

    A select box's browser state is its option's *label*, and the labels are translated: on the rerun that switches
    language the browser sends back old-language labels, which match no new option, and Streamlit would reset the
    choice (and keep showing the old label). This callback runs before that rerun, while the old labels still
    decode correctly, and sets each choice again through session state, which also redraws it in the new language.
    """
    def is_choice(value) -> bool:  # option values in this app; bool is left out (buttons cannot be set)
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)

    for key, value in list(st.session_state.items()):
        if key != "lang" and (is_choice(value) or (isinstance(value, list) and all(map(is_choice, value)))):
            st.session_state[key] = value


st.set_page_config(page_title="CNN Lab", page_icon=":material/neurology:", layout="wide",
                   initial_sidebar_state="collapsed" if presenting() else "auto")
style_page()
if "lang" not in st.session_state:
    st.session_state.lang = default_language()

page = st.navigation([st.Page(topic.path, title=t(f"nav.{topic.name}"), icon=topic.icon, default=topic == HOME)
                      for topic in PAGES], expanded=True)  # all pages: no "View 6 more" (English only)
with st.sidebar:
    st.radio("Language · 语言", list(LANGUAGES), key="lang", format_func=LANGUAGES.get, horizontal=True,
             on_change=keep_choices_across_languages)
st.query_params["lang"] = st.session_state.lang
sidebar_image_picker()
page.run()
freeze_long_lived_objects()
