r"""What a number is: the one definition every reader of numeric answers uses.

A number is an optional minus sign, an optional ``$``, then digits, plain (``1080``) or in
thousands groups of three (``1,080``), with an optional decimal part (``1080.00``); the
sign may stand before or after the ``$`` (``-$5``, ``$-5``), not both. ``parse_number``
reads an answer that is exactly one number (spaces around it allowed), ``last_number``
finds the last number anywhere in a text (format-free reading), ``parse_integer`` reads a
bare integer, ``normalize_number`` makes a majority-vote key. The parsers
(``rewards.parsers``), the integer and digit rewards and Countdown's expressions
(``rewards.expressions``: its minus signs, a stated ``= target``) all read numbers through
these. Spellings near a number are decided here, as a careful grader reads them:

* **Minus signs**: ASCII ``-`` and the typographic minus a model copies from typeset text,
  ``MINUS_SIGNS``: U+2212 MINUS SIGN, the en and figure dashes, the hyphens, and small and
  fullwidth hyphen-minus. ``−5`` (U+2212) is -5, never 5. Right after an operand (a digit
  or a closing bracket) any of them is subtraction: ``10 − 3`` ends in the number 3. An em
  dash is punctuation.
* **Leading dot**: ``.5`` is 0.5 and ``-.5`` is -0.5, never 5; dots before it that are
  not a decimal point (``...5``) are punctuation.
* **Not numbers** (neither the value they spell nor a piece of it): exponent and power
  forms (``1e2``, ``2.5E-3``, ``10^2``, ``10^{2}``, ``10**2``, ``10²``); digits joined by
  dots or commas in any other way than one decimal point and thousands groups (``1.2.5``,
  ``1..2``, a decimal comma ``2,5``, a broken group ``1,0800``, a list ``3,4,5``); a sign
  on both sides of ``$``. ``1e2`` is not 100, and not 2.
* **Punctuation**: in running text a period or comma after a number ends a sentence or a
  clause (``is 42.``); an answer that is exactly one number has none (``72.`` is not one).
* **Bound**: nothing longer than ``MAX_NUMBER_CHARS`` is read, whether written (text by
  its length) or given as a value (an int, float or Decimal by its digits): a gold of a
  million digits is simply not a number here, and scores 0.0 at once.

Only ASCII digits are digits. All functions take untrusted input, return None instead of
raising, and are linear in the text.

>>> parse_number("$1,080.00") == parse_number("1080"), parse_number("−5"), parse_number("1e2")
(True, Decimal('-5'), None)
>>> last_number("3 + 4 = 7."), last_number("so it is 1e2"), normalize_number(" $1,080.00 ")
('7', '1e2', '1080')
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rewards.scoring import plain_value

# Answers with more characters (or digits) than this are not grade-school results.
MAX_NUMBER_CHARS = 40
# Every character read as a minus sign (or, between two operands, as subtraction).
MINUS_SIGNS = "-\u2212\u2013\u2012\u2010\u2011\ufe63\uff0d"

_SIGN = f"[{re.escape(MINUS_SIGNS)}]"
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+"
# An answer that is exactly one number: sign, $, sign, digits.
_NUMBER = re.compile(rf"({_SIGN}?)\$?({_SIGN}?)({_DIGITS})")
_INTEGER = re.compile(rf"{_SIGN}?[0-9]+")
# Anything spelled like a number inside running text, read whole so that no number is cut
# out of a longer spelling: digits, dots and commas (trailing ones are punctuation), a
# decimal point in front, and an exponent or power after. A character class, not a repeated
# group: the regex engine runs it in linear time with no backtracking state.
_EXPONENT = rf"[eE][+{re.escape(MINUS_SIGNS)}]?[0-9]+|\^[{{(]?{_SIGN}?[0-9]+[}})]?|\*\*{_SIGN}?[0-9]+|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+"
_SPELLING = re.compile(rf"{_SIGN}?\$?{_SIGN}?(?:(?<!\.)\.(?=[0-9]))?[0-9][0-9.,]*(?:{_EXPONENT})?")
_DIGIT = re.compile(r"[0-9]")
# No spelling spans one of these characters, so a scan may start right after one.
_NOT_IN_SPELLING = re.compile(rf"[^0-9,.$eE+^{{}}()*⁰¹²³⁴⁵⁶⁷⁸⁹⁻{re.escape(MINUS_SIGNS)}]")
# Before these (spaces skipped) a minus sign is the binary operator: "10-3", "(4) - 3".
_OPERAND_END = frozenset("0123456789)]}")
_LIMIT = 10**MAX_NUMBER_CHARS


def parse_number(text: Any) -> Decimal | None:
    """Reads an answer that is exactly one number; None for anything else.

    Values (int, float, Decimal, numpy scalars; not booleans) are taken as they are,
    within the same bound as text.

    >>> parse_number(" $1,234.50 "), parse_number("-7"), parse_number(".5"), parse_number("72 dollars")
    (Decimal('1234.50'), Decimal('-7'), Decimal('0.5'), None)
    >>> parse_number(72), parse_number(10**50)
    (Decimal('72'), None)
    """
    text = plain_value(text)
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return Decimal(text) if -_LIMIT < text < _LIMIT else None  # a huge int converts in quadratic time
    if isinstance(text, float):
        return _bounded(Decimal(repr(text))) if math.isfinite(text) else None
    if isinstance(text, Decimal):
        return _bounded(text) if text.is_finite() else None
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    sign_before, sign_after, digits = match.groups()
    if sign_before and sign_after:
        return None
    try:
        return Decimal(("-" if sign_before or sign_after else "") + digits.replace(",", ""))
    except InvalidOperation:
        return None


def _bounded(number: Decimal) -> Decimal | None:
    """``number`` when written out it has at most ``MAX_NUMBER_CHARS`` digits, else None."""
    _, digits, exponent = number.as_tuple()
    written = max(len(digits) + exponent, 1) + max(-exponent, 0)  # integer digits + decimals
    return number if written <= MAX_NUMBER_CHARS else None


def parse_integer(text: Any) -> int | None:
    """Reads a bare integer: digits with an optional minus sign, spaces around; None otherwise.

    >>> parse_integer(" 42 "), parse_integer("−42"), parse_integer("$42"), parse_integer("4.0")
    (42, -42, None, None)
    """
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        return None
    return -int(text[1:]) if text[0] in MINUS_SIGNS else int(text)


def last_number(text: Any) -> str | None:
    """The last number written anywhere in ``text``, as written; None when nothing is spelled like one.

    A minus right before the number is its sign, unless the number follows an operand
    (``10-3`` is a subtraction, so the last number is ``3``); a final period is punctuation.
    When the last thing spelled like a number is not one (``1e2``, ``1.2.5``), that spelling
    is returned whole, and ``parse_number`` rejects it: no piece of it counts as the answer.

    >>> last_number("The answer is 42."), last_number("x = −3"), last_number("10-3"), last_number("it is .5")
    ('42', '−3', '3', '.5')
    >>> last_number("It costs $1,080.00 in total"), last_number("about 1e2"), last_number("no digits") is None
    ('$1,080.00', '1e2', True)
    """
    if not isinstance(text, str):
        return None
    # Only the stretch from the last character no spelling can contain to the last digit is
    # scanned: the last spelling lies there, and matches there are those of a full scan.
    reverse = text[::-1]
    digit = _DIGIT.search(reverse)
    if digit is None:
        return None
    boundary = _NOT_IN_SPELLING.search(reverse, digit.start())
    start = 0 if boundary is None else len(text) - boundary.start()
    last = None
    for last in _SPELLING.finditer(text, start):  # noqa: B007 (keeps the last)
        pass
    if last is None:
        return None
    number = last.group().rstrip(".,")  # a sentence's period, a clause's comma
    if number[0] in MINUS_SIGNS and _char_before(text, last.start()) in _OPERAND_END:
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

    >>> normalize_number(" $1,080.00 "), normalize_number("2.50"), normalize_number("−7"), normalize_number("about  7")
    ('1080', '2.5', '-7', 'about 7')
    """
    if not isinstance(answer, str):
        return None
    number = parse_number(answer)
    if number is None:
        return " ".join(answer.split()) or None
    return format(number.normalize(), "f")
