"""One sentence per error reason, in both languages, with the same numbers; explain() fills them in."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def sentences(lang: str) -> dict[str, str]:
    with (LESSONS / lang / "ui" / "errors.toml").open("rb") as file:
        return tomllib.load(file)


def test_both_languages_have_the_same_reasons_and_placeholders():
    en, zh = sentences("en"), sentences("zh")
    assert set(en) == set(zh), set(en) ^ set(zh)
    for reason in en:
        assert set(re.findall(r"{(\w+)}", en[reason])) == set(re.findall(r"{(\w+)}", zh[reason])), reason


def test_no_limit_is_written_into_a_sentence():
    """Limits come from code as details: a number of three or more digits in a sentence would drift from it."""
    for lang in ("en", "zh"):
        for reason, text in sentences(lang).items():
            assert not re.search(r"\d{3,}", re.sub(r"{\w+}", "", text)), (lang, reason)


def test_explain_fills_in_the_details_and_falls_back_to_the_message():
    from cnn_core.conv import check_fit
    from cnn_core.errors import CnnError
    from cnn_core.image import load_image
    from ui.errors import explain

    try:
        check_fit(5, 7, padding=0)
    except CnnError as error:
        text = explain(error, where="")
        assert "spans 7 pixels" in text and "padded input (5)" in text and "at least 1" in text
    try:
        load_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    except CnnError as error:
        assert explain(error) == sentences("en")[error.reason].format(**error.details)
    assert explain(CnnError("Plain English.", "no_sentence_for_this")) == "Plain English."
    assert explain(CnnError("Plain English.", "no_fit")) == "Plain English."  # details missing: the message
