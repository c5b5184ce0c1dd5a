r"""Completions per second of the kit's rewards, next to TinyZero's eval-based scorer.

Run: .venv/bin/python benchmarks/rewards.py [--n 10000] [--seed 0] [--repeats 3]

For each of ``countdown_reward``, ``boxed_countdown_reward`` and ``number_correctness_reward``
it builds ``--n`` seeded completions: correct, wrong, malformed and hostile ones (think/answer
text like Mini-R1's samples, ``\boxed{}`` LaTeX like R1-distill's, GSM8K reasoning/answer),
and times the reward on all of them. The Countdown set is also scored by a faithful copy of
TinyZero's scorer (``benchmarks/tinyzero_baseline.py``), in this process, on the same
completions except those that would hang it: answers that reach its ``eval`` with a ``**``
(excluded by a static check, never run) and any completion that takes it longer than
``SCREEN_LIMIT_S`` in a watched child process run once up front. Times are the best of
``--repeats`` runs of ``time.perf_counter``; each reward is called once on the whole list.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the package it measures: import the package, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
sys.path.insert(0, str(ROOT))

from benchmarks.tinyzero_baseline import compute_score, extract_solution, validate_equation  # noqa: E402
from rewards import boxed_countdown_reward, countdown_reward, number_correctness_reward  # noqa: E402

SCREEN_LIMIT_S = 1.0  # a baseline completion slower than this counts as a hang
PREFIX = "<|im_start|>assistant\n"  # TinyZero scores prompt + response and needs this marker
KIT, BASE = "countdown_reward (kit)", "TinyZero compute_score"
PREC = {"+": 1, "-": 1, "*": 2, "/": 2}

# ---------------------------------------------------------------- equations

Node = Any  # an int, or (op, left, right)


def value(node: Node) -> Fraction:
    if isinstance(node, int):
        return Fraction(node)
    op, left, right = node
    a, b = value(left), value(right)
    return a + b if op == "+" else a - b if op == "-" else a * b if op == "*" else a / b


def random_tree(rng: random.Random, nums: list[int]) -> Node:
    items: list[Node] = rng.sample(nums, len(nums))
    while len(items) > 1:
        i = rng.randrange(len(items) - 1)
        items[i : i + 2] = [(rng.choice("+-*/"), items[i], items[i + 1])]
    return items[0]


def safe_value(node: Node) -> Fraction | None:
    try:
        return value(node)
    except ZeroDivisionError:
        return None


def plain(node: Node, sym: dict[str, str] | None = None) -> str:
    """Minimal-parenthesis infix; ``sym`` swaps operator symbols (e.g. × ÷)."""
    if isinstance(node, int):
        return str(node)
    op, left, right = node
    lhs, rhs = plain(left, sym), plain(right, sym)
    if not isinstance(left, int) and PREC[left[0]] < PREC[op]:
        lhs = f"({lhs})"
    if not isinstance(right, int) and (PREC[right[0]] < PREC[op] or (PREC[right[0]] == PREC[op] and op in "-/")):
        rhs = f"({rhs})"
    return f"{lhs} {(sym or {}).get(op, op)} {rhs}"


def latex(node: Node, rng: random.Random) -> str:
    if isinstance(node, int):
        return str(node)
    op, left, right = node
    if op == "/" and rng.random() < 0.7:
        return rf"\frac{{{latex(left, rng)}}}{{{latex(right, rng)}}}"
    lhs, rhs = latex(left, rng), latex(right, rng)
    if not isinstance(left, int) and PREC[left[0]] < PREC[op]:
        lhs = rf"\left({lhs}\right)"
    if not isinstance(right, int) and PREC[right[0]] <= PREC[op]:
        rhs = f"({rhs})"
    symbol = {"*": rng.choice([r"\times", r"\cdot"]), "/": r"\div"}.get(op, op)
    return f"{lhs} {symbol} {rhs}"


def countdown_row(rng: random.Random) -> tuple[list[int], Node, int]:
    """Numbers in 1..99 (3 or 4), a tree using all of them, its whole positive value."""
    while True:
        nums = [rng.randint(1, 99) for _ in range(rng.choice([3, 4]))]
        tree = random_tree(rng, nums)
        v = safe_value(tree)
        if v is not None and v.denominator == 1 and 0 < v < 1000:
            return nums, tree, int(v)


# ---------------------------------------------------------------- completions


def attempts(rng: random.Random, nums: list[int], target: int, style: str) -> str:
    lines = []
    for _ in range(rng.randint(3, 7)):
        a, b = rng.sample(nums, 2)
        op = rng.choice("+-*")
        got = value((op, a, b))
        verdict = "too low" if got < target else "too high" if got > target else "close"
        lines.append(
            f"- {a} {op} {b} = {got} ({verdict})"
            if style == "list"
            else f"If I take {a} {op} {b}, that gives {got}, which is {verdict}."
        )
    return ("\n" if style == "list" else " ").join(lines)


def think(rng: random.Random, nums: list[int], target: int) -> str:
    listed = ", ".join(map(str, nums))
    return (
        f"<think> We need to use the numbers {listed} with basic arithmetic operations to get {target}. "
        f"Let's try different combinations:\n{attempts(rng, nums, target, 'list')}\n</think>\n"
    )


def boxed_prose(rng: random.Random, nums: list[int], target: int) -> str:
    listed = ", ".join(map(str, nums))
    return (
        f"Okay, so I need to use the numbers {listed} exactly once each to make {target}. Hmm, let me think. "
        f"{attempts(rng, nums, target, 'prose')}\nWait, let me check another order.\n\n**Final Answer**\n"
    )


def mutated_tree(rng: random.Random, nums: list[int], target: int) -> Node:
    while True:
        tree = random_tree(rng, nums)
        if safe_value(tree) not in (None, target):
            return tree


def wrong_nums(rng: random.Random, nums: list[int]) -> list[int]:
    used = list(nums)
    used[rng.randrange(len(used))] = rng.choice(nums) + rng.choice([0, 1, 10])
    return used if sorted(used) != sorted(nums) else used[:-1]


MEGA = "<think> " + "Let me reconsider the numbers once more. " * 25_000 + "</think>\n<answer>1 + 2</answer>"
MEGA_BOXED = MEGA + r"\boxed{1 + 2}"
HOSTILE_TARGET, HOSTILE_NUMS = 3, [1, 2]  # the row every shared hostile text is scored against


def decimal_trick(rng: random.Random) -> tuple[str, int, list[int]]:
    """``\\d+`` reads ``a.5`` as the two numbers a and 5."""
    a, c = rng.randint(1, 20), rng.randrange(2, 21, 2)
    return f"{a}.5 * {c}", (2 * a + 1) * c // 2, rng.sample([a, 5, c], 3)


def unary_minus(rng: random.Random) -> tuple[str, int, list[int]]:
    a, b, c = sorted(rng.sample(range(1, 60), 3))
    return f"-{a} + {b} + {c}", b + c - a, rng.sample([a, b, c], 3)


def floor_div(rng: random.Random) -> tuple[str, int, list[int]]:
    b, c = rng.randint(2, 9), rng.randint(1, 99)
    a = b * rng.randint(2, 10) + rng.randint(1, b - 1)
    return f"{a} // {b} + {c}", a // b + c, rng.sample([a, b, c], 3)


LOOPHOLES = {"decimal_trick": decimal_trick, "unary_minus": unary_minus, "floor_div": floor_div}


def countdown_case(kind: str, rng: random.Random) -> tuple[str, int, list[int]]:
    """One think/answer completion of ``kind``, with its row's target and numbers."""
    if kind in HOSTILE_TEXT:
        return HOSTILE_TEXT[kind], HOSTILE_TARGET, list(HOSTILE_NUMS)
    nums, tree, target = countdown_row(rng)
    loophole = LOOPHOLES[kind](rng) if kind in LOOPHOLES else None
    if loophole is not None:
        answer, target, nums = loophole
    head = think(rng, nums, target)
    pad = rng.choice(["", " "])
    tagged = lambda answer: f"{head}<answer>{pad}{answer}{pad}</answer>"  # noqa: E731
    a, b, c = nums[:3]
    rest = nums[3:]
    texts = {
        "correct": lambda: tagged(plain(tree)),
        "correct_eq": lambda: tagged(f"{plain(tree)} = {target}"),
        "correct_unicode": lambda: tagged(plain(tree, {"*": "×", "/": "÷"})),
        "answer_then_text": lambda: tagged(plain(tree)) + f"\nSo {target} is reached.",
        "wrong_value": lambda: tagged(plain(mutated_tree(rng, nums, target))),
        "wrong_numbers": lambda: tagged(plain(random_tree(rng, wrong_nums(rng, nums)))),
        "truncated": lambda: head[: rng.randint(40, len(head) - 10)],
        "unclosed_answer": lambda: f"{head}<answer>{plain(tree)}",
        "prose_answer": lambda: tagged(f"The equation is {plain(tree)}"),
        "empty_answer": lambda: tagged(""),
        "unbalanced": lambda: tagged(f"(({plain(tree)})"),
        "caret_power": lambda: tagged(f"{a}^{b} - {c}" + "".join(f" + {x}" for x in rest)),
        "implicit_mult": lambda: tagged(f"{a}({b} + {c})" + "".join(f" - {x}" for x in rest)),
        "power_tower": lambda: tagged("**".join(map(str, nums))),
        **{name: lambda: tagged(answer) for name in LOOPHOLES},
    }
    return texts[kind](), target, nums


