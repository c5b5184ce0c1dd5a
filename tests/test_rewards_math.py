"""math_accuracy_reward: math-verify answers, bounded in time per completion and per call, from any thread."""

import pickle
import threading
import time

import pytest

import rewards.math_rewards
from rewards import MathAccuracyReward, math_accuracy_reward

HOSTILE = r"$\boxed{9^{9^{9^{9}}}}$"  # a power tower: math-verify would compute for minutes
# Slack on top of a call budget: process kills and start-ups on a busy machine, never a second budget.
MARGIN_SECONDS = 5.0

CASES = [
    # (completion, solution, expected)
    (r"So the answer is $\boxed{\frac{1}{2}}$.", "$0.5$", 1.0),  # fraction vs decimal
    (r"$\boxed{72}$", "72", 1.0),  # plain gold
    (r"$\boxed{x^2 + 2x + 1}$", r"$(x+1)^2$", 1.0),  # algebraic equality
    (r"$\boxed{73}$", "72", 0.0),  # wrong
    ("no answer at all", "72", 0.0),  # nothing to read
    (r"$\boxed{72}$", "", 0.0),  # empty gold
]


@pytest.mark.parametrize("completion,solution,expected", CASES)
def test_math_accuracy_table(completion, solution, expected):
    assert math_accuracy_reward([completion], solution=[solution]) == [expected]


def test_huge_power_is_cut_off_and_worker_recovers():
    reward = MathAccuracyReward(timeout_seconds=1.0)
    start = time.perf_counter()
    scores = reward([r"$\boxed{9^{9^{9^{9}}}}$", r"$\boxed{3}$"], solution=["$1$", "$3$"])
    assert scores == [0.0, 1.0]
    assert time.perf_counter() - start < 30  # one timeout plus one worker restart


def test_works_off_the_main_thread():
    results = []
    worker = threading.Thread(target=lambda: results.append(math_accuracy_reward([r"$\boxed{4}$"], solution=["$4$"])))
    worker.start()
    worker.join(timeout=120)
    assert results == [[1.0]]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout_seconds": 0},  # zero
        {"timeout_seconds": -1.0},  # negative
        {"timeout_seconds": float("nan")},  # not a number
        {"timeout_seconds": "2"},  # a string
        {"call_timeout_seconds": 0},  # zero budget
        {"call_timeout_seconds": float("inf")},  # no budget at all
        {"call_timeout_seconds": True},  # a bool
    ],
)
def test_factory_rejects_bad_budgets(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        MathAccuracyReward(**kwargs)


def test_factory_pickles_with_its_budgets():
    reward = pickle.loads(pickle.dumps(MathAccuracyReward(timeout_seconds=3, call_timeout_seconds=7)))
    assert (reward.timeout_seconds, reward.call_timeout_seconds) == (3.0, 7.0)
    assert reward.__name__ == "math_accuracy_reward" and reward.max_score == 1.0


def test_missing_math_verify_is_a_clear_import_error(monkeypatch):
    monkeypatch.setattr(rewards.math_rewards.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install 'math-verify"):
        MathAccuracyReward()([r"$\boxed{4}$"], solution=["$4$"])


def _warm_up():
    """The first start of a worker (importing sympy) is not billed to a call: do it before timing."""
    assert math_accuracy_reward([r"$\boxed{4}$"], solution=["$4$"]) == [1.0]


def test_hostile_batch_returns_within_the_call_budget():
    _warm_up()
    reward = MathAccuracyReward(timeout_seconds=1.0, call_timeout_seconds=4.0)
    start = time.perf_counter()
    scores = reward([HOSTILE] * 64, solution=["$1$"] * 64)
    assert scores == [0.0] * 64
    assert time.perf_counter() - start < 4.0 + MARGIN_SECONDS  # not 64 timeouts


def test_legit_completions_around_a_hostile_one_still_score():
    _warm_up()
    reward = MathAccuracyReward(timeout_seconds=1.0, call_timeout_seconds=20.0)
    completions = [rf"$\boxed{{{i}}}$" for i in range(8)]
    completions[3] = HOSTILE
    scores = reward(completions, solution=[f"${i}$" for i in range(8)])
    assert scores == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def test_two_threads_do_not_wait_for_each_other():
    _warm_up()
    reward = MathAccuracyReward(timeout_seconds=1.0, call_timeout_seconds=3.0)
    elapsed, results = {}, {}

    def call(name):
        start = time.perf_counter()
        results[name] = reward([HOSTILE] * 16 + [r"$\boxed{2}$"], solution=["$1$"] * 16 + ["$2$"])
        elapsed[name] = time.perf_counter() - start

    threads = [threading.Thread(target=call, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(elapsed) == {"a", "b"}
    assert all(seconds < 3.0 + MARGIN_SECONDS for seconds in elapsed.values())  # each within its own budget
    assert all(scores[:16] == [0.0] * 16 for scores in results.values())
    assert math_accuracy_reward([r"$\boxed{5}$"], solution=["$5$"]) == [1.0]  # and the pool still works
