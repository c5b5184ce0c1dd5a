r"""Worked solutions ("traces") for R1's cold start: a small SFT set in the target format.

A trace is the full assistant message that a perfect model would write for a row's prompt,
starting with the prompt style's prefill (``trace.startswith(prefill_of(row["prompt"]))``),
so the task's rewards, given the trace as the completion, pay their full score. Traces are
made by our own exact procedures, are deterministic for a row, and stay short (they are
trained and sampled on a CPU):

* arithmetic rows (:func:`data_prep.arithmetic_rows`): the school procedure from
  :mod:`data_prep.written_arithmetic`, digit by digit with carries and borrows;
* GSM8K rows: the dataset's own worked ``solution`` (see :func:`data_prep.gsm8k_fixture`);
* Countdown rows: one or two real combinations of the numbers that miss the target, then
  the solution with its intermediate values checked.

Number answers come in the styles ``think_answer``, ``qwen_think`` and ``gsm8k_xml``;
Countdown equations in ``qwen_think`` and ``r1_boxed``.

>>> from data_prep import arithmetic_rows
>>> print(arithmetic_trace(arithmetic_rows(1, seed=0, prompt_style="think_answer")[0], "think_answer"))
<think>
7+1=8
</think>
<answer>8</answer>
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from .countdown import OPERATORS, _apply, _check_nums, _Node, _reachable, check_operators, solve_countdown
from .prompts import get_style, prefill_of
from .written_arithmetic import question_lines

NUMBER_STYLES = ("think_answer", "qwen_think", "gsm8k_xml")
COUNTDOWN_STYLES = ("qwen_think", "r1_boxed")
MAX_MISSES = 2  # tried combinations shown before the solution
_NEAREST = 6  # misses are drawn among this many reachable values nearest the target
_TAGS = ("<think>", "</think>", "<answer>", "</answer>", "<reasoning>", "</reasoning>")
_ALLOWED = re.compile(r"Allowed operations: ((?:[-+*/], )*[-+*/])\.")
_TOKEN = re.compile(r"\s*([0-9]+|[-+*/()])")


def _check_style(row: Mapping[str, Any], style: str, supported: tuple[str, ...], kind: str) -> None:
    if style not in supported:
        raise ValueError(f"{kind} traces come in the styles {list(supported)}, not {style!r}")
    prompt = row.get("prompt")
    prefill = get_style(style).prefill
    if prompt is not None and prefill_of(prompt) != prefill:
        raise ValueError(f"the row's prompt does not end with the {style!r} prefill {prefill!r}")


def _number_trace(style: str, reasoning: str, answer: str) -> str:
    if style == "gsm8k_xml":
        return f"<reasoning>\n{reasoning}\n</reasoning>\n<answer>\n{answer}\n</answer>\n"
    return f"{get_style(style).prefill}\n{reasoning}\n</think>\n<answer>{answer}</answer>"


def arithmetic_trace(row: Mapping[str, Any], style: str = "think_answer") -> str:
    """The worked solution of an arithmetic row ("What is 47 + 38?", answer "85").

    >>> print(arithmetic_trace({"question": "What is 47 + 38?", "answer": "85"}))
    <think>
    7+8=15, write 5 carry 1
    4+3+1=8
    </think>
    <answer>85</answer>
    """
    _check_style(row, style, NUMBER_STYLES, "arithmetic")
    lines, value = question_lines(row.get("question"))
    if str(value) != row.get("answer"):
        raise ValueError(f"{row.get('question')!r} makes {value}, but the row's answer is {row.get('answer')!r}")
    return _number_trace(style, "\n".join(lines), str(value))


def gsm8k_trace(row: Mapping[str, Any], style: str = "gsm8k_xml") -> str:
    """A GSM8K row's own worked ``solution`` and final ``answer`` in ``style``.

    >>> print(gsm8k_trace({"solution": "2 x 3 = 6 apples.", "answer": "6"}), end="")
    <reasoning>
    2 x 3 = 6 apples.
    </reasoning>
    <answer>
    6
    </answer>
    """
    _check_style(row, style, NUMBER_STYLES, "GSM8K")
    solution, answer = row.get("solution"), row.get("answer")
    if not isinstance(solution, str) or not solution.strip():
        raise ValueError("the row has no worked solution; load it with data_prep.gsm8k_fixture or load_gsm8k")
    if not isinstance(answer, str) or not answer.strip():
        raise ValueError(f"the row's answer must be a non-empty string, got {answer!r}")
    if any(tag in solution for tag in _TAGS):
        raise ValueError("the worked solution contains a format tag; it would break the layout")
    return _number_trace(style, solution.strip(), answer.strip())


# --- Countdown --------------------------------------------------------------------------------


def _parse(text: str) -> _Node:
    """An expression tree for ``text`` (integers, + - * /, parentheses), exact values."""
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"cannot read the solution {text!r}")
        tokens.append(match.group(1))
        pos = match.end()
    tokens.append("")

    def binary(op: str, left: _Node, right: _Node) -> _Node:
        value = _apply(op, left.value, right.value)
        if value is None:
            raise ValueError(f"division by zero in {text!r}")
        return _Node(value, op, left, right)

    def expr(i: int) -> tuple[_Node, int]:
        node, i = term(i)
        while tokens[i] in ("+", "-"):
            right, j = term(i + 1)
            node, i = binary(tokens[i], node, right), j
        return node, i

    def term(i: int) -> tuple[_Node, int]:
        node, i = atom(i)
        while tokens[i] in ("*", "/"):
            right, j = atom(i + 1)
            node, i = binary(tokens[i], node, right), j
        return node, i

    def atom(i: int) -> tuple[_Node, int]:
        if tokens[i] == "(":
            node, i = expr(i + 1)
            if tokens[i] != ")":
                raise ValueError(f"unbalanced parentheses in {text!r}")
            return node, i + 1
        if not tokens[i].isdigit():
            raise ValueError(f"cannot read the solution {text!r}")
        return _Node(int(tokens[i])), i + 1

    node, end = expr(0)
    if tokens[end]:
        raise ValueError(f"cannot read the solution {text!r}")
    return node


def _show(value: int | Fraction, operand: bool = False) -> str:
    text = str(value) if type(value) is int else f"{value.numerator}/{value.denominator}"
    return f"({text})" if operand and (value < 0 or type(value) is not int) else text


def _steps(node: _Node) -> list[str]:
    """Each operation of the tree with its exact value, innermost first."""
    if node.left is None or node.right is None:
        return []
    step = f"{_show(node.left.value, True)} {node.op} {_show(node.right.value, True)} = {_show(node.value)}"
    return _steps(node.left) + _steps(node.right) + [step]


def _leaves(node: _Node) -> list[int]:
    if node.left is None or node.right is None:
        return [int(node.value)]
    return _leaves(node.left) + _leaves(node.right)


def _whole_steps(node: _Node) -> bool:
    """True when every value on the way is a whole number >= 0 (what a person tries first)."""
    if type(node.value) is not int or node.value < 0:
        return False
    return node.left is None or node.right is None or (_whole_steps(node.left) and _whole_steps(node.right))


def _operators(row: Mapping[str, Any]) -> str:
    """The operators the row's prompt allows ("Allowed operations: +, -."), all four without one."""
    for message in row.get("prompt") or []:
        match = _ALLOWED.search(message.get("content") or "") if isinstance(message, dict) else None
        if match:
            return check_operators(match.group(1).replace(", ", ""))
    return OPERATORS


