"""Countdown solver and generator, and the GSM8K fixture, checked with an independent exact parser."""

from __future__ import annotations

import random
import re
import time
from fractions import Fraction
from itertools import permutations

import pytest

from data_prep import (
    countdown_dataset,
    countdown_rows,
    countdown_targets,
    extract_hash_answer,
    gsm8k_fixture,
    read_raw_fixture,
    solve_countdown,
    worked_solution,
)

_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|[-+*/()])")


def evaluate(text: str) -> tuple[Fraction, list[str], list[str]]:
    """Exact value, number literals and operators of ``text`` (+ - * / and parentheses only)."""
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        assert match, f"bad character in {text!r} at {pos}"
        tokens.append(match.group(1))
        pos = match.end()
    numbers = [t for t in tokens if t[0].isdigit()]
    operators = [t for t in tokens if t in "+-*/"]
    items = iter(tokens + [None])
    current = [next(items)]

    def take() -> str | None:
        token = current[0]
        current[0] = next(items)
        return token

    def factor() -> Fraction:
        token = take()
        if token == "(":
            value = expr()
            assert take() == ")", text
            return value
        assert token is not None and token[0].isdigit(), text
        return Fraction(token)

    def term() -> Fraction:
        value = factor()
        while current[0] in ("*", "/"):
            value = value * factor() if take() == "*" else value / factor()
        return value

    def expr() -> Fraction:
        value = term()
        while current[0] in ("+", "-"):
            value = value + term() if take() == "+" else value - term()
        return value

    value = expr()
    assert current[0] is None, f"trailing tokens in {text!r}"
    return value, numbers, operators


