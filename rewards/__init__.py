"""Reward functions for GRPO, in TRL's convention: ``fn(completions, **columns) -> list[float]``.

Pure Python (no torch, no numpy import; numpy/pandas column values are read as Python
values): rewards never raise on model output and never execute it; bad, huge or hostile
text scores 0.0 in bounded time, from any thread. Parsers (``rewards.parsers``) extract
answers, rewards score them; each reward carries its ``max_score``.

>>> from rewards import countdown_reward
>>> countdown_reward([[{"role": "assistant", "content": "<answer>7 * (3 - 1)</answer>"}]],
...                  target=[14], nums=[[1, 3, 7]])
[1.0]
>>> countdown_reward.max_score
1.0
"""

from rewards.countdown_rewards import boxed_countdown_reward, countdown_reward
from rewards.expressions import check_equation, evaluate_expression, parse_expression
from rewards.format_free_rewards import free_boxed_countdown_reward, free_countdown_reward, free_number_reward
from rewards.format_rewards import soft_format_reward, strict_format_reward, think_answer_format_reward, xmlcount_reward
from rewards.gsm8k_rewards import answer_digits_reward, int_reward, number_correctness_reward
from rewards.latex import latex_to_expression
from rewards.math_rewards import MathAccuracyReward, math_accuracy_reward
from rewards.numbers import MAX_NUMBER_CHARS, last_number, normalize_number, parse_integer, parse_number
from rewards.parsers import (
    BOXED_EQUATION,
    EQUATION_IN_ANSWER_TAG,
    NUMBER_IN_ANSWER_TAG,
    PARSERS,
    BoxedEquation,
    EquationInAnswerTag,
    NumberInAnswerTag,
    Parser,
    last_equation,
    normalize_expression,
)
from rewards.registry import RENAMED, REWARDS, get_reward
from rewards.scoring import plain_value, reward
from rewards.text import MAX_TEXT_CHARS, completion_text, extract_answer, extract_boxed, extract_tag

__all__ = [
    "answer_digits_reward",
    "BOXED_EQUATION",
    "EQUATION_IN_ANSWER_TAG",
    "MAX_NUMBER_CHARS",
    "MAX_TEXT_CHARS",
    "NUMBER_IN_ANSWER_TAG",
    "PARSERS",
    "BoxedEquation",
    "EquationInAnswerTag",
    "MathAccuracyReward",
    "NumberInAnswerTag",
    "Parser",
    "RENAMED",
    "REWARDS",
    "boxed_countdown_reward",
    "check_equation",
    "completion_text",
    "countdown_reward",
    "evaluate_expression",
    "extract_answer",
    "extract_boxed",
    "extract_tag",
    "free_boxed_countdown_reward",
    "free_countdown_reward",
    "free_number_reward",
    "get_reward",
    "int_reward",
    "last_equation",
    "last_number",
    "latex_to_expression",
    "math_accuracy_reward",
    "normalize_expression",
    "normalize_number",
    "number_correctness_reward",
    "parse_expression",
    "parse_integer",
    "parse_number",
    "plain_value",
    "reward",
    "soft_format_reward",
    "strict_format_reward",
    "think_answer_format_reward",
    "xmlcount_reward",
]
