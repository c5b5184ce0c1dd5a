r"""Exact, safe arithmetic for equation answers: parse, never execute.

The grammar is deliberately small: whole non-negative integer literals, the binary
operators ``+ - * /`` (the typographic ``× ÷`` too, and every minus sign of
``rewards.numbers.MINUS_SIGNS``: ``−``, ``–``, ...) and parentheses. There is no unary
minus, no power, no ``//``, no decimal point and no implicit multiplication, so an answer
like ``9**9**9`` or ``2.5*4`` is simply invalid. Values are ``fractions.Fraction``: exact,
and bounded because every literal must be one of a few small given numbers.

``rewards.latex.latex_to_expression`` turns the LaTeX that R1-distill models write inside
``\boxed{}`` into that grammar.

>>> evaluate_expression("(3 + 5) × 2")
Fraction(16, 1)
>>> evaluate_expression("2**3") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from rewards.numbers import MINUS_SIGNS, parse_integer

# Longer answers are not equations a model would write for a handful of numbers.
MAX_EXPRESSION_CHARS = 1_000
# Literals longer than this cannot be one of the given numbers; never convert them.
MAX_LITERAL_DIGITS = 18

_OPERATOR = {"+": "+", "*": "*", "×": "*", "/": "/", "÷": "/", "(": "(", ")": ")"} | dict.fromkeys(MINUS_SIGNS, "-")
_ALLOWED = re.compile(rf"[0-9{re.escape(''.join(_OPERATOR))}\s]*")
_TOKEN = re.compile(rf"[0-9]+|[{re.escape(''.join(_OPERATOR))}]")
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


def check_equation(answer: str, target: int, nums: list[int], *, target_first: bool = False) -> bool:
    """True iff ``answer`` uses every number of ``nums`` exactly once and equals ``target``.

    A trailing ``= N`` is allowed only when N is the target. With ``target_first`` a
    leading ``N =`` is allowed too, again only when N is the target (``24 = (6 - 2) * 6``);
    the ``<answer>`` format keeps its stricter rule, the boxed LaTeX format uses this one.
    At most one ``=``.

    >>> check_equation("80 + (70 / 14) = 85", 85, [14, 70, 80])
    True
    >>> check_equation("80 + 70 / 14 = 86", 85, [14, 70, 80])
    False
    >>> check_equation("2.5 * 4", 10, [2, 5, 4])
    False
    >>> check_equation("85 = 80 + 70 / 14", 85, [14, 70, 80]), check_equation("85 = 80 + 70 / 14", 85, [14, 70, 80], target_first=True)
    (False, True)
    """
    if not isinstance(answer, str):
        return False
    sides = answer.split("=", 2)
    if len(sides) > 2:
        return False
    expr = sides[0]
    if len(sides) == 2:
        if _states_target(sides[1], target):
            expr = sides[0]
        elif target_first and _states_target(sides[0], target):
            expr = sides[1]
        else:
            return False
    parsed = parse_expression(expr)
    if parsed is None or parsed.value != target:
        return False
    return sorted(parsed.numbers) == sorted(nums)


def _states_target(text: str, target: int) -> bool:
    return parse_integer(text) == target
