"""Long R1-style completions (~150k characters, a 32k-token trace) score like short ones."""

import pytest

from rewards import (
    MAX_TEXT_CHARS,
    boxed_countdown_reward,
    countdown_reward,
    free_boxed_countdown_reward,
    free_countdown_reward,
    free_number_reward,
    int_reward,
    number_correctness_reward,
    soft_format_reward,
    strict_format_reward,
    think_answer_format_reward,
    xmlcount_reward,
)

STEPS = [
    "Let me try 6 + 6 + 2 = 14, which is too small.",
    "Maybe 6 * 6 - 2 = 34? No, too big. Wait, what about 6 / 2 = 3 and 3 * 6 = 18?",
    "Hmm, (6 + 2) * 6 = 48 is double. Let me reconsider: 6 * 2 + 6 = 18.",
    "Alternatively, I could subtract first: 6 - 2 = 4, and then multiply.",
]


def reasoning(chars: int) -> str:
    """Realistic thinking text: numbers, equations, false starts, newlines."""
    lines, size, step = [], 0, 0
    while size < chars:
        line = f"Step {step}: {STEPS[step % len(STEPS)]}"
        lines.append(line)
        size += len(line) + 1
        step += 1
    return "\n".join(lines)


LONG = reasoning(150_000)
COUNTDOWN = {"target": [24], "nums": [[2, 6, 6]]}
CASES = [
    # (reward, completion, columns, full marks)
    (countdown_reward, f"<think>\n{LONG}\n</think>\n<answer>(6 - 2) * 6</answer>", COUNTDOWN, 1.0),  # tagged equation
    (think_answer_format_reward, f"<think>\n{LONG}\n</think>\n<answer>(6 - 2) * 6</answer>", {}, 1.0),  # think layout
    (boxed_countdown_reward, f"{LONG}\n</think>\nSo $\\boxed{{(6 - 2) \\times 6}}$.", COUNTDOWN, 1.0),  # boxed LaTeX
    (free_countdown_reward, f"{LONG}\nSo (6 - 2) * 6 = 24.", COUNTDOWN, 1.0),  # format-free equation
    (
        free_boxed_countdown_reward,
        f"{LONG}\nSo $\\boxed{{24 = (6 - 2) \\times 6}}$.",
        COUNTDOWN,
        1.0,
    ),  # format-free box
    (
        number_correctness_reward,
        f"<reasoning>\n{LONG}\n</reasoning>\n<answer>\n72\n</answer>\n",
        {"answer": ["72"]},
        2.0,
    ),  # GSM8K
    (strict_format_reward, f"<reasoning>\n{LONG}\n</reasoning>\n<answer>\n72\n</answer>\n", {}, 0.5),  # strict layout
    (soft_format_reward, f"<reasoning>\n{LONG}\n</reasoning>\n<answer>\n72\n</answer>\n", {}, 0.5),  # soft layout
    (xmlcount_reward, f"<reasoning>\n{LONG}\n</reasoning>\n<answer>\n72\n</answer>\n", {}, 0.5),  # every tag once
    (int_reward, f"<reasoning>\n{LONG}\n</reasoning>\n<answer>\n72\n</answer>\n", {}, 0.5),  # bare integer
    (free_number_reward, f"{LONG}\nSo the answer is $72.", {"answer": ["72"]}, 1.0),  # format-free number
]


@pytest.mark.parametrize("reward,completion,columns,expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_long_completion_scores_full_marks(reward, completion, columns, expected):
    assert 150_000 <= len(completion) <= MAX_TEXT_CHARS
    assert reward([completion], **columns) == [expected] == [reward.max_score]
    message = [{"role": "assistant", "content": completion}]
    assert reward([message], **columns) == [expected]  # conversational form too


@pytest.mark.parametrize(
    "completion,expected",
    [
        ("x" * (MAX_TEXT_CHARS - 40) + "<answer>(6 - 2) * 6</answer>", 1.0),  # just under a megabyte: scored
        ("x" * MAX_TEXT_CHARS + "<answer>(6 - 2) * 6</answer>", 0.0),  # over a megabyte: rejected
    ],
)
def test_only_megabyte_text_is_rejected(completion, expected):
    assert countdown_reward([completion], **COUNTDOWN) == [expected]
