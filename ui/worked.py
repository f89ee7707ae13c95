"""Worked examples beside the maps: one output computed by hand, with the numbers of its window.

Pages compute the example with cnn_core.explain (the same ops that drew the maps) and show it with these helpers,
so a student can check one value of a map with pencil and paper.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core.errors import CnnError
from cnn_core.explain import PoolExample, lp_of_window, patch_around
from cnn_core.pool import avg_pool2d_naive, lp_pool2d, max_pool2d_naive
from ui.errors import show_problem
from ui.show import show_number_grid
from ui.strings import t

PATCH = 8  # side of the pooling page's "worked numbers" patch


def show_pool_arithmetic(example: PoolExample, numbers, sums, shape: tuple[int, int], settings: tuple, scale: dict,
                         map_value: float) -> None:
    """In `numbers`: the window's values (padding empty, the winner outlined); in `sums`: the max and where it sat,
    the mean with its divisor, the Lp value, and the value the pooled map holds there."""
    kind, k, _, _, _, count_pad, norm = settings
    H, W = shape
    with numbers:
        st.markdown(t("pooling.explain_window", r0=max(example.top, 0), r1=min(example.top + k, H) - 1,
                      c0=max(example.left, 0), c1=min(example.left + k, W) - 1)
                    + (t("pooling.explain_padding") if np.isnan(example.window).any() else ""))
        winner = (example.winner[0] - example.top, example.winner[1] - example.left)
        show_number_grid(example.window, decimals=3, cell_px=max(30, min(52, 208 // k)), highlight=[winner], **scale)
    with sums:
        values = ", ".join(f"{v:.4g}" for v in example.window[np.isfinite(example.window)].ravel()[:16])  # as the max
        more = r", \dots" if k * k > 16 else ""
        st.latex(rf"\max({values}{more}) = {example.maximum:.4g}")
        st.markdown(t("pooling.explain_winner", r=example.winner[0], c=example.winner[1],
                      index=example.winner[0] * W + example.winner[1]))
        st.latex(rf"\frac{{{example.total:.4g}}}{{{example.divisor}}} = {example.mean:.4g}")
        st.caption(t("pooling.explain_mean", divisor=example.divisor,
                     why=t("pooling.explain_divisor_all" if count_pad else "pooling.explain_divisor_real")))
        if kind == "lp":
            st.markdown(t("pooling.explain_lp", p=norm, value=f"{lp_of_window(example, norm):.4g}"))
        st.caption(t("pooling.explain_check", value=f"{map_value:.4g}", i=example.i, j=example.j))


def show_pool_worked_numbers(X: np.ndarray, name: str, row: int, col: int, settings: tuple) -> None:
    """The classic 2×2 example, then an 8×8 patch of the input around (row, col) pooled window by window with the
    readable loops (max_pool2d_naive, avg_pool2d_naive). Drawn only while open (on_change="rerun"): closed, it
    costs a settings move nothing (its ~17 elements would cost the browser ~25 ms on every move)."""
    _, k, s, p, ceil, count_pad, _ = settings
    expander = st.expander(t("pooling.worked_title"), expanded=False, key="_pool_worked_open", on_change="rerun")
    if not expander.open:
        return
    with expander:
        example = np.array([[[[1, 2], [3, 4]]]], dtype=np.float32)
        left, right = st.columns([1, 3])
        with left:
            show_number_grid(example[0, 0], decimals=0, signed=False, cell_px=48, highlight=[(1, 1)])
        with right:
            biggest, where = max_pool2d_naive(example, 2)
            st.latex(rf"\max(1, 2, 3, 4) = {biggest[0, 0, 0, 0]:g}, \qquad \operatorname{{argmax}} = {where[0, 0, 0, 0]}")
            st.latex(rf"\frac{{1 + 2 + 3 + 4}}{{4}} = {avg_pool2d_naive(example, 2)[0, 0, 0, 0]:g}, \qquad"
                     rf"\left(1^2 + 2^2 + 3^2 + 4^2\right)^{{1/2}} = \sqrt{{30}} \approx "
                     rf"{lp_pool2d(example, 2, 2)[0, 0, 0, 0]:.3f}")
            st.caption(t("pooling.worked_seed"))
        patch, top, left_edge = patch_around(X[0, 0], row, col, PATCH)
        st.markdown(t("pooling.worked_patch", n=patch.shape[0], m=patch.shape[1], top=top, left=left_edge,
                      channel=name, k=k, s=s, p=p))
        try:
            pooled = (max_pool2d_naive(patch[None, None], k, s, p, ceil_mode=ceil)[0],
                      avg_pool2d_naive(patch[None, None], k, s, p, ceil, count_pad))
        except CnnError as error:
            show_problem(error)
            return
        widths = [PATCH] + [max(2, pooled[0].shape[3])] * 2
        for column, values, caption in zip(st.columns(widths), (patch[None, None], *pooled),
                                           ("worked_input", "worked_max", "worked_avg"), strict=True):
            with column:
                st.caption(t(f"pooling.{caption}"))
                show_number_grid(values[0, 0], decimals=2, cell_px=36)
