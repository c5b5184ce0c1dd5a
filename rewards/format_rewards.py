r"""Format rewards: did the completion follow the requested layout?

``think_answer_format_reward`` is Mini-R1's ``<think>...</think>`` then ``<answer>...</answer>``
with nothing after (TRL's ``think_format_reward`` checks only the think block, any text after).
The GSM8K recipe's layout is ``<reasoning>...</reasoning>`` then ``<answer>...</answer>``,
checked strictly (exact newlines), softly (any whitespace), and tag by tag
(``xmlcount_reward``, partial credit that gives a small model a gradient to climb).

>>> think_answer_format_reward(["<think>6 * 4</think>\n<answer>6 * 4</answer>"])
[1.0]
>>> strict_format_reward(["<reasoning>\nstep 1\nstep 2\n</reasoning>\n<answer>\n72\n</answer>\n"])
[0.5]
"""

from __future__ import annotations

import re
from typing import Any

from rewards.scoring import reward, score_each

# Every check below is a bounded number of tag searches and slices: linear in the text.
_THINK_TAGS = re.compile(r"</?(?:think|answer)>")
_REASONING_TAGS = re.compile(r"</?(?:reasoning|answer)>")
_STRICT_TAGS = ["<reasoning>", "</reasoning>", "<answer>", "</answer>"]
_SOFT_START = re.compile(r"\s*<reasoning>")
_SOFT_MIDDLE = re.compile(r"</reasoning>\s*<answer>")
# What each layout earns when followed.
THINK_ANSWER_FORMAT_SCORE = 1.0
STRICT_FORMAT_SCORE = 0.5
SOFT_FORMAT_SCORE = 0.5


@reward(max_score=THINK_ANSWER_FORMAT_SCORE)
def think_answer_format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """1.0 for ``<think>...</think>`` then ``<answer>...</answer>`` and nothing after, else 0.0.

    The opening ``<think>`` may be missing (the prompt prefilled it) and may follow a short
    preamble (TRL puts a prefilled assistant text such as
    ``"Let me solve this step by step.\\n<think>"`` in front of the completion). Each tag
    appears once; only whitespace may stand between ``</think>`` and ``<answer>`` and after
    ``</answer>``.

    Args:
        completions: strings or conversational message lists.

    Returns:
        One float per completion.

    >>> think_answer_format_reward(["I add them.</think>\\n<answer>3 + 4</answer>",
    ...                             "<answer>7</answer>", "<think>a</think><answer>1</answer> extra"])
    [1.0, 0.0, 0.0]
    """
    return score_each(completions, _think_answer_format_score)


def _think_answer_format_score(text: str) -> float:
    tags = _first_tags(_THINK_TAGS, text, 5)
    names = [m.group(0) for m in tags]
    if names[:1] == ["<think>"]:
        names, tags = names[1:], tags[1:]
    if names != ["</think>", "<answer>", "</answer>"]:
        return 0.0
    between = text[tags[0].end() : tags[1].start()]
    after = text[tags[2].end() :]
    return THINK_ANSWER_FORMAT_SCORE if not between.strip() and not after.strip() else 0.0


def _first_tags(pattern: re.Pattern, text: str, limit: int) -> list[re.Match]:
    """Up to ``limit`` tag matches: enough to reject a text with too many tags, in bounded time."""
    tags = []
    for match in pattern.finditer(text):
        tags.append(match)
        if len(tags) == limit:
            break
    return tags


@reward(max_score=STRICT_FORMAT_SCORE)
def strict_format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """0.5 for exactly ``<reasoning>\\n...\\n</reasoning>\\n<answer>\\n...\\n</answer>``, else 0.0.

    The reasoning may span many lines; a single final newline is allowed; each tag appears once.

    >>> strict_format_reward(["<reasoning>\\na\\n</reasoning>\\n<answer>\\n1\\n</answer>",
    ...                       "<reasoning>a</reasoning><answer>1</answer>"])
    [0.5, 0.0]
    """
    return score_each(completions, _strict_format_score)


def _strict_format_score(text: str) -> float:
    """``<reasoning>\\n.*\\n</reasoning>\\n<answer>\\n.*\\n</answer>\\n?``, each tag once, checked by position."""
    tags = _first_tags(_REASONING_TAGS, text, 5)
    if [m.group(0) for m in tags] != _STRICT_TAGS:
        return 0.0
    open_reasoning, close_reasoning, open_answer, close_answer = tags
    layout = (
        open_reasoning.start() == 0
        and _newline_wrapped(text, open_reasoning.end(), close_reasoning.start())
        and text[close_reasoning.end() : open_answer.start()] == "\n"
        and _newline_wrapped(text, open_answer.end(), close_answer.start())
        and text[close_answer.end() :] in ("", "\n")
    )
    return STRICT_FORMAT_SCORE if layout else 0.0


def _newline_wrapped(text: str, start: int, end: int) -> bool:
    """The span starts and ends with its own newline (two distinct ones: "\\n\\n" at least)."""
    return end - start >= 2 and text[start] == "\n" and text[end - 1] == "\n"


@reward(max_score=SOFT_FORMAT_SCORE)
def soft_format_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """0.5 when the text opens with ``<reasoning>...</reasoning>`` then ``<answer>...</answer>``.

    Any whitespace (or none) around the tags; the reasoning may span many lines.

    >>> soft_format_reward(["<reasoning>a\\nb</reasoning> <answer>1</answer>", "<answer>1</answer>"])
    [0.5, 0.0]
    """
    return score_each(completions, _soft_format_score)


def _soft_format_score(text: str) -> float:
    start = _SOFT_START.match(text)
    if start is None:
        return 0.0
    middle = _SOFT_MIDDLE.search(text, start.end())
    if middle is None:
        return 0.0
    return SOFT_FORMAT_SCORE if text.find("</answer>", middle.end()) >= 0 else 0.0


_XML_PARTS = ("<reasoning>\n", "\n</reasoning>\n", "\n<answer>\n", "\n</answer>")
XML_TAG_CREDIT = 0.125
TRAILING_CHAR_PENALTY = 0.001


@reward(max_score=XML_TAG_CREDIT * len(_XML_PARTS))
def xmlcount_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """Up to 0.5: 0.125 for each layout tag that appears exactly once, on its own line.

    The tags counted are ``<reasoning>``, ``</reasoning>``, ``<answer>``, ``</answer>``.
    Each non-whitespace character after the last ``</answer>`` costs 0.001; the score
    never drops below 0.0.

    >>> xmlcount_reward(["<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>",
    ...                  "<reasoning>\\nx\\n</reasoning>\\n<answer>\\n1\\n</answer>\\nbye"])
    [0.5, 0.497]
    """
    return score_each(completions, _xmlcount_score)


def _xmlcount_score(text: str) -> float:
    score = sum(XML_TAG_CREDIT for part in _XML_PARTS if text.count(part) == 1)
    close = text.rfind("</answer>")
    if close >= 0:
        score -= TRAILING_CHAR_PENALTY * len("".join(text[close + len("</answer>") :].split()))
    return round(max(score, 0.0), 6)
