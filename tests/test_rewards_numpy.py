"""Dataset columns holding numpy / pandas values score as the equal Python values.

numpy and pandas are imported only here (rewards/ never imports them); skipped if absent.
"""

import pytest

from rewards import (
    EQUATION_IN_ANSWER_TAG,
    NUMBER_IN_ANSWER_TAG,
    boxed_countdown_reward,
    countdown_reward,
    free_number_reward,
    math_accuracy_reward,
    number_correctness_reward,
    parse_number,
)
from rewards.scoring import as_int, as_int_list

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

TAGGED = "<answer>(6 - 2) * 6</answer>"
BOXED = r"\boxed{(6 - 2) \times 6}"

COUNTDOWN_ROWS = [
    # (target, nums, expected)
    (np.int64(24), [2, 6, 6], 1.0),  # numpy integer target
    (np.int32(24), [2, 6, 6], 1.0),  # another width
    (np.float64(24.0), [2, 6, 6], 1.0),  # integral numpy float
    (np.str_("24"), [2, 6, 6], 1.0),  # numpy string
    (24, np.array([2, 6, 6]), 1.0),  # numpy array of numbers
    (24, [np.int64(2), np.int64(6), 6], 1.0),  # a list of numpy integers
    (24, pd.Series([6, 2, 6]), 1.0),  # a pandas Series of numbers
    (24, np.array([2.0, 6.0, 6.0]), 1.0),  # integral floats in an array
    (np.int64(25), np.array([2, 6, 6]), 0.0),  # still wrong when the target differs
    (np.float64(24.5), [2, 6, 6], 0.0),  # a non-integral target is rejected
    (np.bool_(True), [2, 6, 6], 0.0),  # numpy bools are not integers
    (24, np.array([True, False, True]), 0.0),  # nor are arrays of bools
    (24, np.array([2, 6]), 0.0),  # a number missing
    (24, np.array([[2, 6, 6]]), 0.0),  # a 2-D array is not a list of numbers
]


@pytest.mark.parametrize("target,nums,expected", COUNTDOWN_ROWS)
def test_countdown_reads_numpy_values(target, nums, expected):
    assert countdown_reward([TAGGED], target=[target], nums=[nums]) == [expected]
    assert boxed_countdown_reward([BOXED], target=[target], nums=[nums]) == [expected]


def test_whole_columns_as_arrays_and_series():
    completions = [TAGGED, "<answer>6 * 6</answer>"]
    expected = [1.0, 0.0]
    assert (
        countdown_reward(completions, target=np.array([24, 24]), nums=np.array([[2, 6, 6], [2, 6, 6]])) == expected
    )  # 2-D array column
    assert (
        countdown_reward(completions, target=pd.Series([24, 24]), nums=pd.Series([[2, 6, 6], [6, 2, 6]])) == expected
    )  # Series columns
    assert (
        countdown_reward(completions, target=pd.Series([24, 24], index=[7, 3]), nums=[[2, 6, 6]] * 2) == expected
    )  # index labels ignored
    assert (
        countdown_reward(np.array(completions), target=[24, 24], nums=[[2, 6, 6]] * 2) == expected
    )  # completions as an array
    assert countdown_reward(completions, target=np.array([24]), nums=[[2, 6, 6]] * 2) == [
        1.0,
        0.0,
    ]  # short column: the rest scores 0.0


GSM8K_GOLD = [
    # (gold, expected)
    (np.int64(72), 2.0),  # numpy integer
    (np.float64(72.0), 2.0),  # numpy float (its repr is "np.float64(72.0)")
    (np.str_("72"), 2.0),  # numpy string
    (np.array(72), 2.0),  # a 0-d array
    (np.int64(73), 0.0),  # still wrong when it differs
    (np.float64("nan"), 0.0),  # not a number
    (np.bool_(True), 0.0),  # bools are not numbers
]


@pytest.mark.parametrize("gold,expected", GSM8K_GOLD)
def test_number_rewards_read_numpy_gold(gold, expected):
    assert number_correctness_reward(["<answer>72</answer>"], answer=[gold]) == [expected]
    assert free_number_reward(["so 72"], answer=[gold]) == [expected / 2]


def test_number_gold_column_as_array():
    assert number_correctness_reward(["<answer>72</answer>"] * 2, answer=np.array(["72", "73"])) == [2.0, 0.0]
    assert number_correctness_reward(["<answer>72</answer>"] * 2, answer=pd.Series([72, 72])) == [2.0, 2.0]


def test_helpers_and_parsers_read_numpy():
    assert as_int(np.int64(7)) == 7 and as_int(np.bool_(False)) is None
    assert as_int_list(np.array([3, 5])) == [3, 5] and as_int_list(np.array(["3", "x"])) is None
    assert parse_number(np.int64(-5)) == parse_number("-5")
    assert EQUATION_IN_ANSWER_TAG.is_correct("(6-2)*6", {"target": np.int64(24), "nums": np.array([2, 6, 6])})
    assert NUMBER_IN_ANSWER_TAG.is_correct("72", {"answer": np.float64(72.0)})


def test_math_accuracy_reads_numpy_solution():
    pytest.importorskip("math_verify")
    assert math_accuracy_reward([r"$\boxed{4}$"], solution=np.array(["$4$"])) == [1.0]
    assert math_accuracy_reward([r"$\boxed{4}$"] * 2, solution=np.array([4, 5])) == [1.0, 0.0]  # numpy ints
    assert math_accuracy_reward([r"$\boxed{4}$"], solution=[np.int64(4)]) == [1.0]


@pytest.mark.parametrize("make", [np.array, pd.Series], ids=["array", "Series"])
def test_math_accuracy_reads_completions_as_an_array(make):
    pytest.importorskip("math_verify")
    completions = make([r"$\boxed{4}$", r"$\boxed{5}$"])
    assert math_accuracy_reward(completions, solution=["$4$", "$4$"]) == [1.0, 0.0]