def countdown_misses(nums: list[int], target: int, operators: str = OPERATORS) -> list[_Node]:
    """One or two expressions over all of ``nums`` whose whole value misses ``target``.

    Drawn, with a seed made from the problem, among the few reachable values nearest the
    target (not farther from it than the target itself, unless none is); the farther miss
    comes first. Tries whose every step is a whole number >= 0 are preferred.

    >>> [(m.text, m.value) for m in countdown_misses([3, 5, 2], 16)]
    [('2 + 3 + 5', 10), ('2 + 3 * 5', 17)]
    """
    found = _reachable(tuple(sorted(_check_nums(nums))), check_operators(operators)).values()
    misses = [n for n in found if type(n.value) is int and n.value != target and n.value >= 0]
    misses = [n for n in misses if _whole_steps(n)] or misses
    misses.sort(key=lambda n: (abs(n.value - target), n.value))
    near = [n for n in misses[:_NEAREST] if abs(n.value - target) <= max(target, 10)] or misses[:1]
    rng = random.Random(f"{list(nums)} -> {target}")
    chosen = rng.sample(near, min(len(near), rng.randint(1, MAX_MISSES)))
    return sorted(chosen, key=lambda n: (-abs(n.value - target), n.value))


def countdown_trace(row: Mapping[str, Any], style: str = "qwen_think") -> str:
    r"""A short search for a Countdown row: misses, then the solution checked step by step.

    Uses the row's ``solution`` when it has one, else solves the problem with the operators
    its prompt allows.

    >>> print(countdown_trace({"nums": [3, 5, 2], "target": 16, "solution": "(3 + 5) * 2"}, "r1_boxed"))
    Try 2 + 3 + 5 = 10, 6 too low.
    Try 2 + 3 * 5 = 17, 1 too high.
    Try (3 + 5) * 2: 3 + 5 = 8, 8 * 2 = 16. It works.
    <BLANKLINE>
    The equation is \boxed{(3 + 5) * 2}.
    """
    _check_style(row, style, COUNTDOWN_STYLES, "Countdown")
    nums, target = list(row["nums"]), row["target"]
    operators = _operators(row)
    solution = row.get("solution") or solve_countdown(nums, target, operators)
    if solution is None:
        raise ValueError(f"no solution for {nums} -> {target} with {operators!r}")
    node = _parse(solution)
    if node.value != target or sorted(_leaves(node)) != sorted(nums):
        raise ValueError(f"the solution {solution!r} does not make {target} from {nums}")
    lines = []
    for miss in countdown_misses(nums, target, operators):
        gap = miss.value - target
        lines.append(f"Try {miss.text} = {miss.value}, {abs(gap)} too {'high' if gap > 0 else 'low'}.")
    steps = _steps(node)
    if len(steps) > 1:
        lines.append(f"Try {node.text}: {', '.join(steps)}. It works.")
    else:  # one operation (or a lone number) checks itself
        lines.append(f"Try {node.text} = {target}. It works.")
    reasoning = "\n".join(lines)
    if style == "r1_boxed":
        return f"{reasoning}\n\nThe equation is \\boxed{{{node.text}}}."
    return f"{get_style(style).prefill}\n{reasoning}\n</think>\n<answer>{node.text}</answer>"
