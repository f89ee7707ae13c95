"""Networks in a page: train one live (one run at a time, progress and curves), show its layers and its answer.

    history = train_live(model, train_x, train_y, test_x, test_y, chart=st.empty(), progress=st.empty(),
                         on_epoch=keep, lr=0.05, epochs=8, batch_size=32)

cnn_core.train.fit does the work (torch, one thread, a time limit); this module only shows it: a progress bar
per batch (throttled), the loss and accuracy curves per epoch (training and held-out), and a polite "busy" when
another student's run holds the server's one training slot. A click anywhere (e.g. a Stop button) stops a run:
Streamlit interrupts the script at the next progress update, and what `on_epoch` kept survives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st

from cnn_core.errors import CnnError
from cnn_core.train import History, TrainError, fit
from ui.errors import show_problem
from ui.strings import t

PALE, STRONG = "#9aa5b1", "#ff4b4b"  # the other classes' bars, the winner's
PROGRESS_EVERY = 0.15  # seconds between progress messages: one per batch would cost more than the batch


@st.cache_resource(show_spinner=False)
def training_slot() -> threading.Semaphore:
    """One training run at a time on the server (each on one thread), so a class never fights over the CPU."""
    return threading.Semaphore(1)


@st.cache_resource(show_spinner=False)
def shared_runs(page: str) -> dict:
    """A page's finished demo runs by their settings, shared by every student: fixed seeds, so one run serves all."""
    return {}


def train_shared(page: str, key: tuple, train: Callable[[Callable[[float], None]], object], progress, text: str) -> None:
    """Run `train(report)` once for the whole class in the one training slot and keep its result in
    shared_runs(page)[key]; `report(share_done)` moves the progress bar in `progress` (an st.empty). While another
    run holds the slot, say so and return: the student presses again in a few seconds."""
    slot = training_slot()
    if not slot.acquire(blocking=False):
        progress.info(t("networks.busy"))
        return
    bar = progress.progress(0.0, text=text)
    try:
        shared_runs(page)[key] = train(lambda done: bar.progress(done, text=text))
    except (TrainError, CnnError) as error:
        show_problem(error)
    finally:
        slot.release()
        progress.empty()


def curves_spec(history: History) -> dict:
    """Vega-Lite: loss and accuracy per epoch, training and held-out, side by side (titles translated)."""
    panels = (("axis_loss", ("train_loss", "test_loss")), ("axis_acc", ("train_acc", "test_acc")))
    rows = [{"epoch": epoch + 1, "value": value, "curve": t(f"networks.curve_{name}"), "panel": t(f"networks.{panel}")}
            for panel, names in panels for name in names for epoch, value in enumerate(getattr(history, name))]
    order = [t(f"networks.{panel}") for panel, _ in panels]  # loss first, as in the text (not alphabetical)
    return {"data": {"values": rows},
            "facet": {"column": {"field": "panel", "type": "nominal", "title": None, "sort": order}},
            "spec": {"mark": {"type": "line", "point": True}, "width": 260, "height": 170,
                     "encoding": {"x": {"field": "epoch", "type": "quantitative", "title": t("networks.axis_epoch"),
                                        "axis": {"tickMinStep": 1}},
                                  "y": {"field": "value", "type": "quantitative", "title": None},
                                  "color": {"field": "curve", "type": "nominal", "title": None}}},
            "resolve": {"scale": {"y": "independent"}}}


def show_curves(history: History, where=st) -> None:
    if history.epochs:
        where.vega_lite_chart(curves_spec(history))


def train_live(model, train_x, train_y, test_x, test_y, *, chart, progress,
               on_epoch: Callable[[History], None] | None = None, **settings) -> History | None:
    """Run cnn_core.train.fit with a live progress bar and curves; None (and a note) when the slot is busy.

    chart, progress: st.empty() placeholders. settings: fit's keyword arguments (lr, epochs, batch_size, ...).
    TrainError (a diverging run) passes through to the caller, which explains it.
    """
    slot = training_slot()
    if not slot.acquire(blocking=False):
        progress.info(t("networks.busy"))
        return None
    epochs = settings.get("epochs", 10)
    total = epochs * -(-len(train_x) // settings.get("batch_size", 64))
    bar = progress.progress(0.0, text=t("networks.starting"))
    seen, last = [0], [0.0]

    def batch_done(epoch: int, batch: int, loss: float) -> None:
        seen[0] += 1
        if time.perf_counter() - last[0] > PROGRESS_EVERY:
            last[0] = time.perf_counter()
            bar.progress(min(1.0, seen[0] / total),
                         text=t("networks.progress", epoch=epoch + 1, epochs=epochs, loss=f"{loss:.3f}"))

    def epoch_done(history: History) -> None:
        if on_epoch is not None:
            on_epoch(history)
        show_curves(history, chart)

    try:
        history = fit(model, train_x, train_y, test_x, test_y, on_batch=batch_done, on_epoch=epoch_done, **settings)
    finally:
        slot.release()
    bar.progress(1.0, text=t(f"networks.stopped_{history.stopped}", seconds=f"{history.seconds:.1f}"))
    return history


def show_probabilities(p, where=st) -> None:
    """The softmax as a bar chart, the winning class in colour."""
    guess = int(p.argmax())
    rows = [{"class": str(c), "p": float(v), "top": c == guess} for c, v in enumerate(p)]
    where.vega_lite_chart({
        "data": {"values": rows}, "mark": {"type": "bar"}, "height": 160,
        "encoding": {"x": {"field": "class", "type": "ordinal", "title": t("networks.axis_class"),
                           "axis": {"labelAngle": 0}},
                     "y": {"field": "p", "type": "quantitative", "title": t("networks.axis_p"),
                           "scale": {"domain": [0, 1]}, "axis": {"format": "%"}},
                     "color": {"condition": {"test": "datum.top", "value": STRONG}, "value": PALE}}}, width="stretch")


def show_layer_table(rows, input_shape: tuple[int, ...]) -> None:
    """A network as a table (cnn_core.digits.LayerRow-like rows): kind, output shape, parameters, field, jump."""
    total = sum(row.parameters for row in rows)
    dense = sum(row.parameters for row in rows if row.kind == "linear")
    lines = [t("networks.table_head"), "|---|---|---|---:|---|---|",
             f"| `input` | {t('networks.kind_input')} | {' × '.join(map(str, input_shape))} | 0 | 1×1 | 1 |"]
    for row in rows:
        field = f"{row.rf[0]}×{row.rf[1]}" if row.rf else t("networks.rf_all")
        lines.append(f"| `{row.name}` | {t('networks.kind_' + row.kind)} | {' × '.join(map(str, row.shape))} | "
                     f"{row.parameters:,} | {field} | {row.jump[0] if row.jump else '–'} |")
    lines.append(t("networks.table_total", total=f"{total:,}"))
    st.markdown("\n".join(lines))
    st.caption(t("networks.table_caption", dense=f"{dense:,}", share=f"{dense / max(total, 1):.0%}"))