HOSTILE_TEXT = {
    "huge_literal": "<answer>" + "9" * 100_000 + "</answer>",
    "megabyte": MEGA,
    "tags_closed": "<answer>1 +</answer>" * 5_000,
    "tags_unclosed_500": "<answer>" * 500,
    "tags_unclosed_20k": "<answer>" * 20_000,
    "deep_parens": "<answer>" + "(" * 50_000 + "1 + 2" + ")" * 50_000 + "</answer>",
    "unary_chain": "<answer>" + "-" * 50_000 + "1 + 2</answer>",
    "long_sum": "<answer>" + " + ".join(["1"] * 10_000) + "</answer>",
}


def boxed_case(kind: str, rng: random.Random) -> tuple[str, int, list[int]]:
    nums, tree, target = countdown_row(rng)
    head = boxed_prose(rng, nums, target)
    boxed = lambda body: head + rng.choice([f"\\[\n\\boxed{{{body}}}\n\\]", f"The answer is $\\boxed{{{body}}}$."])  # noqa: E731
    a, b, c = nums[:3]
    texts = {
        "correct": lambda: boxed(latex(tree, rng)),
        "correct_eq": lambda: boxed(f"{latex(tree, rng)} = {target}"),
        "wrong_value": lambda: boxed(latex(mutated_tree(rng, nums, target), rng)),
        "wrong_numbers": lambda: boxed(latex(random_tree(rng, wrong_nums(rng, nums)), rng)),
        "truncated": lambda: head[: rng.randint(40, len(head) - 10)],
        "unbalanced": lambda: head + f"\\boxed{{\\frac{{{a}}}{{{b}}} + {c}",
        "power": lambda: boxed(f"{a}^{{2}} - {b} + {c}"),
        "sqrt": lambda: boxed(f"\\sqrt{{{a}}} + {b} \\times {c}"),
        "text_in_box": lambda: boxed(f"\\text{{{target}}}"),
        "megabyte": lambda: MEGA_BOXED,
        "boxes_unclosed": lambda: "\\boxed{" * 3_000,
        "deep_braces": lambda: "\\boxed{" + "{" * 10_000 + "1 + 2" + "}" * 10_000 + "}",
        "huge_literal": lambda: "\\boxed{" + "9" * 99_000 + "}",
        "power_tower": lambda: boxed("9^{9^{9}}"),
        "frac_nest": lambda: "\\boxed{" + "\\frac{1}{" * 400 + "2" + "}" * 400 + "}",
    }
    return texts[kind](), target, nums


