"""Reading model completions: the one answer-extraction routine of the kit.

Rewards, evaluation and tests all read answers through these functions, so what a reward
scores is exactly what evaluation counts. Every function takes untrusted text and returns
``None`` or ``""`` for anything it cannot read; none of them raises on bad input.

>>> extract_answer("<think>2+2</think> <answer> 4 </answer>")
' 4 '
>>> extract_boxed(r"so \\boxed{\\frac{1}{2}} done")
'\\\\frac{1}{2}'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# Completions longer than this (a megabyte) are treated as hostile and score 0.0. R1-style
# traces of 32k tokens (~150k characters) are normal; every reader here is linear in the text.
MAX_TEXT_CHARS = 1_000_000


def completion_text(completion: Any) -> str:
    """Returns the text of one completion, or "" when it holds no usable text.

    A completion is a string, or TRL's conversational form: a list of messages whose
    ``content`` is a string (or a list of ``{"type": "text", "text": ...}`` parts). The
    assistant messages are joined. Text over ``MAX_TEXT_CHARS`` counts as unusable.

    >>> completion_text([{"role": "assistant", "content": "<answer>3</answer>"}])
    '<answer>3</answer>'
    >>> completion_text(None), completion_text(42)
    ('', '')
    """
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, str):
        text = completion
    elif isinstance(completion, (list, tuple)):
        parts = [
            _message_text(m) for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"
        ]
        text = "".join(parts)
    else:
        return ""
    return text if len(text) <= MAX_TEXT_CHARS else ""


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def extract_tag(text: str, tag: str) -> str | None:
    """Returns the content of the last complete ``<tag>...</tag>`` pair, or None.

    The last closing tag is found first, then the nearest opening tag before it, so an
    unclosed tag after a complete pair does not hide the pair.

    >>> extract_tag("<answer>1</answer> then <answer>2</answer>", "answer")
    '2'
    >>> extract_tag("<answer>1</answer> <answer>2", "answer")
    '1'
    >>> extract_tag("no tags", "answer") is None
    True
    """
    if not isinstance(text, str):
        return None
    close = text.rfind(f"</{tag}>")
    if close < 0:
        return None
    opening = f"<{tag}>"
    start = text.rfind(opening, 0, close)
    if start < 0:
        return None
    return text[start + len(opening) : close]


def extract_answer(text: str) -> str | None:
    """Returns the content of the last ``<answer>...</answer>``, or None.

    >>> extract_answer("<answer>\\n72\\n</answer>")
    '\\n72\\n'
    """
    return extract_tag(text, "answer")


def extract_boxed(text: str) -> str | None:
    r"""Returns the content of the last ``\boxed{...}`` with balanced braces, or None.

    >>> extract_boxed(r"\boxed{1} and \boxed{\frac{6}{2}}")
    '\\frac{6}{2}'
    >>> extract_boxed(r"\boxed{(1 + 2") is None
    True
    """
    if not isinstance(text, str):
        return None
    # Scan each box (last first) only up to the next box that failed to close: a box that is
    # still open there can never close, so the whole search stays linear in the text.
    limit = len(text)
    for box in _boxes_from_the_end(text):
        depth = 0
        for brace in _BRACE.finditer(text, box.end() - 1, limit):
            depth += 1 if brace.group() == "{" else -1
            if depth == 0:
                return text[box.end() : brace.start()]
        limit = box.start()
    return None


def _boxes_from_the_end(text: str) -> Iterator[re.Match]:
    """Each ``\\boxed{`` of ``text``, last first, found without listing them all."""
    end = len(text)
    while (start := text.rfind("\\boxed", 0, end)) >= 0:
        box = _BOXED.match(text, start)
        if box is not None:
            yield box
        end = start


_BOXED = re.compile(r"\\boxed *\{")
_BRACE = re.compile(r"[{}]")
