"""Reward functions for GRPO, in TRL's convention: ``fn(completions, **columns) -> list[float]``.

Pure Python (no torch): rewards never raise on model output and never execute it; bad,
huge or hostile text scores 0.0 in bounded time, from any thread.

>>> from rewards import countdown_reward
>>> countdown_reward([[{"role": "assistant", "content": "<answer>7 * (3 - 1)</answer>"}]],
...                  target=[14], nums=[[1, 3, 7]])
[1.0]
"""

from rewards.arithmetic import check_equation, evaluate_expression, latex_to_expression, parse_expression
from rewards.countdown_rewards import boxed_countdown_reward, countdown_reward
from rewards.format_rewards import soft_format_reward, strict_format_reward, think_format_reward, xmlcount_reward
from rewards.gsm8k_rewards import gsm8k_correctness_reward, int_reward, parse_number
from rewards.math_rewards import MathAccuracyReward, math_accuracy_reward
from rewards.registry import MAX_SCORES, REWARDS, get_reward
from rewards.text import MAX_TEXT_CHARS, completion_text, extract_answer, extract_boxed, extract_tag

__all__ = [
    "MAX_SCORES",
    "MAX_TEXT_CHARS",
    "MathAccuracyReward",
    "REWARDS",
    "boxed_countdown_reward",
    "check_equation",
    "completion_text",
    "countdown_reward",
    "evaluate_expression",
    "extract_answer",
    "extract_boxed",
    "extract_tag",
    "get_reward",
    "gsm8k_correctness_reward",
    "int_reward",
    "latex_to_expression",
    "math_accuracy_reward",
    "parse_expression",
    "parse_number",
    "soft_format_reward",
    "strict_format_reward",
    "think_format_reward",
    "xmlcount_reward",
]
