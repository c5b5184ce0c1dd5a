"""Table tests for the GSM8K correctness and integer rewards."""

import pytest

from rewards import answer_digits_reward, int_reward, number_correctness_reward


def wrap(answer: str) -> str:
    return f"<reasoning>\nwork\n</reasoning>\n<answer>\n{answer}\n</answer>"


CORRECTNESS = [
    # (answer text, gold, expected)
    ("72", "72", 2.0),  # exact
    ("72.0", "72", 2.0),  # trailing .0
    ("72.00", "72", 2.0),  # trailing .00
    ("$72", "72", 2.0),  # dollar sign
    ("  72  ", "72", 2.0),  # surrounding whitespace
    ("1,080", "1080", 2.0),  # thousands comma in the answer
    ("1080", "1,080", 2.0),  # thousands comma in the gold
    ("$1,234,567.00", "1234567", 2.0),  # all of it together
    ("-5", "-5", 2.0),  # negative
    ("-$5", "-5", 2.0),  # negative money
    ("5", "-5", 0.0),  # sign matters
    ("4720", "472", 0.0),  # a prefix is not equal
    ("472", "4720", 0.0),  # nor the other way round
    ("72.5", "72", 0.0),  # not an integer
    ("0.5", "0.50", 2.0),  # numeric equality of decimals
    ("72 dollars", "72", 0.0),  # extra words
    ("The answer is 72", "72", 0.0),  # extra words
    ("1,00", "100", 0.0),  # a misplaced comma is not a thousands separator
    ("", "72", 0.0),  # empty answer
    ("seventy-two", "72", 0.0),  # words
]


@pytest.mark.parametrize("text,gold,expected", CORRECTNESS)
def test_correctness_table(text, gold, expected):
    assert number_correctness_reward([wrap(text)], answer=[gold]) == [expected]


@pytest.mark.parametrize(
    "completion,expected",
    [
        ("72", 0.0),  # no tags
        ("<answer>72</answer>", 2.0),  # tags without reasoning still count
        ("<answer>71</answer> ... <answer>72</answer>", 2.0),  # the last answer counts
        ("<answer>72</answer> ... <answer>71</answer>", 0.0),  # the last answer counts
        ("<answer>72", 0.0),  # unclosed
    ],
)
def test_correctness_reads_last_closed_answer(completion, expected):
    assert number_correctness_reward([completion], answer=["72"]) == [expected]


def test_gold_may_be_a_number():
    assert number_correctness_reward([wrap("72"), wrap("72")], answer=[72, 72.0]) == [2.0, 2.0]


INTS = [
    # (answer text, expected)
    ("42", 0.5),  # digits
    ("-42", 0.5),  # negative integer
    ("4.2", 0.0),  # decimal
    ("42 apples", 0.0),  # units
    ("$42", 0.0),  # money sign
    ("", 0.0),  # empty
]


@pytest.mark.parametrize("text,expected", INTS)
def test_int_reward_table(text, expected):
    assert int_reward([wrap(text)]) == [expected]


def test_int_reward_without_tags():
    assert int_reward(["42"]) == [0.0]


DIGITS = [
    # (answer text, gold, expected)
    ("85", "85", 1.0),  # every place right
    (" 85 ", "85", 1.0),  # whitespace around the number
    ("75", "85", 0.5),  # tens wrong
    ("86", "85", 0.5),  # units wrong
    ("58", "85", 0.0),  # digits swapped: no place right
    ("185", "85", 2 / 3),  # an extra digit is a wrong place
    ("5", "85", 0.5),  # a missing digit is a wrong place
    ("1000", "999", 0.0),  # a carry into a new place: nothing lines up
    ("-12", "-12", 1.0),  # negative, equal
    ("-12", "12", 0.0),  # the sign differs
    ("12", "-12", 0.0),  # the sign differs the other way
    ("085", "85", 1.0),  # leading zeros are not places
    ("85.0", "85", 0.0),  # not an integer answer
    ("8 5", "85", 0.0),  # not a number
    ("", "85", 0.0),  # empty answer
    ("85", "85.5", 0.0),  # the gold is not an integer
    ("85", "$85", 1.0),  # the gold is read as GSM8K gold is
    ("1" * 41, "1" * 41, 0.0),  # longer than any grade-school result
]


@pytest.mark.parametrize("text,gold,expected", DIGITS)
def test_answer_digits_reward_table(text, gold, expected):
    assert answer_digits_reward([wrap(text)], answer=[gold]) == [pytest.approx(expected)]


def test_answer_digits_reward_reads_the_last_answer_and_needs_tags():
    assert answer_digits_reward(["<answer>12</answer> then <answer>85</answer>"], answer=["85"]) == [1.0]
    assert answer_digits_reward(["85"], answer=["85"]) == [0.0]  # no tags, no answer
