"""Worked-solution traces: full marks from the task's own rewards, right carries, real misses, short."""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import pytest

from data_prep import (
    arithmetic_rows,
    arithmetic_trace,
    build_prompt,
    countdown_rows,
    countdown_trace,
    gsm8k_fixture,
    gsm8k_trace,
    prefill_of,
)
from data_prep.traces import countdown_misses
from data_prep.written_arithmetic import question_lines
from rewards import (
    boxed_countdown_reward,
    countdown_reward,
    evaluate_expression,
    int_reward,
    number_correctness_reward,
    soft_format_reward,
    strict_format_reward,
    think_answer_format_reward,
    xmlcount_reward,
)


def as_completion(text: str) -> list[list[dict[str, str]]]:
    return [[{"role": "assistant", "content": text}]]


def number_scores(text: str, style: str, answer: str) -> list[float]:
    """Every reward of a number-answer style, in a fixed order."""
    c = as_completion(text)
    scores = [number_correctness_reward(c, answer=[answer])[0], int_reward(c)[0]]
    if style == "gsm8k_xml":
        return scores + [xmlcount_reward(c)[0], soft_format_reward(c)[0], strict_format_reward(c)[0]]
    return scores + [think_answer_format_reward(c)[0]]


FULL = {"gsm8k_xml": [2.0, 0.5, 0.5, 0.5, 0.5], "think_answer": [2.0, 0.5, 1.0], "qwen_think": [2.0, 0.5, 1.0]}

# --- arithmetic: the written procedure --------------------------------------------------------


@pytest.mark.parametrize(
    "question, lines",
    [
        ("What is 47 + 38?", ["7+8=15, write 5 carry 1", "4+3+1=8"]),  # one carry
        ("What is 99 + 1?", ["9+1=10, write 0 carry 1", "9+0+1=10"]),  # carry into a new digit
        ("What is 3 + 5?", ["3+5=8"]),  # one-digit fact
        (
            "What is 100 - 1?",
            ["0-1<0, borrow: 10-1=9, write 9", "0-1-0<0, borrow: 10-1-0=9, write 9", "1-1-0=0"],
        ),  # borrow across zeros
        (
            "What is 305 - 178?",
            ["5-8<0, borrow: 15-8=7, write 7", "0-1-7<0, borrow: 10-1-7=2, write 2", "3-1-1=1"],
        ),  # two borrows
        ("What is 52 - 38?", ["2-8<0, borrow: 12-8=4, write 4", "5-1-3=1"]),  # one borrow
        ("What is 7 * 8?", ["7*8=56"]),  # times table
        ("What is 23 * 4?", ["3*4=12, write 2 carry 1", "2*4+1=9"]),  # carry in a product
        ("What is 4 * 99?", ["9*4=36, write 6 carry 3", "9*4+3=39"]),  # longer number first
        ("What is 56 / 8?", ["56/8=7, since 7*8=56"]),  # division as a checked fact
        (
            "What is 12 + 7 - 3?",
            ["12+7:", "2+7=9, write 9", "1+0=1", "19-3:", "9-3=6, write 6", "1-0=1"],
        ),  # left to right, headers
        ("What is 2 + 3 * 4?", ["3*4=12", "2+12:", "2+2=4, write 4", "0+1=1"]),  # * before +
        ("What is 3 - 7?", ["3-7=-4"]),  # negative fact
        (
            "What is 3 - 17 + 5?",
            [
                "3-17=-(17-3)",
                "7-3=4, write 4",
                "1-0=1",
                "-14+5=5-14",
                "5-14=-(14-5)",
                "4-5<0, borrow: 14-5=9, write 9",
                "1-1-0=0",
            ],
        ),  # negative running total
        (
            "What is 47 * 38?",
            [
                "47*8:",
                "7*8=56, write 6 carry 5",
                "4*8+5=37",
                "47*3:",
                "7*3=21, write 1 carry 2",
                "4*3+2=14",
                "47*30=1410",
                "376+1410:",
                "6+0=6, write 6",
                "7+1=8, write 8",
                "3+4=7, write 7",
                "0+1=1",
            ],
        ),  # long multiplication
    ],
)
def test_written_procedure(question, lines):
    assert question_lines(question)[0] == lines


