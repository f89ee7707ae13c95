"""The histograms pages draw as plain HTML (ui.show.histogram_html) and their round axis ticks (nice_ticks)."""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ui.show import histogram_html, nice_ticks


def bars_of(markup: str, bins: int) -> np.ndarray:
    """The bar heights (share of the plot's height) read back from the SVG path."""
    heights = np.zeros(bins)
    for left, top in re.findall(r"M(\d+) 1V([0-9.]+)H", markup):
        heights[int(left)] = 1 - float(top)
    return heights


def labels_of(markup: str, axis: str) -> list[str]:
    block = re.search(rf'<div class="cnnlab-hist-{axis}[^"]*">(.*?)</div>', markup).group(1)
    return re.findall(r"<span[^>]*>([^<]*)</span>", block)


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-1e4, 1e4), span=st.floats(1e-4, 1e4), most=st.integers(2, 8))
def test_ticks_are_round_evenly_spaced_and_inside(lo, span, most):
    hi = lo + span
    ticks = nice_ticks(lo, hi, most)
    assert 1 <= len(ticks) <= most
    assert all(lo - 1e-9 * span <= v <= hi + 1e-9 * span for v in ticks)
    if len(ticks) > 1:
        steps = np.diff(ticks)
        np.testing.assert_allclose(steps, steps[0], rtol=1e-6)
        mantissa = steps[0] / 10 ** np.floor(np.log10(steps[0]) + 1e-9)
        assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6


def test_hand_worked_ticks():
    assert nice_ticks(-3, 5) == [-2.0, 0.0, 2.0, 4.0]
    assert nice_ticks(0, 1, 5) == [0.0, 0.5, 1.0]  # a step of 0.2 would make six ticks
    assert nice_ticks(0, 1, 6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0.083, 3) == [0.0, 0.05]


def test_bars_are_the_share_of_values_in_each_bin():
    values = np.random.default_rng(3).normal(0.5, 1.0, 5000)
    markup = histogram_html(values, "#1f77b4", (-3.0, 5.0), bins=40)
    counts, _ = np.histogram(np.clip(values, -3, 5), bins=40, range=(-3, 5))
    share = counts / values.size
    y = labels_of(markup, "y")
    top = float(y[-1].rstrip("%")) / 100  # the axis ends on its last label
    assert top >= share.max() > top / 2
    np.testing.assert_allclose(bars_of(markup, 40), share / top, atol=1e-4)


def test_values_outside_the_domain_pile_into_the_end_bars():
    markup = histogram_html(np.array([-10.0, -10.0, 0.5, 99.0]), "#000", (0.0, 1.0), bins=4)
    heights = bars_of(markup, 4)
    assert heights[1] == 0 and heights[2] > 0  # 0.5 is in the third of four bins
    assert heights[3] > 0 and np.isclose(heights[0], 2 * heights[3], atol=1e-3)  # two values clipped to the left end, one to the right


def test_axis_labels_and_a_constant_input():
    markup = histogram_html(np.full(10, 2.0), "#000")  # no domain, no spread: the range 1.5 … 2.5 around it
    x = [float(v) for v in labels_of(markup, "x")]
    assert x[0] >= 1.5 and x[-1] <= 2.5 and 2.0 in x
    assert bars_of(markup, 48).max() == 1.0 and np.count_nonzero(bars_of(markup, 48)) == 1
    assert labels_of(markup, "y")[0] == "0%"


def test_colour_is_escaped():
    assert '"/><script>' not in histogram_html(np.arange(5.0), '"/><script>')
