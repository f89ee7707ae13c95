"""The one list of pages, in course order: the navigation, the home page's course map, the tests and the README's
page table all read it. A new topic is one line here (and its page file, lesson and strings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str  # pages/<name>.py, lessons/<lang>/<name>.md, nav.<name> and home.about_<name> in the strings
    icon: str  # a Material icon (headless Chromium has no emoji font)

    @property
    def path(self) -> str:
        return f"pages/{self.name}.py"


HOME = Topic("home", ":material/home:")
TOPICS = (
    Topic("learning", ":material/school:"),
    Topic("convolution", ":material/grid_on:"),
    Topic("learn_kernel", ":material/model_training:"),
    Topic("stride_padding", ":material/open_with:"),
    Topic("channels", ":material/layers:"),
    Topic("pooling", ":material/compress:"),
    Topic("receptive_field", ":material/center_focus_strong:"),
    Topic("activations", ":material/show_chart:"),
    Topic("batch_norm", ":material/equalizer:"),
    Topic("whole_cnn", ":material/hub:"),
    Topic("resnet", ":material/alt_route:"),
    Topic("regularization", ":material/healing:"),
    Topic("transfer", ":material/swap_horiz:"),
    Topic("transposed_conv", ":material/open_in_full:"),
)
GLOSSARY = Topic("glossary", ":material/translate:")  # not a topic: no lesson, no experiment
PAGES = (HOME, *TOPICS, GLOSSARY)
