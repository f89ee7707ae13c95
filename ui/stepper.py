"""The step-through grid as a small browser component (plain JS, no build step): play / pause, speed, a slider
that follows the drag, click an output cell to jump to its window — no server rerun per frame."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

HERE = Path(__file__).resolve().parent / "components"
_mount = st.components.v2.component(
    "cnnlab_stepper", html="<div></div>", css=(HERE / "stepper.css").read_text(encoding="utf-8"),
    js=(HERE / "stepper.js").read_text(encoding="utf-8"))


def show_stepper(padded: np.ndarray, output: np.ndarray, padding: int, kernel: int, stride: int, dilation: int,
                 position: int, labels: dict[str, str], numbers: bool, key: str,
                 on_position: Callable[[int], None]) -> None:
    """Draw the step-through; `on_position(p)` runs when the student stops, clicks or lets go of the slider."""
    def changed() -> None:
        value = st.session_state[key].get("position")
        if value is not None:
            on_position(int(value))

    data = dict(grid=np.round(padded, 4).tolist(), output=np.round(output, 4).tolist(), rows=output.shape[0],
                cols=output.shape[1], padding=padding, kernel=kernel, stride=stride, dilation=dilation,
                position=position, labels=labels, numbers=numbers)
    _mount(data=data, key=key, on_position_change=changed)
