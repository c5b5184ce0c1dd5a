"""Tiny arithmetic questions in GSM8K's schema, for the CPU quick start.

A 135M-parameter model cannot learn GSM8K in minutes, but it can learn to answer "What is
3 + 5?" in the right format. Rows carry ``question``, ``answer`` (the exact integer result as a
string, as GSM8K rows do after :func:`data_prep.extract_hash_answer`) and ``prompt``, so the
same GSM8K rewards score them. Usual precedence applies (* and / before + and -); divisions
are always exact; results are never negative unless ``allow_negative=True``.

>>> arithmetic_rows(2, seed=0)[0]["question"]
'What is 7 + 1?'
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .countdown import check_operators
from .hub import check_count, rows_to_dataset
from .prompts import build_prompt, get_style

if TYPE_CHECKING:
    from datasets import Dataset

MAX_DIGITS = 6
_MAX_TRIES = 1000  # draws per question before giving up (only negative results are redrawn)


def _operand_range(digits: int) -> tuple[int, int]:
    """Operands with ``digits`` digits; one-digit operands start at 1, never 0."""
    return (1 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1


def _draw(rng: random.Random, digits: int, operators: str, terms: int) -> tuple[str, int] | None:
    """One question text and its value, or None when a division found no exact divisor."""
    low, high = _operand_range(digits)
    first = rng.randint(low, high)
    parts, total, product = [str(first)], 0, first
    for _ in range(terms - 1):
        op = rng.choice(operators)
        if op == "/":
            divisors = [d for d in range(low, min(high, abs(product)) + 1) if product % d == 0]
            if not divisors:
                return None
            operand = rng.choice(divisors)
            product //= operand
        else:
            operand = rng.randint(low, high)
            if op == "*":
                product *= operand
            else:  # + or - closes the current product term
                total += product
                product = operand if op == "+" else -operand
        parts += [op, str(operand)]
    return "What is " + " ".join(parts) + "?", total + product


def arithmetic_rows(
    n: int,
    *,
    seed: int = 0,
    digits: int = 1,
    operators: str = "+",
    terms: int = 2,
    allow_negative: bool = False,
    prompt_style: str = "answer_only",
) -> list[dict[str, Any]]:
    """``n`` questions such as "What is 3 + 5?" with their exact answers; same seed, same rows.

    >>> [(r["question"], r["answer"]) for r in arithmetic_rows(2, seed=2, operators="*")]
    [('What is 1 * 2?', '2'), ('What is 6 * 5?', '30')]
    """
    check_count(n)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= MAX_DIGITS:
        raise ValueError(f"digits must be an integer from 1 to {MAX_DIGITS}, got {digits!r}")
    check_count(terms, "terms")
    ops = check_operators(operators)
    get_style(prompt_style)

    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    while len(rows) < n:
        for _ in range(_MAX_TRIES):
            drawn = _draw(rng, digits, ops, terms)
            if drawn is not None and (allow_negative or drawn[1] >= 0):
                break
        else:
            raise ValueError(f"no valid question in {_MAX_TRIES} draws; allow_negative=True or other operators")
        question, value = drawn
        rows.append(
            {"question": question, "answer": str(value), "prompt": build_prompt(prompt_style, question=question)}
        )
    return rows


def arithmetic_dataset(n: int, **options: Any) -> Dataset:
    """:func:`arithmetic_rows` as a `datasets.Dataset` (same keyword options).

    >>> arithmetic_dataset(2, seed=1).column_names
    ['question', 'answer', 'prompt']
    """
    return rows_to_dataset(arithmetic_rows(n, **options))
