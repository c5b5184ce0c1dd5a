"""GSM8K rewards: is the number in the last ``<answer>`` the gold number?

``gsm8k_correctness_reward`` compares numbers, not strings: ``72``, ``72.0``, ``$72`` and
`` 72 `` all match a gold ``72``, ``1,000`` matches ``1000``, while ``4720`` does not match
``472``. ``int_reward`` pays for an answer that is a bare integer.

>>> gsm8k_correctness_reward(["<answer>\\n$1,080.00\\n</answer>"], answer=["1080"])
[2.0]
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rewards.scoring import score_each
from rewards.text import extract_answer

_NUMBER = re.compile(r"(-?)\$?(-?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
# Answers with more digits than this are not grade-school results.
MAX_NUMBER_CHARS = 40


def parse_number(text: Any) -> Decimal | None:
    """Reads a plain number: optional sign, optional ``$``, thousands commas, decimals.

    >>> parse_number(" $1,234.50 "), parse_number("-7"), parse_number("72 dollars")
    (Decimal('1234.50'), Decimal('-7'), None)
    """
    if isinstance(text, (int, Decimal)) and not isinstance(text, bool):
        return Decimal(text)
    if isinstance(text, float) and text == text and abs(text) != float("inf"):
        return Decimal(repr(text))
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    sign_before, sign_after, digits, fraction = match.groups()
    if sign_before and sign_after:
        return None
    try:
        return Decimal(sign_before + sign_after + digits.replace(",", "") + (fraction or ""))
    except InvalidOperation:
        return None


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
    predicted, expected = parse_number(extract_answer(text)), parse_number(gold)
    return 2.0 if predicted is not None and expected is not None and predicted == expected else 0.0


def int_reward(completions: list[Any], **kwargs: Any) -> list[float]:
    """0.5 when the last ``<answer>`` holds a bare integer (digits, optional minus), else 0.0.

    >>> int_reward(["<answer>\\n42\\n</answer>", "<answer>42 apples</answer>", "<answer>4.2</answer>"])
    [0.5, 0.0, 0.0]
    """
    return score_each(completions, _int_score)


def _int_score(text: str) -> float:
    content = extract_answer(text)
    return 0.5 if content is not None and _INTEGER.fullmatch(content.strip()) else 0.0
