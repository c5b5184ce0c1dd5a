"""GSM8K rewards: is the number in the last ``<answer>`` the gold number?

``gsm8k_correctness_reward`` compares numbers, not strings (``NUMBER_IN_ANSWER_TAG`` in
``rewards.parsers``): ``72``, ``72.0``, ``$72`` and `` 72 `` all match a gold ``72``,
``1,000`` matches ``1000``, while ``4720`` does not match ``472``. ``int_reward`` pays for
an answer that is a bare integer.

>>> gsm8k_correctness_reward(["<answer>\\n$1,080.00\\n</answer>"], answer=["1080"])
[2.0]
"""

from __future__ import annotations

import re
from typing import Any

from rewards.numbers import MAX_NUMBER_CHARS, parse_number  # noqa: F401  (re-exported: their old home)
from rewards.parsers import NUMBER_IN_ANSWER_TAG
from rewards.scoring import reward, score_each
from rewards.text import extract_answer

_INTEGER = re.compile(r"-?[0-9]+")
# What a correct GSM8K answer earns (the GRPO GSM8K recipe's weighting).
CORRECT_SCORE = 2.0
# What a bare-integer answer earns.
INT_SCORE = 0.5


@reward(max_score=CORRECT_SCORE)
def gsm8k_correctness_reward(completions: list[Any], answer: list[str] | None = None, **kwargs: Any) -> list[float]:
    """2.0 when the last ``<answer>`` content equals the gold ``answer`` as a number, else 0.0.

    Thousands commas, a ``$`` sign, trailing zero decimals and surrounding whitespace are
    ignored; any other text in the answer makes it wrong.

    Args:
        completions: strings or conversational message lists.
        answer: the gold final number of each row (as GSM8K's ``####`` line gives it).

    Returns:
        One float per completion.

    >>> gsm8k_correctness_reward(["<answer>72.0</answer>", "<answer>4720</answer>", "72"],
    ...                          answer=["72", "472", "72"])
    [2.0, 0.0, 0.0]
    """
    return score_each(completions, _correctness_score, answer)


def _correctness_score(text: str, gold: Any) -> float:
    correct = NUMBER_IN_ANSWER_TAG.is_correct(NUMBER_IN_ANSWER_TAG.strict(text), {"answer": gold})
    return CORRECT_SCORE if correct else 0.0


@reward(max_score=INT_SCORE)
def int_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """0.5 when the last ``<answer>`` holds a bare integer (digits, optional minus), else 0.0.

    >>> int_reward(["<answer>\\n42\\n</answer>", "<answer>42 apples</answer>", "<answer>4.2</answer>"])
    [0.5, 0.0, 0.0]
    """
    return score_each(completions, _int_score)


def _int_score(text: str) -> float:
    content = extract_answer(text)
    return INT_SCORE if content is not None and _INTEGER.fullmatch(content.strip()) else 0.0
