"""A whole CNN: a LeNet-style network on real handwritten digits, layer by layer, and trained here in seconds.

Widget keys (lessons' ```try blocks may set them):
  wc_net      trained | yours                 the committed network, or the one trained on this page
  wc_source   held_out | draw | image          the input: a held-out digit, a drawing, or the sidebar image
  wc_index    0–358 (which held-out digit);  wc_channel 0–15 (the channel opened, clamped to the layer's)
  wc_layer    conv1 | bn1 | relu1 | pool1 | conv2 | bn2 | relu2 | pool2   the layer whose map is opened
  wc_lr       0.005–5 (a list), wc_epochs 1–30, wc_batch 8–512 (a list), wc_augment true | false
"""

import math

import numpy as np
import streamlit as st

from cnn_core import digits
from cnn_core.activations import softmax
from cnn_core.errors import CnnError
from cnn_core.handwriting import image_to_digit
from cnn_core.image import load_image
from cnn_core.kernels import KERNELS
from cnn_core.render import to_png
from cnn_core.train import TrainError, fit
from ui.components.draw_canvas import decode_png, draw_canvas
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.networks import show_curves, show_layer_table, show_probabilities, train_live
from ui.page import Choice, Page, Slider, Toggle
from ui.proof import show_check
from ui.show import show_number_grid, show_png
from ui.strings import t

MAPS = tuple(name for name, kind, _ in digits.ARCH if kind in ("conv", "bn", "relu", "maxpool") and name != "relu3")
LEARNING_RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5)  # whole numbers as int: "5", not "5.0", in links
BATCHES = (8, 16, 32, 64, 128, 256, 512)
TIME_LIMIT = 8.0  # seconds of training per click: one thread, so other students wait at most this long
SCALES = {8: 8, 4: 14, 2: 24}  # map side → screen pixels per map pixel

PAGE = Page("whole_cnn", controls=(
    Choice("wc_net", "whole_cnn.net", ("trained", "yours"), default="trained", style="radio",
           labels="whole_cnn.net_", extra=dict(horizontal=True)),
    Choice("wc_source", "whole_cnn.source", ("held_out", "draw", "image"), default="held_out", style="radio",
           labels="whole_cnn.source_", extra=dict(horizontal=True)),
    Slider("wc_index", "whole_cnn.index", 0, 358, default=0),
    Choice("wc_layer", "whole_cnn.layer", MAPS, default="relu1"),
    Slider("wc_channel", "whole_cnn.channel", 0, 15, default=0),
    Choice("wc_lr", "whole_cnn.lr", LEARNING_RATES, default=0.05, style="select_slider"),
    Slider("wc_epochs", "whole_cnn.epochs", 1, 30, default=8),
    Choice("wc_batch", "whole_cnn.batch", BATCHES, default=32, style="select_slider"),
    Toggle("wc_augment", "whole_cnn.augment", default=True),
), code=(digits.forward, image_to_digit, fit), live_answers={
    "wc_updates": lambda: st.session_state.wc_epochs * math.ceil(len(data()[0]) / st.session_state.wc_batch),
    "wc_wrong": lambda: round((1 - st.session_state.wc_yours["history"].test_acc[-1]) * len(data()[2])),
    "wc_acc_percent": lambda: round(100 * st.session_state.wc_yours["history"].test_acc[-1], 1),
})


@st.cache_resource(show_spinner=False)
def committed() -> dict:
    """Loaded once per server: the data, the trained network's weights, its layer table."""
    return dict(data=digits.load_data(), weights=digits.weights(digits.load_model()), table=digits.layer_table())


def data() -> tuple[np.ndarray, ...]:
    return committed()["data"]


def network() -> tuple[str, dict[str, np.ndarray]]:
    """(cache id, weights) of the network chosen at the top."""
    yours = st.session_state.get("wc_yours")
    if st.session_state.wc_net == "yours" and yours and yours.get("weights"):
        return f"yours{yours['run']}", yours["weights"]
    return "trained", committed()["weights"]


