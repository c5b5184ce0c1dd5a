r"""Format-free correctness: was the right answer written anywhere, in any format?

Each reads with a parser's ``lenient`` method (``rewards.parsers``) and judges with its
``is_correct``, so "right" means exactly what the strict reward means; only where the
answer is looked for differs. Meant as logged metrics (weight 0 in a recipe): the gap to
the strict reward is what the format costs.

>>> free_number_reward(["so the total is $1,080.00."], answer=["1080"])
[1.0]
>>> free_countdown_reward(["(6 - 2) * 6 = 24"], target=[24], nums=[[2, 6, 6]])
[1.0]
"""

from __future__ import annotations

from typing import Any

from rewards.parsers import BOXED_EQUATION, EQUATION_IN_ANSWER_TAG, NUMBER_IN_ANSWER_TAG
from rewards.scoring import reward, score_each

# What a right answer earns in any of these metrics.
FREE_SCORE = 1.0


@reward(max_score=FREE_SCORE)
def free_number_reward(completions: list[Any], answer: list[str] | None = None, **kwargs: Any) -> list[float]:
    """1.0 when the last number anywhere in the completion equals the gold ``answer``.

    >>> free_number_reward(["<answer>72</answer>", "It is 72 or 73"], answer=["72", "72"])
    [1.0, 0.0]
    """
    return score_each(completions, _score_number, answer)


@reward(max_score=FREE_SCORE)
def free_countdown_reward(
    completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any
) -> list[float]:
    """1.0 when the last plain equation using exactly ``nums`` (tagged or not) reaches ``target``.

    >>> free_countdown_reward(["First 6 * 6 - 2, no: 6 * (6 - 2).", "6 * 6 - 2"], target=[24, 24], nums=[[2, 6, 6]] * 2)
    [1.0, 0.0]
    """
    return score_each(completions, _score_countdown, target, nums)


@reward(max_score=FREE_SCORE)
def free_boxed_countdown_reward(
    completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any
) -> list[float]:
    r"""1.0 when the last ``\boxed{}`` (or, with no box, the last plain equation) is correct.

    >>> free_boxed_countdown_reward([r"\boxed{24 = (6 - 2) \times 6}", "so (6 - 2) * 6"], target=[24, 24], nums=[[2, 6, 6]] * 2)
    [1.0, 1.0]
    """
    return score_each(completions, _score_boxed, target, nums)


def _score_number(text: str, gold: Any) -> float:
    row = {"answer": gold}
    return FREE_SCORE if NUMBER_IN_ANSWER_TAG.is_correct(NUMBER_IN_ANSWER_TAG.lenient(text, row), row) else 0.0


def _score_countdown(text: str, target: Any, nums: Any) -> float:
    row = {"target": target, "nums": nums}
    return FREE_SCORE if EQUATION_IN_ANSWER_TAG.is_correct(EQUATION_IN_ANSWER_TAG.lenient(text, row), row) else 0.0


def _score_boxed(text: str, target: Any, nums: Any) -> float:
    row = {"target": target, "nums": nums}
    return FREE_SCORE if BOXED_EQUATION.is_correct(BOXED_EQUATION.lenient(text, row), row) else 0.0
