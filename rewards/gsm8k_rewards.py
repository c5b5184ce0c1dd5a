"""Rewards for a number in ``<answer>`` tags (GSM8K, arithmetic): is it the gold number?

``number_correctness_reward`` compares numbers, not strings (``NUMBER_IN_ANSWER_TAG`` in
``rewards.parsers``, numbers as ``rewards.numbers`` defines them): ``72``, ``72.0``, ``$72``
and `` 72 `` all match a gold ``72``, ``1,000`` matches ``1000``, while ``4720`` does not
match ``472``. ``int_reward`` pays for an answer that is a bare integer;
``answer_digits_reward`` gives partial credit for the digits of an integer answer that are
right, so a group of wrong answers still tells GRPO which are closer.

>>> number_correctness_reward(["<answer>\\n$1,080.00\\n</answer>"], answer=["1080"])
[2.0]
"""

from __future__ import annotations

from typing import Any

from rewards.numbers import parse_integer, parse_number
from rewards.parsers import NUMBER_IN_ANSWER_TAG
from rewards.scoring import reward, score_each

# What a correct answer earns (the GRPO GSM8K recipe's weighting).
CORRECT_SCORE = 2.0
# What a bare-integer answer earns.
INT_SCORE = 0.5
# What an answer with every digit right earns from answer_digits_reward.
DIGITS_SCORE = 1.0


@reward(max_score=CORRECT_SCORE)
def number_correctness_reward(completions: list[Any], answer: list[str] | None = None, **kwargs: Any) -> list[float]:
    """2.0 when the last ``<answer>`` content equals the gold ``answer`` as a number, else 0.0.

    Thousands commas, a ``$`` sign, trailing zero decimals and surrounding whitespace are
    ignored; any other text in the answer makes it wrong.

    Args:
        completions: strings or conversational message lists.
        answer: the gold final number of each row (as GSM8K's ``####`` line gives it).

    Returns:
        One float per completion.

    >>> number_correctness_reward(["<answer>72.0</answer>", "<answer>4720</answer>", "72"],
    ...                           answer=["72", "472", "72"])
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
    return INT_SCORE if parse_integer(NUMBER_IN_ANSWER_TAG.strict(text)) is not None else 0.0


@reward(max_score=DIGITS_SCORE)
def answer_digits_reward(completions: list[Any], answer: list[str] | None = None, **kwargs: Any) -> list[float]:
    """The share of digit places the last ``<answer>``'s integer gets right, aligned from the units.

    Both numbers are written without sign or leading zeros and right-aligned; every place of
    the longer one counts, so a missing or extra digit is a wrong place (``85`` against ``185``:
    2 of 3). 1.0 exactly when the integers are equal. 0.0 when the answer is not a bare
    integer, when the signs differ, or when the gold answer is not an integer; neither is
    read past the bound of every number (``rewards.numbers.MAX_NUMBER_CHARS``).

    Args:
        completions: strings or conversational message lists.
        answer: the gold final number of each row.

    Returns:
        One float per completion, from 0.0 to 1.0.

    >>> answer_digits_reward(["<answer>85</answer>", "<answer>75</answer>", "<answer>185</answer>",
    ...                       "<answer>-85</answer>", "<answer>eighty</answer>"], answer=["85"] * 5)
    [1.0, 0.5, 0.6666666666666666, 0.0, 0.0]
    """
    return score_each(completions, _digits_score, answer)


def _digits_score(text: str, gold: Any) -> float:
    got, expected = parse_integer(NUMBER_IN_ANSWER_TAG.strict(text)), parse_number(gold)
    if got is None or expected is None or expected != expected.to_integral_value():
        return 0.0
    want = int(expected)
    if (got < 0) != (want < 0):
        return 0.0
    a, b = str(abs(got)), str(abs(want))
    width = max(len(a), len(b))
    same = sum(x == y for x, y in zip(a.rjust(width), b.rjust(width)))
    return DIGITS_SCORE * same / width
