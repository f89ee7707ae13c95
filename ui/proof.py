"""The proof on every page: "Checked against PyTorch: max |diff| = … (tolerance …)" for each result on screen.

Pages name the cnn_core op and its arguments; cnn_core.check runs the torch twin. Pages never import torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from cnn_core.errors import CnnError
from ui.strings import t


@st.cache_data(show_spinner=False, max_entries=256)
def _checked(key: tuple, op_name: str, kwargs_key: tuple, on_copy: int | None, _op: Callable, _args: tuple,
             _kwargs: dict) -> tuple[float, float, tuple | None]:
    from cnn_core.check import check  # torch loads on the first check, not when a page opens

    if on_copy is not None:
        small = check_copy(_args[on_copy])
        if small is not _args[on_copy]:
            try:
                result = check(_op, *_args[:on_copy], small, *_args[on_copy + 1:], **_kwargs)
                return result.max_diff, result.tolerance, small.shape[-2:]
            except CnnError:  # these settings need more pixels than the copy has: check the full input
                pass
    result = check(_op, *_args, **_kwargs)
    return result.max_diff, result.tolerance, None


def torch_check(op: Callable, *args, key: tuple, on_copy: int | None = None, **kwargs) -> tuple[float, float, tuple | None]:
    """(max |ours − torch|, tolerance, the copy's (h, w) or None), cached on `key` (what identifies the input:
    image digest, settings). on_copy=i: argument i is an image (…, H, W) that the check may shrink (check_copy)."""
    hashable = tuple(sorted((k, v) for k, v in kwargs.items() if isinstance(v, (int, float, str, bool, tuple, type(None)))))
    return _checked(key, op.__name__, hashable, on_copy, op, args, kwargs)


def show_check(op: Callable, *args, key: tuple, label: str | None = None, on_copy: int | None = None, **kwargs) -> bool:
    """Check one result against PyTorch and say so in one line; returns whether it passed. on_copy=i: a big image
    in argument i is checked on a reduced copy (same settings), and the line says so."""
    difference, tolerance, copy_shape = torch_check(op, *args, key=key, on_copy=on_copy, **kwargs)
    return show_difference(difference, tolerance, label or op.__name__, copy_shape)


CHECK_SIDE = 128  # pixels: the PyTorch check of an op on a big image runs on a copy at most this high and wide


def check_copy(x: np.ndarray, side: int = CHECK_SIDE) -> np.ndarray:
    """An image-like array (..., H, W) shrunk by a whole factor (block averages) so H and W are at most `side`.

    The ops do the same at any size, and the same settings apply, so agreeing with PyTorch on this copy checks
    them just as well; PyTorch's one-channel convolution of a full photo alone costs ~30-50 ms of every move."""
    height, width = x.shape[-2:]
    factor = -(-max(height, width) // side)
    if factor == 1:
        return x
    h, w = height // factor, width // factor
    blocks = x[..., :h * factor, :w * factor].reshape(*x.shape[:-2], h, factor, w, factor)
    return blocks.mean(axis=(-3, -1), dtype=np.float64).astype(x.dtype)


def show_difference(difference: float, tolerance: float = 1e-4, what: str = "",
                    copy_of: tuple[int, int] | None = None) -> bool:
    """The one display of a PyTorch comparison (also for checks a page computes another way, e.g. autograd)."""
    ok = difference <= tolerance
    if copy_of is None:
        text = t("common.torch_check", what=what, diff=f"{difference:.1e}", tol=f"{tolerance:.0e}")
    else:
        text = t("common.torch_check_copy", what=what, diff=f"{difference:.1e}", tol=f"{tolerance:.0e}",
                 h=copy_of[0], w=copy_of[1])
    (st.success if ok else st.error)(text, icon=":material/check_circle:" if ok else ":material/warning:")
    return ok
