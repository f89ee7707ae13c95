"""Transfer learning and the vision tasks: reuse the trained digit network for a new task with a handful of
examples (frozen layers vs training from scratch, fine-tuning as an option), then classification, localisation,
detection and segmentation on one canvas of digits, from one fully convolutional pass.

Widget keys (lessons' ```try blocks may set them):
  tf_task       odd_even | loops | small_large     the new task (two classes)
  tf_reuse      all_but_last | conv                what is reused from the trained network
  tf_finetune   true | false                       also fine-tune the last reused block
  tf_canvas     0–29    which canvas of held-out digits
  tf_digits     1–6     digits on the canvas
  tf_threshold  0.3–0.95  probability a window needs to count as a detection
Live answers for the lesson: tf_frozen_1 and tf_scratch_1 (held-out accuracy in % with one example per digit, in
the student's run), tf_windows (window positions on the canvas).
"""

import numpy as np
import streamlit as st

from cnn_core.activations import softmax
from cnn_core.transpose import conv_transpose2d
from ui.networks import shared_runs, train_shared
from ui.page import Choice, Page, Slider, Toggle
from ui.proof import show_check
from ui.show import show_picture
from ui.strings import t

TASKS = ("odd_even", "loops", "small_large")
REUSE = ("all_but_last", "conv")
# Streamlit 1.67 shrinks a chart to fit its height *including* the legend below it (a 170 px chart drew a 20 px
# plot); fitting only the width keeps the plot the height asked for.
AUTOSIZE = {"type": "fit-x", "contains": "padding"}
COLOURS = {"frozen": "#4c78a8", "fine_tune": "#54a24b", "scratch": "#e45756"}
CANVAS = dict(height=16, width=48)


def accuracy_at_one(method: str) -> float:
    runs = shared_runs("transfer")[run_key()]
    return round(100 * next(r.test_acc for r in runs if r.method == method and r.per_digit == 1), 1)


