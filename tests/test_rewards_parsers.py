"""Table tests for rewards.parsers: strict and format-free extraction, correctness, vote keys."""

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewards import (
    BOXED_EQUATION,
    EQUATION_IN_ANSWER_TAG,
    NUMBER_IN_ANSWER_TAG,
    PARSERS,
    free_boxed_countdown_reward,
    free_countdown_reward,
    free_number_reward,
)

ROW24 = {"target": 24, "nums": [2, 6, 6]}

NUMBER_LENIENT = [
    # (text, last number as written, vote key)
    ("The answer is 42.", "42", "42"),  # a final period is punctuation
    ("3 + 4 = 7", "7", "7"),  # the last number of an equation
    ("<answer>7</answer>", "7", "7"),  # tags are just text here
    ("She pays $1,080.00 in total", "$1,080.00", "1080"),  # money with thousands and cents
    ("x = -3", "-3", "-3"),  # a minus after "=" is a sign
    ("-5", "-5", "-5"),  # a leading minus is a sign
    ("it is -$5.", "-$5", "-5"),  # a signed amount of money
    ("10-3", "3", "3"),  # a minus after a number is binary
    ("x = −3", "−3", "-3"),  # U+2212 is a minus sign (see tests/test_rewards_numbers.py)
    ("it is 1e2", "1e2", "1e2"),  # not a number: read whole, so no piece of it is the answer
    ("10 - 3", "3", "3"),  # with spaces too
    ("(4)-3", "3", "3"),  # a minus after a closing parenthesis is binary
    ("between 1,2 and 3", "3", "3"),  # a list is not a thousands group
    ("0.5 liters", "0.5", "0.5"),  # decimals
    ("no number here", None, None),  # nothing to read
    ("", None, None),  # empty
]


@pytest.mark.parametrize("text,answer,key", NUMBER_LENIENT)
def test_number_lenient_table(text, answer, key):
    assert NUMBER_IN_ANSWER_TAG.lenient(text, {}) == answer
    assert NUMBER_IN_ANSWER_TAG.vote_key(answer) == key


NUMBER_STRICT = [
    # (text, strict answer, formatted, correct for gold "1080")
    ("<answer>$1,080.00</answer>", "$1,080.00", True, True),  # the same number
    ("<answer>1080</answer> <answer>1081</answer>", "1081", True, False),  # the last closed answer counts
    ("<answer>1080", None, False, False),  # unclosed
    ("the answer is 1080", None, False, False),  # no tags: strict finds nothing
    ("<answer>1080 dollars</answer>", "1080 dollars", True, False),  # words make it wrong
]


@pytest.mark.parametrize("text,answer,formatted,correct", NUMBER_STRICT)
def test_number_strict_table(text, answer, formatted, correct):
    assert NUMBER_IN_ANSWER_TAG.strict(text) == answer
    assert NUMBER_IN_ANSWER_TAG.formatted(text) is formatted
    assert NUMBER_IN_ANSWER_TAG.is_correct(answer, {"answer": "1,080"}) is correct


@pytest.mark.parametrize(
    "answer,key",
    [
        (" $1,080.00 ", "1080"),  # money and 1080 agree
        ("1080", "1080"),  # plain
        ("2.50", "2.5"),  # trailing zeros dropped
        ("about  7 ", "about 7"),  # other text kept, whitespace normalised
        ("   ", None),  # blank: no vote
        (None, None),  # no answer: no vote
    ],
)
def test_number_vote_key(answer, key):
    assert NUMBER_IN_ANSWER_TAG.vote_key(answer) == key


EQUATION_LENIENT = [
    # (text, lenient answer for target 24 with nums [2, 6, 6])
    ("so (6 - 2) * 6 = 24.", "(6 - 2) * 6"),  # untagged, stated result dropped
    ("<answer>(6-2)*6</answer>", "(6-2)*6"),  # tagged
    ("24 = 6 * (6 - 2)", "6 * (6 - 2)"),  # the result first
    ("so (6 – 2) × 6 = 24", "(6 – 2) × 6"),  # typographic minus (en dash) and times
    ("(6 - 2) * 6 works. Check: 6 * 6 - 2 = 34", "6 * 6 - 2"),  # the LAST equation with the numbers, right or not
    ("6 * 6 - 2 = 34, so (6 - 2) * 6", "(6 - 2) * 6"),  # ... so the last one wins
    ("6 - 2 = 4\n4 * 6 = 24", None),  # steps, but no single equation with all numbers
    ("(6 - 2) * 6 * 1 = 24", None),  # other literals: skipped
    ("6 * 6", None),  # a number missing: skipped
    ("2.5 * 4", None),  # no equation of these numbers
    ("no numbers", None),  # nothing
]


@pytest.mark.parametrize("text,answer", EQUATION_LENIENT)
def test_equation_lenient_table(text, answer):
    assert EQUATION_IN_ANSWER_TAG.lenient(text, ROW24) == answer


