"""Parse a lesson Markdown file (format: lessons/README.md) into steps, "try it" settings and quizzes.

Pure Python, no Streamlit: the tests read every lesson through this parser to check both languages match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


class LessonFormatError(ValueError):
    """A lesson file does not follow lessons/README.md; the message names the file's line."""


@dataclass(frozen=True)
class TryIt:
    label: str
    settings: dict[str, object]  # widget key → value


@dataclass(frozen=True)
class Quiz:
    question: str
    explain: str
    answer: float | None = None  # numeric question with a fixed answer
    tolerance: float = 0.0
    choices: tuple[str, ...] = ()  # multiple choice question
    correct: int | None = None
    live: str | None = None  # numeric question whose answer the page computes: `answer: =name`

    @property
    def placeholders(self) -> set[str]:
        """The {names} in the question and explanation, filled in from the page when the quiz is shown."""
        return set(PLACEHOLDER.findall(self.question + " " + self.explain))


@dataclass
class Step:
    title: str
    parts: list[str | TryIt | Quiz] = field(default_factory=list)  # Markdown text, buttons and quizzes in order


@dataclass
class Lesson:
    title: str
    steps: list[Step]


_FENCE = re.compile(r"^```(\w*)\s*$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")  # {sp_kernel} in a quiz: a page value shown in the text


def parse_value(text: str) -> object:
    """'3' → 3, '0.5' → 0.5, 'true' → True, 'a, b' → ['a', 'b'], anything else stays a word."""
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if "," in text:
        return [parse_value(item) for item in text.split(",") if item.strip()]
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


def _key_values(lines: list[str], first_line: int) -> list[tuple[str, str]]:
    pairs = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise LessonFormatError(f"line {first_line + offset}: expected 'key: value', got '{line.strip()}'")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _try_block(lines: list[str], first_line: int) -> TryIt:
    pairs = _key_values(lines, first_line)
    label = next((v for k, v in pairs if k == "label"), None)
    if not label:
        raise LessonFormatError(f"line {first_line}: a try block needs a 'label:' line")
    return TryIt(label, {k: parse_value(v) for k, v in pairs if k != "label"})


def _quiz_block(lines: list[str], first_line: int) -> Quiz:
    pairs = _key_values(lines, first_line)
    fields = {k: v for k, v in pairs if k not in ("choice", "correct")}
    choices = [v for k, v in pairs if k in ("choice", "correct")]
    correct = [i for i, (k, _) in enumerate((k, v) for k, v in pairs if k in ("choice", "correct")) if k == "correct"]
    unknown = set(fields) - {"question", "answer", "tolerance", "explain"}
    if unknown or "question" not in fields or "explain" not in fields:
        raise LessonFormatError(f"line {first_line}: a quiz needs 'question:' and 'explain:' (unknown keys: {sorted(unknown)})")
    if ("answer" in fields) == bool(choices):
        raise LessonFormatError(f"line {first_line}: a quiz has either 'answer:' or 'choice:'/'correct:' lines")
    if choices and len(correct) != 1:
        raise LessonFormatError(f"line {first_line}: a multiple-choice quiz needs exactly one 'correct:' line")
    live = None
    if fields.get("answer", "").startswith("="):  # answer: =name, computed by the page from the student's image
        live = fields["answer"][1:].strip()
        if not live.isidentifier():
            raise LessonFormatError(f"line {first_line}: 'answer: =name' needs a name made of letters, digits and _")
    try:
        answer = float(fields["answer"]) if "answer" in fields and live is None else None
        tolerance = float(fields.get("tolerance", 0))
    except ValueError as error:
        raise LessonFormatError(f"line {first_line}: answer and tolerance must be numbers (or answer: =name)") from error
    return Quiz(fields["question"], fields["explain"], answer, tolerance, tuple(choices), correct[0] if choices else None,
                live)


# A Chinese character, CJK or full-width punctuation, or a Chinese quotation mark, optionally inside ** / * emphasis.
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef“”"
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])(\**)\n[ \t]*(\**)(?=[{_CJK}])")


def join_cjk_lines(markdown: str) -> str:
    """Join the lines of a wrapped Chinese paragraph: a browser shows a line break between two Chinese characters
    as a space (…图片上。 在侧边栏…), where Chinese text has none. Blank lines, list items and tables stay apart."""
    return _CJK_LINE_BREAK.sub(r"\1\2", markdown)


def parse_lesson(text: str) -> Lesson:
    """Split a lesson into its title and steps; fenced try/quiz blocks become objects, the rest stays Markdown."""
    lines = text.splitlines()
    title, steps, markdown, fence, fence_start = None, [], [], None, 0

    def flush_markdown():
        if steps and "\n".join(markdown).strip():
            steps[-1].parts.append(join_cjk_lines("\n".join(markdown).strip("\n")))
        markdown.clear()

    for number, line in enumerate(lines, start=1):
        if fence is not None:  # inside a try/quiz block
            if line.strip() == "```":
                block = _try_block if fence == "try" else _quiz_block
                steps[-1].parts.append(block(lines[fence_start:number - 1], fence_start + 1))
                fence = None
            continue
        match = _FENCE.match(line.strip())
        if match and match.group(1) in ("try", "quiz"):
            if not steps:
                raise LessonFormatError(f"line {number}: a {match.group(1)} block must be inside a step")
            flush_markdown()
            fence, fence_start = match.group(1), number
        elif line.startswith("# ") and title is None:
            title = line[2:].strip()
        elif line.startswith("## "):
            flush_markdown()
            steps.append(Step(line[3:].strip()))
        elif steps:
            markdown.append(line)
        elif line.strip():
            raise LessonFormatError(f"line {number}: text before the first '## ' step")
    if fence is not None:
        raise LessonFormatError(f"line {fence_start}: the {fence} block is never closed")
    flush_markdown()
    if not title or not steps:
        raise LessonFormatError("a lesson needs a '# ' title and at least one '## ' step")
    return Lesson(title, steps)
