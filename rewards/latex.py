r"""R1-distill LaTeX inside ``\boxed{}`` rewritten into the plain arithmetic grammar.

Understood: ``\frac``/``\dfrac``/``\tfrac``/``\cfrac`` (braced arguments, or one unbraced
character as LaTeX reads it: ``\frac84`` is 8/4, ``\frac123`` is (1/2)3), ``\times``,
``\cdot``, ``\div``, braces and ``[ ]`` as grouping, ``\left``/``\right`` and the sizing
commands ``\big \Big \bigg \Bigg`` (with ``l``/``r``/``m``) in front of a delimiter,
``\displaystyle``, spacing commands, and ``\mathbf{...}``/``\textbf{...}`` around a whole
side of the equation. Anything else (``^``, ``_``, ``\sqrt``, ``\text``, ...) gives None.
The work is linear in the text, which is capped at ``MAX_LATEX_CHARS``.

>>> latex_to_expression(r"\frac{6}{2} \times 4")
'((6)/(2)) * 4'
>>> latex_to_expression(r"\mathbf{\bigl[6 - 2\bigr] \cdot 6}")
'(6 - 2) * 6'
>>> latex_to_expression(r"2^{3}") is None
True
"""

from __future__ import annotations

import re

# Longer boxed answers are not equations a model would write for a handful of numbers.
MAX_LATEX_CHARS = 1_000
# LaTeX groups nested deeper than this are not a Countdown answer.
MAX_LATEX_DEPTH = 50

_SPACES = re.compile(r"\\[,;:! ]|\\q?quad(?![A-Za-z])|~|\\displaystyle(?![A-Za-z])")
# Delimiter sizes are dropped only in front of a delimiter; "\left." or "\left\{" stay and fail.
_SIZES = re.compile(r"\\(?:left|right|[Bb]igg?[lrm]?) *(?=[()\[\]])")
_LATEX_OPERATORS = re.compile(r"\\(times|cdot|div)(?![A-Za-z])")
_OPERATOR_TEXT = {"times": " * ", "cdot": " * ", "div": " / "}
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_FRACTIONS = frozenset((r"\frac", r"\dfrac", r"\tfrac", r"\cfrac"))
_BOLD = frozenset((r"\mathbf", r"\textbf"))
_CLOSING = {")": "(", "]": "["}


def latex_to_expression(latex: str) -> str | None:
    r"""Rewrites a LaTeX equation into the plain grammar; None for anything else.

    Braces become parentheses, ``\frac{a}{b}`` becomes ``((a)/(b))``, ``[ ]`` become
    ``( )`` when they match; any other command (``\sqrt``, powers via ``^``) is rejected.

    >>> latex_to_expression(r"\left(3 + 5\right) \cdot 2 = 16")
    '(3 + 5) * 2 = 16'
    >>> latex_to_expression(r"\dfrac{8}4 = \textbf{2}"), latex_to_expression(r"\frac123")
    ('((8)/(4)) = 2', '((1)/(2))3')
    >>> latex_to_expression(r"\sqrt{16}") is None
    True
    """
    if not isinstance(latex, str) or len(latex) > MAX_LATEX_CHARS:
        return None
    text = _SIZES.sub("", _SPACES.sub(" ", latex))
    text = _LATEX_OPERATORS.sub(lambda m: _OPERATOR_TEXT[m.group(1)], text)
    out, _ = _convert_group(text, 0, 0)
    if out is None or not _brackets_match(out):
        return None
    return " ".join(out.replace("[", "(").replace("]", ")").split())


def _convert_group(text: str, index: int, depth: int) -> tuple[str | None, int]:
    """Converts ``text`` from ``index`` up to the matching "}" (or the end at depth 0)."""
    if depth > MAX_LATEX_DEPTH:
        return None, index
    pieces: list[str] = []
    while index < len(text):
        char = text[index]
        if char in "^_":
            return None, index  # powers and subscripts are not Countdown operations
        if char == "}":
            return ("".join(pieces), index + 1) if depth > 0 else (None, index)
        if char == "{":
            inner, index = _convert_group(text, index + 1, depth + 1)
            if inner is None:
                return None, index
            pieces.append(f"({inner})")
            continue
        if char == "\\":
            command = _LATEX_COMMAND.match(text, index)
            name = None if command is None else command.group(0)
            if name in _FRACTIONS:
                converted, index = _convert_fraction(text, command.end(), depth)
            elif name in _BOLD and depth == 0 and _starts_side(pieces):
                converted, index = _convert_bold(text, command.end(), depth)
            else:
                return None, index
            if converted is None:
                return None, index
            pieces.append(converted)
            continue
        pieces.append(char)
        index += 1
    return ("".join(pieces), index) if depth == 0 else (None, index)


def _argument(text: str, index: int, depth: int) -> tuple[str | None, int]:
    """One macro argument, as LaTeX reads it: a braced group, or else a single character."""
    while index < len(text) and text[index] == " ":
        index += 1
    if index >= len(text):
        return None, index
    if text[index] == "{":
        return _convert_group(text, index + 1, depth + 1)
    if text[index] in "\\}":
        return None, index  # a command or a closing brace: not an operand we can read
    return text[index], index + 1


def _convert_fraction(text: str, index: int, depth: int) -> tuple[str | None, int]:
    numerator, index = _argument(text, index, depth)
    if numerator is None:
        return None, index
    denominator, index = _argument(text, index, depth)
    if denominator is None:
        return None, index
    return f"(({numerator})/({denominator}))", index


def _convert_bold(text: str, index: int, depth: int) -> tuple[str | None, int]:
    r"""``\mathbf{X}`` as X, allowed only around a whole side of the equation (or all of it)."""
    while index < len(text) and text[index] == " ":
        index += 1
    if index >= len(text) or text[index] != "{":
        return None, index
    inner, index = _convert_group(text, index + 1, depth + 1)
    rest = index
    while rest < len(text) and text[rest] == " ":
        rest += 1
    if inner is None or (rest < len(text) and text[rest] != "="):
        return None, index
    return inner, index


def _starts_side(pieces: list[str]) -> bool:
    """True when nothing but spaces stands since the start or the last "="."""
    for piece in reversed(pieces):
        if piece == "=":
            return True
        if not piece.isspace():
            return False
    return True


def _brackets_match(text: str) -> bool:
    """Every ")" closes a "(" and every "]" a "[", and nothing is left open."""
    stack: list[str] = []
    for char in text:
        if char in "([":
            stack.append(char)
        elif char in _CLOSING and (not stack or stack.pop() != _CLOSING[char]):
            return False
    return not stack