def gsm8k_case(kind: str, rng: random.Random) -> tuple[str, str]:
    gold = rng.choice([rng.randint(1, 200), rng.randint(1, 5000), rng.randint(1000, 100_000)])
    x, y = rng.randint(2, 40), rng.randint(2, 40)
    steps = " ".join(f"Step {i}: {x + i} * {y} = {(x + i) * y}." for i in range(rng.randint(2, 6)))
    head = f"<reasoning>\nFirst find the amount per day. {steps}\nSo the total is {gold}.\n</reasoning>\n"
    ans = lambda body: f"{head}<answer>\n{body}\n</answer>\n"  # noqa: E731
    texts = {
        "correct": lambda: ans(gold),
        "correct_dollar": lambda: ans(f"${gold}"),
        "correct_decimal": lambda: ans(f"{gold}.00"),
        "correct_commas": lambda: ans(f"{gold:,}"),
        "wrong_value": lambda: ans(gold + rng.choice([-10, -1, 1, 2, 100])),
        "wrong_digit": lambda: ans(f"{gold}0"),
        "with_unit": lambda: ans(f"{gold} dollars"),
        "sentence": lambda: ans(f"The answer is {gold}"),
        "truncated": lambda: head[: rng.randint(20, len(head) - 5)],
        "unclosed": lambda: f"{head}<answer>\n{gold}",
        "megabyte": lambda: MEGA,
        "tags_thousands": lambda: "<answer>-1</answer>" * 3_000 + "<answer>" * 5_000,
        "huge_literal": lambda: "<answer>" + "9" * 99_000 + "</answer>",
        "deep_tags": lambda: "<answer>" * 5_000 + str(gold) + "</answer>" * 5_000,
    }
    return texts[kind](), str(gold)


