"""Property tests: every reward takes random and hostile text without raising, in linear time.

Time is checked two ways that a busy CI machine does not trip: growth (a text 8x longer may
take at most ~20x longer: linear code takes ~8x, quadratic ~64x; best of a few runs) and a
generous absolute limit that only a hang exceeds.
"""

import concurrent.futures
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import MAX_TEXT_CHARS, REWARDS, get_reward

FAST_REWARDS = [name for name in REWARDS if name != "math_accuracy"]
COLUMNS = {"target": [24], "nums": [[2, 6, 6]], "answer": ["72"], "solution": ["$72$"]}

PIECES = st.sampled_from(
    [
        "<answer>",
        "</answer>",
        "<think>",
        "</think>",
        "<reasoning>",
        "</reasoning>",
        "\\boxed{",
        "{",
        "}",
        "\\frac",
        "\\times",
        "(",
        ")",
        "+",
        "-",
        "*",
        "/",
        "**",
        "=",
        "9" * 50,
        "6",
        "2",
        " ",
        "\n",
        "$",
        ",",
        ".",
        "\\left[",
        "\\right]",
        "\\mathbf{",
        "\\big(",
        "24",
        "[",
        "]",
        "e",  # exponent forms, powers, typographic minus signs: what rewards.numbers reads whole
        "^",
        "²",
        "−",
        "–",
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
    fn = get_reward(name)
    scores = fn([completion], **COLUMNS)
    assert len(scores) == 1 and isinstance(scores[0], float)
    assert 0.0 <= scores[0] <= fn.max_score


@settings(max_examples=15, deadline=None)
@given(completion=COMPLETION)
def test_math_accuracy_never_raises(completion):
    scores = get_reward("math_accuracy")([completion], **COLUMNS)
    assert scores in ([0.0], [1.0])


# Text families, each a function of its length: the shapes that make naive parsers blow up.
FAMILIES = {
    "letters": lambda n: "a" * n,
    "digits": lambda n: "1" * n,
    "opening tags": lambda n: "<answer>" * (n // 8),
    "closing tags": lambda n: "</answer>" * (n // 9),
    "layout pieces": lambda n: "<reasoning>\n" * (n // 24) + "</reasoning>\n<answer>\n" * (n // 44),
    "tag soup": lambda n: "</think><answer>" * (n // 16),
    "nesting": lambda n: "(" * n,
    "unclosed boxes": lambda n: "\\boxed{\\frac{9}{" * (n // 16),
    "closed boxes": lambda n: "\\boxed{6}" * (n // 9),
    "short equations": lambda n: "1+1 a" * (n // 5),
    "equals chain": lambda n: "1=" * (n // 2),
    "numbers in words": lambda n: "x 1,234 -5 " * (n // 11),
    "minus signs": lambda n: "-" * n,
    "typographic minus signs": lambda n: "−–" * (n // 2),
    "dotted digits": lambda n: "1." * (n // 2),
    "exponents": lambda n: "1e1^2" * (n // 5),
    "blank reasoning": lambda n: "<reasoning>\n" + "\n" * n + "</reasoning>\n<answer>\n72\n</answer>x",
}
SMALL = 60_000
GROWTH = 8
# Linear code grows ~8x; below this floor a timing is mostly noise.
MAX_GROWTH, FLOOR_SECONDS = 20.0, 0.002


def _best_time(fn, text, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn([text], **COLUMNS)
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("name", FAST_REWARDS)
def test_time_grows_linearly_with_text_length(name):
    fn = get_reward(name)
    for family, make in FAMILIES.items():
        small, large = _best_time(fn, make(SMALL)), _best_time(fn, make(SMALL * GROWTH))
        assert large < MAX_GROWTH * max(small, FLOOR_SECONDS), f"{name} on {family}: {small:.4f}s -> {large:.4f}s"


BIG = [
    "a" * 2_000_000,  # two megabytes
    "a" * (MAX_TEXT_CHARS - 10) + "<answer>",  # just under the limit
    "<answer>" * 120_000,  # a megabyte of opening tags
    "</answer>" * 110_000,  # a megabyte of closing tags
    "<reasoning>\n" * 40_000 + "</reasoning>\n<answer>\n" * 20_000,  # repeated layout pieces
    "(" * 990_000,  # deep nesting
    "1" * 990_000,  # a 990k-digit number
    "</think><answer>" * 60_000 + "</answer>",  # tag soup
    "1=" * 490_000,  # a run of equals signs
    "\\boxed{\\frac{9}{" * 60_000,  # unclosed boxes
]


@pytest.mark.parametrize("name", FAST_REWARDS)
@pytest.mark.parametrize("text", BIG, ids=range(len(BIG)))
def test_megabyte_hostile_text_scores_zero_in_bounded_time(name, text):
    start = time.perf_counter()
    assert get_reward(name)([text], **COLUMNS) == [0.0]
    assert time.perf_counter() - start < 10.0  # a hang, not a busy machine


def test_rewards_run_concurrently_in_threads():
    texts = ["<answer>(6 - 2) * 6</answer>", "<answer>6 * 6</answer>"] * 50
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda t: get_reward("countdown")([t], **COLUMNS)[0], texts))
    assert results == [1.0, 0.0] * 50


def test_registry_names_resolve_and_unknown_names_are_explained():
    for name in REWARDS:
        fn = get_reward(name)
        assert fn is get_reward(name + "_reward")
        assert isinstance(fn.max_score, float) and fn.max_score > 0
    with pytest.raises(KeyError, match="known rewards"):
        get_reward("accuracy")
