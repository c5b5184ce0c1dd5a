"""Rewards by name, for recipes: ``rewards: {countdown: 1.0, think_answer_format: 1.0}``.

Names are the function names without the ``_reward`` suffix; the full function name is
accepted too. Each reward carries the most it pays as ``max_score`` (set where the reward
is defined), so evaluation can tell "fully correct" from partial credit. A reward that was
renamed keeps its old name working through ``RENAMED`` (old name -> new name), the one
place old names live; ``REWARDS`` lists only current names.

>>> get_reward("countdown").__name__, get_reward("xmlcount_reward").__name__
('countdown_reward', 'xmlcount_reward')
>>> get_reward("number_correctness").max_score
2.0
>>> get_reward("think_format") is get_reward("think_answer_format")
True
>>> sorted(REWARDS)[:3]
['answer_digits', 'boxed_countdown', 'countdown']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from rewards.countdown_rewards import boxed_countdown_reward, countdown_reward
from rewards.format_free_rewards import free_boxed_countdown_reward, free_countdown_reward, free_number_reward
from rewards.format_rewards import soft_format_reward, strict_format_reward, think_answer_format_reward, xmlcount_reward
from rewards.gsm8k_rewards import answer_digits_reward, int_reward, number_correctness_reward
from rewards.math_rewards import math_accuracy_reward

RewardFunction = Callable[..., list[float]]

REWARDS: dict[str, RewardFunction] = {
    fn.__name__.removesuffix("_reward"): fn
    for fn in (
        countdown_reward,
        boxed_countdown_reward,
        think_answer_format_reward,
        number_correctness_reward,
        int_reward,
        answer_digits_reward,
        strict_format_reward,
        soft_format_reward,
        xmlcount_reward,
        math_accuracy_reward,
        free_number_reward,
        free_countdown_reward,
        free_boxed_countdown_reward,
    )
}

# Old names recipes may still use -> the reward's current name. TRL logs a reward under its
# function's current ``__name__`` (``rewards/think_answer_format_reward/mean``) either way.
RENAMED: Mapping[str, str] = MappingProxyType(
    {
        "think_format": "think_answer_format",  # TRL's name, for a different rule
        "gsm8k_correctness": "number_correctness",  # serves every number-in-<answer> task
    }
)


def get_reward(name: str) -> RewardFunction:
    """Returns the reward called ``name`` (current or old); KeyError listing the known names otherwise."""
    key = name.removesuffix("_reward") if isinstance(name, str) else name
    key = RENAMED.get(key, key)
    if key not in REWARDS:
        raise KeyError(f"unknown reward {name!r}; known rewards: {', '.join(sorted(REWARDS))}")
    return REWARDS[key]
