"""Property tests: every reward takes random and hostile text without raising, in bounded time."""

import concurrent.futures
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import MAX_SCORES, REWARDS, get_reward

FAST_REWARDS = [name for name in REWARDS if name != "math_accuracy"]
COLUMNS = {"target": [24], "nums": [[2, 6, 6]], "answer": ["72"], "solution": ["$72$"]}

PIECES = st.sampled_from(
    [
        "<answer>", "</answer>", "<think>", "</think>", "<reasoning>", "</reasoning>", "\\boxed{", "{", "}",
        "\\frac", "\\times", "(", ")", "+", "-", "*", "/", "**", "=", "9" * 50, "6", "2", " ", "\n", "$", ",", ".",
    ]
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(PIECES, max_size=200).map("".join),
)
COMPLETION = st.one_of(
    HOSTILE_TEXT,
    HOSTILE_TEXT.map(lambda t: [{"role": "assistant", "content": t}]),
    st.none(),
    st.integers(),
    st.just([]),
    st.just([{"role": "assistant", "content": None}]),
)


@pytest.mark.parametrize("name", FAST_REWARDS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completion=COMPLETION)
def test_fast_rewards_never_raise_and_stay_in_range(name, completion):
    start = time.perf_counter()
    scores = get_reward(name)([completion], **COLUMNS)
    assert time.perf_counter() - start < 0.5
    assert len(scores) == 1 and isinstance(scores[0], float)
    assert 0.0 <= scores[0] <= MAX_SCORES[name]


@settings(max_examples=15, deadline=None)
@given(completion=COMPLETION)
def test_math_accuracy_never_raises(completion):
    scores = get_reward("math_accuracy")([completion], **COLUMNS)
    assert scores in ([0.0], [1.0])


BIG = [
    "a" * 2_000_000,  # two megabytes
    "<answer>" * 50_000,  # thousands of opening tags
    "</answer>" * 50_000,  # thousands of closing tags
    "<reasoning>\n" * 10_000 + "</reasoning>\n<answer>\n" * 5_000,  # repeated layout pieces
    "(" * 90_000,  # deep nesting
    "1" * 99_000,  # a 99k-digit number
    "</think><answer>" * 6_000 + "</answer>",  # tag soup
]


@pytest.mark.parametrize("name", FAST_REWARDS)
@pytest.mark.parametrize("text", BIG, ids=range(len(BIG)))
def test_large_hostile_text_scores_zero_quickly(name, text):
    start = time.perf_counter()
    assert get_reward(name)([text], **COLUMNS) == [0.0]
    assert time.perf_counter() - start < 1.0


def test_rewards_run_concurrently_in_threads():
    texts = ["<answer>(6 - 2) * 6</answer>", "<answer>6 * 6</answer>"] * 50
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: get_reward("countdown")([t], **COLUMNS)[0], texts))
    assert results == [1.0, 0.0] * 50


def test_registry_names_resolve_and_unknown_names_are_explained():
    for name in REWARDS:
        assert get_reward(name) is get_reward(name + "_reward")
        assert name in MAX_SCORES
    with pytest.raises(KeyError, match="known rewards"):
        get_reward("accuracy")
