r"""General math answers checked with math-verify, with time bounds that really hold.

math-verify's own timeout relies on SIGALRM: off the main thread (where newer TRL runs
rewards) it fails, and it cannot interrupt a huge power like ``2^{10^{10}}``. Here checks
run in child processes (``rewards.math_worker``) and two clocks apply: each completion
gets ``timeout_seconds`` and a whole call gets ``call_timeout_seconds``. A child that
overruns is killed and its completion scores 0.0; once the call's budget is spent the
remaining completions score 0.0 and the call returns. Each call borrows its own child from
a small pool, which keeps one spare child starting in the background, so a killed child
is replaced at once and calls from several threads run side by side. A child is checked
before it is handed out (it must answer a ping); one that dies (before it is ready, while
idle, or while checking) is replaced, and a completion whose child died is tried once
more. A call never raises on its inputs or its children; only a missing math-verify is an
ImportError. Gold answers are text (LaTeX or plain) or numbers (an int is its number).

>>> math_accuracy_reward([r"The answer is $\boxed{\frac{1}{2}}$", r"$\boxed{3}$"],
...                      solution=["$0.5$", "$4$"])
[1.0, 0.0]
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

from rewards.numbers import parse_number
from rewards.scoring import as_list, plain_value, reward
from rewards.text import completion_text

# Seconds one completion may take inside math-verify before it scores 0.0.
DEFAULT_TIMEOUT_SECONDS = 2.0
# Seconds one whole call may take; completions left when it is spent score 0.0. A legit check
# takes ~5-50 ms, so 10 s covers a few hundred completions; raise it for larger batches.
DEFAULT_CALL_TIMEOUT_SECONDS = 10.0
# Seconds the first child may take to start (importing sympy is slow on a cold disk); this
# one-off wait is not billed to the call's budget, every later start is.
STARTUP_TIMEOUT_SECONDS = 120.0
# Idle children kept for later calls (one of them is the spare).
MAX_IDLE_WORKERS = 3
# Children that may die before they are ready, in a row, before a call gives up on them.
MAX_FAILED_STARTS = 3
# Times a completion is tried again on a fresh child when its child dies while checking it.
RETRIES_AFTER_CRASH = 1
# What a child's check or start can end in besides a score.
TIMEOUT, CRASHED = "timeout", "crashed"
# What a correct answer earns.
MATH_ACCURACY_SCORE = 1.0


class _Worker:
    """One child process; ``check`` returns the score, ``TIMEOUT`` or ``CRASHED``."""

    def __init__(self) -> None:
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rewards.math_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.ready = False

    def wait_ready(self, timeout: float) -> str:
        """``"ready"`` once the child has started and answers a ping now; else ``TIMEOUT``
        (still starting, or no answer in time) or ``CRASHED`` (it exited)."""
        deadline = time.monotonic() + timeout
        if not self.ready:
            state = self._reply_state(self._read_line(timeout))  # its start-up line
            if state != "ready":
                return state
            self.ready = True
        if not self._send({"ping": True}):  # a child that died while idle fails here, not on a completion
            return CRASHED
        return self._reply_state(self._read_line(deadline - time.monotonic()))

    def check(self, gold: str, answer: str, timeout: float) -> float | str:
        """The score; ``TIMEOUT`` when the child overran, ``CRASHED`` when it died or replied garbage."""
        if not self._send({"gold": gold, "answer": answer}):
            return CRASHED
        reply = self._read_line(timeout)
        if reply is None:
            return TIMEOUT
        try:
            return float(json.loads(reply)["score"])
        except (ValueError, KeyError, TypeError):  # "" (the child exited) or not our protocol
            return CRASHED

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def _send(self, request: dict) -> bool:
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return True
        except (OSError, ValueError):  # a broken or closed pipe: the child is gone
            return False

    def _reply_state(self, line: str | None) -> str:
        if line is None:
            return CRASHED if self.process.poll() is not None else TIMEOUT
        return "ready" if line else CRASHED

    def _read_line(self, timeout: float) -> str | None:
        """The next line ("" at end of output), or None when none came within ``timeout``."""
        try:
            ready, _, _ = select.select([self.process.stdout], [], [], max(timeout, 0.0))
            return self.process.stdout.readline() if ready else None
        except (OSError, ValueError):  # the pipe is closed
            return ""


class _WorkerPool:
    """Lends each call a live child of its own; keeps one spare starting so a kill costs no start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._pid = os.getpid()
        self.warmed = False  # some child has started in this process: later starts are billed

    def acquire(self) -> _Worker:
        """A child that was alive when handed out (idle ones that died are dropped); OSError
        when none could be started."""
        with self._lock:
            self._forget_after_fork()
            dead = [worker for worker in self._idle if not worker.alive()]
            self._idle = [worker for worker in self._idle if worker not in dead]
            worker = self._idle.pop(0) if self._idle else self._start()
            if not self._idle:
                with contextlib.suppress(OSError):  # no process to spare now: the next call tries again
                    self._idle.append(self._start())  # the spare: starts while this one works
        for corpse in dead:
            self.discard(corpse)
        return worker

    def release(self, worker: _Worker) -> None:
        with self._lock:
            if worker.ready and worker.alive() and len(self._idle) < MAX_IDLE_WORKERS and os.getpid() == self._pid:
                self._idle.insert(0, worker)
                return
        self.discard(worker)

    def discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        with self._lock:
            workers, self._idle, self._all = list(self._all), [], set()
        for worker in workers:
            worker.kill()

    def _start(self) -> _Worker:
        worker = _Worker()
        self._all.add(worker)
        return worker

    def _forget_after_fork(self) -> None:
        if os.getpid() != self._pid:  # a forked copy: those children belong to the parent
            self._idle, self._all, self._pid, self.warmed = [], set(), os.getpid(), False