@pytest.mark.parametrize(
    "question",
    [
        "What is 7 / 2?",  # inexact division
        "What is 07 + 1?",  # leading zero: not our generator's format
        "What is 3 ^ 2?",  # unknown operator
        "what is 3 + 2?",  # wrong case
        "What is 3+2?",  # no spaces
        "What is -3 + 2?",  # negative literal
    ],
)
def test_questions_outside_the_format_are_rejected(question):
    with pytest.raises(ValueError):
        question_lines(question)


_PIECE = re.compile(r"(?:borrow: |since )?(-?[0-9(][-+*/()0-9]*)(<|=)(-?[-+*/()0-9]+)")


def _value(text: str) -> Fraction:
    value = evaluate_expression("0" + text if text.startswith("-") else text)
    assert value is not None, text
    return value


def check_lines(lines: list[str]) -> None:
    """Every step is true arithmetic, and each written digit and carry follows from it."""
    for line in lines:
        if line.endswith(":"):
            continue
        pieces = line.split(", ")
        for piece in pieces:
            if piece.startswith("write"):
                continue
            match = _PIECE.fullmatch(piece)
            assert match, (line, piece)
            left, relation, right = match.groups()
            if relation == "<":
                assert _value(left) < _value(right), line
            else:
                assert _value(left) == _value(right), line
        written = re.search(r"=(\d+), write (\d+)(?: carry (\d+))?$", line)
        if written:
            total, digit, carry = int(written[1]), int(written[2]), int(written[3] or 0)
            assert (digit, carry) == (total % 10, total // 10), line


@pytest.mark.parametrize(
    "options",
    [
        {},  # one-digit +
        {"digits": 2, "operators": "+-"},  # two-digit + and -
        {"digits": 3, "operators": "-"},  # borrows across columns
        {"digits": 2, "operators": "+-*/", "terms": 3},  # precedence, long multiplication
        {"operators": "+-", "terms": 4, "allow_negative": True},  # negative running totals
        {"digits": 4, "operators": "*"},  # four-digit long multiplication
    ],
)
def test_every_step_is_true_and_the_digits_make_the_answer(options):
    for row in arithmetic_rows(60, seed=8, **options):
        lines, value = question_lines(row["question"])
        assert str(value) == row["answer"]
        check_lines(lines)
        if row["question"].count(" ") == 4 and len(lines) > 1 and not any(":" in line or "(" in line for line in lines):
            # one operation done in columns: the leftmost result, then the written digits
            writes = [re.search(r"write (\d)", line)[1] for line in lines[:-1]]
            assert int(lines[-1].split("=")[-1] + "".join(reversed(writes))) == value


# --- number answers: rewards pay in full ------------------------------------------------------


@pytest.mark.parametrize("style", ["think_answer", "qwen_think", "gsm8k_xml"])
@pytest.mark.parametrize(
    "options",
    [
        {},  # the CPU demo's one-digit sums
        {"digits": 2, "operators": "+-"},  # two-digit + and -
        {"digits": 2, "operators": "+-*/", "terms": 3},  # mixed operators
        {"operators": "-", "allow_negative": True, "terms": 3},  # negative answers
    ],
)
def test_arithmetic_traces_score_full_marks(style, options):
    for row in arithmetic_rows(40, seed=3, prompt_style=style, **options):
        text = arithmetic_trace(row, style)
        assert text.startswith(prefill_of(row["prompt"]))
        assert number_scores(text, style, row["answer"]) == FULL[style], text
        assert arithmetic_trace(dict(row), style) == text  # deterministic


@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("style", ["gsm8k_xml", "think_answer", "qwen_think"])
def test_gsm8k_traces_score_full_marks(split, style):
    for row in gsm8k_fixture(style, split=split):
        text = gsm8k_trace(row, style)
        assert text.startswith(prefill_of(row["prompt"]))
        assert row["solution"] in text and "<<" not in text and "####" not in text
        assert number_scores(text, style, row["answer"]) == FULL[style], text
        assert gsm8k_trace(dict(row), style) == text  # deterministic


def test_gsm8k_xml_trace_layout():
    row = gsm8k_fixture()[0]
    assert gsm8k_trace(row) == (
        "<reasoning>\nAfter her brother's gift Mia has 18 + 9 = 27 stickers.\n"
        "After buying the pack she has 27 + 7 = 34 stickers.\n</reasoning>\n<answer>\n34\n</answer>\n"
    )


# --- Countdown --------------------------------------------------------------------------------

_MISS = re.compile(r"Try (.+) = (\d+), (\d+) too (high|low)\.")
_STEP = re.compile(r"(\S+) ([-+*/]) (\S+) = (\S+)")


def _number(text: str) -> Fraction:
    return Fraction(text.removeprefix("(").removesuffix(")"))


def check_countdown_reasoning(text: str, row: dict) -> None:
    """Misses really miss with all the numbers; the solution's steps are exact and hit the target."""
    lines = [line for line in text.splitlines() if line.startswith("Try ")]
    assert 2 <= len(lines) <= 3, text  # one or two misses, then the solution
    for line in lines[:-1]:
        expr, value, gap, direction = _MISS.fullmatch(line).groups()
        assert evaluate_expression(expr) == int(value) != row["target"], line
        assert sorted(int(n) for n in re.findall(r"\d+", expr)) == sorted(row["nums"]), line
        assert int(gap) == abs(int(value) - row["target"])
        assert direction == ("high" if int(value) > row["target"] else "low")
    last = lines[-1]
    assert last.endswith(". It works.")
    expr, _, steps = last[len("Try ") : -len(". It works.")].partition(": ")
    if not steps:  # one operation: "Try 1 + 7 = 8. It works."
        expr, steps = expr.rsplit(" = ", 1)[0], expr
    values = []
    for step in steps.split(", "):
        left, op, right, result = _STEP.fullmatch(step).groups()
        a, b = _number(left), _number(right)
        assert {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}[op] == _number(result), step
        values.append(_number(result))
    assert values[-1] == row["target"] == evaluate_expression(expr)


@pytest.mark.parametrize(
    "options",
    [
        {},  # 3-4 numbers, + - * /
        {"num_counts": (2,), "max_number": 9, "max_target": 20, "operators": "+-"},  # the small CPU variant
        {"num_counts": (4,), "operators": "+*"},  # no - or /
    ],
)
@pytest.mark.parametrize("style", ["qwen_think", "r1_boxed"])
def test_countdown_traces_score_full_marks_and_check_out(style, options):
    rows = countdown_rows(40, seed=6, prompt_style=style, **options)
    allowed = set(options.get("operators", "+-*/"))
    for row in rows:
        text = countdown_trace(row, style)
        assert text.startswith(prefill_of(row["prompt"]))
        c, columns = as_completion(text), {"target": [row["target"]], "nums": [row["nums"]]}
        if style == "qwen_think":
            assert countdown_reward(c, **columns) == [1.0] and think_answer_format_reward(c) == [1.0], text
        else:
            assert boxed_countdown_reward(c, **columns) == [1.0] and "<think>" not in text, text
        check_countdown_reasoning(text, row)
        assert set(re.findall(r" ([-+*/]) ", text)) <= allowed  # tries use allowed operators only
        assert countdown_trace(dict(row), style) == text  # deterministic


def test_a_lone_number_needs_no_search():
    text = countdown_trace({"nums": [9], "target": 9})
    assert text.endswith("<think>\nTry 9 = 9. It works.\n</think>\n<answer>9</answer>")
    assert countdown_reward(as_completion(text), target=[9], nums=[[9]]) == [1.0]


def test_countdown_without_solution_column_is_solved_from_the_prompt():
    row = {"nums": [7, 4], "target": 3, "prompt": build_prompt("qwen_think", nums=[7, 4], target=3, operators="+-")}
    text = countdown_trace(row)
    assert text.endswith("<answer>7 - 4</answer>") and set(re.findall(r" ([-+*/]) ", text)) <= {"+", "-"}


@pytest.mark.parametrize(
    "nums, target, misses",
    [
        ([3, 5, 2], 16, [("2 + 3 + 5", 10), ("2 + 3 * 5", 17)]),  # two near misses, farther first
        ([73, 98, 9], 19, [("98 - 73 - 9", 16)]),  # far values are not tried
        ([10, 3], 7, [("3 + 10", 13)]),  # two numbers, + and -: the sum misses
    ],
)
def test_misses_are_near_and_deterministic(nums, target, misses):
    found = [(m.text, m.value) for m in countdown_misses(nums, target)]
    assert found == misses == [(m.text, m.value) for m in countdown_misses(nums, target)]


# --- errors, lengths ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make, row, style",
    [
        (arithmetic_trace, {"question": "What is 2 + 2?", "answer": "5"}, "think_answer"),  # wrong gold answer
        (arithmetic_trace, {"question": "What is 2 + 2?", "answer": "4"}, "r1_boxed"),  # no number style
        (
            arithmetic_trace,
            {
                "question": "What is 2 + 2?",
                "answer": "4",
                "prompt": build_prompt("answer_only", question="What is 2 + 2?"),
            },
            "think_answer",
        ),  # prompt of another style
        (arithmetic_trace, {"question": "How much is 2 and 2?", "answer": "4"}, "think_answer"),  # unreadable question
        (countdown_trace, {"nums": [3, 5], "target": 8}, "think_answer"),  # countdown in a number style
        (countdown_trace, {"nums": [1, 1], "target": 5}, "qwen_think"),  # unsolvable
        (countdown_trace, {"nums": [3, 5], "target": 8, "solution": "3 * 5"}, "qwen_think"),  # wrong solution
        (countdown_trace, {"nums": [3, 5], "target": 8, "solution": "3 + 5 +"}, "qwen_think"),  # unreadable solution
        (countdown_trace, {"nums": [1] * 7, "target": 7}, "qwen_think"),  # too many numbers
        (gsm8k_trace, {"solution": "<answer>1</answer>", "answer": "1"}, "gsm8k_xml"),  # solution with a tag
        (gsm8k_trace, {"question": "What is 2 + 2?", "answer": "4"}, "gsm8k_xml"),  # no worked solution
    ],
)
def test_bad_rows_raise(make, row, style):
    with pytest.raises(ValueError):
        make(row, style)


