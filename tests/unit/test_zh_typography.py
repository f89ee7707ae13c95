"""Chinese text uses full-width punctuation beside Chinese characters, as a Chinese textbook does.

Checked: every lessons/zh/*.md (prose, tables, and the student-visible values of ```quiz / ```try blocks) and every
string of lessons/zh/ui/*.toml. Left alone, because ASCII is right there: maths ($…$, $$ blocks), code spans and
code blocks, Markdown link targets, the `key:` of quiz/try lines and the widget settings of try blocks (e.g. `conv_kernels: a,b`).
"""

import re
import tomllib
from pathlib import Path

import pytest

ZH = Path(__file__).resolve().parents[2] / "lessons" / "zh"
PROSE_KEYS = {"label", "question", "choice", "correct", "explain"}  # quiz/try lines a student reads
PROTECTED = re.compile(r"\$[^$]+\$|`[^`]+`|\]\([^)\s]*\)")  # inline maths, code spans, a link's (target)


def is_chinese(char: str) -> bool:
    """A CJK ideograph or a full-width / CJK punctuation mark (the company a half-width mark must not keep)."""
    code = ord(char) if char else 0
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x3000 <= code <= 0x303F
            or 0xFF00 <= code <= 0xFFEF or (bool(char) and char in "“”"))


def neighbour(text: str, index: int, step: int) -> str:
    """The next character in direction `step`, looking through Markdown emphasis (**bold**: is still beside bold)."""
    index += step
    while 0 <= index < len(text) and text[index] == "*":
        index += step
    return text[index] if 0 <= index < len(text) else ""


def is_ideograph(char: str) -> bool:
    return bool(char) and ("\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf")


def half_width_beside_chinese(text: str) -> list[str]:
    """Each offending mark shown in its context, e.g. '…图像,每…'.

    , : ; ? ! " offend when a Chinese character or full-width mark touches them. A pair of ( ) offends when it holds
    Chinese or touches a Chinese character outside; ASCII brackets of maths written in plain text stay right,
    e.g. 值域 (0, 1)。 or 即 (0, 1)；
    """
    masked = PROTECTED.sub(lambda match: "\0" * len(match.group()), text)
    offending = [index for index, char in enumerate(masked) if char in ',:;?!"'
                 and (is_chinese(neighbour(masked, index, -1)) or is_chinese(neighbour(masked, index, 1)))]
    open_brackets = []
    for index, char in enumerate(masked):
        if char == "(":
            open_brackets.append(index)
        elif char == ")":
            start = open_brackets.pop() if open_brackets else None
            inside = masked[start + 1:index] if start is not None else ""
            outside = [neighbour(masked, index, 1)] + ([neighbour(masked, start, -1)] if start is not None else [])
            if any(map(is_ideograph, inside + "".join(outside))):
                offending += [index] + ([start] if start is not None else [])
    offending += [index for index in open_brackets if is_ideograph(neighbour(masked, index, -1))]
    return ["…" + text[max(index - 6, 0):index + 7] + "…" for index in sorted(offending)]


def lesson_prose(text: str):
    """(line number, text a student reads) for every line of a lesson file that is neither maths nor code."""
    fence, display_maths = None, False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if fence is not None:
            if stripped == "```":
                fence = None
            elif fence in ("quiz", "try"):
                key, sep, value = line.partition(":")
                if sep and key.strip() in PROSE_KEYS:
                    yield number, value
            continue
        if stripped.startswith("```"):
            fence = stripped[3:].strip()
        elif stripped == "$$":
            display_maths = not display_maths
        elif not display_maths:
            yield number, line


def toml_strings(table: dict, prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from toml_strings(value, f"{prefix}{key}.")
        elif isinstance(value, str):
            yield prefix + key, value


@pytest.mark.parametrize("path", sorted(ZH.glob("*.md")), ids=lambda path: path.name)
def test_lesson_prose_uses_full_width_punctuation(path):
    problems = [f"line {number}: {spot}" for number, line in lesson_prose(path.read_text(encoding="utf-8"))
                for spot in half_width_beside_chinese(line)]
    assert not problems, f"{path.name}: half-width punctuation beside Chinese:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", sorted((ZH / "ui").glob("*.toml")), ids=lambda path: path.name)
def test_ui_strings_use_full_width_punctuation(path):
    with path.open("rb") as file:
        strings = dict(toml_strings(tomllib.load(file)))
    problems = [f"{key}: {spot}" for key, value in strings.items()
                for spot in half_width_beside_chinese(re.sub(r"\{\w+\}", "X", value))]
    assert not problems, f"{path.name}: half-width punctuation beside Chinese:\n" + "\n".join(problems)


@pytest.mark.parametrize("text, bad", [
    ("卷积核,步幅", True),  # comma between Chinese characters
    ("**局部性**:网络", True),  # colon after bold Chinese
    ("互相关(cross-correlation)", True),  # parenthesis touching Chinese
    ('把"哪个像素"丢掉', True),  # ASCII quotes around Chinese
    ("输出为 $(n - k + 1)$。", False),  # maths keeps ASCII
    ("调用 `F.conv2d(x, w)` 即可", False),  # code keeps ASCII
    ("卷积核，步幅：填充（padding）", False),  # already full-width
    ("都收在[术语表](glossary?lang=zh)里", False),  # a Markdown link's (target) is syntax
    ("(1, 3, 32, 32) → (1, 6, 28, 28)", False),  # a shape, no Chinese beside it
])
def test_the_check_itself(text, bad):
    assert bool(half_width_beside_chinese(text)) == bad
