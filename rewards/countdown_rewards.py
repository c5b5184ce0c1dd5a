r"""Countdown rewards: is the answer an equation that reaches the target with all numbers?

Two answer formats, one rule (see ``rewards.arithmetic.check_equation``):
``countdown_reward`` reads the last ``<answer>...</answer>`` (Qwen-instruct recipe),
``boxed_countdown_reward`` reads the last ``\boxed{...}`` written in LaTeX (R1-distill recipe).

>>> countdown_reward(["<think>...</think>\n<answer>(6 - 2) * 6</answer>"], target=[24], nums=[[2, 6, 6]])
[1.0]
>>> boxed_countdown_reward([r"so \boxed{\frac{6}{2} \times 8}"], target=[24], nums=[[2, 6, 8]])
[1.0]
"""

from __future__ import annotations

from typing import Any

from rewards.arithmetic import check_equation, latex_to_expression
from rewards.scoring import as_int, as_int_list, score_each
from rewards.text import extract_answer, extract_boxed


def countdown_reward(completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any) -> list[float]:
    """1.0 when the last ``<answer>`` holds a correct equation, else 0.0.

    Correct: every number of ``nums`` used exactly once as a whole integer literal, only
    binary ``+ - * /`` (or ``× ÷ −``) and parentheses, value equal to ``target`` under exact
    rational arithmetic; a trailing ``= target`` may follow.

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


def boxed_countdown_reward(completions: list[Any], target: list[int] | None = None, nums: list[list[int]] | None = None, **kwargs: Any) -> list[float]:
    r"""1.0 when the last ``\boxed{...}`` holds a correct equation in LaTeX, else 0.0.

    Same rule as ``countdown_reward``; ``\frac``/``\dfrac``/``\tfrac``, ``\times``,
    ``\div``, ``\cdot``, ``\left( \right)`` and braces as grouping are understood; powers
    and other commands are not.

    >>> boxed_countdown_reward([r"\boxed{\left(3 + 5\right) \cdot 2 = 16}", r"\boxed{2^{4}}"],
    ...                        target=[16, 16], nums=[[2, 3, 5], [2, 4]])
    [1.0, 0.0]
    """
    return score_each(completions, _score_boxed, target, nums)


def _score_tagged(text: str, target: Any, nums: Any) -> float:
    return _score_equation(extract_answer(text), target, nums)


def _score_boxed(text: str, target: Any, nums: Any) -> float:
    boxed = extract_boxed(text)
    return _score_equation(None if boxed is None else latex_to_expression(boxed), target, nums)


def _score_equation(answer: str | None, target: Any, nums: Any) -> float:
    target_int, num_list = as_int(target), as_int_list(nums)
    if answer is None or target_int is None or not num_list:
        return 0.0
    return 1.0 if check_equation(answer, target_int, num_list) else 0.0
