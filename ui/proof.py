"""The proof on every page: "Checked against PyTorch: max |diff| = … (tolerance …)" for each result on screen.

Pages name the cnn_core op and its arguments; cnn_core.check runs the torch twin. Pages never import torch.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.strings import t


@st.cache_data(show_spinner=False, max_entries=256)
def _checked(key: tuple, op_name: str, kwargs_key: tuple, _op: Callable, _args: tuple, _kwargs: dict):
    from cnn_core.check import check  # torch loads on the first check, not when a page opens

    result = check(_op, *_args, **_kwargs)
    return result.max_diff, result.tolerance


def torch_check(op: Callable, *args, key: tuple, **kwargs) -> tuple[float, float]:
    """(max |ours − torch|, tolerance), cached on `key` (what identifies the input: image digest, settings)."""
    hashable = tuple(sorted((k, v) for k, v in kwargs.items() if isinstance(v, (int, float, str, bool, tuple, type(None)))))
    return _checked(key, op.__name__, hashable, op, args, kwargs)


def show_check(op: Callable, *args, key: tuple, label: str | None = None, **kwargs) -> bool:
    """Check one result against PyTorch and say so in one line; returns whether it passed."""
    difference, tolerance = torch_check(op, *args, key=key, **kwargs)
    return show_difference(difference, tolerance, label or op.__name__)


def show_difference(difference: float, tolerance: float = 1e-4, what: str = "") -> bool:
    """The one display of a PyTorch comparison (also for checks a page computes another way, e.g. autograd)."""
    ok = difference <= tolerance
    text = t("common.torch_check", what=what, diff=f"{difference:.1e}", tol=f"{tolerance:.0e}")
    (st.success if ok else st.error)(text, icon=":material/check_circle:" if ok else ":material/warning:")
    return ok
