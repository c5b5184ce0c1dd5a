"""Rewards by name, for recipes: ``rewards: [countdown, think_format]``.

Names are the function names without the ``_reward`` suffix; the full function name is
accepted too.

>>> get_reward("countdown").__name__, get_reward("xmlcount_reward").__name__
('countdown_reward', 'xmlcount_reward')
>>> sorted(REWARDS)[:3]
['boxed_countdown', 'countdown', 'gsm8k_correctness']
"""

from __future__ import annotations

from typing import Callable

from rewards.countdown_rewards import boxed_countdown_reward, countdown_reward
from rewards.format_rewards import soft_format_reward, strict_format_reward, think_format_reward, xmlcount_reward
from rewards.gsm8k_rewards import gsm8k_correctness_reward, int_reward
from rewards.math_rewards import math_accuracy_reward

RewardFunction = Callable[..., list[float]]

REWARDS: dict[str, RewardFunction] = {
    fn.__name__.removesuffix("_reward"): fn
    for fn in (
        countdown_reward,
        boxed_countdown_reward,
        think_format_reward,
        gsm8k_correctness_reward,
        int_reward,
        strict_format_reward,
        soft_format_reward,
        xmlcount_reward,
        math_accuracy_reward,
    )
}

# The most each reward pays, so evaluation can tell "fully correct" from partial credit.
MAX_SCORES: dict[str, float] = {
    "countdown": 1.0,
    "boxed_countdown": 1.0,
    "think_format": 1.0,
    "gsm8k_correctness": 2.0,
    "int": 0.5,
    "strict_format": 0.5,
    "soft_format": 0.5,
    "xmlcount": 0.5,
    "math_accuracy": 1.0,
}


def get_reward(name: str) -> RewardFunction:
    """Returns the reward called ``name``; KeyError listing the known names otherwise."""
    key = name.removesuffix("_reward") if isinstance(name, str) else name
    if key not in REWARDS:
        raise KeyError(f"unknown reward {name!r}; known rewards: {', '.join(sorted(REWARDS))}")
    return REWARDS[key]
