"""CNN Lab — entry point: `streamlit run app.py`.

Builds the navigation over pages/, the shared sidebar (language, image source) and runs the chosen page.
"""

import streamlit as st
import torch

from ui.image_source import sidebar_image_picker
from ui.strings import LANGUAGES, t

# Parallel sessions would oversubscribe the two cores if every torch call used all of them.
torch.set_num_threads(1)

# (page file, key of its title in lessons/<lang>/ui/nav.toml, icon); the order is the course order.
PAGES = (
    ("pages/home.py", "home", ":material/home:"),
    ("pages/convolution.py", "convolution", ":material/grid_on:"),
    ("pages/stride_padding.py", "stride_padding", ":material/open_with:"),
    ("pages/receptive_field.py", "receptive_field", ":material/center_focus_strong:"),
    ("pages/pooling.py", "pooling", ":material/compress:"),
    ("pages/batch_norm.py", "batch_norm", ":material/equalizer:"),
    ("pages/activations.py", "activations", ":material/show_chart:"),
)


def default_language() -> str:
    """A shared link's ?lang=zh wins; otherwise the browser's locale (zh-* → Chinese); otherwise English."""
    asked = st.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    locale = (st.context.locale or "").lower()
    return "zh" if locale.startswith("zh") else "en"


st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
if "lang" not in st.session_state:
    st.session_state.lang = default_language()

page = st.navigation([st.Page(path, title=t(f"nav.{key}"), icon=icon, default=key == "home") for path, key, icon in PAGES])
with st.sidebar:
    st.radio("Language · 语言", list(LANGUAGES), key="lang", format_func=LANGUAGES.get, horizontal=True)
st.query_params["lang"] = st.session_state.lang
sidebar_image_picker()
page.run()
