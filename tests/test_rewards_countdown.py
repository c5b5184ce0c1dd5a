"""Table tests for the Countdown rewards (tags and boxed LaTeX)."""

import pickle
import time

import pytest

from rewards import boxed_countdown_reward, check_equation, countdown_reward, evaluate_expression

N24 = [2, 6, 6]  # (6 - 2) * 6 = 24

TAGGED = [
    # (completion, target, nums, expected)
    ("<answer>(6 - 2) * 6</answer>", 24, N24, 1.0),  # plain correct
    ("<think>hmm</think>\n<answer> (6-2)*6 </answer>", 24, [6, 2, 6], 1.0),  # order of nums does not matter
    ("<answer>(6 - 2) * 6 = 24</answer>", 24, N24, 1.0),  # trailing "= target" allowed
    ("<answer>(6 - 2) * 6 = 25</answer>", 24, N24, 0.0),  # trailing "= N" must be the target
    ("<answer>24 = (6 - 2) * 6</answer>", 24, N24, 0.0),  # leading "N =" is not allowed
    ("<answer>(6 - 2) * 6 = 24 = 24</answer>", 24, N24, 0.0),  # only one "="
    ("<answer>(6 − 2) × 6</answer>", 24, N24, 1.0),  # typographic minus and times
    ("<answer>(6 – 2) * 6 = 24</answer>", 24, N24, 1.0),  # an en dash is a minus sign too (rewards.numbers)
    ("<answer>6 * (–2 + 6)</answer>", 24, N24, 0.0),  # ... and still never a unary one
    ("<answer>36 ÷ 3 + 12</answer>", 24, [3, 12, 36], 1.0),  # typographic division
    ("<answer>6 / (1 - 3 / 4)</answer>", 24, [1, 3, 4, 6], 1.0),  # exact rational intermediate values
    ("<answer>6 * 6 - 2</answer>", 24, N24, 0.0),  # wrong value
    ("<answer>6 * 4</answer>", 24, [4, 6, 1], 0.0),  # a number unused
    ("<answer>6 * 4 * 1 * 1</answer>", 24, [4, 6, 1], 0.0),  # a number used twice
    ("<answer>(6 - 2) * 6 * 1</answer>", 24, N24, 0.0),  # a number that is not given
    ("<answer>-2 + 6 * 6 - 10</answer>", 24, [2, 6, 6, 10], 0.0),  # unary minus
    ("<answer>6 * (-2 + 6)</answer>", 24, N24, 0.0),  # unary minus inside parentheses
    ("<answer>+6 * (6 - 2)</answer>", 24, N24, 0.0),  # unary plus
    ("<answer>2 ** 3 * 3</answer>", 24, [2, 3, 3], 0.0),  # power
    ("<answer>48 // 2</answer>", 24, [48, 2], 0.0),  # floor division
    ("<answer>2.5 * 4</answer>", 10, [2, 5, 4], 0.0),  # a decimal point is not two numbers
    ("<answer>6(6 - 2)</answer>", 24, N24, 0.0),  # implicit multiplication
    ("<answer>(6 - 2)(6)</answer>", 24, N24, 0.0),  # implicit multiplication of groups
    ("<answer>6 x (6 - 2)</answer>", 24, N24, 0.0),  # letters are not operators
    ("<answer>(6 - 2) * 6 + 0 * 0</answer>", 24, N24, 0.0),  # extra literals
    ("<answer>6 / (2 - 2) + 6</answer>", 6, [6, 2, 2, 6], 0.0),  # division by zero
    ("<answer>((6 - 2) * 6</answer>", 24, N24, 0.0),  # unbalanced parentheses
    ("<answer>(6 - 2) * 6)</answer>", 24, N24, 0.0),  # unbalanced parentheses
    ("<answer></answer>", 24, N24, 0.0),  # empty answer
    ("(6 - 2) * 6", 24, N24, 0.0),  # no answer tags
    ("<think>(6 - 2) * 6</think>", 24, N24, 0.0),  # equation only in the thinking
    ("<answer>6 * 6</answer> no wait <answer>(6 - 2) * 6</answer>", 24, N24, 1.0),  # the LAST answer counts
    ("<answer>(6 - 2) * 6</answer> no wait <answer>6 * 6</answer>", 24, N24, 0.0),  # the LAST answer counts
    ("<answer>(6 - 2) * 6", 24, N24, 0.0),  # unclosed answer
    ("<answer>80 + (70 / 14)</answer>", 85, [14, 70, 80], 1.0),  # Mini-R1's sample
    ("<answer>8 * 3</answer>", 24.0, [8.0, 3], 1.0),  # integral floats from a dataset
]


