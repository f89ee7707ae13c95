"""Display helpers of the two learning pages ("How a network learns", "Learning a kernel"): numbers as LaTeX,
curves drawn by the browser, and the loss surface with the path of gradient descent.

The surface is drawn by matplotlib once (contours, axes, labels: ~150 ms) and kept as pixels; each move of a
slider then only draws the path on a copy of those pixels (a few milliseconds), so the panel stays fast.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from cnn_core.learn import gradient_descent, loss_surface
from cnn_core.render import to_png


def num(v: float, decimals: int) -> str:
    """A number rounded for reading, without trailing zeros (and never "-0")."""
    text = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if float(text) == 0 else text


def bmatrix(M, decimals: int = 2) -> str:
    """A matrix (a vector as a column) as LaTeX."""
    M = np.atleast_1d(np.asarray(M, dtype=np.float64))
    rows = M[:, None] if M.ndim == 1 else M
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(num(v, decimals) for v in row) for row in rows) + r"\end{bmatrix}"


def show_lines(rows: list[dict], x_title: str, y_title: str, log_y: bool = False, height: int = 250,
               colors: dict[str, str] | None = None, rule: float | None = None) -> None:
    """Curves drawn by the browser (titles and legend in the student's language): rows of {x, y, series}.

    colors: series name → colour; rule: an x where a dashed vertical line marks the step shown.
    """
    y = {"field": "y", "type": "quantitative", "title": y_title, **({"scale": {"type": "log"}} if log_y else {})}
    color = {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "top"}}
    if colors:
        color["scale"] = {"domain": list(colors), "range": list(colors.values())}
    layers = [{"mark": {"type": "line", "point": len(rows) < 130},
               "encoding": {"x": {"field": "x", "type": "quantitative", "title": x_title}, "y": y, "color": color}}]
    if rule is not None:
        layers.append({"mark": {"type": "rule", "color": "#888", "strokeDash": [4, 3]}, "encoding": {"x": {"datum": rule}}})
    st.vega_lite_chart({"data": {"values": rows}, "layer": layers, "height": height}, width="stretch")


@st.cache_resource(show_spinner=False)
def _surface_background() -> tuple[np.ndarray, tuple[float, float, float, float], tuple[float, ...]]:
    """The contours of the line's loss with axes, as RGB pixels; where the plot's corners are, in pixels."""
    ws, bs, L = loss_surface()
    fig = Figure(figsize=(5.2, 4.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.contourf(ws, bs, np.log10(L), levels=24, cmap="viridis")
    ax.contour(ws, bs, np.log10(L), levels=12, colors="white", linewidths=0.4, alpha=0.6)
    i, j = np.unravel_index(np.argmin(L), L.shape)
    ax.plot(ws[j], bs[i], "*", color="red", markersize=13)
    ax.set(xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]), xlabel="w", ylabel="b")
    fig.tight_layout(pad=0.3)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    (left, bottom), (right, top) = ax.transData.transform([(ws[0], bs[0]), (ws[-1], bs[-1])])
    height = rgb.shape[0]  # matplotlib counts pixels from the bottom, images from the top
    return rgb, (left, height - top, right, height - bottom), (ws[0], ws[-1], bs[0], bs[-1])


@st.cache_data(show_spinner=False, max_entries=256)
def surface_png(w: float, b: float, lr: float, steps: int) -> bytes:
    """The loss surface with the path of gradient descent from (w, b): start square, one dot per step."""
    rgb, (left, top, right, bottom), (w0, w1, b0, b1) = _surface_background()
    path = gradient_descent((w, b), lr, steps).path
    path = path[np.all(np.isfinite(path), axis=1)]
    picture = Image.fromarray(rgb)
    plot = picture.crop((round(left), round(top), round(right), round(bottom)))  # drawing here clips to the axes
    sx, sy = plot.width / (w1 - w0), plot.height / (b1 - b0)
    points = [(float((p - w0) * sx), float((b1 - q) * sy)) for p, q in np.clip(path, -1e4, 1e4)]
    draw = ImageDraw.Draw(plot)
    draw.line(points, fill=(255, 127, 14), width=2)
    for x, y in points[1:]:
        draw.ellipse((x - 2.5, y - 2.5, x + 2.5, y + 2.5), fill=(255, 127, 14))
    x, y = points[0]
    draw.rectangle((x - 4, y - 4, x + 4, y + 4), fill="white", outline="black")
    picture.paste(plot, (round(left), round(top)))
    return to_png(np.asarray(picture))
