"""Table tests for the format rewards (think/answer and reasoning/answer layouts)."""

import pytest

from rewards import soft_format_reward, strict_format_reward, think_answer_format_reward, xmlcount_reward

THINK = [
    # (completion, expected)
    ("<think>6 * 4 is 24</think>\n<answer>6 * 4</answer>", 1.0),  # full format
    ("<think>a\nb\nc</think><answer>1</answer>\n", 1.0),  # multi-line thinking, trailing newline
    ("6 * 4 is 24</think>\n<answer>6 * 4</answer>", 1.0),  # opening <think> prefilled by the prompt
    ("Let me solve this step by step.\n<think>6 * 4</think>\n<answer>6 * 4</answer>", 1.0),  # TRL prepends the prefill
    ("<think>x</think>\n<answer>1</answer> and more", 0.0),  # text after the answer
    ("<think>x</think> words <answer>1</answer>", 0.0),  # text between think and answer
    ("<answer>1</answer>", 0.0),  # no thinking
    ("<think>x</think>", 0.0),  # no answer
    ("<think>x</think>\n<answer>1", 0.0),  # unclosed answer
    ("<think>x<think>y</think>\n<answer>1</answer>", 0.0),  # nested think
    ("<think>x</think>\n<answer>1</answer><answer>2</answer>", 0.0),  # two answers
    ("<answer>1</answer><think>x</think>", 0.0),  # wrong order
    ("", 0.0),  # empty
]


@pytest.mark.parametrize("completion,expected", THINK)
def test_think_format_table(completion, expected):
    assert think_answer_format_reward([completion]) == [expected]


GOOD = "<reasoning>\nStep 1: 60 / 5 = 12.\nStep 2: 12 * 6 = 72.\n</reasoning>\n<answer>\n72\n</answer>\n"

XML = [
    # (completion, strict, soft)
    (GOOD, 0.5, 0.5),  # the exact layout, multi-line reasoning
    (GOOD.rstrip("\n"), 0.5, 0.5),  # no final newline
    ("<reasoning>one line</reasoning>\n<answer>72</answer>", 0.0, 0.5),  # no newlines inside tags
    ("<reasoning>\na\n</reasoning>\n\n<answer>\n72\n</answer>\n", 0.0, 0.5),  # blank line between blocks
    ("  <reasoning>a</reasoning><answer>72</answer>", 0.0, 0.5),  # leading whitespace, no separators
    ("Sure! " + GOOD, 0.0, 0.0),  # text before the reasoning
    (GOOD + "Hope this helps", 0.0, 0.5),  # text after the answer
    ("<answer>\n72\n</answer>", 0.0, 0.0),  # no reasoning
    ("<reasoning>\na\n</reasoning>\n", 0.0, 0.0),  # no answer
    ("<reasoning>\na\n</reasoning>\n<answer>\n72\n", 0.0, 0.0),  # unclosed answer
    (
        "<reasoning>\na\n</reasoning>\n<reasoning>\nb\n</reasoning>\n<answer>\n1\n</answer>",
        0.0,
        0.5,
    ),  # two reasoning blocks
]


@pytest.mark.parametrize("completion,strict,soft", XML)
def test_strict_and_soft_format_tables(completion, strict, soft):
    assert strict_format_reward([completion]) == [strict]
    assert soft_format_reward([completion]) == [soft]


XMLCOUNT = [
    # (completion, expected)
    (GOOD, 0.5),  # all four tags on their own lines, only a newline after
    (GOOD + "bye", 0.497),  # three characters after </answer> cost 0.003
    ("<reasoning>\nx\n</reasoning>\n", 0.25),  # the reasoning tags only
    ("<reasoning>x</reasoning><answer>1</answer>", 0.0),  # tags not on their own lines
    ("<reasoning>\n<reasoning>\nx\n</reasoning>\n<answer>\n1\n</answer>", 0.375),  # a duplicated tag earns nothing
    (GOOD + "x" * 5000, 0.0),  # long trailing text: the score stops at 0.0
    ("", 0.0),  # empty
]


@pytest.mark.parametrize("completion,expected", XMLCOUNT)
def test_xmlcount_table(completion, expected):
    assert xmlcount_reward([completion]) == [pytest.approx(expected)]


def test_format_rewards_read_conversational_completions():
    message = [[{"role": "assistant", "content": GOOD}]]
    assert strict_format_reward(message) == soft_format_reward(message) == xmlcount_reward(message) == [0.5]