@pytest.mark.parametrize("completion,target,nums,expected", TAGGED)
def test_countdown_reward_table(completion, target, nums, expected):
    assert countdown_reward([completion], target=[target], nums=[nums]) == [expected]


BOXED = [
    # (completion, target, nums, expected)
    (r"The answer is $\boxed{(6 - 2) \times 6}$.", 24, N24, 1.0),  # \times
    (r"\boxed{\frac{48}{2}}", 24, [48, 2], 1.0),  # \frac
    (r"\boxed{\dfrac{48}{2}}", 24, [48, 2], 1.0),  # \dfrac
    (r"\boxed{\tfrac{48}{2}}", 24, [48, 2], 1.0),  # \tfrac
    (r"\boxed{48 \div 2}", 24, [48, 2], 1.0),  # \div
    (r"\boxed{6 \cdot (6 - 2)}", 24, N24, 1.0),  # \cdot
    (r"\boxed{\left(6 - 2\right) \times 6}", 24, N24, 1.0),  # \left( \right)
    (r"\boxed{{6 - 2} \times 6}", 24, N24, 1.0),  # braces as grouping
    (r"\boxed{(6 - 2) \times 6 = 24}", 24, N24, 1.0),  # trailing "= target"
    (r"\boxed{(6 - 2) \times 6 = 23}", 24, N24, 0.0),  # trailing "= other"
    (r"\boxed{6 \times \frac{6}{1 + 2}}", 12, [6, 6, 1, 2], 1.0),  # nested fraction
    (r"\boxed{2^{3} \times 3}", 24, [2, 3, 3], 0.0),  # powers are not allowed
    (r"\boxed{\sqrt{36} \times 4}", 24, [36, 4], 0.0),  # other commands are not allowed
    (r"\boxed{6 \times 6}", 24, N24, 0.0),  # wrong value and unused number
    (r"\boxed{24} then \boxed{(6 - 2) \times 6}", 24, N24, 1.0),  # the LAST box counts
    (r"\boxed{(6 - 2) \times 6} then \boxed{24}", 24, N24, 0.0),  # the LAST box counts
    (r"\boxed{(6 - 2) \times 6", 24, N24, 0.0),  # unbalanced braces
    (r"\boxed{-2 \times 6 + 36}", 24, [2, 6, 36], 0.0),  # unary minus
    (r"\boxed{6\frac{6}{2}}", 18, N24, 0.0),  # implicit multiplication
    (r"\boxed{2.5 \times 4}", 10, [2, 5, 4], 0.0),  # decimals
    ("<answer>(6 - 2) * 6</answer>", 24, N24, 0.0),  # tags are not a box
]

