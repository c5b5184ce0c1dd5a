r"""General math answers checked with math-verify, with a time bound that really holds.

math-verify's own timeout relies on SIGALRM: off the main thread (where newer TRL runs
rewards) it fails, and it cannot interrupt a huge power like ``2^{10^{10}}``. Here each
check runs in a persistent child process (``rewards.math_worker``); when a check overruns
its budget the child is killed, the completion scores 0.0 and a fresh child starts on the
next call. Calls from several threads are serialised by a lock.

>>> math_accuracy_reward([r"The answer is $\boxed{\frac{1}{2}}$", r"$\boxed{3}$"],
...                      solution=["$0.5$", "$4$"])
[1.0, 0.0]
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import select
import subprocess
import sys
import threading
from typing import Any

from rewards.scoring import score_each

# Seconds one completion may take inside math-verify before it scores 0.0.
DEFAULT_TIMEOUT_SECONDS = 2.0
# Seconds the child may take to start (importing sympy is slow on a cold disk).
STARTUP_TIMEOUT_SECONDS = 120.0


class _MathVerifier:
    """Owns the child process; ``score`` returns 0.0 on timeout, crash or bad output."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def score(self, gold: str, answer: str, timeout: float) -> float:
        with self._lock:
            process = self._running_process()
            try:
                process.stdin.write(json.dumps({"gold": gold, "answer": answer}) + "\n")
                process.stdin.flush()
                reply = self._read_line(process, timeout)
            except OSError:
                reply = None
            if reply is None:
                self.close()
                return 0.0
            return float(json.loads(reply)["score"])

    def _running_process(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
        process = subprocess.Popen(
            [sys.executable, "-m", "rewards.math_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        if self._read_line(process, STARTUP_TIMEOUT_SECONDS) is None:
            process.kill()
            raise RuntimeError("the math-verify worker did not start; run `python -m rewards.math_worker` to see why")
        self._process = process
        return process

    @staticmethod
    def _read_line(process: subprocess.Popen, timeout: float) -> str | None:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        return line or None

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


_VERIFIER = _MathVerifier()
atexit.register(_VERIFIER.close)


class MathAccuracyReward:
    """A picklable math-verify reward with its own per-completion time budget.

    >>> MathAccuracyReward(timeout_seconds=1.0).__name__
    'math_accuracy_reward'
    """

    __name__ = "math_accuracy_reward"

    def __init__(self, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds!r}")
        self.timeout_seconds = float(timeout_seconds)

    def __call__(self, completions: list[Any], solution: list[str] | None = None, **kwargs: Any) -> list[float]:
        if importlib.util.find_spec("math_verify") is None:
            raise ImportError("math_accuracy_reward needs math-verify: pip install 'math-verify==0.8.0'")
        return score_each(completions, self._score, solution)

    def _score(self, text: str, gold: Any) -> float:
        if not isinstance(gold, str) or not gold.strip():
            return 0.0
        return _VERIFIER.score(gold, text, self.timeout_seconds)


_DEFAULT_REWARD = MathAccuracyReward()


def math_accuracy_reward(completions: list[Any], solution: list[str] | None = None, **kwargs: Any) -> list[float]:
    r"""1.0 when math-verify finds the completion's answer equal to ``solution``, else 0.0.

    The answer is read from the completion's LaTeX (``\boxed{}`` first); each check gets
    ``DEFAULT_TIMEOUT_SECONDS`` and scores 0.0 when it overruns. Use
    ``MathAccuracyReward(timeout_seconds=...)`` for another budget.

    Args:
        completions: strings or conversational message lists.
        solution: the gold answer of each row, in LaTeX or plain text.

    Returns:
        One float per completion.
    """
    return _DEFAULT_REWARD(completions, solution=solution, **kwargs)
