"""Each reward's max_score is what it pays for a correct, well-formed completion, and no more."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import REWARDS, MathAccuracyReward, get_reward, reward

COLUMNS = {"target": [24], "nums": [[2, 6, 6]], "answer": ["72"], "solution": ["$72$"]}
GSM8K_GOOD = "<reasoning>\n60 / 5 = 12, 12 * 6 = 72\n</reasoning>\n<answer>\n72\n</answer>\n"
BEST = {
    # reward name: a correct, well-formed completion for COLUMNS
    "countdown": "<think>6 - 2 = 4</think>\n<answer>(6 - 2) * 6</answer>",
    "boxed_countdown": r"so $\boxed{(6 - 2) \times 6}$",
    "think_answer_format": "<think>6 - 2 = 4</think>\n<answer>(6 - 2) * 6</answer>",
    "number_correctness": GSM8K_GOOD,
    "int": GSM8K_GOOD,
    "answer_digits": GSM8K_GOOD,
    "strict_format": GSM8K_GOOD,
    "soft_format": GSM8K_GOOD,
    "xmlcount": GSM8K_GOOD,
    "math_accuracy": r"So the answer is $\boxed{72}$.",
    "free_number": "so it is 72.",
    "free_countdown": "(6 - 2) * 6 = 24",
    "free_boxed_countdown": r"\boxed{24 = (6 - 2) \times 6}",
}
EXPECTED_MAX = {
    # the numbers the recipes were tuned with
    "countdown": 1.0,
    "boxed_countdown": 1.0,
    "think_answer_format": 1.0,
    "number_correctness": 2.0,
    "int": 0.5,
    "answer_digits": 1.0,
    "strict_format": 0.5,
    "soft_format": 0.5,
    "xmlcount": 0.5,
    "math_accuracy": 1.0,
    "free_number": 1.0,
    "free_countdown": 1.0,
    "free_boxed_countdown": 1.0,
}


def test_every_reward_has_a_best_completion():
    assert set(BEST) == set(REWARDS) == set(EXPECTED_MAX)


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_max_score_is_what_a_correct_completion_earns(name):
    fn = get_reward(name)
    if name == "math_accuracy":
        pytest.importorskip("math_verify")
    assert fn.max_score == EXPECTED_MAX[name]
    assert fn([BEST[name]], **COLUMNS) == [fn.max_score]


def test_math_accuracy_instances_carry_max_score():
    assert MathAccuracyReward(timeout_seconds=1.0).max_score == 1.0


@pytest.mark.parametrize("bad", [0, -1.0, True, "1", None])
def test_reward_decorator_checks_max_score(bad):
    with pytest.raises(ValueError, match="max_score"):
        reward(max_score=bad)


FAST = [name for name in sorted(REWARDS) if name != "math_accuracy"]
# Good completions cut and spliced together: the likeliest way to find a double payment.
SPLICED = st.lists(
    st.sampled_from(list(BEST.values()) + ["\n", " ", "</answer>", "<answer>", "72", "}"]), max_size=6
).map("".join)


@pytest.mark.parametrize("name", FAST)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SPLICED)
def test_no_reward_pays_more_than_its_max_score(name, text):
    fn = get_reward(name)
    (score,) = fn([text], **COLUMNS)
    assert 0.0 <= score <= fn.max_score
