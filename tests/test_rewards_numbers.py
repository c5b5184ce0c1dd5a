"""What a number is (rewards.numbers), checked both ways through every reader.

Each spelling is read strictly (the whole ``<answer>``) and format-free (the last number of
a sentence); it must match the gold it spells and none of the near golds a careless reader
would give it.
"""

import time
from decimal import Decimal

import pytest

from rewards import (
    MAX_NUMBER_CHARS,
    answer_digits_reward,
    free_number_reward,
    int_reward,
    last_number,
    normalize_number,
    number_correctness_reward,
    parse_integer,
    parse_number,
)

SPELLINGS = [
    # (spelling, the number it is or None, near golds it must not match)
    ("−5", "-5", ["5"]),  # U+2212 MINUS SIGN is a minus sign
    ("–5", "-5", ["5"]),  # so is an en dash
    ("‒5", "-5", ["5"]),  # a figure dash
    ("－5", "-5", ["5"]),  # a fullwidth hyphen-minus
    ("−$5", "-5", ["5"]),  # before the money sign
    ("$−5", "-5", ["5"]),  # after it
    ("−1,080.50", "-1080.5", ["1080.5", "50", "-1"]),  # with thousands and decimals
    ("-5", "-5", ["5"]),  # ASCII, as before
    (".5", "0.5", ["5"]),  # a leading decimal point
    ("−.5", "-0.5", ["0.5", "5", "-5"]),  # signed
    ("$.75", "0.75", ["75"]),  # money
    ("1,080", "1080", ["80", "1"]),  # thousands
    ("72", "72", ["7", "2", "720"]),  # plain
    ("1e2", None, ["100", "2", "1"]),  # exponent form: not 100, nor a piece of it
    ("1E2", None, ["100", "2", "1"]),  # upper case
    ("2.5e-3", None, ["0.0025", "3", "-3", "2.5"]),  # signed exponent
    ("1e−2", None, ["0.01", "2", "-2", "1"]),  # exponent with U+2212
    ("10^2", None, ["100", "2", "10"]),  # power
    ("10^{2}", None, ["100", "2", "10"]),  # LaTeX power
    ("10**2", None, ["100", "2", "10"]),  # Python power
    ("10²", None, ["100", "10"]),  # superscript
    ("1.2.5", None, ["5", "1.2", "0.5"]),  # two decimal points
    ("2,5", None, ["5", "2", "2.5", "25"]),  # a decimal comma, or a list: not a number
    ("1,0800", None, ["800", "10800", "1"]),  # a broken thousands group
    ("-$-5", None, ["5", "-5"]),  # two signs
]
NUMBERS = [(text, gold, near) for text, gold, near in SPELLINGS if gold is not None]


@pytest.mark.parametrize("text, gold, near", SPELLINGS)
def test_strict_reading(text, gold, near):
    assert parse_number(text) == (None if gold is None else Decimal(gold))
    completion = f"<answer>{text}</answer>"
    for other in near:
        assert number_correctness_reward([completion], answer=[other]) == [0.0], other
    if gold is not None:
        assert number_correctness_reward([completion], answer=[gold]) == [2.0]


@pytest.mark.parametrize("sentence", ["So the answer is {}.", "{}", "x = {}, done", "Total:{}"])
@pytest.mark.parametrize("text, gold, near", SPELLINGS)
def test_format_free_reading(text, gold, near, sentence):
    completion = sentence.format(text)
    assert last_number(completion) == text  # read whole, as written
    for other in near:
        assert free_number_reward([completion], answer=[other]) == [0.0], other
    if gold is not None:
        assert free_number_reward([completion], answer=[gold]) == [1.0]


