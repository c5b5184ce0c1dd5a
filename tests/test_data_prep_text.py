"""Prompt styles, arithmetic questions, GSM8K answer extraction and the offline hub errors."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data_prep import (
    PROMPT_STYLES,
    arithmetic_dataset,
    arithmetic_rows,
    build_prompt,
    extract_hash_answer,
    prefill_of,
)
from data_prep.prompts import QWEN_THINK_PREFILL, R1_BOXED_INSTRUCTION

ROOT = Path(__file__).resolve().parents[1]

# --- prompts ----------------------------------------------------------------------------------


STYLES = [
    # (style, message roles, prefill)
    ("qwen_think", ["system", "user", "assistant"], "Let me solve this step by step.\n<think>"),
    ("r1_boxed", ["user"], ""),  # R1-distill models take no system prompt
    ("gsm8k_xml", ["system", "user"], ""),
    ("answer_only", ["system", "user", "assistant"], "<answer>"),
    ("think_answer", ["system", "user", "assistant"], "<think>"),  # compact CPU-demo format
]


@pytest.mark.parametrize("style, roles, prefill", STYLES)
def test_style_structure(style, roles, prefill):
    for fields in ({"nums": [3, 5, 2], "target": 16}, {"question": "What is 2 + 2?"}):
        messages = build_prompt(style, **fields)
        assert [m["role"] for m in messages] == roles
        assert all(set(m) == {"role", "content"} and m["content"] for m in messages)
        assert prefill_of(messages) == prefill


def test_every_style_has_a_structure_test():
    assert {style for style, _, _ in STYLES} == set(PROMPT_STYLES)


def test_think_answer_is_short_and_asks_for_the_number_in_tags():
    system, user, prefill = build_prompt("think_answer", question="What is 47 + 38?")
    assert user["content"] == "What is 47 + 38?" and prefill["content"] == "<think>"
    for part in ("step by step", "<think> </think>", "final number", "<answer> </answer>"):
        assert part in system["content"]
    assert len(system["content"]) < 120


def test_qwen_think_user_message():
    user = build_prompt("qwen_think", nums=[44, 19, 35], target=98)[1]["content"]
    for part in (
        "[44, 19, 35]",
        "98",
        "+, -, *, /",
        "exactly once",
        "<think> </think>",
        "<answer> </answer>",
        "<answer> (1 + 2) / 3 </answer>",
    ):
        assert part in user


def test_r1_boxed_ends_with_the_deepseek_instruction():
    user = build_prompt("r1_boxed", nums=[1, 2, 3], target=6)[0]["content"]
    assert user.endswith("\n\n" + R1_BOXED_INSTRUCTION)
    assert R1_BOXED_INSTRUCTION == "Please reason step by step, and put your final answer within \\boxed{}."


def test_gsm8k_system_puts_each_tag_on_its_own_line():
    system = build_prompt("gsm8k_xml", question="Q?")[0]["content"]
    lines = system.splitlines()
    for tag in ("<reasoning>", "</reasoning>", "<answer>", "</answer>"):
        assert tag in lines


@pytest.mark.parametrize(
    "style, fields",
    [
        ("nope", {"question": "Q?"}),  # unknown style
        ("gsm8k_xml", {}),  # no task
        ("gsm8k_xml", {"nums": [1, 2]}),  # target missing
        ("gsm8k_xml", {"question": "Q?", "nums": [1], "target": 1}),  # both kinds of task
        ("gsm8k_xml", {"question": "   "}),  # empty question
    ],
)
def test_build_prompt_rejects_bad_input(style, fields):
    with pytest.raises(ValueError):
        build_prompt(style, **fields)


def test_unknown_style_error_lists_the_known_ones():
    with pytest.raises(ValueError, match="qwen_think"):
        build_prompt("qwen", question="Q?")


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ([{"role": "user", "content": "hi"}], ""),  # no prefill
        ([{"role": "assistant", "content": "<answer>"}], "<answer>"),  # prefill
        ("plain text prompt", ""),  # not conversational
        ([], ""),  # empty
        ([{"role": "assistant", "content": None}], ""),  # malformed
    ],
)
def test_prefill_of(prompt, expected):
    assert prefill_of(prompt) == expected


def test_trl_continues_a_final_assistant_message():
    """The prefill contract documented in data_prep.prompts, read from the installed TRL."""
    spec = importlib.util.find_spec("trl")
    if spec is None or spec.origin is None:
        pytest.skip("trl is not installed")
    trl_dir = Path(spec.origin).parent
    data_utils = (trl_dir / "data_utils.py").read_text()
    trainer = (trl_dir / "trainer" / "grpo_trainer.py").read_text()
    assert "continue_final_message = True" in data_utils
    assert 'bootstrap = prompt.pop()["content"] if prompt[-1]["role"] == "assistant" else ""' in trainer
    assert QWEN_THINK_PREFILL.endswith("<think>")


# --- arithmetic -------------------------------------------------------------------------------


def _value(question: str) -> int:
    """Evaluate "What is a op b op c?" with * and / before + and -, from left to right."""
    tokens = question.removeprefix("What is ").removesuffix("?").split()
    terms, sign, product, op = [], 1, int(tokens[0]), None
    for token in tokens[1:]:
        if token in "+-*/":
            op = token
            continue
        number = int(token)
        if op == "*":
            product *= number
        elif op == "/":
            assert product % number == 0, question  # divisions are exact
            product //= number
        else:
            terms.append(sign * product)
            sign, product = (1 if op == "+" else -1), number
    return sum(terms) + sign * product


@pytest.mark.parametrize(
    "options",
    [
        {},  # 1 digit, a + b
        {"operators": "+-", "terms": 3},  # subtraction, never negative
        {"operators": "*/", "digits": 2},  # exact division
        {"operators": "+-*/", "terms": 4},  # precedence
        {"operators": "-", "allow_negative": True},  # negatives allowed
    ],
)
def test_arithmetic_answers_are_exact(options):
    rows = arithmetic_rows(50, seed=4, **options)
    assert rows == arithmetic_rows(50, seed=4, **options)
    for row in rows:
        assert row["answer"] == str(_value(row["question"]))
        if not options.get("allow_negative"):
            assert int(row["answer"]) >= 0
    if options.get("allow_negative"):
        assert any(int(r["answer"]) < 0 for r in rows)


def test_arithmetic_digits_and_seed():
    rows = arithmetic_rows(30, seed=1, digits=2)
    numbers = [int(t) for r in rows for t in r["question"][8:-1].split() if t.isdigit()]
    assert all(10 <= x <= 99 for x in numbers)
    assert rows != arithmetic_rows(30, seed=2, digits=2)


def test_arithmetic_dataset_schema():
    data = arithmetic_dataset(3, seed=0, prompt_style="gsm8k_xml")
    assert data.column_names == ["question", "answer", "prompt"]
    assert data[0]["prompt"][-1] == {"role": "user", "content": data[0]["question"]}


@pytest.mark.parametrize(
    "options",
    [
        {"n": 0},  # nothing to generate
        {"n": 2, "digits": 0},  # no digits
        {"n": 2, "digits": 9},  # too many digits
        {"n": 2, "terms": 0},  # no terms
        {"n": 2, "operators": "%"},  # unknown operator
        {"n": 2, "prompt_style": "x"},  # unknown style
    ],
)
def test_arithmetic_rejects_bad_options(options):
    n = options.pop("n")
    with pytest.raises(ValueError):
        arithmetic_rows(n, **options)


# --- GSM8K answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("steps\n#### 72", "72"),  # plain
        ("#### 1,200", "1200"),  # thousands comma
        ("  ####   5  ", "5"),  # spaces
        ("#### -4", "-4"),  # negative
        ("a #### 3\nnext line", "3"),  # only the marker's own line
        ("#### 1\n#### 2", "2"),  # the last marker wins
        ("no marker", None),  # missing ####
        ("####", None),  # nothing after it
        ("#### \n", None),  # blank after it
        (None, None),  # not a string
        (42, None),  # not a string
    ],
)
def test_extract_hash_answer(text, expected):
    assert extract_hash_answer(text) == expected


# --- hub loaders without a hub ----------------------------------------------------------------

_OFFLINE_SCRIPT = """
import time
from data_prep import load_countdown_hub, load_gsm8k
for load in (load_gsm8k, load_countdown_hub):
    start = time.perf_counter()
    try:
        load(n=2)
    except RuntimeError as err:
        print(type(err).__name__, round(time.perf_counter() - start, 1), str(err).splitlines()[0])
"""


def test_offline_loaders_fail_fast_and_name_the_alternative(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_DATASETS_CACHE": str(tmp_path / "datasets"),
    }
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("RuntimeError") for line in lines)
    assert "data_prep.gsm8k_fixture()" in lines[0] and "openai/gsm8k" in lines[0]
    assert "data_prep.countdown_dataset(" in lines[1] and "Countdown-Tasks-3to4" in lines[1]
    assert time.perf_counter() - start < 60


def test_loaders_check_arguments_before_any_download():
    from data_prep import load_countdown_hub, load_gsm8k

    for load in (load_countdown_hub, load_gsm8k):
        with pytest.raises(ValueError):
            load(n=0)
        with pytest.raises(ValueError):
            load(prompt_style="nope")
