"""Written arithmetic the school way, as short text lines for worked solutions (SFT traces).

Column addition with carries, column subtraction with borrows, multiplication by a one-digit
number with carries (longer multipliers: one row per digit, then column additions), and
exact division as a checked fact. Two one-digit numbers are a plain fact (``7+8=15``).
Columns run from the ones digit up; every column but the leftmost says which digit is
written, the leftmost writes its whole result. Steps hold no spaces: SmolLM2's tokenizer
gives every digit and symbol its own token, so each space is a token too.

Used by :mod:`data_prep.traces`; every function returns ``(lines, exact result)``.

>>> add_lines(47, 38)
(['7+8=15, write 5 carry 1', '4+3+1=8'], 85)
>>> question_lines("What is 12 + 7 - 3?")[0]
['12+7:', '2+7=9, write 9', '1+0=1', '19-3:', '9-3=6, write 6', '1-0=1']
"""

from __future__ import annotations

import re

_QUESTION = re.compile(r"What is ((?:0|[1-9][0-9]*)(?: [-+*/] (?:0|[1-9][0-9]*))*)\?")


def _digits(n: int, width: int) -> list[int]:
    """The digits of ``n >= 0``, ones first, padded with zeros to ``width``."""
    return [int(c) for c in reversed(str(n).rjust(width, "0"))]


def add_lines(a: int, b: int) -> tuple[list[str], int]:
    """``a + b`` for ``a, b >= 0``: column by column with carries.

    >>> add_lines(99, 1)[0]
    ['9+1=10, write 0 carry 1', '9+0+1=10']
    """
    if a < 10 and b < 10:
        return [f"{a}+{b}={a + b}"], a + b
    width = max(len(str(a)), len(str(b)))
    lines, carry = [], 0
    for i, (x, y) in enumerate(zip(_digits(a, width), _digits(b, width))):
        total = x + y + carry
        step = f"{x}+{y}" + (f"+{carry}" if carry else "") + f"={total}"
        if i < width - 1:
            step += f", write {total % 10}" + (f" carry {total // 10}" if total >= 10 else "")
        lines.append(step)
        carry = total // 10
    return lines, a + b


def sub_lines(a: int, b: int) -> tuple[list[str], int]:
    """``a - b`` for ``a >= b >= 0``: column by column; a borrow shows as ``-1`` in the next column.

    >>> sub_lines(52, 38)[0]
    ['2-8<0, borrow: 12-8=4, write 4', '5-1-3=1']
    """
    if not 0 <= b <= a:
        raise ValueError(f"sub_lines needs a >= b >= 0, got {a} - {b}")
    if a < 10:
        return [f"{a}-{b}={a - b}"], a - b
    width = len(str(a))
    lines, borrow = [], 0
    for i, (x, y) in enumerate(zip(_digits(a, width), _digits(b, width))):
        expr = f"{x}" + ("-1" if borrow else "") + f"-{y}"
        value = x - borrow - y
        borrow = int(value < 0)
        if borrow:
            lines.append(f"{expr}<0, borrow: 1{expr}={value + 10}, write {value + 10}")
        else:
            lines.append(f"{expr}={value}" + (f", write {value}" if i < width - 1 else ""))
    return lines, a - b


def mul_lines(a: int, b: int) -> tuple[list[str], int]:
    """``a * b`` for ``a, b >= 0``: the longer number times each digit of the shorter, with carries.

    >>> mul_lines(23, 4)[0]
    ['3*4=12, write 2 carry 1', '2*4+1=9']
    """
    if a < 10 and b < 10:
        return [f"{a}*{b}={a * b}"], a * b
    big, small = (a, b) if len(str(a)) >= len(str(b)) else (b, a)
    if small < 10:
        width = len(str(big))
        lines, carry = [], 0
        for i, x in enumerate(_digits(big, width)):
            total = x * small + carry
            step = f"{x}*{small}" + (f"+{carry}" if carry else "") + f"={total}"
            if i < width - 1:
                step += f", write {total % 10}" + (f" carry {total // 10}" if total >= 10 else "")
            lines.append(step)
            carry = total // 10
        return lines, a * b
    lines, partials = [], []
    for k, digit in enumerate(_digits(small, len(str(small)))):
        rows, value = mul_lines(big, digit)
        lines += [f"{big}*{digit}:"] + rows
        if k:
            lines.append(f"{big}*{digit}{'0' * k}={value}{'0' * k}")
        partials.append(value * 10**k)
    total = partials[0]
    for part in partials[1:]:
        rows, value = add_lines(total, part)
        lines += [f"{total}+{part}:"] + rows
        total = value
    return lines, a * b


