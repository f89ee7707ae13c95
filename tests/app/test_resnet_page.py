"""The residual-network page under AppTest: train both networks, the block on the image (identity, projection,
F(x) = 0), the gradients; both languages."""

import pytest
from harness import open_page, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_the_block_and_the_gradients_and_offer_training(lang):
    at = open_page("resnet", lang)
    assert not at.exception and not at.warning and not at.error
    assert at.info  # nothing trained yet at this depth: the page says to press the button
    shown = texts(at)
    assert "**5**" in shown  # receptive field through a stride-1 block
    assert at.success  # the block's PyTorch check
    assert len(at.get("vega_lite_chart")) >= 1  # gradient norms per layer


def test_training_shows_both_losses_and_the_projection_block_its_shapes():
    at = open_page("resnet", "en")
    at.select_slider(key="rn_depth").set_value(8).run()
    next(b for b in at.button if b.label == "Train both").click().run()
    assert not at.exception
    assert len(at.metric) == 2 and all(float(m.value) > 0 for m in at.metric)
    assert "ends at" in texts(at)  # the verdict, whichever way it went
    at.radio(key="rn_shortcut").set_value("projection").run()
    assert not at.exception
    image = at.session_state.image["array"]
    shown = texts(at)
    assert "the shortcut takes **30**" in shown  # 1×1 conv 3 → 6 and its BN: 18 + 12
    assert "**7**" in shown  # receptive field when the first convolution has stride 2
    assert "**6 ×" in shown and image.shape  # channels doubled
    at.radio(key="rn_shortcut").set_value("identity").run()
    at.slider(key="rn_scale").set_value(0.0).run()
    assert any("passes your picture through unchanged" in s.value for s in at.success)
