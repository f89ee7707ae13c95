"""Receptive fields: which input pixels can change one neuron of a deep layer.

A neuron of the first 3×3 convolution sees a 3×3 patch of the image. A neuron of the second sees a 3×3 patch
of the first layer's map, and each of those saw 3×3 pixels, overlapping: 5×5 pixels in all. Every layer adds
(k − 1) steps of the layer below, and a step of the layer below is `jump` input pixels long — the product of
all strides so far. That is why strides and pooling make the field grow faster.

Along one axis, layer l with kernel k_l (span k'_l = d_l(k_l − 1) + 1 when dilated), stride s_l and padding
p_l turns the field of the layer below into (Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019):

    r_l = r_{l−1} + (k'_l − 1) · j_{l−1}        size of the field, in input pixels        (r_0 = 1)
    j_l = j_{l−1} · s_l                         jump: input pixels between neighbours     (j_0 = 1)
    u_l = u_{l−1} − p_l · j_{l−1}               first input pixel seen by output 0        (u_0 = 0)

The centre of output 0's field is start_l = u_l + (r_l − 1)/2, and output i sees the input pixels
u_l + i·j_l … u_l + i·j_l + r_l − 1 (some may lie in the padding, outside the image).

That is the *theoretical* field; cnn_core.rf_effective measures the *effective* one (how strongly each pixel
really counts). Layers: see cnn_core.rf_layers (dicts with torch's argument names, or torch.nn modules).
Per-axis helpers do the arithmetic; 2-D functions call them once for the height and once for the width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnn_core.rf_layers import Layer, StackError, as_layers, output_shapes


@dataclass(frozen=True)
class RF:
    """The receptive field of one layer's neurons, as (height, width) pairs, in input pixels.

    size:  how many input pixels one neuron's field spans.
    jump:  how far apart (in input pixels) the fields of two neighbouring neurons are (the product of strides).
    start: the input coordinate of the centre of neuron (0, 0)'s field (pixel i sits at coordinate i;
           a negative value means the field reaches into the padding).
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]

    def first(self, axis: int) -> int:
        """The first input pixel of neuron 0's field along an axis: start − (size − 1)/2 (a whole number)."""
        return round(self.start[axis] - (self.size[axis] - 1) / 2)


def axis_step(size: int, jump: int, first: int, kernel: int, stride: int, pad_before: int,
              dilation: int = 1) -> tuple[int, int, int]:
    """One layer along one axis: (r, j, u) of the layer below → (r, j, u) of this layer (Araujo et al. 2019).

    r = r + (d(k − 1) + 1 − 1)·j,   u = u − p·j,   j = j·s   (the old j in the first two).
    """
    span = dilation * (kernel - 1) + 1
    return size + (span - 1) * jump, jump * stride, first - pad_before * jump


def receptive_field(layers) -> list[RF]:
    """The receptive field after every layer of the stack (one `RF` per conv / pool layer).

    Two 3×3 convolutions, stride 1, no padding: sizes 3 then 5, jump 1, starts 1 then 2 (the centre of output
    (0, 0)'s 5×5 field is input pixel (2, 2)).
    """
    result = []
    state = [(1, 1, 0), (1, 1, 0)]  # (size, jump, first pixel) for height and width, before any layer
    for layer in as_layers(layers):
        state = [axis_step(*state[a], layer.kernel_size[a], layer.stride[a], layer.padding[a][0], layer.dilation[a])
                 for a in (0, 1)]
        result.append(RF(size=(state[0][0], state[1][0]), jump=(state[0][1], state[1][1]),
                         start=tuple(u + (r - 1) / 2 for r, _, u in state)))
    return result