_ROUGH_TOKEN = re.compile(r"</|[A-Za-z]+|\S| (?=[0-9])|\n")


def rough_tokens(text: str) -> int:
    """An upper estimate of SmolLM2 tokens: words, digits, symbols and ``</`` one each, and a space before a digit."""
    return len(_ROUGH_TOKEN.findall(text))


@pytest.mark.parametrize("operators", ["+", "-"])
def test_two_digit_traces_stay_short(operators):
    for row in arithmetic_rows(200, seed=0, digits=2, operators=operators, prompt_style="think_answer"):
        text = arithmetic_trace(row)
        assert rough_tokens(text) <= 45 and len(text) <= 80, text


def test_rough_count_is_an_upper_bound_of_the_real_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    cache = Path(os.environ.get("R1KIT_CACHE") or Path.home() / ".cache" / "r1kit")
    path = cache / "smollm2-135m-instruct" / "tokenizer.json"
    if not path.exists():
        pytest.skip("SmolLM2 is not converted on this machine")
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    two_digit = [
        arithmetic_trace(r) for r in arithmetic_rows(100, seed=1, digits=2, operators="+-", prompt_style="think_answer")
    ]
    for text in two_digit + [countdown_trace(r) for r in countdown_rows(10, seed=1)]:
        assert len(tokenizer.encode(text, add_special_tokens=False).ids) <= rough_tokens(text), text
    assert max(len(tokenizer.encode(t, add_special_tokens=False).ids) for t in two_digit) <= 45