_POOL = _WorkerPool()
atexit.register(_POOL.close)


def _positive_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class MathAccuracyReward:
    """A picklable math-verify reward with a per-completion and a whole-call time budget.

    Args:
        timeout_seconds: the most one completion may take; it scores 0.0 when it overruns.
        call_timeout_seconds: the most one call may take; what is left then scores 0.0.

    >>> fn = MathAccuracyReward(timeout_seconds=1.0, call_timeout_seconds=5.0)
    >>> fn.__name__, fn.max_score
    ('math_accuracy_reward', 1.0)
    """

    __name__ = "math_accuracy_reward"
    max_score = MATH_ACCURACY_SCORE

    def __init__(
        self,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS,
    ) -> None:
        self.timeout_seconds = _positive_seconds("timeout_seconds", timeout_seconds)
        self.call_timeout_seconds = _positive_seconds("call_timeout_seconds", call_timeout_seconds)

    def __repr__(self) -> str:
        return f"MathAccuracyReward(timeout_seconds={self.timeout_seconds}, call_timeout_seconds={self.call_timeout_seconds})"

    def __call__(self, completions: list[Any], solution: list[str] | None = None, **kwargs: Any) -> list[float]:
        if importlib.util.find_spec("math_verify") is None:
            raise ImportError("math_accuracy_reward needs math-verify: pip install 'math-verify==0.8.0'")
        completions = as_list(completions)
        if completions is None:
            return []
        golds = as_list(solution) or []
        jobs = []
        for index, completion in enumerate(completions):
            gold = _gold_text(golds[index]) if index < len(golds) else None
            text = completion_text(completion)
            jobs.append((gold, text) if gold and text else None)
        return self._score_all(jobs)

    def _score_all(self, jobs: list[tuple[str, str] | None]) -> list[float]:
        scores = [0.0] * len(jobs)
        deadline = time.monotonic() + self.call_timeout_seconds
        worker = None
        try:
            for index, job in enumerate(jobs):
                if job is None:
                    continue
                for _ in range(1 + RETRIES_AFTER_CRASH):
                    if worker is None:
                        worker, deadline = _ready_worker(deadline)
                        if worker is None:
                            return scores  # the budget went on starting a child, or none would start
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return scores
                    result = worker.check(*job, min(self.timeout_seconds, remaining))
                    if isinstance(result, float):
                        scores[index] = result
                        break
                    _POOL.discard(worker)  # overran (killed) or died: the spare takes over
                    worker = None
                    if result == TIMEOUT:
                        break  # an overrun scores 0.0; a crash is tried once more on a fresh child
        finally:
            if worker is not None:
                _POOL.release(worker)
        return scores


def _gold_text(gold: Any) -> str | None:
    """The gold answer for math-verify: text as it is, a number (int, float, numpy) written out."""
    gold = plain_value(gold)
    if isinstance(gold, str):
        return gold if gold.strip() else None
    number = parse_number(gold)  # bounded like every number the rewards read
    return None if number is None else format(number, "f")


def _ready_worker(deadline: float) -> tuple[_Worker | None, float]:
    """A child that answers now, and the deadline (moved by the first, unbilled start of the process).

    Idle children that died are dropped; a fresh one that dies before it is ready is
    replaced, up to ``MAX_FAILED_STARTS`` in a row. After that, or when the first start
    overruns ``STARTUP_TIMEOUT_SECONDS``, a warning says so and the call's completions
    score 0.0. A later start that overruns the call's budget just ends the call.
    """
    failed_starts = 0
    while failed_starts < MAX_FAILED_STARTS:
        try:
            worker = _POOL.acquire()
        except OSError:  # no process could be started (out of memory or file handles)
            failed_starts += 1
            continue
        cold, fresh = not _POOL.warmed, not worker.ready
        waited_from = time.monotonic()
        state = worker.wait_ready(STARTUP_TIMEOUT_SECONDS if cold else deadline - waited_from)
        if cold:
            deadline += time.monotonic() - waited_from
        if state == "ready":
            _POOL.warmed = True
            return worker, deadline
        _POOL.discard(worker)
        if state == TIMEOUT and not cold:
            return None, deadline
        if state == TIMEOUT:
            break
        if fresh:  # an idle child that died is one of a few; only fresh starts count
            failed_starts += 1
    warnings.warn(
        "the math-verify worker did not start, so math_accuracy_reward scores 0.0; "
        "run `python -m rewards.math_worker` to see why",
        RuntimeWarning,
        stacklevel=2,
    )
    return None, deadline


_DEFAULT_REWARD = MathAccuracyReward()


@reward(max_score=MATH_ACCURACY_SCORE)
def math_accuracy_reward(completions: list[Any], solution: list[str] | None = None, **kwargs: Any) -> list[float]:
    r"""1.0 when math-verify finds the completion's answer equal to ``solution``, else 0.0.

    The answer is read from the completion's LaTeX (``\boxed{}`` first); each check gets
    ``DEFAULT_TIMEOUT_SECONDS`` and the whole call ``DEFAULT_CALL_TIMEOUT_SECONDS``; what
    overruns scores 0.0. Use ``MathAccuracyReward(timeout_seconds=..., call_timeout_seconds=...)``
    for other budgets.

    Args:
        completions: strings or conversational message lists.
        solution: the gold answer of each row: LaTeX or plain text, or a number (int, float, numpy).

    Returns:
        One float per completion.
    """
    return _DEFAULT_REWARD(completions, solution=solution, **kwargs)