def _tree_values(seq: tuple[Fraction, ...], ops: str) -> set[Fraction]:
    """Every value of every binary tree over ``seq`` in this order."""
    if len(seq) == 1:
        return {seq[0]}
    values = set()
    for k in range(1, len(seq)):
        for a in _tree_values(seq[:k], ops):
            for b in _tree_values(seq[k:], ops):
                for op in ops:
                    if op == "/" and b == 0:
                        continue
                    values.add({"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b)
    return values


def brute_force(nums: list[int], ops: str) -> set[Fraction]:
    """All values of expressions using every number once: all orders, all trees."""
    return set().union(*(_tree_values(tuple(map(Fraction, p)), ops) for p in set(permutations(nums))))


def assert_solution(expression: str, nums: list[int], target: int, ops: str = "+-*/") -> None:
    value, numbers, operators = evaluate(expression)
    assert value == target, expression
    assert sorted(int(n) for n in numbers) == sorted(nums), expression
    assert set(operators) <= set(ops), expression


# --- solver -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nums, target, ops, solvable",
    [
        ([3, 5, 2], 16, "+-*/", True),  # (3 + 5) * 2
        ([4, 7], 3, "+-", True),  # 7 - 4
        ([1, 1], 5, "+-*/", False),  # too small
        ([6, 4], 1, "+-*/", False),  # 6/4, 4/6, ... never 1
        ([8, 3, 8, 3], 24, "+-*/", True),  # needs a fractional step: 8 / (3 - 8 / 3)
        ([5, 5, 5, 1], 24, "+-*/", True),  # (5 - 1 / 5) * 5
        ([0, 7], 7, "+-*/", True),  # zero is a number too; 7 / 0 is never formed
        ([9], 9, "+", True),  # a single number is its own expression
        ([25, 50, 75, 100, 3, 6], 259, "+-*/", True),  # six numbers: their sum
        ([1, 1, 1, 1, 1], 999, "+-*/", False),  # five numbers, impossible, still quick
    ],
)
def test_solver_cases(nums, target, ops, solvable):
    expression = solve_countdown(nums, target, ops)
    assert (expression is not None) == solvable
    if solvable:
        assert_solution(expression, nums, target, ops)


def test_solver_matches_brute_force_on_random_instances():
    rng = random.Random(1234)
    for _ in range(150):
        nums = [rng.randint(0, 10) for _ in range(rng.choice((2, 3, 3, 4)))]
        ops = rng.choice(("+-*/", "+-*/", "+-", "+*", "*/", "-"))
        reachable = brute_force(nums, ops)
        target = rng.choice([rng.randint(-5, 40), int(rng.choice(sorted(reachable)))])
        expression = solve_countdown(nums, target, ops)
        assert (expression is not None) == (target in reachable), (nums, target, ops)
        if expression is not None:
            assert_solution(expression, nums, target, ops)


def test_targets_match_brute_force():
    rng = random.Random(99)
    for _ in range(40):
        nums = [rng.randint(1, 12) for _ in range(rng.choice((2, 3, 4)))]
        ops = rng.choice(("+-*/", "+-", "+*"))
        whole = {int(v) for v in brute_force(nums, ops) if v.denominator == 1}
        targets = countdown_targets(nums, ops)
        assert set(targets) == whole
        for target, expression in targets.items():
            assert_solution(expression, nums, target, ops)


def test_solver_parenthesises_only_where_needed():
    assert solve_countdown([3, 5, 2], 16) == "(3 + 5) * 2"
    assert countdown_targets([2, 3], "+*") == {5: "2 + 3", 6: "2 * 3"}


def test_six_numbers_stay_reasonable():
    start = time.perf_counter()
    expression = solve_countdown([75, 50, 2, 3, 8, 7], 812)
    assert expression is not None and time.perf_counter() - start < 10
    assert_solution(expression, [75, 50, 2, 3, 8, 7], 812)


@pytest.mark.parametrize(
    "nums, target, ops",
    [
        ([], 3, "+"),  # no numbers
        ([1, 2, 3, 4, 5, 6, 7], 3, "+"),  # more than six
        ([1, -2], 3, "+"),  # negative numbers would need a unary minus
        ([1, 2.5], 3, "+"),  # not integers
        ([1, 2], 3.0, "+"),  # target not an integer
        ([1, 2], 3, "^"),  # unknown operator
        ([1, 2], 3, ""),  # no operator
    ],
)
def test_solver_rejects_bad_input(nums, target, ops):
    with pytest.raises(ValueError):
        solve_countdown(nums, target, ops)


# --- generator --------------------------------------------------------------------------------


def test_rows_are_deterministic_and_seed_dependent():
    assert countdown_rows(15, seed=3) == countdown_rows(15, seed=3)
    assert countdown_rows(15, seed=3) != countdown_rows(15, seed=4)


def test_default_rows_are_solvable_mixed_and_in_range():
    rows = countdown_rows(80, seed=0)
    assert {len(r["nums"]) for r in rows} == {3, 4}
    assert len({r["target"] for r in rows}) > 30  # targets spread over the range
    for row in rows:
        assert 1 <= row["target"] <= 99 and all(1 <= x <= 99 for x in row["nums"])
        assert_solution(row["solution"], row["nums"], row["target"])
        assert solve_countdown(row["nums"], row["target"]) is not None


def test_small_cpu_variant_uses_only_allowed_operators():
    rows = countdown_rows(40, seed=5, num_counts=(2,), max_number=9, max_target=20, operators="+-")
    for row in rows:
        assert len(row["nums"]) == 2 and 1 <= row["target"] <= 20
        assert_solution(row["solution"], row["nums"], row["target"], "+-")
        assert "Allowed operations: +, -." in row["prompt"][1]["content"]


def test_generated_solutions_score_full_reward():
    rewards = pytest.importorskip("rewards")
    rows = countdown_rows(60, seed=11)
    completions = [f"<answer>{r['solution']}</answer>" for r in rows]
    scores = rewards.countdown_reward(completions, target=[r["target"] for r in rows], nums=[r["nums"] for r in rows])
    assert scores == [1.0] * len(rows)


def test_dataset_columns_and_prompt_style():
    data = countdown_dataset(6, seed=2, prompt_style="r1_boxed")
    assert data.column_names == ["target", "nums", "prompt", "solution"]
    row = data[0]
    assert isinstance(row["target"], int) and all(isinstance(x, int) for x in row["nums"])
    assert [m["role"] for m in row["prompt"]] == ["user"]
    assert row["prompt"][0]["content"].endswith("within \\boxed{}.")


@pytest.mark.parametrize(
    "options",
    [
        {"n": 0},  # nothing to generate
        {"n": 3, "num_counts": ()},  # no counts
        {"n": 3, "num_counts": 3},  # a count, not a sequence
        {"n": 3, "num_counts": (7,)},  # beyond the solver's size
        {"n": 3, "min_number": 10, "max_number": 5},  # empty number range
        {"n": 3, "min_target": 50, "max_target": 5},  # empty target range
        {"n": 3, "operators": "+x"},  # unknown operator
        {"n": 3, "prompt_style": "nope"},  # unknown prompt style
        {"n": 3, "seed": "1"},  # seed must be an int
        {
            "n": 1,
            "num_counts": (2,),
            "max_number": 9,
            "operators": "+",
            "min_target": 500,
            "max_target": 600,
        },  # unreachable targets
    ],
)
def test_generator_rejects_bad_options(options):
    n = options.pop("n")
    with pytest.raises(ValueError):
        countdown_rows(n, **options)


# --- GSM8K fixture ----------------------------------------------------------------------------

_CALC = re.compile(r"<<([^=<>]+)=([^<>]+)>>")


def test_fixture_steps_are_correct_and_end_in_the_answer():
    raw = read_raw_fixture()
    assert len(raw) == 30 and len({r["question"] for r in raw}) == 30
    for row in raw:
        steps = _CALC.findall(row["answer"])
        assert steps, row["question"]
        for left, right in steps:  # every calculator annotation is exact
            assert evaluate(left)[0] == Fraction(right), (row["question"], left, right)
        final = extract_hash_answer(row["answer"])
        assert Fraction(final) == Fraction(steps[-1][1]) and int(final) >= 0
        assert row["answer"].splitlines()[-1].startswith("#### ")


def test_fixture_has_thousands_commas_and_formats_rows():
    raw = read_raw_fixture()
    assert sum("," in r["answer"].splitlines()[-1] for r in raw) >= 3
    data = gsm8k_fixture()
    assert data.column_names == ["question", "answer", "prompt", "solution"]
    assert [extract_hash_answer(r["answer"]) for r in raw] == data["answer"]
    assert all("," not in a and a.isdigit() for a in data["answer"])
    assert data[0]["prompt"][1] == {"role": "user", "content": data[0]["question"]}


# The text before an annotation restates it: "1,350 x 6 = <<1350*6=8100>>8,100".
_STATED_STEP = re.compile(r"([0-9][0-9,./ x+()-]*?) = \$?<<([^=<>]*)=([^<>]+)>>([0-9][0-9,]*(?:\.[0-9]+)?)")


def test_test_fixture_is_ours_exact_and_disjoint_from_train():
    rewards = pytest.importorskip("rewards")
    raw = read_raw_fixture(split="test")
    train = {r["question"] for r in read_raw_fixture()}
    assert len(raw) == 30 and len({r["question"] for r in raw}) == 30
    assert not train & {r["question"] for r in raw}
    for row in raw:
        steps = _CALC.findall(row["answer"])
        assert steps, row["question"]
        for left, right in steps:  # the safe parser of the rewards recomputes every annotation
            assert rewards.evaluate_expression(left) == Fraction(right), (row["question"], left, right)
        stated = _STATED_STEP.findall(row["answer"])
        assert len(stated) == len(steps), row["answer"]
        for text, expr, value, written in stated:  # the words say what the annotation computes
            assert text.replace(",", "").replace(" x ", "*").replace(" ", "") == expr.replace(" ", "")
            assert written.replace(",", "") == value
        final = extract_hash_answer(row["answer"])
        assert Fraction(final) == Fraction(steps[-1][1]) and int(final) >= 0
        assert row["answer"].splitlines()[-1].startswith("#### ")


def test_fixture_splits_load_with_a_worked_solution():
    test = gsm8k_fixture("think_answer", split="test")
    assert test.num_rows == 30 and test.column_names == ["question", "answer", "prompt", "solution"]
    assert test[0]["prompt"][-1] == {"role": "assistant", "content": "<think>"}
    assert gsm8k_fixture()["question"] == gsm8k_fixture(split="train")["question"]
    for split in ("train", "test"):
        for raw, row in zip(read_raw_fixture(split=split), gsm8k_fixture(split=split)):
            assert row["solution"] == worked_solution(raw["answer"])
            assert row["solution"] and "<<" not in row["solution"] and "####" not in row["solution"]
    with pytest.raises(ValueError, match="train"):
        gsm8k_fixture(split="validation")


@pytest.mark.parametrize(
    "raw, solution",
    [
        ("2 x 3 = <<2*3=6>>6 apples.\n#### 6", "2 x 3 = 6 apples."),  # annotation removed
        ("Half is 48/2 = $<<48/2=24>>24.\nSo 24.\n#### 24", "Half is 48/2 = $24.\nSo 24."),  # several lines
        ("No notes here.\n#### 1", "No notes here."),  # nothing to remove
        ("a #### 1\n#### 2", "a #### 1"),  # only the last marker ends it
    ],
)
def test_worked_solution(raw, solution):
    assert worked_solution(raw) == solution