EQUATION_CORRECT = [
    # (answer, tagged format correct, boxed format correct)
    ("(6 - 2) * 6", True, True),  # plain
    ("(6 - 2) * 6 = 24", True, True),  # trailing target
    ("24 = (6 - 2) * 6", False, True),  # leading target: boxed format only
    ("25 = (6 - 2) * 6", False, False),  # wrong stated value
    (r"\left(6 - 2\right) \times 6", False, True),  # LaTeX: boxed format only
    (r"2^{3}", False, False),  # raw LaTeX that does not convert
    ("6 * 6", False, False),  # wrong
    (None, False, False),  # no answer
]


@pytest.mark.parametrize("answer,tagged,boxed", EQUATION_CORRECT)
def test_equation_is_correct_table(answer, tagged, boxed):
    assert EQUATION_IN_ANSWER_TAG.is_correct(answer, ROW24) is tagged
    assert BOXED_EQUATION.is_correct(answer, ROW24) is boxed


BOXED = [
    # (text, strict, lenient, formatted)
    (r"so \boxed{(6-2) \times 6}", "(6-2) * 6", "(6-2) * 6", True),  # converted to the plain grammar
    (r"\boxed{2^{3}}", "2^{3}", "2^{3}", True),  # not convertible: the raw text (is_correct rejects it)
    (r"\boxed{1} then \boxed{\frac{48}{2}}", "((48)/(2))", "((48)/(2))", True),  # the last box
    ("so (6 - 2) * 6 = 24", None, "(6 - 2) * 6", False),  # no box: lenient falls back to plain text
    (r"\boxed{(6 - 2", None, None, False),  # an unclosed box is no box, nor is "(6 - 2" an equation of the numbers
]


@pytest.mark.parametrize("text,strict,lenient,formatted", BOXED)
def test_boxed_table(text, strict, lenient, formatted):
    assert BOXED_EQUATION.strict(text) == strict
    assert BOXED_EQUATION.formatted(text) is formatted
    assert BOXED_EQUATION.lenient(text, ROW24) == lenient


@pytest.mark.parametrize(
    "answer,key",
    [
        (" (3 + 5) × 2 = 16 ", "(3+5)*2"),  # no spaces, ASCII operators, result dropped
        ("16 = (3 + 5) * 2", "(3+5)*2"),  # a leading result dropped too
        ("(8 − 3) × 2 = 10", "(8-3)*2"),  # every minus sign is "-"
        ("(3+5)*2 = 4*4", "(3+5)*2"),  # two expressions: the first
        ("   ", None),  # blank: no vote
        (None, None),  # no answer: no vote
    ],
)
def test_equation_vote_key(answer, key):
    assert EQUATION_IN_ANSWER_TAG.vote_key(answer) == key == BOXED_EQUATION.vote_key(answer)


@pytest.mark.parametrize("parser", list(PARSERS.values()), ids=list(PARSERS))
@pytest.mark.parametrize("bad", [None, 42, b"<answer>7</answer>", ["<answer>7</answer>"], "x" * 1_000_001])
def test_methods_never_raise_on_bad_input(parser, bad):
    assert parser.strict(bad) is None
    assert parser.lenient(bad, ROW24) is None
    assert parser.formatted(bad) is False
    assert parser.is_correct(bad, ROW24) is False
    assert parser.is_correct("(6-2)*6", bad) is False
    assert parser.vote_key(bad) is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="0123456789+-*/=() $,.\n<>answrbox{}\\", max_size=200))
def test_parsers_never_raise_on_random_text(text):
    for parser in PARSERS.values():
        for answer in (parser.strict(text), parser.lenient(text, ROW24), parser.lenient(text, {"answer": "7"})):
            parser.is_correct(answer, ROW24)
            parser.is_correct(answer, {"answer": "7"})
            parser.vote_key(answer)
        parser.formatted(text)


def test_parsers_are_frozen_and_picklable():
    for name, parser in PARSERS.items():
        assert parser.name == name and pickle.loads(pickle.dumps(parser)) == parser
        with pytest.raises(AttributeError):
            parser.name = "other"


FREE = [
    # (reward, completion, columns, expected)
    (free_number_reward, "So she pays $1,080.00.", {"answer": ["1080"]}, 1.0),  # no tags needed
    (free_number_reward, "<answer>72</answer> or maybe 73", {"answer": ["72"]}, 0.0),  # the last number counts
    (free_countdown_reward, "(6 - 2) * 6 = 24", {"target": [24], "nums": [[2, 6, 6]]}, 1.0),  # untagged equation
    (free_countdown_reward, "<answer>(6 - 2) * 6</answer>", {"target": [24], "nums": [[2, 6, 6]]}, 1.0),  # tagged too
    (free_countdown_reward, "6 * 6 - 2 = 34", {"target": [24], "nums": [[2, 6, 6]]}, 0.0),  # a wrong equation
    (free_boxed_countdown_reward, r"\boxed{\frac{48}{2}}", {"target": [24], "nums": [[48, 2]]}, 1.0),  # a box
    (free_boxed_countdown_reward, "48 / 2", {"target": [24], "nums": [[48, 2]]}, 1.0),  # no box: plain equation
    (free_boxed_countdown_reward, r"48 / 2 \boxed{24}", {"target": [24], "nums": [[48, 2]]}, 0.0),  # the box wins
]


@pytest.mark.parametrize("reward,completion,columns,expected", FREE)
def test_free_rewards_table(reward, completion, columns, expected):
    assert reward([completion], **columns) == [expected]
