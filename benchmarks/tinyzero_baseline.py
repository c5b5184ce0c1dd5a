"""TinyZero's eval-based Countdown scorer, re-implemented as a benchmark baseline only.

Source: ``verl/utils/reward_score/countdown.py`` in Jiayi-Pan/TinyZero (commit 95df88f).
The kit never uses this module: it runs ``eval`` on model output behind a character
regex, so ``9**9**9`` hangs it and ``2.5*4`` with numbers [2, 5, 4] scores as correct
(``\\d+`` reads the decimal as two numbers). ``benchmarks/rewards.py`` times it next to
the kit's parser-based rewards on the same inputs.

The logic is kept as in the source: the answer is the last ``<answer>`` on the LAST
line of the text after the first assistant marker; numbers are checked with
``re.findall(r"\\d+")``; the value comes from ``eval`` with ``__builtins__`` removed and
is compared with a 1e-5 tolerance; 1.0 for a correct equation, 0.1 for a found but wrong
one, 0 for none. Only the 1-in-64 random debug printing is left out: it is logging, not
scoring, and leaving it out can only make the baseline faster.

>>> compute_score("<|im_start|>assistant\\n<think>...</think>\\n<answer>2.5*4</answer>",
...               {"target": 10, "numbers": [2, 5, 4]})
1.0
>>> compute_score("<|im_start|>assistant\\n<answer>2+5+4</answer>", {"target": 10, "numbers": [2, 5, 4]})
0.1
"""

from __future__ import annotations

import re
from typing import Any

ASSISTANT_MARKERS = ("Assistant:", "<|im_start|>assistant")


def extract_solution(solution_str: str) -> str | None:
    """Returns the last ``<answer>`` content on the last line after the assistant marker."""
    if ASSISTANT_MARKERS[0] in solution_str:
        solution_str = solution_str.split(ASSISTANT_MARKERS[0], 1)[1]
    elif ASSISTANT_MARKERS[1] in solution_str:
        solution_str = solution_str.split(ASSISTANT_MARKERS[1], 1)[1]
    else:
        return None
    solution_str = solution_str.split("\n")[-1]
    matches = list(re.finditer(r"<answer>(.*?)</answer>", solution_str))
    return matches[-1].group(1).strip() if matches else None


def validate_equation(equation_str: str, available_numbers: list[int]) -> bool:
    """True when the digit runs of the equation are exactly the available numbers."""
    try:
        numbers_in_eq = [int(n) for n in re.findall(r"\d+", equation_str)]
        return sorted(numbers_in_eq) == sorted(available_numbers)
    except Exception:  # the source uses a bare except here
        return False


def evaluate_equation(equation_str: str) -> Any:
    """``eval`` behind an allowed-characters regex, as the source does; None on any error."""
    try:
        if not re.match(r"^[\d+\-*/().\s]+$", equation_str):
            raise ValueError("Invalid characters in equation.")
        return eval(equation_str, {"__builtins__": None}, {})
    except Exception:
        return None


def compute_score(
    solution_str: str, ground_truth: dict, method: str = "strict", format_score: float = 0.1, score: float = 1.0
) -> float:
    """1.0 for a correct equation, ``format_score`` for a found but wrong one, 0 for none."""
    target = ground_truth["target"]
    numbers = ground_truth["numbers"]
    equation = extract_solution(solution_str=solution_str)
    if equation is None:
        return 0
    if not validate_equation(equation, numbers):
        return format_score
    try:
        result = evaluate_equation(equation)
        if result is None:
            return format_score
        if abs(result - target) < 1e-5:
            return score
        return format_score
    except Exception:  # the source uses a bare except here
        return format_score
