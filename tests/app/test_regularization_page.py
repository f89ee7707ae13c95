"""The overfitting page under AppTest: defaults in both languages, the four training runs, dropout's two modes on
the feature map, the extreme probabilities."""

import re

import pytest
from harness import open_page, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_offer_training_and_show_dropout_on_the_image(lang):
    at = open_page("regularization", lang)
    assert not at.exception and not at.warning and not at.error
    assert at.info  # nothing trained yet with these settings: the page says to press the button
    assert len(at.metric) == 4  # mean before, mean after, share zeroed, scale
    assert at.success  # the survivors × (1 − p) = input rule, measured on the map
    scale = next(m for m in at.metric if "1/(1 − p)" in m.label)
    assert scale.value == "2"


def test_training_shows_four_curves_a_table_and_the_verdict():
    at = open_page("regularization", "en")
    next(b for b in at.button if b.label == "Train the four runs").click().run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 4
    shown = texts(at)
    assert "| No cure | 100.0% |" in shown  # the baseline learns its 100 digits by heart
    gap = float(re.search(r"a gap of \*\*([\d.]+)\*\* points", shown).group(1))
    assert gap > 3  # and stays well below on the held-out digits
    assert "The loss gap shrinks with: **Dropout, Weight decay" in shown


def test_evaluation_mode_is_the_identity_checked_against_torch():
    at = open_page("regularization", "en")
    at.radio(key="rg_mode").set_value("evaluation").run()
    assert not at.exception
    assert any("F.dropout(x, p, training=False)" in s.value and "0.0e+00" in s.value for s in at.success)
    before = next(m for m in at.metric if m.label == "mean before").value
    after = next(m for m in at.metric if m.label == "mean after").value
    assert before == after


@pytest.mark.parametrize("p", [0.0, 0.9])
def test_extreme_probabilities(p):
    at = open_page("regularization", "zh")
    at.slider(key="rg_map_p").set_value(p).run()
    assert not at.exception and "Traceback" not in texts(at)
    zeroed = next(m for m in at.metric if m.label == "被置零的非零值").value
    assert (zeroed == "0.0%") == (p == 0.0)
    if p == 0.9:
        assert 85.0 < float(zeroed.rstrip("%")) < 95.0