PAGE = Page("transfer", controls=(
    Choice("tf_task", "transfer.task", TASKS, default="odd_even", style="radio", labels="transfer.task_"),
    Choice("tf_reuse", "transfer.reuse", REUSE, default="all_but_last", style="radio", labels="transfer.reuse_"),
    Toggle("tf_finetune", "transfer.finetune", default=False),
    Slider("tf_canvas", "transfer.canvas", 0, 29, default=0),
    Slider("tf_digits", "transfer.digits", 1, 6, default=4),
    Slider("tf_threshold", "transfer.threshold", 0.3, 0.95, default=0.5, step=0.05),
), live_answers={
    "tf_frozen_1": lambda: accuracy_at_one("frozen"),
    "tf_scratch_1": lambda: accuracy_at_one("scratch"),
    "tf_windows": lambda: ((CANVAS["height"] - 8) // 2 + 1) * ((CANVAS["width"] - 8) // 2 + 1),
})


def run_key() -> tuple[str, str, bool]:
    s = st.session_state
    return s.tf_task, s.tf_reuse, bool(s.tf_finetune)


def train_now(key: tuple[str, str, bool], progress) -> None:
    from cnn_core.transfer import transfer_curve  # torch loads with the first training, not with the page

    task, reuse, finetune = key
    methods = ("frozen", "fine_tune", "scratch") if finetune else ("frozen", "scratch")
    train_shared("transfer", key, lambda report: transfer_curve(task, methods, reuse=reuse, progress=report),
                 progress, t("transfer.training"))


def curve_chart(runs) -> dict:
    rows = [{"k": r.per_digit, "acc": r.test_acc, "method": t(f"transfer.method_{r.method}")} for r in runs]
    methods = [m for m in COLOURS if any(r.method == m for r in runs)]
    return {"data": {"values": rows}, "mark": {"type": "line", "point": True}, "autosize": AUTOSIZE, "height": 260,
            "encoding": {"x": {"field": "k", "type": "quantitative", "title": t("transfer.axis_k"),
                               "scale": {"type": "log"}, "axis": {"values": sorted({r.per_digit for r in runs})}},
                         "y": {"field": "acc", "type": "quantitative", "title": t("transfer.axis_acc"),
                               "scale": {"domain": [0.5, 1]}, "axis": {"format": "%"}},
                         "color": {"field": "method", "type": "nominal", "title": None,
                                   "legend": {"orient": "bottom"},
                                   "scale": {"domain": [t(f"transfer.method_{m}") for m in methods],
                                             "range": [COLOURS[m] for m in methods]}}}}


@st.fragment
def show_transfer(page: Page) -> None:
    st.subheader(t("transfer.transfer_title"))
    left, right = st.columns(2)
    task = page.draw("tf_task", left)
    reuse = page.draw("tf_reuse", right)
    page.draw("tf_finetune")
    st.markdown(t(f"transfer.reuse_text_{reuse}", task=t(f"transfer.task_{task}")))
    start = st.button(t("transfer.train"), type="primary", icon=":material/play_arrow:")
    progress = st.empty()
    key = run_key()
    if start:
        train_now(key, progress)
    runs = shared_runs("transfer").get(key)
    if runs is None:
        st.info(t("transfer.press_train"))
        return
    st.vega_lite_chart(curve_chart(runs), width="stretch")
    at_one = {r.method: r.test_acc for r in runs if r.per_digit == 1}
    st.markdown(t("transfer.verdict", frozen=f"{at_one['frozen']:.1%}", scratch=f"{at_one['scratch']:.1%}",
                  most=max(r.per_digit for r in runs)))
    if "fine_tune" in at_one:
        st.markdown(t("transfer.finetune_verdict", fine=f"{at_one['fine_tune']:.1%}"))


@st.cache_resource(show_spinner=False)
def detector_pair():
    """The padding-free detector (trained once per server, about a second) and its fully convolutional twin."""
    from cnn_core.detect import detector, fully_convolutional

    model = detector()
    return model, fully_convolutional(model)


@st.cache_data(show_spinner=False, max_entries=64)
def canvas_results(seed: int, count: int, threshold: float) -> dict:
    from cnn_core.detect import four_tasks, make_canvas, score_map, sliding_window, task_picture

    model, fcn = detector_pair()
    canvas, truth = make_canvas(count, seed, **CANVAS)
    logits = score_map(fcn, canvas)
    windows = sliding_window(model, canvas)
    tasks = four_tasks(canvas, logits, threshold)
    found = tasks["detection"]
    return dict(canvas=canvas, truth=truth, logits=logits, found=found, tasks=tasks,
                diff=float(np.abs(logits - windows).max()), windows=int(np.prod(logits.shape[1:])),
                pictures={"classification": task_picture(canvas),
                          "localisation": task_picture(canvas, found[:1]),
                          "detection": task_picture(canvas, found),
                          "segmentation": task_picture(canvas, labels=tasks["segmentation"])})


@st.fragment
def show_vision_tasks(page: Page) -> None:
    st.subheader(t("transfer.tasks_title"))
    columns = st.columns(3)
    seed, count = page.draw("tf_canvas", columns[0]), page.draw("tf_digits", columns[1])
    threshold = page.draw("tf_threshold", columns[2])
    with st.spinner(t("transfer.preparing")):
        result = canvas_results(seed, count, threshold)
    found, tasks = result["found"], result["tasks"]
    truth = ", ".join(str(b.label) for b in sorted(result["truth"], key=lambda b: b.left))
    listed = ", ".join(f"{b.label} ({b.score:.0%})" for b in sorted(found, key=lambda b: b.left)) or "–"
    captions = {"classification": t("transfer.out_classification", label=tasks["classification"] if found else "–"),
                "localisation": t("transfer.out_localisation",
                                  box=f"{found[0].label} @ ({found[0].top}, {found[0].left})" if found else "–"),
                "detection": t("transfer.out_detection", n=len(found), listed=listed),
                "segmentation": t("transfer.out_segmentation")}
    for row in (("classification", "localisation"), ("detection", "segmentation")):
        for column, name in zip(st.columns(2), row, strict=True):
            with column:
                st.markdown(f"**{t(f'transfer.task_name_{name}')}**")
                show_picture(result["pictures"][name], captions[name], min_side=1, max_width=480)
    st.caption(t("transfer.truth", truth=truth))
    st.markdown(t("transfer.fcn_text", windows=result["windows"], rows=result["logits"].shape[1],
                  cols=result["logits"].shape[2]))
    ok = result["diff"] <= 1e-4
    (st.success if ok else st.error)(t("transfer.fcn_check", diff=f"{result['diff']:.1e}"))
    probs = softmax(result["logits"], dim=0)[:10][None]
    K = np.ones((10, 1, 8, 8), dtype=np.float32)
    show_check(conv_transpose2d, probs, K, key=(seed, count), stride=2, groups=10, label=t("transfer.check_paint"))


def experiment(page: Page) -> None:
    show_transfer(page)
    show_vision_tasks(page)


if __name__ == "__main__":
    PAGE.run(experiment)
