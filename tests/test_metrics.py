"""pass@k, maj@k and `summarize` against values worked out by hand."""

from math import comb

import pytest

from r1kit.metrics import majority_answer, majority_vote, pass_at_k, summarize


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 1, 1, 0.25),  # pass@1 is the share of correct samples
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (4, 0, 4, 0.0),  # nothing correct
        (4, 3, 2, 1.0),  # only one wrong sample: any 2 contain a correct one
        (4, 4, 4, 1.0),  # everything correct
        (10, 3, 4, 1 - 35 / 210),  # C(7,4)=35, C(10,4)=210
    ],
)
def test_pass_at_k_by_hand(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_large_n_is_exact():
    # the product form 1 - prod(1 - k/i) agrees; integers keep it exact far beyond float factorials
    n, c, k = 2000, 7, 100
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), rel=1e-12)


@pytest.mark.parametrize(
    "n, c, k",
    [
        (4, 5, 2),  # more correct than samples
        (4, -1, 2),  # negative count
        (4, 1, 0),  # k must be at least 1
        (4, 1, 5),  # k larger than n
    ],
)
def test_pass_at_k_rejects_bad_counts(n, c, k):
    with pytest.raises(ValueError, match="pass_at_k"):
        pass_at_k(n, c, k)


@pytest.mark.parametrize(
    "keys, correct, winner, expected",
    [
        (["7", "8", "7"], [True, False, True], 0, True),  # clear majority, correct
        (["8", "7", "7"], [False, True, True], 1, True),  # majority need not come first
        (["8", "7", "7", "8"], [False, True, True, False], 0, False),  # 2-2 tie: first seen wins
        (["7", "8", "8", "7"], [True, False, False, True], 0, True),  # same tie, other order
        ([None, None, "5"], [False, False, True], 2, True),  # None never wins, even as majority
        ([None, None], [False, False], None, False),  # nobody answered
        (["3", "4", "5", "6"], [False, False, False, True], 0, False),  # all tied: first one
        (["9", "9", "9", "2"], [True, False, False, True], 0, True),  # the first of the key decides
    ],
)
def test_majority_vote_by_hand(keys, correct, winner, expected):
    assert majority_answer(keys) == winner
    assert majority_vote(keys, correct) is expected


def test_majority_vote_length_mismatch():
    with pytest.raises(ValueError, match="2 keys but 1"):
        majority_vote(["1", "2"], [True])


def _c(success, key, formatted=True, length=10, correct=None):
    # correct (format-free) follows success unless given
    return {
        "success": success,
        "correct": success if correct is None else correct,
        "formatted": formatted,
        "key": key,
        "length": length,
    }


# Four problems, k = 4 samples each, plus one greedy completion each.
RECORDS = [
    # greedy right; samples: 2 right ("6") and 2 wrong ("5", "5") -> tie, "6" first -> maj right
    {"greedy": _c(True, "6"), "samples": [_c(True, "6"), _c(False, "5"), _c(True, "6"), _c(False, "5")]},
    # greedy wrong; samples: 1 right -> pass@4 = 1; majority "9" wrong
    {"greedy": _c(False, "9"), "samples": [_c(False, "9"), _c(False, "9"), _c(True, "4"), _c(False, "1")]},
    # greedy unformatted but the right number is in it; samples: nothing right
    {"greedy": _c(False, None, False, 40, correct=True), "samples": [_c(False, None, False)] * 4},
    # greedy right; samples: 3 unanswered, 1 right -> the single answer wins the vote
    {"greedy": _c(True, "2", length=20), "samples": [_c(False, None, False)] * 3 + [_c(True, "2")]},
]


def test_summarize_by_hand():
    m = summarize(RECORDS, length_unit="tokens")
    assert m["n_problems"] == 4 and m["k"] == 4
    assert m["success"] == 0.5  # problems 1 and 4
    assert m["correct"] == 0.75  # and problem 3, read format-free
    assert m["pass_at_k"] == 0.75  # problems 1, 2, 4 have a correct sample
    assert m["maj_at_k"] == 0.5  # problems 1 (tie) and 4
    assert m["sample_success"] == m["sample_correct"] == pytest.approx((2 + 1 + 0 + 1) / 16)
    assert m["format_rate"] == 0.75  # greedy completions: only problem 3 unformatted
    assert m["mean_length"] == (10 + 10 + 40 + 20) / 4
    assert (m["length_unit"], m["measured_on"]) == ("tokens", "greedy")


def test_summarize_samples_only_and_greedy_only():
    # without greedy completions, success is None and format/length come from the samples
    m = summarize([{"greedy": None, "samples": r["samples"]} for r in RECORDS])
    assert m["success"] is None and m["measured_on"] == "samples" and m["length_unit"] == "chars"
    assert m["format_rate"] == pytest.approx(9 / 16)
    # without samples, the sampled metrics are None
    m = summarize([{"greedy": r["greedy"], "samples": []} for r in RECORDS])
    assert m["k"] == 0 and m["pass_at_k"] is None and m["maj_at_k"] is None and m["success"] == 0.5


@pytest.mark.parametrize(
    "records, message",
    [
        ([], "at least one"),  # nothing to summarize
        ([RECORDS[0], {"greedy": RECORDS[1]["greedy"], "samples": []}], "same number of samples"),
        ([RECORDS[0], {"greedy": None, "samples": RECORDS[1]["samples"]}], "greedy completion"),
    ],
)
def test_summarize_rejects_inconsistent_records(records, message):
    with pytest.raises(ValueError, match=message):
        summarize(records)
