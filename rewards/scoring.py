"""The loop every reward shares: one float per completion, 0.0 for anything unreadable.

TRL calls a reward as ``fn(completions, **columns)`` where each dataset column is a list
aligned with ``completions`` (or a numpy array / pandas Series: they are read as the equal
Python values, without importing numpy). ``score_each`` walks them together, reads each
completion with ``completion_text`` and gives 0.0 when the text or a column value is
missing or malformed, so a reward never raises on model output. ``@reward(max_score=...)``
records the most a reward pays on the function itself.

>>> score_each(["<answer>7</answer>", None], lambda text, gold: float(gold in text), ["7", "7"])
[1.0, 0.0]
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rewards.text import completion_text

_MISSING = object()
# What a malformed value (not model text, which the parsers handle) can raise while scored.
_BAD_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError, MemoryError)
_PLAIN_TYPES = (str, bytes, bool, int, float, list, tuple, dict, type(None))
_DATASET_INT = re.compile(r"\s*-?[0-9]{1,18}\s*")

F = TypeVar("F", bound=Callable[..., Any])


def reward(*, max_score: float) -> Callable[[F], F]:
    """Marks a reward function with the most it pays, as ``fn.max_score``.

    >>> @reward(max_score=2.0)
    ... def demo_reward(completions, **kwargs):
    ...     return [2.0 for _ in completions]
    >>> demo_reward.max_score
    2.0
    """
    if isinstance(max_score, bool) or not isinstance(max_score, (int, float)) or not max_score > 0:
        raise ValueError(f"max_score must be a positive number, got {max_score!r}")

    def mark(fn: F) -> F:
        fn.max_score = float(max_score)
        return fn

    return mark


def score_each(completions: Any, score: Callable[..., float], *columns: Any) -> list[float]:
    """Returns ``[score(text, *row) for each completion]`` with 0.0 for bad input."""
    completions = as_list(completions)
    if completions is None:
        return []
    columns = tuple(as_list(column) for column in columns)
    scores = []
    for index, completion in enumerate(completions):
        row = [_column_value(column, index) for column in columns]
        text = completion_text(completion)
        if not text or any(value is _MISSING for value in row):
            scores.append(0.0)
            continue
        try:
            scores.append(float(score(text, *row)))
        except _BAD_VALUE_ERRORS:
            scores.append(0.0)
    return scores


def plain_value(value: Any) -> Any:
    """A numpy or pandas value as the equal Python value (duck-typed: ``.tolist()``/``.item()``).

    Strings (``np.str_`` too) become ``str``; other values pass through unchanged.

    >>> plain_value("72"), plain_value([2, 6]), plain_value(None)
    ('72', [2, 6], None)
    """
    if type(value) in _PLAIN_TYPES:
        return value
    if isinstance(value, str):
        return str(value)
    convert = getattr(type(value), "tolist", None) or getattr(type(value), "item", None)
    if not callable(convert):
        return value
    try:
        return convert(value)
    except _BAD_VALUE_ERRORS:
        return value


def as_list(column: Any) -> list | tuple | None:
    """A column (or the completions) as a list: lists and tuples as they are, arrays and
    Series via ``.tolist()``; None for a string or anything that is not a sequence.

    >>> as_list(("a", "b")), as_list("ab"), as_list(None)
    (('a', 'b'), None, None)
    """
    if type(column) in (list, tuple):
        return column
    if column is None or isinstance(column, (str, bytes)):
        return None
    column = plain_value(column)
    if isinstance(column, (list, tuple)):
        return column
    if isinstance(column, Sequence) and not isinstance(column, (str, bytes)):
        return list(column)
    return None


def _column_value(column: Any, index: int) -> Any:
    if column is None or index >= len(column):
        return _MISSING
    return plain_value(column[index])


def as_int(value: Any) -> int | None:
    """Reads a dataset integer (int, integral float or digit string, numpy too); None otherwise.

    Booleans (``np.bool_`` too) are not integers here.

    >>> as_int(24), as_int(24.0), as_int("24"), as_int(2.5), as_int(True)
    (24, 24, 24, None, None)
    """
    value = plain_value(value)
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DATASET_INT.fullmatch(value):
        return int(value)
    return None


def as_int_list(values: Any) -> list[int] | None:
    """Reads a list of dataset integers (a numpy array too); None when any entry is not one.

    >>> as_int_list([3, 5.0]), as_int_list([3, "x"]), as_int_list(None)
    ([3, 5], None, None)
    """
    values = plain_value(values)
    if type(values) not in (list, tuple) and (isinstance(values, (str, bytes)) or not isinstance(values, Sequence)):
        return None
    ints = [as_int(v) for v in values]
    return None if any(i is None for i in ints) else ints