# kind: (group, weight per mille, what our reward should give)
COUNTDOWN_KINDS = {
    "correct": ("correct", 270, 1.0),
    "correct_eq": ("correct", 40, 1.0),
    "correct_unicode": ("correct", 20, 1.0),
    "answer_then_text": ("correct", 20, 1.0),
    "wrong_value": ("wrong", 150, 0.0),
    "wrong_numbers": ("wrong", 100, 0.0),
    "decimal_trick": ("wrong", 20, 0.0),
    "unary_minus": ("wrong", 20, 0.0),
    "floor_div": ("wrong", 20, 0.0),
    "truncated": ("malformed", 100, 0.0),
    "unclosed_answer": ("malformed", 40, 0.0),
    "prose_answer": ("malformed", 40, 0.0),
    "empty_answer": ("malformed", 20, 0.0),
    "unbalanced": ("malformed", 30, 0.0),
    "caret_power": ("malformed", 20, 0.0),
    "implicit_mult": ("malformed", 20, 0.0),
    "power_tower": ("hostile", 10, 0.0),
    **{kind: ("hostile", 4, 0.0) for kind in HOSTILE_TEXT},
}
BOXED_KINDS = {
    "correct": ("correct", 330, 1.0),
    "correct_eq": ("correct", 50, 1.0),
    "wrong_value": ("wrong", 200, 0.0),
    "wrong_numbers": ("wrong", 100, 0.0),
    "truncated": ("malformed", 120, 0.0),
    "unbalanced": ("malformed", 40, 0.0),
    "power": ("malformed", 30, 0.0),
    "sqrt": ("malformed", 30, 0.0),
    "text_in_box": ("malformed", 30, 0.0),
    **{
        kind: ("hostile", 6, 0.0)
        for kind in ("megabyte", "boxes_unclosed", "deep_braces", "huge_literal", "power_tower", "frac_nest")
    },
}
GSM8K_KINDS = {
    "correct": ("correct", 250, 2.0),
    "correct_dollar": ("correct", 40, 2.0),
    "correct_decimal": ("correct", 40, 2.0),
    "correct_commas": ("correct", 40, 2.0),
    "wrong_value": ("wrong", 200, 0.0),
    "wrong_digit": ("wrong", 50, 0.0),
    "with_unit": ("malformed", 60, 0.0),
    "sentence": ("malformed", 60, 0.0),
    "truncated": ("malformed", 160, 0.0),
    "unclosed": ("malformed", 40, 0.0),
    **{kind: ("hostile", 15, 0.0) for kind in ("megabyte", "tags_thousands", "huge_literal", "deep_tags")},
}


