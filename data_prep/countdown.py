"""Countdown problems: an exact solver and a seeded generator of problems that always have a solution.

A problem is a list of numbers and a target; a solution is an expression that uses every number
exactly once with the binary operators + - * / and parentheses, and equals the target under
exact rational arithmetic (intermediate results may be negative or fractional; division by
zero never happens). The generator draws numbers, lists every integer target reachable with
all of them, and picks one, so each row comes with the solver-made ``solution`` (handy for SFT
traces). Rows follow the public ``Jiayi-Pan/Countdown-Tasks-3to4`` columns (``target``,
``nums``) plus ``prompt`` and ``solution``; :func:`load_countdown_hub` loads that dataset.

>>> solve_countdown([3, 5, 2], 16)
'(3 + 5) * 2'
>>> row = countdown_rows(1, seed=7)[0]
>>> solve_countdown(row["nums"], row["target"]) is not None
True
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from fractions import Fraction
from functools import lru_cache
from itertools import combinations
from typing import TYPE_CHECKING, Any, NamedTuple

from .hub import check_count, first_rows, load_hub_dataset, rows_to_dataset
from .prompts import build_prompt, get_style

if TYPE_CHECKING:
    from datasets import Dataset

OPERATORS = "+-*/"
MAX_NUMBERS = 6  # the exhaustive search grows quickly beyond this
HUB_COUNTDOWN = "Jiayi-Pan/Countdown-Tasks-3to4"
_MAX_MISSES = 1000  # consecutive draws without any target in range before giving up

Number = int | Fraction  # ints stay ints (fast); only inexact divisions make Fractions


class _Node(NamedTuple):
    """An expression tree: its exact value, top operator ("" for a number) and operands."""

    value: Number
    op: str = ""
    left: _Node | None = None
    right: _Node | None = None

    @property
    def text(self) -> str:
        """The expression with the parentheses that precedence needs, e.g. ``(3 + 5) * 2``."""
        if self.left is None or self.right is None:
            return str(self.value)
        left, right = self.left.text, self.right.text
        if self.op in ("*", "/") and self.left.op in ("+", "-"):
            left = f"({left})"
        if self.right.op and (self.op == "/" or (self.op in ("-", "*") and self.right.op in ("+", "-"))):
            right = f"({right})"
        return f"{left} {self.op} {right}"


def _apply(op: str, a: Number, b: Number) -> Number | None:
    """``a op b`` exactly, as an int whenever the result is whole; None for division by zero."""
    if op == "+":
        value = a + b
    elif op == "-":
        value = a - b
    elif op == "*":
        value = a * b
    elif not b:
        return None
    elif type(a) is int and type(b) is int:
        return a // b if a % b == 0 else Fraction(a, b)
    else:
        value = a / b  # at least one operand is a Fraction here
    if type(value) is int or value.denominator != 1:
        return value
    return value.numerator


def _combine(a: _Node, b: _Node, operators: str) -> Iterator[_Node]:
    """Every node one allowed operator makes from ``a`` and ``b`` (both orders for - and /)."""
    for op in operators:
        for left, right in ((a, b),) if op in "+*" else ((a, b), (b, a)):
            value = _apply(op, left.value, right.value)
            if value is not None:
                yield _Node(value, op, left, right)


def check_operators(operators: object) -> str:
    """Validate an operator set such as "+-" and return it in the canonical order.

    >>> check_operators("*+")
    '+*'
    """
    if not isinstance(operators, str) or not operators or not set(operators) <= set(OPERATORS):
        raise ValueError(f"operators must be a non-empty string of characters from {OPERATORS!r}, got {operators!r}")
    return "".join(op for op in OPERATORS if op in operators)


def _check_nums(nums: object) -> list[int]:
    if not isinstance(nums, (list, tuple)) or not 1 <= len(nums) <= MAX_NUMBERS:
        raise ValueError(f"nums must be a list of 1 to {MAX_NUMBERS} integers, got {nums!r}")
    if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in nums):
        raise ValueError(f"nums must hold non-negative integers, got {nums!r}")
    return list(nums)


def solve_countdown(nums: Sequence[int], target: int, operators: str = OPERATORS) -> str | None:
    """One expression using every number of ``nums`` once that equals ``target``, or None.

    Depth-first search that combines two numbers at a time, remembering value multisets
    already shown to fail. Fast for 2-4 numbers; 5-6 numbers take longer when no solution exists.

    >>> solve_countdown([4, 7], 3, "+-")
    '7 - 4'
    >>> solve_countdown([1, 1], 5) is None
    True
    """
    ops, numbers = check_operators(operators), _check_nums(nums)
    if isinstance(target, bool) or not isinstance(target, int):
        raise ValueError(f"target must be an integer, got {target!r}")
    failed: set[tuple[Number, ...]] = set()

    def search(nodes: tuple[_Node, ...]) -> str | None:
        if len(nodes) == 1:
            return nodes[0].text if nodes[0].value == target else None
        key = tuple(sorted(node.value for node in nodes))
        if key in failed:
            return None
        for i, j in combinations(range(len(nodes)), 2):
            rest = nodes[:i] + nodes[i + 1 : j] + nodes[j + 1 :]
            for node in _combine(nodes[i], nodes[j], ops):
                found = search((node,) + rest)
                if found is not None:
                    return found
        failed.add(key)
        return None

    return search(tuple(_Node(n) for n in numbers))


@lru_cache(maxsize=4096)
def _reachable(values: tuple[int, ...], operators: str) -> dict[Number, _Node]:
    """Every value an expression over all of ``values`` (sorted) can take, with one expression."""
    if len(values) == 1:
        node = _Node(values[0])
        return {node.value: node}
    first, rest = values[0], values[1:]
    found: dict[Number, _Node] = {}
    splits = set()
    for mask in range(2 ** len(rest) - 1):  # the left part holds values[0]; the right is never empty
        left = (first,) + tuple(v for k, v in enumerate(rest) if mask >> k & 1)
        right = tuple(v for k, v in enumerate(rest) if not mask >> k & 1)
        if (left, right) in splits:
            continue
        splits.add((left, right))
        for a in _reachable(left, operators).values():
            for b in _reachable(right, operators).values():
                for node in _combine(a, b, operators):
                    found.setdefault(node.value, node)
    return found


def _whole_targets(nums: Sequence[int], operators: str) -> dict[int, _Node]:
    found = _reachable(tuple(sorted(_check_nums(nums))), check_operators(operators))
    return {v: found[v] for v in sorted(v for v in found if type(v) is int)}


def countdown_targets(nums: Sequence[int], operators: str = OPERATORS) -> dict[int, str]:
    """Every integer reachable using all of ``nums`` exactly once, mapped to one expression.

    >>> countdown_targets([2, 3], "+*")
    {5: '2 + 3', 6: '2 * 3'}
    """
    return {value: node.text for value, node in _whole_targets(nums, operators).items()}


def _check_int(name: str, value: object, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        bound = "" if low is None else f" >= {low}"
        raise ValueError(f"{name} must be an integer{bound}, got {value!r}")
    return value


def countdown_rows(
    n: int,
    *,
    seed: int = 0,
    num_counts: Sequence[int] = (3, 4),
    min_number: int = 1,
    max_number: int = 99,
    min_target: int = 1,
    max_target: int = 99,
    operators: str = OPERATORS,
    prompt_style: str = "qwen_think",
) -> list[dict[str, Any]]:
    """``n`` solvable Countdown problems as plain dicts; the same seed gives the same rows.

    Each row draws how many numbers from ``num_counts``, the numbers uniformly from
    ``[min_number, max_number]``, and the target uniformly among the integers in
    ``[min_target, max_target]`` reachable with all of them using ``operators``.

    >>> row = countdown_rows(1, seed=1, num_counts=(2,), max_number=9, operators="+")[0]
    >>> row["nums"], row["target"], row["solution"]
    ([2, 5], 7, '2 + 5')
    """
    check_count(n)
    _check_int("seed", seed)
    if isinstance(num_counts, int) or not num_counts:
        raise ValueError(f"num_counts must be a non-empty sequence of counts, got {num_counts!r}")
    counts = [_check_int("each of num_counts", c, 1) for c in num_counts]
    if max(counts) > MAX_NUMBERS:
        raise ValueError(f"num_counts may not exceed {MAX_NUMBERS}, got {num_counts!r}")
    _check_int("min_number", min_number, 0)
    if _check_int("max_number", max_number) < min_number:
        raise ValueError(f"max_number ({max_number}) is below min_number ({min_number})")
    if _check_int("max_target", max_target) < _check_int("min_target", min_target):
        raise ValueError(f"max_target ({max_target}) is below min_target ({min_target})")
    ops = check_operators(operators)
    get_style(prompt_style)

    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    misses = 0
    while len(rows) < n:
        nums = [rng.randint(min_number, max_number) for _ in range(rng.choice(counts))]
        targets = [(t, node) for t, node in _whole_targets(nums, ops).items() if min_target <= t <= max_target]
        if not targets:
            misses += 1
            if misses >= _MAX_MISSES:
                raise ValueError(
                    f"{_MAX_MISSES} draws in a row reached no target in [{min_target}, {max_target}]; "
                    "widen the target range or the number range, or allow more operators"
                )
            continue
        misses = 0
        target, node = rng.choice(targets)
        prompt = build_prompt(prompt_style, nums=nums, target=target, operators=ops)
        rows.append({"target": target, "nums": nums, "prompt": prompt, "solution": node.text})
    return rows


def countdown_dataset(n: int, **options: Any) -> Dataset:
    """:func:`countdown_rows` as a `datasets.Dataset` (same keyword options), ready for TRL.

    >>> countdown_dataset(4, seed=3).column_names
    ['target', 'nums', 'prompt', 'solution']
    """
    return rows_to_dataset(countdown_rows(n, **options))


def load_countdown_hub(split: str = "train", n: int | None = None, prompt_style: str = "qwen_think") -> Dataset:
    """The public Countdown-Tasks-3to4 dataset (first ``n`` rows) with a ``prompt`` column.

    Raises RuntimeError naming :func:`countdown_dataset` when the hub is unreachable.
    """
    get_style(prompt_style)
    if n is not None:
        check_count(n)
    data = load_hub_dataset(HUB_COUNTDOWN, None, split, offline_alternative="data_prep.countdown_dataset(n, seed=...)")
    return first_rows(data, n).map(
        lambda row: {"prompt": build_prompt(prompt_style, nums=row["nums"], target=row["target"])}
    )