@dataclass(frozen=True)
class Box:
    """Rows top ≤ r < bottom and columns left ≤ c < right (half-open, like a Python slice); may stick out."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return max(0, self.bottom - self.top)

    @property
    def width(self) -> int:
        return max(0, self.right - self.left)

    def clip(self, height: int, width: int) -> Box:
        """The part of the box that lies on a height × width picture (possibly empty)."""
        return Box(max(self.top, 0), max(self.left, 0), min(self.bottom, height), min(self.right, width))

    def shift(self, rows: int, cols: int) -> Box:
        return Box(self.top + rows, self.left + cols, self.bottom + rows, self.right + cols)


def input_box(rf: RF, row: int, col: int) -> Box:
    """The input pixels neuron (row, col) of a layer sees, unclipped: `.clip(H, W)` keeps the part on the image."""
    top, left = rf.first(0) + row * rf.jump[0], rf.first(1) + col * rf.jump[1]
    return Box(top, left, top + rf.size[0], left + rf.size[1])


def walk_back_axis(layers: Sequence[Layer], axis: int, index: int) -> tuple[int, int]:
    """The readable reference: follow one neuron's window back through the stack, last layer first.

    A window [a, b] on a layer's output covers [a·s − p, b·s − p + d(k − 1)] on the layer below.
    Returns the half-open input interval [a, b + 1). `input_box` must agree (the tests check it).
    """
    a = b = index
    for layer in reversed(layers):
        s, p = layer.stride[axis], layer.padding[axis][0]
        a, b = a * s - p, b * s - p + layer.span(axis) - 1
    return a, b + 1


def walk_back(layers, row: int, col: int) -> Box:
    """`input_box` computed the slow way, one layer at a time (per axis, called twice)."""
    layers = as_layers(layers)
    (top, bottom), (left, right) = walk_back_axis(layers, 0, row), walk_back_axis(layers, 1, col)
    return Box(top, left, bottom, right)


def boxes_through_stack(layers, row: int, col: int) -> list[Box]:
    """The field of neuron (row, col) of the last layer drawn on every map: the input, then each layer's output.

    Entry 0 is the box on the input; entry m the box on layer m's output (so the last entry is the neuron
    itself, 1×1). On an intermediate map, the stack above it plays the role of the whole network.
    """
    layers = as_layers(layers)
    boxes = [input_box(receptive_field(layers[m:])[-1], row, col) for m in range(len(layers))]
    return boxes + [Box(row, col, row + 1, col + 1)]


@dataclass(frozen=True)
class Crop:
    """The part of the input that is enough to compute one neuron exactly, and where the neuron sits in it."""

    box: Box  # rows and columns of the input to keep
    row: int  # the neuron's position on the last map computed from the crop alone
    col: int


def field_crop(layers, input_size: tuple[int, int], row: int, col: int) -> Crop | None:
    """The part of the input through which neuron (row, col) of the last layer comes out exactly the same.

    Outside the theoretical field nothing counts, so only the field needs to go through the stack. The crop starts
    at a multiple of the total stride (so every layer's grid lines up with the full run) and keeps the image edge
    wherever the field reaches into the padding. A field that reads mostly padding can be too thin for the crop
    to pass every layer: then the crop is the whole input. None when the field lies entirely in the padding
    (no pixel counts). Raises StackError ("no_neuron") when (row, col) is not on the last map.
    """
    layers = as_layers(layers)
    H, W = input_size
    last = output_shapes(layers, (H, W))[-1]
    if not (0 <= row < last[0] and 0 <= col < last[1]):
        raise StackError(f"The last map is {last[0]}×{last[1]}; neuron ({row}, {col}) is not on it.", "no_neuron",
                         row=row, col=col, h=last[0], w=last[1])
    rf = receptive_field(layers)[-1]
    box = input_box(rf, row, col).clip(H, W)
    if not (box.height and box.width):
        return None
    top, left = box.top // rf.jump[0] * rf.jump[0], box.left // rf.jump[1] * rf.jump[1]
    crop_row, crop_col = row - top // rf.jump[0], col - left // rf.jump[1]
    try:
        shape = output_shapes(layers, (box.bottom - top, box.right - left))[-1]
    except StackError:
        shape = (0, 0)
    if not (0 <= crop_row < shape[0] and 0 <= crop_col < shape[1]):
        return Crop(Box(0, 0, H, W), row, col)
    return Crop(Box(top, left, box.bottom, box.right), crop_row, crop_col)


def receptive_field_latex(layers, axis: int = 1) -> str:
    """The recurrence r_l = r_{l−1} + (k_l − 1)·j_{l−1}, j_l = j_{l−1}·s_l with the stack's numbers, as LaTeX."""
    layers = as_layers(layers)
    lines, size, jump = [], 1, 1
    for number, layer in enumerate(layers, start=1):
        k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
        kernel = rf"{d}\cdot({k}-1)" if d != 1 else rf"({k}-1)"
        new_size, new_jump = size + d * (k - 1) * jump, jump * s
        lines.append(rf"r_{{{number}}} &= {size} + {kernel}\cdot {jump} = {new_size}, &"
                     rf"j_{{{number}}} &= {jump}\cdot {s} = {new_jump}")
        size, jump = new_size, new_jump
    return r"\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}"


@dataclass(frozen=True)
class SameField:
    """VGG's argument with numbers: the stack's convs against one conv with the stack's whole field as kernel."""

    k: int  # the field (width) of the stack = the single layer's kernel
    channels: int  # C in and out of every conv
    stack: int  # parameters of the stack's convs: Σ k_l·k_l·C·C + C
    single: int  # parameters of one k×k conv: k·k·C·C + C

    @property
    def ratio(self) -> float:
        return self.single / self.stack


def same_field_comparison(layers, channels: int) -> SameField | None:
    """Parameters of the stack's convs vs one conv with the same field, every conv C = `channels` in and out.

    Three 3×3 convs with C = 64: 3·(9·64·64 + 64) = 110,784; one 7×7: 49·64·64 + 64 = 200,768. None without convs.
    """
    layers = as_layers(layers)
    convs = [layer for layer in layers if layer.kind == "conv"]
    if not convs:
        return None
    k, C = receptive_field(layers)[-1].size[1], channels
    stack = sum(layer.kernel_size[0] * layer.kernel_size[1] * C * C + C for layer in convs)
    return SameField(k, C, stack, k * k * C * C + C)
