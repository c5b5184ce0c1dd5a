"""math_accuracy_reward: math-verify answers, bounded in time per completion and per call, from any thread."""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings

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
    (r"$\boxed{72}$", 72, 1.0),  # an int gold is its number
    (r"$\boxed{72}$", 73, 0.0),  # ... and still has to match
    (r"$\boxed{\frac{1}{2}}$", 0.5, 1.0),  # a float gold too
    (r"$\boxed{1}$", True, 0.0),  # a bool is not a number
    (r"$\boxed{1}$", 10**50, 0.0),  # nor is an int past every number's bound
    (r"$\boxed{72}$", None, 0.0),  # no gold
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


# --- children that die: replaced, never an exception -------------------------------------------

POOL = rewards.math_rewards._POOL
# Budgets for the fault tests: a replacement child has to start (seconds, on a busy machine), and
# only correctness is checked here, not time.
PATIENT = MathAccuracyReward(timeout_seconds=10.0, call_timeout_seconds=120.0)


def _kill(worker, wait=True):
    os.kill(worker.process.pid, signal.SIGKILL)
    if wait:
        worker.process.wait()


def test_a_spare_that_dies_before_it_is_ready_is_replaced():
    _warm_up()
    POOL.close()  # no idle children: the next one handed out starts a fresh spare
    held = POOL.acquire()
    (spare,) = POOL._idle
    _kill(spare)  # dead long before it could print "ready"
    assert held.wait_ready(120) == "ready"
    POOL.release(held)
    reward = MathAccuracyReward(timeout_seconds=1.0, call_timeout_seconds=120.0)
    # the held child overruns on the first completion; the dead spare must not be what takes over
    assert reward([HOSTILE, r"$\boxed{3}$"], solution=["$1$", "$3$"]) == [0.0, 1.0]


@pytest.mark.parametrize("wait", [True, False], ids=["reaped", "still dying"])
def test_idle_children_killed_between_calls_are_not_handed_out(wait):
    _warm_up()
    assert POOL._idle
    for worker in list(POOL._idle):
        _kill(worker, wait)
    assert PATIENT([r"$\boxed{3}$"], solution=["$3$"]) == [1.0]


def test_a_child_that_dies_while_checking_is_replaced_and_the_completion_retried():
    _warm_up()
    worker = POOL._idle[0]  # the next one handed out
    assert worker.ready
    worker.kill()
    # in its place: a child that answers the ping, then takes the completion and exits without a reply
    script = "import sys; sys.stdin.readline(); print('{\"pong\": true}', flush=True); sys.stdin.readline()"
    worker.process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert PATIENT([r"$\boxed{3}$"], solution=["$3$"]) == [1.0]


@pytest.mark.parametrize(
    "executable",
    [
        "/bin/false",  # every child exits at once
        "/nonexistent/python",  # no child can be started at all
    ],
)
def test_children_that_never_start_warn_and_score_zero(monkeypatch, executable):
    _warm_up()
    POOL.close()
    monkeypatch.setattr(sys, "executable", executable)
    try:
        with pytest.warns(RuntimeWarning, match="did not start"):
            assert MathAccuracyReward()([r"$\boxed{3}$"] * 2, solution=["$3$"] * 2) == [0.0, 0.0]
    finally:
        POOL.close()
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pool that starts again says nothing
        assert PATIENT([r"$\boxed{3}$"], solution=["$3$"]) == [1.0]
