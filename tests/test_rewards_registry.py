"""The reward registry: current names, the old names kept for existing recipes, the names TRL logs."""

import pytest

from rewards import RENAMED, REWARDS, get_reward, number_correctness_reward, think_answer_format_reward

OLD_NAMES = [
    # (old recipe name, the reward it now resolves to)
    ("think_format", think_answer_format_reward),  # TRL's name, for a stricter rule
    ("gsm8k_correctness", number_correctness_reward),  # serves every number-in-<answer> task
]


@pytest.mark.parametrize("old, fn", OLD_NAMES)
def test_old_names_resolve_to_the_renamed_reward(old, fn):
    assert get_reward(old) is fn
    assert get_reward(old + "_reward") is fn  # the old full function name too
    assert get_reward(fn.__name__) is fn


def test_renamed_holds_exactly_the_old_names_and_points_at_current_ones():
    assert dict(RENAMED) == {old: fn.__name__.removesuffix("_reward") for old, fn in OLD_NAMES}
    assert set(RENAMED).isdisjoint(REWARDS)  # old names are not listed as rewards of their own
    assert set(RENAMED.values()) <= set(REWARDS)


def test_trl_logs_the_new_names():
    # TRL names each reward column after the function: rewards/<__name__>/mean
    assert [fn.__name__ for _, fn in OLD_NAMES] == ["think_answer_format_reward", "number_correctness_reward"]


def test_every_name_is_its_function_name_without_the_suffix():
    assert all(name + "_reward" == fn.__name__ for name, fn in REWARDS.items())


def test_unknown_names_are_explained():
    with pytest.raises(KeyError, match="known rewards: answer_digits"):
        get_reward("think")