@st.cache_data(show_spinner=False, max_entries=64)
def layer_pictures(net_id: str, input_id: str, _x: np.ndarray, _w: dict) -> tuple[dict, dict, np.ndarray]:
    """Every layer's maps as one PNG per layer (shapes too), and the class probabilities, for one input."""
    steps = digits.forward(_x, _w)
    pngs, shapes = {}, {}
    for name, A in steps:
        shapes[name] = A.shape[1:]
        maps = A[0] if A.ndim == 4 else A[0].reshape(1, 1, -1)  # a vector is shown as one long strip
        side = maps.shape[-1] if A.ndim == 4 else 0
        pngs[name] = to_png(digits.tile_maps(maps, SCALES.get(side, 12 if maps.shape[-1] == 64 else 40), columns=8))
    return pngs, shapes, softmax(steps[-1][1], dim=1)[0]


@st.cache_data(show_spinner=False, max_entries=16)
def evaluation(net_id: str, _w: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Confusion matrix on the held-out split, the mistakes (indices, answers), conv1's likeness to hand-made."""
    answers = digits.predict(data()[2], _w).argmax(axis=1)
    wrong = np.flatnonzero(answers != data()[3])
    hand = {name: k for name, k in KERNELS.items() if k.shape == (3, 3) and name != "identity"}
    return digits.confusion_matrix(data()[3], answers), wrong, answers, digits.kernel_likeness(_w["conv1.weight"], hand)


@st.cache_data(show_spinner=False, max_entries=64)
def picture_png(key: str, _values: np.ndarray, scale: int, columns: int = 8) -> bytes:
    return to_png(digits.tile_maps(_values, scale, columns=columns))


def next_mistake() -> None:
    if len(wrong := evaluation(*network())[1]):
        later = wrong[wrong > st.session_state.wc_index]
        PAGE.set(wc_source="held_out", wc_index=int(later[0] if len(later) else wrong[0]))


def choose_input(page: Page) -> tuple[str, np.ndarray | None, int | None]:
    """(cache id, the network's input (1, 1, 8, 8) or None, the true label if known), with the reduction shown."""
    source = page.draw("wc_source")
    if source == "held_out":
        slider, button = st.columns([4, 1], vertical_alignment="bottom")
        index = page.draw("wc_index", slider)
        button.button(t("whole_cnn.next_mistake"), on_click=next_mistake, width="stretch")
        return f"held{index}", data()[2][index:index + 1], int(data()[3][index])
    if source == "draw":
        pad, steps = st.columns([1, 2])
        with pad:
            drawn = draw_canvas("wc_canvas", t("whole_cnn.draw_hint"), t("whole_cnn.clear"),
                                st.session_state.get("wc_drawing"), on_change=lambda: st.session_state.update(
                                    wc_drawing=(st.session_state.get("wc_canvas") or {}).get("png")))
        png = decode_png(drawn or st.session_state.get("wc_drawing"))
        if png is None:
            steps.info(t("whole_cnn.draw_first"))
            return "empty", None, None
        picture, input_id = load_image(png), f"draw{hash(png)}"
    else:
        picture, input_id, steps = current_image(), f"image{current_digest()}", st.container()
    try:
        reduction = image_to_digit(picture)
    except CnnError as error:
        show_problem(error)
        return "empty", None, None
    with steps:
        show_reduction(reduction)
    return input_id, reduction.x, None


def show_reduction(r) -> None:
    st.markdown(t("whole_cnn.reduction_intro"))
    ink, bitmap, counts = st.columns(3)
    with ink:
        show_png(to_png((255 - 255 * (r.ink > r.threshold)).astype(np.uint8)), t("whole_cnn.step_ink"))
    with bitmap:
        show_png(to_png(np.kron(255 - 255 * r.bitmap.astype(np.uint8), np.ones((5, 5), np.uint8))),
                 t("whole_cnn.step_bitmap"))
    with counts:
        show_number_grid(r.counts.astype(np.float32), decimals=0, signed=False, cell_px=30)
        st.caption(t("whole_cnn.step_counts"))


def show_forward(page: Page, net_id: str, w: dict, input_id: str, x: np.ndarray, label: int | None) -> None:
    pngs, shapes, p = layer_pictures(net_id, input_id, x, w)
    guess = int(p.argmax())
    verdict = "" if label is None else t("whole_cnn.right" if guess == label else "whole_cnn.wrong", label=label)
    st.markdown(t("whole_cnn.prediction", digit=guess, p=f"{p[guess]:.0%}", verdict=verdict))
    for name in ["input", *(name for name, _, _ in digits.ARCH)]:
        title, picture = st.columns([1, 5], vertical_alignment="center")
        title.markdown(f"**`{name}`**  \n{' × '.join(map(str, shapes[name]))}")
        with picture:
            show_png(pngs[name], width="content")
        if name == "pool2":
            st.caption(t("whole_cnn.flatten_note"))
    show_probabilities(p)
    show_map_detail(page, net_id, w, input_id, x)
    show_check(digits.logits, x, w, key=(net_id, input_id), label=t("whole_cnn.check_label"))


def show_map_detail(page: Page, net_id: str, w: dict, input_id: str, x: np.ndarray) -> None:
    """One map, large with its numbers, beside the kernel that made it (conv1's or conv2's of that channel)."""
    st.subheader(t("whole_cnn.detail_title"))
    left, right = st.columns(2)
    layer = page.draw("wc_layer", left)
    A = dict(digits.forward(x, w))[layer][0]  # (C, H, W)
    channel = page.draw("wc_channel", right, hi=A.shape[0] - 1)
    conv = "conv1" if MAPS.index(layer) < 4 else "conv2"
    K = w[f"{conv}.weight"][channel]  # (C_in, 3, 3): the kernel whose map this channel is
    shown, kernel = st.columns(2)
    with shown:
        show_png(picture_png(f"{input_id}{net_id}{layer}{channel}", A[channel][None], 240 // A.shape[-1]),
                 width="content")  # a PNG, not a numbered figure: a new input must cost milliseconds
        st.caption(t("whole_cnn.detail_map", layer=layer, channel=channel, lo=f"{A[channel].min():.2f}",
                     hi=f"{A[channel].max():.2f}"))
    with kernel:
        if K.shape[0] == 1:
            show_number_grid(K[0], decimals=2, signed=True, cell_px=60)
        else:
            show_png(picture_png(f"{conv}{channel}{hash(K.tobytes())}", K, 20, 4), width="content")
        st.caption(t(f"whole_cnn.detail_{conv}", channel=channel, inputs=K.shape[0]))


def show_kernels(net_id: str, w: dict) -> None:
    st.subheader(t("whole_cnn.kernels_title"))
    K = w["conv1.weight"]  # (8, 1, 3, 3)
    learned = [(K[c, 0], t("whole_cnn.kernel_like", c=c, name=t(f"kernels.{name}_name"), cos=f"{cos:+.2f}"))
               for c, (name, cos) in enumerate(evaluation(net_id, w)[3])]
    hand_made = [(KERNELS[name], t(f"kernels.{name}_name")) for name in ("sobel_x", "sobel_y", "laplacian", "box_blur")]
    for kernels, intro in ((learned, None), (hand_made, t("whole_cnn.hand_made"))):
        if intro:
            st.caption(intro)
        with st.container(horizontal=True):  # in one row where they fit, wrapped onto more rows where not
            for values, caption in kernels:
                with st.container(width=112):  # a 3×3 grid of 32-px cells, and its caption under it
                    show_number_grid(values, decimals=1, signed=True, cell_px=32)
                    st.caption(caption)


def train(lr: float, epochs: int, batch: int, augment: bool, chart, progress) -> None:
    """From random weights, live; every finished epoch is kept, so Stop (or any click) keeps the last one."""
    run = st.session_state.wc_runs = st.session_state.get("wc_runs", 0) + 1
    model = digits.make_model(seed=run)

    def keep(history) -> None:
        st.session_state.wc_yours = dict(run=run, weights=digits.weights(model), history=history)

    try:
        history = train_live(model, *data(), chart=chart, progress=progress, on_epoch=keep, lr=lr, epochs=epochs,
                             batch_size=batch, augment=augment, seed=run, time_limit=TIME_LIMIT)
    except TrainError as error:
        st.session_state.wc_yours = dict(run=run, weights=None, history=error.history, error=error)
        st.rerun()
    if history is not None:
        st.session_state.wc_show_yours = True  # the rerun switches the view to the new network
        st.rerun()


@st.fragment  # a training setting reruns only this panel; a finished run reruns the page
def show_training(page: Page) -> None:
    st.subheader(t("whole_cnn.train_title"))
    st.markdown(t("whole_cnn.train_intro", seconds=f"{TIME_LIMIT:g}"))
    columns = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
    lr, epochs, batch, augment = (page.draw(key, column) for key, column in
                                  zip(("wc_lr", "wc_epochs", "wc_batch", "wc_augment"), columns, strict=True))
    go, stop, _ = st.columns([1, 1, 3])
    start = go.button(t("whole_cnn.train"), type="primary", icon=":material/play_arrow:", width="stretch")
    stop.button(t("whole_cnn.stop"), icon=":material/stop:", width="stretch", help=t("whole_cnn.stop_help"))
    progress, chart = st.empty(), st.empty()
    yours = st.session_state.get("wc_yours")
    if start:
        train(lr, epochs, batch, augment, chart, progress)
    elif yours:
        history = yours["history"]
        if yours.get("error") is not None:
            show_problem(yours["error"])
        elif history.epochs and history.test_acc[-1] < 2 / len(digits.CLASSES):  # not far from guessing
            st.warning(t("whole_cnn.did_not_learn", acc=f"{history.test_acc[-1]:.0%}"))
        elif history.epochs:
            st.success(t("whole_cnn.summary", epochs=history.epochs, acc=f"{history.test_acc[-1]:.1%}",
                         train=f"{history.train_acc[-1]:.1%}", seconds=f"{history.seconds:.1f}")
                       + (t("whole_cnn.time_limit_note") if history.stopped == "time" else ""))
        if history.epochs:
            show_curves(history, chart)


def show_evaluation(net_id: str, w: dict) -> None:
    matrix, wrong, answers, _ = evaluation(net_id, w)
    st.subheader(t("whole_cnn.confusion_title"))
    st.markdown(t("whole_cnn.confusion_intro", acc=f"{1 - len(wrong) / len(answers):.1%}", wrong=len(wrong),
                  n=len(answers)))
    left, right = st.columns([3, 2])
    with left:
        show_number_grid(matrix.astype(np.float32), decimals=0, signed=False, cell_px=30)  # 10 columns fit at 1024 px
    with right:
        st.markdown(t("whole_cnn.mistakes_title", n=len(wrong)))
        mistakes = st.container(horizontal=True, gap="small")  # as many per row as fit: captions stay whole
        for i in wrong[:24]:
            with mistakes.container(width=84):
                show_png(picture_png(f"held{i}", data()[2][i], 8), t("whole_cnn.mistake", i=i,
                         label=int(data()[3][i]), answer=int(answers[i])))


@st.fragment
def inspect_panel(page: Page) -> None:
    """Input → every layer → softmax, and the opened map (a fragment: choosing an input reruns only this)."""
    net_id, w = network()
    st.subheader(t("whole_cnn.input_title"))
    input_id, x, label = choose_input(page)
    if x is not None:
        st.subheader(t("whole_cnn.forward_title"))
        show_forward(page, net_id, w, input_id, x, label)


def experiment(page: Page) -> None:
    if st.session_state.pop("wc_show_yours", False):  # before the radio is drawn, so it may still be set
        st.session_state.wc_net = "yours"
    st.subheader(t("whole_cnn.table_title"))
    show_layer_table(committed()["table"], (1, 8, 8))
    page.draw("wc_net")
    if st.session_state.wc_net == "yours" and not (st.session_state.get("wc_yours") or {}).get("weights"):
        st.info(t("whole_cnn.no_yours"))
    net_id, w = network()
    inspect_panel(page)
    show_kernels(net_id, w)
    show_training(page)
    show_evaluation(net_id, w)


if __name__ == "__main__":
    PAGE.run(experiment)
