r"""Parsers: one answer-extraction routine per answer format; rewards only score.

A parser reads an answer out of a completion's text two ways: ``strict`` (in the format
the task asks for, as the correctness rewards read it) and ``lenient`` (format-free, from
anywhere in the text, for logged metrics); ``is_correct`` is the one definition of a right
answer for a dataset row, ``vote_key`` the normalised answer majority vote groups on and
``formatted`` whether the completion used the required format. Every method takes
untrusted text, never raises (None or a non-string gives None/False) and is linear in
the text.

=========================  =========================  ===============================
instance                   strict answer              row columns
=========================  =========================  ===============================
``NUMBER_IN_ANSWER_TAG``   last ``<answer>`` content  ``answer`` (the gold number)
``EQUATION_IN_ANSWER_TAG`` last ``<answer>`` content  ``target: int``, ``nums: list``
``BOXED_EQUATION``         last ``\boxed{}`` (LaTeX)  ``target: int``, ``nums: list``
=========================  =========================  ===============================

>>> row = {"target": 24, "nums": [2, 6, 6]}
>>> text = "6 * 6 - 2 is 34, no. (6 - 2) * 6 = 24 <answer>(6-2)*6</answer>"
>>> EQUATION_IN_ANSWER_TAG.strict(text), EQUATION_IN_ANSWER_TAG.is_correct("(6-2)*6", row)
('(6-2)*6', True)
>>> NUMBER_IN_ANSWER_TAG.lenient("So she pays $1,080.00.", {}), NUMBER_IN_ANSWER_TAG.vote_key("$1,080.00")
('$1,080.00', '1080')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rewards.expressions import MAX_EXPRESSION_CHARS, MAX_LITERAL_DIGITS, check_equation, parse_expression
from rewards.latex import latex_to_expression
from rewards.numbers import MINUS_SIGNS, last_number, normalize_number, parse_integer, parse_number
from rewards.scoring import as_int, as_int_list
from rewards.text import MAX_TEXT_CHARS, extract_answer, extract_boxed

# A maximal run of plain-equation characters (no newline: one line holds one equation).
# The set reads the same reversed, so the runs can be found from the end of the text.
_EQUATION_RUN = re.compile(rf"[0-9+*/×÷()= \t{re.escape(MINUS_SIGNS)}]+")
_LITERAL = re.compile(r"[0-9]+")
_ASCII_OPERATORS = str.maketrans({"×": "*", "÷": "/"} | dict.fromkeys(MINUS_SIGNS, "-"))


def _readable(text: Any) -> bool:
    return isinstance(text, str) and len(text) <= MAX_TEXT_CHARS


def _field(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else None


def _countdown_row(row: Any) -> tuple[int, list[int]] | None:
    target, nums = as_int(_field(row, "target")), as_int_list(_field(row, "nums"))
    return None if target is None or not nums else (target, nums)


def last_equation(text: Any, nums: Any) -> str | None:
    """The last expression in plain text whose literals are exactly ``nums`` (a multiset).

    Runs of equation characters are scanned from the end; each is split at ``=`` and its
    sides tried last first; a side that does not parse, or uses other numbers, is skipped.

    >>> last_equation("try 6 * 6 - 2 = 34, then (6 - 2) * 6 = 24. Done", [2, 6, 6])
    '(6 - 2) * 6'
    >>> last_equation("6 * 6 = 36", [2, 6, 6]) is None
    True
    """
    want = as_int_list(nums)
    if not _readable(text) or not want:
        return None
    want = sorted(want)
    for run in _EQUATION_RUN.finditer(text[::-1]):
        for side in reversed(run.group()[::-1].split("=")):
            side = side.strip(" \t")
            if not side or len(side) > MAX_EXPRESSION_CHARS:
                continue
            literals = _LITERAL.findall(side)
            if len(literals) != len(want) or any(len(lit) > MAX_LITERAL_DIGITS for lit in literals):
                continue
            if sorted(map(int, literals)) == want and parse_expression(side) is not None:
                return side
    return None


def normalize_expression(expr: Any) -> str | None:
    """An equation answer as a vote key: no spaces, ASCII operators, a stated result dropped.

    The side that is a bare integer is dropped (``(3+5)*2 = 16`` and ``16 = (3+5)*2`` agree);
    otherwise everything after the first ``=`` is.

    >>> normalize_expression(" (3 + 5) × 2 = 16 "), normalize_expression("16 = (3+5)*2")
    ('(3+5)*2', '(3+5)*2')
    >>> normalize_expression("   ") is None
    True
    """
    if not isinstance(expr, str):
        return None
    text = "".join(expr.split()).translate(_ASCII_OPERATORS)
    left, equals, right = text.partition("=")
    if equals and parse_integer(left) is not None and parse_integer(right) is None and "=" not in right:
        return right or None
    return left or None


class Parser(Protocol):
    """What every parser offers (the instances below are frozen dataclasses)."""

    name: str

    def strict(self, text: str) -> str | None: ...  # the answer in the required format
    def lenient(self, text: str, row: Mapping) -> str | None: ...  # the answer read format-free
    def is_correct(self, answer: str | None, row: Mapping) -> bool: ...  # right for this row?
    def vote_key(self, answer: str | None) -> str | None: ...  # majority-vote key (None: no vote)
    def formatted(self, text: str) -> bool: ...  # the task's answer format was used


@dataclass(frozen=True)
class NumberInAnswerTag:
    """A number in ``<answer>...</answer>`` (GSM8K, arithmetic); rows carry ``answer``."""

    name: str = "number_in_answer_tag"

    def strict(self, text: Any) -> str | None:
        return extract_answer(text) if _readable(text) else None

    def lenient(self, text: Any, row: Any = None) -> str | None:
        return last_number(text) if _readable(text) else None

    def is_correct(self, answer: Any, row: Any) -> bool:
        predicted, expected = parse_number(answer), parse_number(_field(row, "answer"))
        return predicted is not None and expected is not None and predicted == expected

    def vote_key(self, answer: Any) -> str | None:
        return normalize_number(answer) if _readable(answer) else None

    def formatted(self, text: Any) -> bool:
        return self.strict(text) is not None


@dataclass(frozen=True)
class EquationInAnswerTag:
    """A Countdown equation in ``<answer>...</answer>``; rows carry ``target`` and ``nums``."""

    name: str = "equation_in_answer_tag"

    def strict(self, text: Any) -> str | None:
        return extract_answer(text) if _readable(text) else None

    def lenient(self, text: Any, row: Any = None) -> str | None:
        return last_equation(text, _field(row, "nums"))

    def is_correct(self, answer: Any, row: Any) -> bool:
        countdown = _countdown_row(row)
        return countdown is not None and check_equation(answer, *countdown)

    def vote_key(self, answer: Any) -> str | None:
        return normalize_expression(answer) if _readable(answer) else None

    def formatted(self, text: Any) -> bool:
        return self.strict(text) is not None


@dataclass(frozen=True)
class BoxedEquation:
    r"""A Countdown equation in LaTeX in the last ``\boxed{}`` (R1-distill models).

    ``strict`` gives the box converted to the plain grammar, or its raw text when it is
    not convertible (so a vote still sees it; ``is_correct`` rejects it). The boxed format
    also accepts a leading ``target =``.
    """

    name: str = "boxed_equation"

    def strict(self, text: Any) -> str | None:
        boxed = extract_boxed(text) if _readable(text) else None
        if boxed is None:
            return None
        converted = latex_to_expression(boxed)
        return boxed if converted is None else converted

    def lenient(self, text: Any, row: Any = None) -> str | None:
        boxed = self.strict(text)
        return boxed if boxed is not None else last_equation(text, _field(row, "nums"))

    def is_correct(self, answer: Any, row: Any) -> bool:
        countdown = _countdown_row(row)
        expression = latex_to_expression(answer)  # plain text passes through unchanged
        return (
            countdown is not None
            and expression is not None
            and check_equation(expression, *countdown, target_first=True)
        )

    def vote_key(self, answer: Any) -> str | None:
        return normalize_expression(answer) if _readable(answer) else None

    def formatted(self, text: Any) -> bool:
        return self.strict(text) is not None


NUMBER_IN_ANSWER_TAG = NumberInAnswerTag()
EQUATION_IN_ANSWER_TAG = EquationInAnswerTag()
BOXED_EQUATION = BoxedEquation()
PARSERS: dict[str, Parser] = {
    parser.name: parser for parser in (NUMBER_IN_ANSWER_TAG, EQUATION_IN_ANSWER_TAG, BOXED_EQUATION)
}