def draw_kinds(kinds: dict[str, tuple[str, int, float]], n: int, rng: random.Random) -> list[str]:
    names = list(kinds)
    return rng.choices(names, weights=[kinds[k][1] for k in names], k=n)


# ---------------------------------------------------------------- keeping the baseline from hanging

ALLOWED = re.compile(r"^[\d+\-*/().\s]+$")  # the baseline's own character check


def power_reaches_eval(text: str, nums: list[int]) -> bool:
    """Static check, evaluates nothing: would the baseline ``eval`` an answer with ``**``?

    Long texts are left to the timed screen (the baseline's own answer regex is slow on them).
    """
    if "**" not in text or len(text) > 10_000:
        return False
    equation = extract_solution(PREFIX + text)
    return (
        equation is not None
        and "**" in equation
        and validate_equation(equation, nums)
        and bool(ALLOWED.match(equation))
    )


def _screen_worker(items: list[tuple[str, dict]], start: int, current: Any, seconds: Any) -> None:
    for index in range(start, len(items)):
        current.value = index
        began = time.perf_counter()
        compute_score(*items[index])
        seconds[index] = time.perf_counter() - began


def screen_baseline(items: list[tuple[str, dict]], limit: float) -> list[float]:
    """Seconds the baseline takes on each item, run once in a child process (inf past ``limit``).

    Repeated items (same text and row) run once. A child that overruns is killed and a
    new one resumes after the slow item, so nothing here can hang.
    """
    keys = [(text, truth["target"], tuple(truth["numbers"])) for text, truth in items]
    position: dict[tuple, int] = {}
    for index, key in enumerate(keys):
        position.setdefault(key, index)
    unique = [items[index] for index in position.values()]
    position = {key: rank for rank, key in enumerate(position)}
    ctx = multiprocessing.get_context("fork")
    current, seconds = ctx.Value("q", 0, lock=False), ctx.Array("d", len(unique), lock=False)
    start = 0
    while start < len(unique):
        current.value = start
        child = ctx.Process(target=_screen_worker, args=(unique, start, current, seconds), daemon=True)
        child.start()
        seen, since, start = start, time.perf_counter(), len(unique)
        while child.is_alive():
            child.join(0.01)
            if current.value != seen:
                seen, since = current.value, time.perf_counter()
            elif time.perf_counter() - since > limit and child.is_alive():
                child.kill()
                child.join()
                seconds[seen], start = float("inf"), seen + 1
    return [seconds[position[key]] for key in keys]


# ---------------------------------------------------------------- measuring


def best_times(runs: list[Callable[[], list]], repeats: int) -> list[tuple[float, list]]:
    """Best (smallest) wall time of each run over ``repeats`` rounds, and its scores.

    The runs take turns within each round, so a busy machine slows them alike.
    """
    best, scores = [float("inf")] * len(runs), [[] for _ in runs]
    for _ in range(repeats):
        for k, run in enumerate(runs):
            start = time.perf_counter()
            scores[k] = run()
            best[k] = min(best[k], time.perf_counter() - start)
    return list(zip(best, scores))


def seconds_each(score_one: Callable[[int], Any], count: int) -> list[float]:
    """Wall time of scoring each completion alone (for the slowest-one column)."""
    seconds = []
    for i in range(count):
        start = time.perf_counter()
        score_one(i)
        seconds.append(time.perf_counter() - start)
    return seconds


Row = tuple[str, str, int, float, float]  # scorer, inputs, completions, best seconds, slowest one


def check_spec(name: str, kinds: list[str], table: dict, scores: list[float]) -> None:
    """Says where the kit's scores differ from what the spec gives each generated kind."""
    wrong = Counter(k for k, s in zip(kinds, scores) if s != table[k][2])
    print(
        f"{name}: {sum(wrong.values())} scores differ from what the spec gives" + (f" {dict(wrong)}" if wrong else "")
    )


