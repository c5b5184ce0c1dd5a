"""math_accuracy_reward: math-verify answers, bounded in time, from any thread."""

import pickle
import threading
import time

import pytest

from rewards import MathAccuracyReward, math_accuracy_reward

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


def test_factory_checks_arguments_and_pickles():
    with pytest.raises(ValueError, match="timeout_seconds"):
        MathAccuracyReward(timeout_seconds=0)
    reward = pickle.loads(pickle.dumps(MathAccuracyReward(timeout_seconds=3)))
    assert reward.timeout_seconds == 3.0 and reward.__name__ == "math_accuracy_reward"
