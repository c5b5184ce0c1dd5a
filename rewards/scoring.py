"""The loop every reward shares: one float per completion, 0.0 for anything unreadable.

TRL calls a reward as ``fn(completions, **columns)`` where each dataset column is a list
aligned with ``completions``. ``score_each`` walks them together, reads each completion
with ``completion_text`` and gives 0.0 when the text or a column value is missing or
malformed, so a reward never raises on model output.

>>> score_each(["<answer>7</answer>", None], lambda text, gold: float(gold in text), ["7", "7"])
[1.0, 0.0]
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Callable, Sequence

from rewards.text import completion_text

_MISSING = object()
# What a malformed value (not model text, which the parsers handle) can raise while scored.
_BAD_VALUE_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError, MemoryError)


def score_each(completions: Any, score: Callable[..., float], *columns: Any) -> list[float]:
    """Returns ``[score(text, *row) for each completion]`` with 0.0 for bad input."""
    if not isinstance(completions, (list, tuple)):
        return []
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


def _column_value(column: Any, index: int) -> Any:
    if type(column) in (list, tuple):
        return column[index] if index < len(column) else _MISSING
    if isinstance(column, (str, bytes)) or not isinstance(column, Sequence) or index >= len(column):
        return _MISSING
    return column[index]


def as_int(value: Any) -> int | None:
    """Reads a dataset integer (int, integral float or digit string); None otherwise.

    >>> as_int(24), as_int(24.0), as_int("24"), as_int(2.5), as_int(True)
    (24, 24, 24, None, None)
    """
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", value):
        return int(value)
    return None


def as_int_list(values: Any) -> list[int] | None:
    """Reads a list of dataset integers; None when any entry is not one.

    >>> as_int_list([3, 5.0]), as_int_list([3, "x"]), as_int_list(None)
    ([3, 5], None, None)
    """
    if type(values) not in (list, tuple) and (isinstance(values, (str, bytes)) or not isinstance(values, Sequence)):
        return None
    ints = [as_int(v) for v in values]
    return None if any(i is None for i in ints) else ints
