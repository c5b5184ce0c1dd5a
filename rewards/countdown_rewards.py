r"""Countdown rewards: is the answer an equation that reaches the target with all numbers?

Two answer formats, one rule each (``rewards.parsers``): ``countdown_reward`` reads the
last ``<answer>...</answer>`` (Qwen-instruct recipe, ``EQUATION_IN_ANSWER_TAG``),
``boxed_countdown_reward`` reads the last ``\boxed{...}`` written in LaTeX (R1-distill
recipe, ``BOXED_EQUATION``).

>>> countdown_reward(["<think>...</think>\n<answer>(6 - 2) * 6</answer>"], target=[24], nums=[[2, 6, 6]])
[1.0]
>>> boxed_countdown_reward([r"so \boxed{\frac{6}{2} \times 8}"], target=[24], nums=[[2, 6, 8]])
[1.0]
"""

from __future__ import annotations

from typing import Any

from rewards.parsers import BOXED_EQUATION, EQUATION_IN_ANSWER_TAG
from rewards.scoring import reward, score_each

# What a correct equation earns, in either format.
COUNTDOWN_SCORE = 1.0


@reward(max_score=COUNTDOWN_SCORE)
def countdown_reward(
    completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any
) -> list[float]:
    """1.0 when the last ``<answer>`` holds a correct equation, else 0.0.

    Correct: every number of ``nums`` used exactly once as a whole integer literal, only
    binary ``+ - * /`` (or ``× ÷ −``) and parentheses, value equal to ``target`` under exact
    rational arithmetic; a trailing ``= target`` may follow (a leading ``target =`` may not).

    Args:
        completions: strings or conversational message lists.
        target: the target of each row.
        nums: the numbers of each row.

    Returns:
        One float per completion.

    >>> countdown_reward(["<answer>2 * 5 + 4 = 14</answer>", "<answer>2.5 * 4</answer>"],
    ...                  target=[14, 10], nums=[[2, 4, 5], [2, 5, 4]])
    [1.0, 0.0]
    """
    return score_each(completions, _score_tagged, target, nums)


@reward(max_score=COUNTDOWN_SCORE)
def boxed_countdown_reward(
    completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any
) -> list[float]:
    r"""1.0 when the last ``\boxed{...}`` holds a correct equation in LaTeX, else 0.0.

    Same rule as ``countdown_reward``, except that ``target = expression`` is accepted too.
    Understood: ``\frac \dfrac \tfrac \cfrac`` (``\frac84`` reads as LaTeX does), ``\times``,
    ``\div``, ``\cdot``, ``\left \right`` and ``\big``-style sizing, braces and ``[ ]`` as
    grouping, ``\displaystyle``, ``\mathbf``/``\textbf`` around a whole side; powers,
    subscripts and other commands are not (see ``rewards.latex``).

    >>> boxed_countdown_reward([r"\boxed{\left(3 + 5\right) \cdot 2 = 16}", r"\boxed{2^{4}}"],
    ...                        target=[16, 16], nums=[[2, 3, 5], [2, 4]])
    [1.0, 0.0]
    """
    return score_each(completions, _score_boxed, target, nums)


def _score_tagged(text: str, target: Any, nums: Any) -> float:
    row = {"target": target, "nums": nums}
    return COUNTDOWN_SCORE if EQUATION_IN_ANSWER_TAG.is_correct(EQUATION_IN_ANSWER_TAG.strict(text), row) else 0.0


def _score_boxed(text: str, target: Any, nums: Any) -> float:
    row = {"target": target, "nums": nums}
    return COUNTDOWN_SCORE if BOXED_EQUATION.is_correct(BOXED_EQUATION.strict(text), row) else 0.0