@pytest.mark.parametrize(
    "text, last",
    [
        ("10 − 3", "3"),  # U+2212 after an operand is subtraction, like "-"
        ("pages 3–5", "5"),  # an en dash after a number: a range, not a sign
        ("(4)−3", "3"),  # after a closing parenthesis
        ("the answer—5", "5"),  # an em dash is punctuation, not a sign
        ("think...5", "5"),  # an ellipsis is not a decimal point
        ("1, 2, 3.", "3"),  # a list with spaces: its last number
        ("it is 42.", "42"),  # a final period is punctuation
        ("1,080.00, then", "1,080.00"),  # and so is a comma
        ("2^3 = 8", "8"),  # a power earlier in the text does not hide the result
        ("no digits", None),  # nothing spelled like a number
    ],
)
def test_last_number_around_signs_and_punctuation(text, last):
    assert last_number(text) == last


@pytest.mark.parametrize(
    "text, value",
    [
        (" 42 ", 42),  # spaces around
        ("−42", -42),  # U+2212
        ("-042", -42),  # leading zeros
        ("$42", None),  # money is not a bare integer
        ("4.0", None),  # nor a decimal
        ("1e2", None),  # nor an exponent form
        ("1" * (MAX_NUMBER_CHARS + 1), None),  # past the bound
    ],
)
def test_bare_integers(text, value):
    assert parse_integer(text) == value
    assert int_reward([f"<answer>{text}</answer>"]) == [0.0 if value is None else 0.5]


@pytest.mark.parametrize(
    "text, gold, expected",
    [
        ("−85", "-85", 1.0),  # U+2212 is the sign
        ("−85", "85", 0.0),  # so the signs differ
        ("85", "−85", 0.0),  # a gold written with U+2212 too
        ("1e2", "100", 0.0),  # not an integer answer
    ],
)
def test_answer_digits_reads_the_same_numbers(text, gold, expected):
    assert answer_digits_reward([f"<answer>{text}</answer>"], answer=[gold]) == [expected]


def test_vote_keys_agree_on_the_same_number():
    assert normalize_number("−5") == normalize_number("-5") == normalize_number("-$5.00") == "-5"
    assert normalize_number(".5") == normalize_number("0.50") == "0.5"
    assert normalize_number("1e2") == "1e2"  # not a number: kept as text, so it never votes with 100


# --- the bound: golds of any size score at once ----------------------------------------------------

GOLD_REWARDS = [number_correctness_reward, answer_digits_reward, free_number_reward]
HUGE = {
    "int": lambda digits: 1 << (digits * 10 // 3),  # about `digits` digits, made in linear time
    "Decimal": lambda digits: Decimal((0, (1,), digits)),
    "digit string": lambda digits: "1" * digits,
}
SMALL_DIGITS, GROWTH = 125_000, 8
MAX_GROWTH, FLOOR_SECONDS = 20.0, 0.002  # as tests/test_rewards_fuzz.py: linear grows ~8x


def _best_time(fn, gold, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        assert fn(["<answer>1</answer>"], answer=[gold]) == [0.0]
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("kind", HUGE)
@pytest.mark.parametrize("fn", GOLD_REWARDS, ids=[fn.__name__ for fn in GOLD_REWARDS])
def test_huge_gold_scores_zero_without_growing(fn, kind):
    make = HUGE[kind]
    small, large = _best_time(fn, make(SMALL_DIGITS)), _best_time(fn, make(SMALL_DIGITS * GROWTH))
    assert large < MAX_GROWTH * max(small, FLOOR_SECONDS), f"{small:.4f}s -> {large:.4f}s"
    assert large < 1.0  # a million digits: ~60 s when the gold was converted to a Decimal


@pytest.mark.parametrize(
    "value, read",
    [
        (10**MAX_NUMBER_CHARS - 1, True),  # the largest int read: 40 digits
        (10**MAX_NUMBER_CHARS, False),  # one digit more
        (1e300, False),  # a float of 301 digits
        (Decimal("1e-39"), True),  # 40 digits written out
        (Decimal("1e-40"), False),  # 41
        (float("inf"), False),  # not finite
    ],
)
def test_values_are_read_within_the_same_bound(value, read):
    assert (parse_number(value) is not None) is read
