r"""Exact, safe arithmetic for equation answers: parse, never execute.

The grammar is deliberately small: whole non-negative integer literals, the binary
operators ``+ - * /`` (the typographic ``× ÷ −`` too) and parentheses. There is no unary
minus, no power, no ``//``, no decimal point and no implicit multiplication, so an answer
like ``9**9**9`` or ``2.5*4`` is simply invalid. Values are ``fractions.Fraction``: exact,
and bounded because every literal must be one of a few small given numbers.

``latex_to_expression`` turns the LaTeX that R1-distill models write inside ``\boxed{}``
(``\frac``, ``\times``, ``\div``, ``\cdot``, ``\left( \right)``, braces) into that grammar.

>>> evaluate_expression("(3 + 5) × 2")
Fraction(16, 1)
>>> evaluate_expression("2**3") is None
True
>>> latex_to_expression(r"\frac{6}{2} \times 4")
'((6)/(2)) * 4'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

# Longer answers are not equations a model would write for a handful of numbers.
MAX_EXPRESSION_CHARS = 1_000
# Literals longer than this cannot be one of the given numbers; never convert them.
MAX_LITERAL_DIGITS = 18

_ALLOWED = re.compile(r"[0-9+\-*/×÷−()\s]*")
_TOKEN = re.compile(r"[0-9]+|[-+*/×÷−()]")
_OPERATOR = {"+": "+", "-": "-", "−": "-", "*": "*", "×": "*", "/": "/", "÷": "/", "(": "(", ")": ")"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


@dataclass(frozen=True)
class ParsedExpression:
    """A valid expression: its exact value and the integer literals it uses, in order."""

    value: Fraction
    numbers: tuple[int, ...]


def parse_expression(expr: str) -> ParsedExpression | None:
    """Parses and evaluates ``expr`` exactly; None when it is not in the grammar.

    Division by zero also gives None.

    >>> parse_expression("80 + (70 / 14)")
    ParsedExpression(value=Fraction(85, 1), numbers=(80, 70, 14))
    >>> parse_expression("-3 + 5") is None, parse_expression("2(3 + 4)") is None
    (True, True)
    """
    tokens = _tokenize(expr)
    if tokens is None:
        return None
    postfix = _to_postfix(tokens)
    if postfix is None:
        return None
    value = _evaluate_postfix(postfix)
    if value is None:
        return None
    return ParsedExpression(value, tuple(t for t in tokens if isinstance(t, int)))


def evaluate_expression(expr: str) -> Fraction | None:
    """Returns the exact value of ``expr``, or None when it is invalid.

    >>> evaluate_expression("7 / 2")
    Fraction(7, 2)
    >>> evaluate_expression("1 / (2 - 2)") is None
    True
    """
    parsed = parse_expression(expr)
    return None if parsed is None else parsed.value


def _tokenize(expr: str) -> list[int | str] | None:
    """Splits into ints and ASCII operator/paren strings; None on any other character."""
    if not isinstance(expr, str) or len(expr) > MAX_EXPRESSION_CHARS or not _ALLOWED.fullmatch(expr):
        return None
    tokens: list[int | str] = []
    for token in _TOKEN.findall(expr):
        if token[0] in _OPERATOR:
            tokens.append(_OPERATOR[token])
        elif len(token) > MAX_LITERAL_DIGITS:
            return None
        else:
            tokens.append(int(token))
    return tokens


def _to_postfix(tokens: list[int | str]) -> list[int | str] | None:
    """Shunting-yard with a strict operand/operator alternation check (iterative, no recursion)."""
    output: list[int | str] = []
    stack: list[str] = []
    expect_operand = True
    for token in tokens:
        if expect_operand:
            if isinstance(token, int):
                output.append(token)
                expect_operand = False
            elif token == "(":
                stack.append(token)
            else:
                return None  # an operator or ")" where a number belongs: unary sign, "()", "+*"
        elif token == ")":
            while stack and stack[-1] != "(":
                output.append(stack.pop())
            if not stack:
                return None
            stack.pop()
        elif token in _PRECEDENCE:
            while stack and stack[-1] != "(" and _PRECEDENCE[stack[-1]] >= _PRECEDENCE[token]:
                output.append(stack.pop())
            stack.append(token)
            expect_operand = True
        else:
            return None  # a number or "(" right after an operand: implicit multiplication
    if expect_operand or "(" in stack:
        return None
    output.extend(reversed(stack))
    return output


def _evaluate_postfix(postfix: list[int | str]) -> Fraction | None:
    """Evaluates exactly: ints while divisions are exact, Fractions after that."""
    values: list[int | Fraction] = []
    for token in postfix:
        if isinstance(token, int):
            values.append(token)
            continue
        right, left = values.pop(), values.pop()
        if token == "+":
            values.append(left + right)
        elif token == "-":
            values.append(left - right)
        elif token == "*":
            values.append(left * right)
        elif right == 0:
            return None
        elif isinstance(left, int) and isinstance(right, int) and left % right == 0:
            values.append(left // right)
        else:
            values.append(Fraction(left) / right)
    return Fraction(values[0])


def check_equation(answer: str, target: int, nums: list[int]) -> bool:
    """True iff ``answer`` uses every number of ``nums`` exactly once and equals ``target``.

    A trailing ``= N`` is allowed only when N is the target.

    >>> check_equation("80 + (70 / 14) = 85", 85, [14, 70, 80])
    True
    >>> check_equation("80 + 70 / 14 = 86", 85, [14, 70, 80])
    False
    >>> check_equation("2.5 * 4", 10, [2, 5, 4])
    False
    """
    if not isinstance(answer, str):
        return False
    expr, *stated = answer.split("=")
    if len(stated) > 1:
        return False
    if stated and not _states_target(stated[0], target):
        return False
    parsed = parse_expression(expr)
    if parsed is None or parsed.value != target:
        return False
    return sorted(parsed.numbers) == sorted(nums)


def _states_target(text: str, target: int) -> bool:
    match = re.fullmatch(r"\s*(-?[0-9]{1,18})\s*", text)
    return match is not None and int(match.group(1)) == target


_LATEX_SPACES = re.compile(r"\\[,;:! ]|\\quad|~")
_LATEX_OPERATORS = {r"\times": " * ", r"\cdot": " * ", r"\div": " / "}
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_FRACTIONS = (r"\frac", r"\dfrac", r"\tfrac")
# LaTeX groups nested deeper than this are not a Countdown answer.
MAX_LATEX_DEPTH = 50


def latex_to_expression(latex: str) -> str | None:
    r"""Rewrites a LaTeX equation into the plain grammar; None for anything else.

    Braces become parentheses, ``\frac{a}{b}`` becomes ``((a)/(b))``, ``\left(`` and
    ``\right)`` become parentheses; any other command (``\sqrt``, powers via ``^``) is
    rejected.

    >>> latex_to_expression(r"\left(3 + 5\right) \cdot 2 = 16")
    '(3 + 5) * 2 = 16'
    >>> latex_to_expression(r"2^{3}") is None
    True
    """
    if not isinstance(latex, str) or len(latex) > MAX_EXPRESSION_CHARS:
        return None
    text = _LATEX_SPACES.sub(" ", latex).replace(r"\left", "").replace(r"\right", "")
    for command, operator in _LATEX_OPERATORS.items():
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", operator, text)
    out, _ = _convert_group(text, 0, 0)
    return None if out is None else " ".join(out.split())


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
            if command is None or command.group(0) not in _FRACTIONS:
                return None, index
            fraction, index = _convert_fraction(text, command.end(), depth)
            if fraction is None:
                return None, index
            pieces.append(fraction)
            continue
        pieces.append(char)
        index += 1
    return ("".join(pieces), index) if depth == 0 else (None, index)


def _convert_fraction(text: str, index: int, depth: int) -> tuple[str | None, int]:
    parts = []
    for _ in range(2):
        while index < len(text) and text[index] == " ":
            index += 1
        if index >= len(text) or text[index] != "{":
            return None, index
        inner, index = _convert_group(text, index + 1, depth + 1)
        if inner is None:
            return None, index
        parts.append(inner)
    return f"(({parts[0]})/({parts[1]}))", index