def bench_countdown(n: int, rng: random.Random, repeats: int) -> list[Row]:
    """The kit's ``countdown_reward`` and the baseline, on the same completions."""
    kinds = draw_kinds(COUNTDOWN_KINDS, n, rng)
    texts, targets, nums = map(list, zip(*(countdown_case(k, rng) for k in kinds)))
    prefixed = {t: PREFIX + t for t in set(texts)}
    items = [(prefixed[t], {"target": tg, "numbers": ns}) for t, tg, ns in zip(texts, targets, nums)]

    # Never let the baseline hang: a static check first, then one watched run of the rest.
    static = [i for i in range(n) if power_reaches_eval(texts[i], nums[i])]
    candidates = sorted(set(range(n)) - set(static))
    base_seconds = dict(zip(candidates, screen_baseline([items[i] for i in candidates], SCREEN_LIMIT_S)))
    timed_out = [i for i in candidates if base_seconds[i] > SCREEN_LIMIT_S]
    kept = [i for i in candidates if base_seconds[i] <= SCREEN_LIMIT_S]
    hostile = {i for i in range(n) if COUNTDOWN_KINDS[kinds[i]][0] == "hostile"}
    print(f"countdown set: {n} completions, {dict(Counter(COUNTDOWN_KINDS[k][0] for k in kinds))}")
    print(
        f"excluded from the baseline: {len(static) + len(timed_out)}: {len(static)} by the static check ('**' reaching eval) "
        f"{dict(Counter(kinds[i] for i in static))}, {len(timed_out)} over {SCREEN_LIMIT_S:g} s in the one-off child-process "
        f"screen {dict(Counter(kinds[i] for i in timed_out))}"
    )

    def kit_on(idx: list[int]) -> Callable[[], list]:
        c, t, ns = [texts[i] for i in idx], [targets[i] for i in idx], [nums[i] for i in idx]
        return lambda: countdown_reward(c, target=t, nums=ns)

    def baseline_on(idx: list[int]) -> Callable[[], list]:
        chosen = [items[i] for i in idx]
        return lambda: [compute_score(text, truth) for text, truth in chosen]

    kit_seconds = seconds_each(lambda i: countdown_reward([texts[i]], target=[targets[i]], nums=[nums[i]]), n)
    groups = {
        "realistic": [i for i in kept if i not in hostile],
        "hostile, baseline-safe": [i for i in kept if i in hostile],
        "hostile, excluded": sorted(static + timed_out),
    }
    plan = [(KIT, name, idx, kit_on, kit_seconds) for name, idx in groups.items()]
    plan += [(BASE, name, groups[name], baseline_on, base_seconds) for name in ("realistic", "hostile, baseline-safe")]
    timed = best_times([make(idx) for _, _, idx, make, _ in plan], repeats)
    rows = [
        (label, name, len(idx), sec, max((each[i] for i in idx), default=0.0))
        for (label, name, idx, _, each), (sec, _) in zip(plan, timed)
    ]
    scores = {(label, name): dict(zip(idx, result)) for (label, name, idx, *_), (_, result) in zip(plan, timed)}
    kit_all = {i: s for name in groups for i, s in scores[KIT, name].items()}
    check_spec("countdown_reward", kinds, COUNTDOWN_KINDS, [kit_all[i] for i in range(n)])
    report_disagreements(
        groups["realistic"], kinds, texts, targets, nums, scores[KIT, "realistic"], scores[BASE, "realistic"]
    )

    def total(label: str, inputs: str, names: list[str]) -> Row:
        parts = [row for row in rows if row[0] == label and row[1] in names]
        return label, inputs, sum(r[2] for r in parts), sum(r[3] for r in parts), max(r[4] for r in parts)

    safe = ["realistic", "hostile, baseline-safe"]
    return rows + [
        total(KIT, "all (sum)", list(groups)),
        total(KIT, "baseline's (sum)", safe),
        total(BASE, "baseline's (sum)", safe),
    ]