R1_LATEX = [
    # (completion, target, nums, expected): R1-distill LaTeX, accepted and still-rejected side by side
    (r"\boxed{\left[6 - 2\right] \times 6}", 24, N24, 1.0),  # \left[ \right] as grouping
    (r"\boxed{[6 - 2] \times 6}", 24, N24, 1.0),  # plain brackets as grouping
    (r"\boxed{[6 - 2) \times 6}", 24, N24, 0.0),  # mismatched bracket kinds
    (r"\boxed{\left\{6 - 2\right\} \times 6}", 24, N24, 0.0),  # \{ \} are not grouping
    (r"\boxed{\cfrac{48}{2}}", 24, [48, 2], 1.0),  # \cfrac like \frac
    (r"\boxed{\dfrac{48}2}", 24, [48, 2], 1.0),  # unbraced one-digit denominator
    (r"\boxed{\frac84 \times 12}", 24, [8, 4, 12], 1.0),  # \frac84 is 8/4, as in LaTeX
    (r"\boxed{\frac 8 4 \times 12}", 24, [8, 4, 12], 1.0),  # spaces before unbraced arguments are skipped
    (r"\boxed{\frac{12}3 \times 6}", 24, [12, 3, 6], 1.0),  # braced numerator, one-digit denominator
    (r"\boxed{\frac123 \times 8}", 24, [12, 3, 8], 0.0),  # \frac123 is (1/2)3 in LaTeX, not 12/3
    (r"\boxed{\frac123}", 24, [1, 2, 3], 0.0),  # and (1/2)3 is implicit multiplication
    (r"\boxed{\frac{48}}", 24, [48], 0.0),  # a missing argument
    (r"\boxed{\frac\pi2}", 24, [2], 0.0),  # a command as an argument
    (r"\boxed{\displaystyle \frac{48}{2}}", 24, [48, 2], 1.0),  # \displaystyle is ignored
    (r"\boxed{\big(6 - 2\big) \times 6}", 24, N24, 1.0),  # \big sizing dropped, delimiter kept
    (r"\boxed{\Bigl(6 - 2\Bigr) \times 6}", 24, N24, 1.0),  # \Bigl \Bigr
    (r"\boxed{\biggl[6 - 2\biggr] \cdot 6}", 24, N24, 1.0),  # \biggl[ \biggr]
    (r"\boxed{\Bigg(6 - 2\Bigg) \times 6}", 24, N24, 1.0),  # \Bigg
    (r"\boxed{\bigcup 6}", 24, N24, 0.0),  # a command that only starts like \big
    (r"\boxed{\left.6 - 2\right. \times 6}", 24, N24, 0.0),  # \left. has no delimiter to keep
    (r"\boxed{\mathbf{(6 - 2) \times 6}}", 24, N24, 1.0),  # the whole box in bold
    (r"\boxed{\textbf{(6 - 2) \times 6 = 24}}", 24, N24, 1.0),  # the whole equation in bold
    (r"\boxed{(6 - 2) \times 6 = \mathbf{24}}", 24, N24, 1.0),  # the result in bold
    (r"\boxed{(6 - 2) \times \mathbf{6}}", 24, N24, 0.0),  # bold around part of a side
    (r"\boxed{\mathbf{6} \times (6 - 2)}", 24, N24, 0.0),  # bold around part of a side, first
    (r"\boxed{\text{(6 - 2)} \times 6}", 24, N24, 0.0),  # \text is not understood
    (r"\boxed{24 = (6 - 2) \times 6}", 24, N24, 1.0),  # target first
    (r"\boxed{\mathbf{24} = (6 - 2) \times 6}", 24, N24, 1.0),  # target first, in bold
    (r"\boxed{25 = (6 - 2) \times 6}", 24, N24, 0.0),  # target first, wrong stated value
    (r"\boxed{24 = (6 - 2) \times 6 = 24}", 24, N24, 0.0),  # two "="
    (r"\boxed{(6 - 2) \times 6 = 4 \times 6}", 24, N24, 0.0),  # "=" between two expressions
    (r"\boxed{2^{3} \times 3 = 24}", 24, [2, 3, 3], 0.0),  # powers stay rejected
    (r"\boxed{x_{1} \times 6}", 24, N24, 0.0),  # subscripts stay rejected
    (r"\boxed{\sqrt{36} \times 4}", 24, [36, 4], 0.0),  # \sqrt stays rejected
    (r"\boxed{\left[-2 + 6\right] \times 6}", 24, N24, 0.0),  # unary minus stays rejected
    (r"\boxed{\frac{2.5}{1} \times 4}", 10, [2, 5, 1, 4], 0.0),  # decimals stay rejected
    (r"\boxed{6\left[6 - 2\right]}", 24, N24, 0.0),  # implicit multiplication stays rejected
]


