"""Make sure a page always runs inside app.py's navigation and sidebar.

Streamlit (1.67) decides once per server process whether the app is a *legacy* multipage app, from whether a
folder named `pages/` sits beside app.py; only running app.py's `st.navigation` clears that flag. So if the very
first visitor after a server start opens a shared link straight to a page (…/stride_padding?step=3), Streamlit
runs that page file on its own: no sidebar, no language, the folder listing as navigation. We clear the flag and
rerun, which goes through app.py and lands on the same page.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx


def ensure_app_shell() -> None:
    """Called first thing on every page (show_lesson does it for topic pages)."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def is_fragment_rerun() -> bool:
    """True while Streamlit reruns only a fragment (a panel whose own control moved), not the whole page."""
    context = get_script_run_ctx()
    return bool(context and context.fragment_ids_this_run)