def bench_kit_only(
    name: str,
    reward: Callable[..., list],
    kinds: list[str],
    table: dict,
    texts: list[str],
    repeats: int,
    **columns: list,
) -> Row:
    [(sec, scores)] = best_times([lambda: reward(texts, **columns)], repeats)
    each = seconds_each(lambda i: reward([texts[i]], **{k: [v[i]] for k, v in columns.items()}), len(texts))
    check_spec(name, kinds, table, scores)
    return f"{name} (kit)", "all", len(texts), sec, max(each)


def report_disagreements(
    realistic: list[int],
    kinds: list[str],
    texts: list[str],
    targets: list[int],
    nums: list[list[int]],
    ours: dict,
    base: dict,
) -> None:
    """Counts (by kind) where the kit and the baseline score realistic completions differently."""
    buckets = {
        "baseline 1.0, kit 0.0": [i for i in realistic if base[i] == 1.0 and ours[i] == 0.0],
        "kit 1.0, baseline below 1.0": [i for i in realistic if ours[i] == 1.0 and base[i] != 1.0],
        "baseline 0.1 (format score), kit 0.0": [i for i in realistic if base[i] == 0.1 and ours[i] == 0.0],
    }
    print(
        f"realistic countdown completions: {len(realistic)}; same score from both: {sum(ours[i] == base[i] for i in realistic)}"
    )
    for name, idx in buckets.items():
        print(f"  {name}: {len(idx)} {dict(Counter(kinds[i] for i in idx).most_common())}")
        for i in sorted({kinds[i]: i for i in idx}.values())[:2]:
            answer = texts[i].rsplit("<answer>", 1)[-1][:60].replace("\n", "\\n")
            print(f"    e.g. nums {nums[i]} target {targets[i]}: <answer>{answer}  kit {ours[i]}, baseline {base[i]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="completions per reward")
    parser.add_argument("--seed", type=int, default=0, help="seed of the completion mix")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per scorer; the best is reported")
    args = parser.parse_args()
    if args.n < 1 or args.repeats < 1:
        parser.error("--n and --repeats must be at least 1")
    warnings.filterwarnings("ignore", category=SyntaxWarning)  # the baseline compiles answers like "2(3 + 4)"
    rng = random.Random(args.seed)

    rows = bench_countdown(args.n, rng, args.repeats)
    kinds = draw_kinds(BOXED_KINDS, args.n, rng)
    texts, targets, nums = map(list, zip(*(boxed_case(k, rng) for k in kinds)))
    rows.append(
        bench_kit_only(
            "boxed_countdown_reward",
            boxed_countdown_reward,
            kinds,
            BOXED_KINDS,
            texts,
            args.repeats,
            target=targets,
            nums=nums,
        )
    )
    kinds = draw_kinds(GSM8K_KINDS, args.n, rng)
    texts, gold = map(list, zip(*(gsm8k_case(k, rng) for k in kinds)))
    rows.append(
        bench_kit_only(
            "number_correctness_reward", number_correctness_reward, kinds, GSM8K_KINDS, texts, args.repeats, answer=gold
        )
    )

    print(
        f"\nseconds: best of {args.repeats} runs (time.perf_counter), one call per scorer on the whole list; "
        f"slowest one: each completion scored alone once (the baseline's in the screen); seed {args.seed}"
    )
    print(
        f"{'scorer':32} {'inputs':22} {'completions':>11} {'seconds':>8} {'completions/s':>14} {'slowest one (ms)':>17}"
    )
    for label, inputs, count, sec, worst in rows:
        print(f"{label:32} {inputs:22} {count:>11} {sec:>8.3f} {count / sec:>14,.0f} {worst * 1e3:>17.2f}")
    seconds = {(label, inputs): sec for label, inputs, _, sec, _ in rows}
    for inputs in ("realistic", "hostile, baseline-safe", "baseline's (sum)"):
        print(
            f"ours/baseline completions per second on the same {inputs} inputs: {seconds[BASE, inputs] / seconds[KIT, inputs]:.2f}x"
        )


if __name__ == "__main__":
    main()