@pytest.mark.parametrize("completion,target,nums,expected", R1_LATEX)
def test_boxed_countdown_reads_r1_latex(completion, target, nums, expected):
    assert boxed_countdown_reward([completion], target=[target], nums=[nums]) == [expected]


def test_plain_answer_keeps_its_trailing_only_rule():
    # The <answer> format keeps "a trailing = target may follow"; only the boxed format takes "target =".
    assert countdown_reward(["<answer>24 = (6 - 2) * 6</answer>"], target=[24], nums=[N24]) == [0.0]
    assert check_equation("24 = (6 - 2) * 6", 24, N24, target_first=True)
    assert not check_equation("25 = (6 - 2) * 6", 24, N24, target_first=True)


@pytest.mark.parametrize("completion,target,nums,expected", BOXED)
def test_boxed_countdown_reward_table(completion, target, nums, expected):
    assert boxed_countdown_reward([completion], target=[target], nums=[nums]) == [expected]


def test_conversational_and_batched_inputs_keep_order():
    completions = [
        [{"role": "assistant", "content": "<answer>(6 - 2) * 6</answer>"}],
        "<answer>6 * 6</answer>",
        None,
        42,
        [],
    ]
    scores = countdown_reward(completions, target=[24] * 5, nums=[N24] * 5)
    assert scores == [1.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": [24], "nums": [None]},  # missing numbers
        {"target": [None], "nums": [N24]},  # missing target
        {"target": [], "nums": []},  # columns shorter than completions
        {"target": ["x"], "nums": [["a", 2]]},  # garbage columns
        {},  # no columns at all
    ],
)
def test_bad_columns_score_zero(kwargs):
    assert countdown_reward(["<answer>(6 - 2) * 6</answer>"], **kwargs) == [0.0]
    assert boxed_countdown_reward([r"\boxed{(6 - 2) \times 6}"], **kwargs) == [0.0]


def test_extra_kwargs_are_ignored():
    scores = countdown_reward(
        ["<answer>(6 - 2) * 6</answer>"],
        target=[24],
        nums=[N24],
        prompts=["p"],
        completion_ids=[[1]],
        trainer_state=None,
        log_metric=print,
    )
    assert scores == [1.0]


def test_empty_and_non_list_completions():
    assert countdown_reward([], target=[], nums=[]) == []
    assert countdown_reward(None, target=None, nums=None) == []


def test_rewards_are_picklable():
    for fn in (countdown_reward, boxed_countdown_reward):
        assert pickle.loads(pickle.dumps(fn)) is fn


HOSTILE = [
    "<answer>9**9**9**9</answer>",  # power tower: would hang an eval-based scorer
    "<answer>" + "9" * 100_000 + "</answer>",  # 100k-digit literal
    "<answer>" + "(" * 50_000 + "1" + ")" * 50_000 + "</answer>",  # deep nesting
    "<answer>" * 20_000 + "1+2" + "</answer>" * 20_000,  # thousands of tags
    "x" * 1_000_000 + "<answer>(6 - 2) * 6</answer>",  # over a megabyte of text
    "x" * 900_000 + "<answer>1 * 2</answer>",  # long text, wrong answer
    r"\boxed{" * 30_000 + "1" + "}" * 30_000,  # deep LaTeX nesting
    r"\boxed{\frac{9}{" * 10_000,  # thousands of unclosed boxes
    "<answer>__import__('os').system('echo pwned')</answer>",  # code
    "\x00\ud800<answer>\u202e1+2</answer>",  # control and odd unicode
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_scores_zero_in_bounded_time(text):
    start = time.perf_counter()
    assert countdown_reward([text], target=[3], nums=[[1, 2]]) == [0.0]
    assert boxed_countdown_reward([text], target=[3], nums=[[1, 2]]) == [0.0]
    assert time.perf_counter() - start < 10.0  # catches a hang, not a busy machine (growth: test_rewards_fuzz)


def test_evaluate_expression_is_exact():
    assert evaluate_expression("1 / 3 + 1 / 3 + 1 / 3") == 1
    assert evaluate_expression("(1 + 2") is None