def div_lines(a: int, b: int) -> tuple[list[str], int]:
    """``a / b`` when it is exact, as a fact with its check; ValueError otherwise.

    >>> div_lines(56, 8)
    (['56/8=7, since 7*8=56'], 7)
    """
    if b == 0 or a % b:
        raise ValueError(f"only exact divisions are written out, got {a} / {b}")
    return [f"{a}/{b}={a // b}, since {a // b}*{b}={a}"], a // b


def operation_lines(x: int, op: str, y: int) -> tuple[list[str], int]:
    """One operation ``x op y`` with ``y >= 0``; ``x`` may be negative for + and -.

    >>> operation_lines(3, "-", 17)
    (['3-17=-(17-3)', '7-3=4, write 4', '1-0=1'], -14)
    >>> operation_lines(-4, "+", 5)
    (['-4+5=1'], 1)
    """
    if op in "*/" and x < 0:
        raise ValueError(f"products of negative numbers are not written out: {x}{op}{y}")
    if op == "*":
        return mul_lines(x, y)
    if op == "/":
        return div_lines(x, y)
    value = x + y if op == "+" else x - y
    if abs(x) < 10 and y < 10 and (x < 0 or value < 0):
        return [f"{x}{op}{y}={value}"], value  # one-digit fact with a negative number
    if x >= 0 and op == "+":
        return add_lines(x, y)
    if x >= 0 and x >= y:
        return sub_lines(x, y)
    if x >= 0:  # x - y with x < y: the difference, negated
        lines, diff = sub_lines(y, x)
        return [f"{x}-{y}=-({y}-{x})"] + lines, -diff
    if op == "+":  # -a + y = y - a
        lines, value = operation_lines(y, "-", -x)
        return [f"{x}+{y}={y}-{-x}"] + lines, value
    lines, total = add_lines(-x, y)  # -a - y = -(a + y)
    return [f"{x}-{y}=-({-x}+{y})"] + lines, -total


def question_lines(question: str) -> tuple[list[str], int]:
    """Every operation of "What is a op b ...?", * and / first, then left to right.

    With more than one operation, each one whose first line does not name it opens with a
    header such as ``12+7:``; the next operation shows its result.

    >>> question_lines("What is 2 + 3 * 4?")
    (['3*4=12', '2+12:', '2+2=4, write 4', '0+1=1'], 14)
    """
    match = _QUESTION.fullmatch(question) if isinstance(question, str) else None
    if match is None:
        raise ValueError(f"not a question of the form 'What is 12 + 7 - 3?': {question!r}")
    tokens = match.group(1).split(" ")
    numbers, ops = [int(t) for t in tokens[::2]], tokens[1::2]
    blocks: list[tuple[str, list[str]]] = []

    def run(x: int, op: str, y: int) -> int:
        lines, value = operation_lines(x, op, y)
        blocks.append((f"{x}{op}{y}", lines))
        return value

    terms, signs, product = [], ["+"], numbers[0]
    for op, number in zip(ops, numbers[1:]):
        if op in "*/":
            product = run(product, op, number)
        else:
            terms.append(product)
            signs.append(op)
            product = number
    terms.append(product)
    total = terms[0]
    for op, term in zip(signs[1:], terms[1:]):
        total = run(total, op, term)
    if len(blocks) == 1:
        return blocks[0][1], total
    lines = []
    for head, rows in blocks:
        names_itself = rows[0].startswith(head + "=")  # a fact, or a rewrite such as 3-17=-(17-3)
        lines += rows if names_itself else [head + ":"] + rows
    return lines, total
