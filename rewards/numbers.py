"""Reading numeric answers: the one definition of "the same number" for GSM8K-style tasks.

``parse_number`` reads an answer written as a plain number (``$1,080.00``, ``-7``, `` 72 ``);
``last_number`` finds the last number anywhere in a text (format-free reading);
``normalize_number`` turns an answer into a majority-vote key. All of them take untrusted
input and return None instead of raising; all are linear in the text.

>>> parse_number("$1,080.00") == parse_number("1080")
True
>>> last_number("3 + 4 = 7."), normalize_number(" $1,080.00 ")
('7', '1080')
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rewards.scoring import plain_value

_NUMBER = re.compile(r"(-?)\$?(-?)([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?")
# A number inside running text: thousands groups must end the digits ("1,0800" is not one).
_NUMBER_IN_TEXT = re.compile(r"-?\$?-?(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?")
_DIGIT = re.compile(r"[0-9]")
# No number spans one of these characters, so a scan may start right after one.
_NOT_IN_NUMBER = re.compile(r"[^0-9,.$\-]")
# Before these (spaces skipped) a minus sign is the binary operator: "10-3", "(4) - 3".
_OPERAND_END = frozenset("0123456789)]}")
# Answers with more digits than this are not grade-school results.
MAX_NUMBER_CHARS = 40


def parse_number(text: Any) -> Decimal | None:
    """Reads a plain number: optional sign, optional ``$``, thousands commas, decimals.

    Numbers (numpy scalars too, but not booleans) are taken as they are.

    >>> parse_number(" $1,234.50 "), parse_number("-7"), parse_number("72 dollars")
    (Decimal('1234.50'), Decimal('-7'), None)
    """
    text = plain_value(text)
    if isinstance(text, (int, Decimal)) and not isinstance(text, bool):
        return Decimal(text) if not isinstance(text, Decimal) or text.is_finite() else None
    if isinstance(text, float) and text == text and abs(text) != float("inf"):
        return Decimal(repr(text))
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    sign_before, sign_after, digits, fraction = match.groups()
    if sign_before and sign_after:
        return None
    try:
        return Decimal(sign_before + sign_after + digits.replace(",", "") + (fraction or ""))
    except InvalidOperation:
        return None


def last_number(text: Any) -> str | None:
    """The last number written anywhere in ``text``, as written; None when there is none.

    A minus right before the number is its sign, unless the number follows an operand
    (``10-3`` is a subtraction, so the last number is ``3``); a final period is punctuation.

    >>> last_number("The answer is 42."), last_number("x = -3"), last_number("10-3")
    ('42', '-3', '3')
    >>> last_number("It costs $1,080.00 in total"), last_number("no digits") is None
    ('$1,080.00', True)
    """
    if not isinstance(text, str):
        return None
    # Only the stretch from the last character no number can contain to the last digit is
    # scanned: the last number lies there, and matches there are those of a full scan.
    reverse = text[::-1]
    digit = _DIGIT.search(reverse)
    if digit is None:
        return None
    boundary = _NOT_IN_NUMBER.search(reverse, digit.start())
    start = 0 if boundary is None else len(text) - boundary.start()
    last = None
    for last in _NUMBER_IN_TEXT.finditer(text, start, len(text) - digit.start()):  # noqa: B007 (keeps the last)
        pass
    if last is None:
        return None
    number = last.group()
    if number.startswith("-") and _char_before(text, last.start()) in _OPERAND_END:
        number = number[1:]
    return number


def _char_before(text: str, index: int) -> str:
    """The nearest character before ``index`` that is not a space ("" at the start)."""
    while index > 0 and text[index - 1] == " ":
        index -= 1
    return text[index - 1] if index > 0 else ""


def normalize_number(answer: Any) -> str | None:
    """A numeric answer as a vote key: ``$1,080.00`` and ``1080`` agree; other text is kept
    whitespace-normalised; None for no answer.

    >>> normalize_number(" $1,080.00 "), normalize_number("2.50"), normalize_number("about  7")
    ('1080', '2.5', 'about 7')
    """
    if not isinstance(answer, str):
        return None
    number = parse_number(answer)
    if number is None:
        return " ".join(answer.split()) or None
    return format(number.normalize(), "f")
