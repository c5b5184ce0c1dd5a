"""Evaluation metrics: pass@k, majority vote (maj@k) and the summary of one evaluation run.

Pure functions over already-scored completions; `r1kit.evaluate` produces the records that
`summarize` reads. A completion record is a mapping with

    success    bool       right answer in the required format (the success reward's full score)
    correct    bool       right answer read format-free from the whole completion
    formatted  bool       the completion has the task's layout
    key        str|None   the normalised extracted answer that maj@k votes on (None: no answer)
    length     int        completion length (tokens or characters, see `length_unit`)

and a problem record holds `greedy` (one completion record or None) and `samples` (a list).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from fractions import Fraction
from math import comb


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from `n` samples of which `c` are correct: 1 - C(n-c, k) / C(n, k).

    The estimator of Chen et al. (2021), computed exactly with integers, so it has no
    cancellation problem for large `n`.

    >>> pass_at_k(4, 1, 2)   # 1 - C(3,2)/C(4,2) = 1 - 3/6
    0.5
    >>> pass_at_k(5, 2, 3)   # 1 - C(3,3)/C(5,3) = 1 - 1/10
    0.9
    >>> pass_at_k(8, 0, 4), pass_at_k(8, 5, 4)   # no correct sample; too few wrong ones to fill k
    (0.0, 1.0)
    """
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    return float(1 - Fraction(comb(n - c, k), comb(n, k)))


def majority_answer(keys: Sequence[Hashable | None]) -> int | None:
    """Index of the first completion holding the most frequent non-None key (None if there is none).

    Ties go to the key seen first, so the vote is deterministic.

    >>> majority_answer(["8", "7", "7", "8"])   # 2-2 tie: "8" was seen first
    0
    >>> majority_answer([None, None, "3", None])   # None never wins
    2
    >>> majority_answer([None, None]) is None
    True
    """
    counts: dict[Hashable, int] = {}
    first: dict[Hashable, int] = {}
    for i, key in enumerate(keys):
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, i)
    if not counts:
        return None
    best = max(counts, key=lambda key: (counts[key], -first[key]))
    return first[best]


def majority_vote(keys: Sequence[Hashable | None], correct: Sequence[bool]) -> bool:
    """Whether the majority answer is correct, judged by its first completion (the representative).

    >>> majority_vote(["7", "8", "7"], [True, False, True])
    True
    >>> majority_vote(["8", "7", "7", "8"], [False, True, True, False])   # tie -> "8", wrong
    False
    >>> majority_vote([None, None, "5"], [False, False, True])
    True
    >>> majority_vote([None, None], [False, False])   # nobody answered
    False
    """
    if len(keys) != len(correct):
        raise ValueError(f"majority_vote got {len(keys)} keys but {len(correct)} correctness flags")
    winner = majority_answer(keys)
    return winner is not None and bool(correct[winner])


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(records: Sequence[Mapping], *, length_unit: str = "chars") -> dict:
    """Metrics of one evaluation from its problem records.

    success      greedy pass@1, strict: share of problems whose greedy completion is right and formatted
    correct      greedy pass@1, format-free: share whose greedy completion holds the right answer anywhere
    pass_at_k    mean unbiased pass@k over problems, k = samples per problem
    maj_at_k     share of problems whose majority answer (over the k samples) is correct
    sample_success, sample_correct  share of right samples, strict and format-free (sampled pass@1)
    format_rate, mean_length   over the greedy completions when there are any, else the samples
    Metrics that the records cannot give (no greedy run, no samples) are None.

    >>> ok = {"success": True, "correct": True, "formatted": True, "key": "7", "length": 10}
    >>> bad = {"success": False, "correct": False, "formatted": True, "key": "9", "length": 20}
    >>> raw = {"success": False, "correct": True, "formatted": False, "key": None, "length": 30}
    >>> records = [{"greedy": ok, "samples": [ok, bad, bad, raw]},
    ...            {"greedy": raw, "samples": [raw, raw, raw, raw]}]
    >>> m = summarize(records, length_unit="tokens")
    >>> m["success"], m["correct"], m["k"], m["pass_at_k"], m["maj_at_k"], m["sample_success"], m["sample_correct"]
    (0.5, 1.0, 4, 0.5, 0.0, 0.125, 0.75)
    >>> m["format_rate"], m["mean_length"], m["length_unit"], m["measured_on"]
    (0.5, 20.0, 'tokens', 'greedy')
    """
    if not records:
        raise ValueError("summarize needs at least one problem record")
    sample_counts = {len(r.get("samples") or ()) for r in records}
    if len(sample_counts) != 1:
        raise ValueError(f"every problem needs the same number of samples, got {sorted(sample_counts)}")
    k = sample_counts.pop()
    greedy = [r["greedy"] for r in records if r.get("greedy") is not None]
    if greedy and len(greedy) != len(records):
        raise ValueError("either every problem has a greedy completion or none has")

    success = correct = pass_k = maj_k = sample_success = sample_correct = None
    if greedy:
        success = _mean([float(g["success"]) for g in greedy])
        correct = _mean([float(g["correct"]) for g in greedy])
    if k:
        hits = [[bool(s["success"]) for s in r["samples"]] for r in records]
        pass_k = _mean([pass_at_k(k, sum(h), k) for h in hits])
        maj_k = _mean([float(majority_vote([s["key"] for s in r["samples"]], h)) for r, h in zip(records, hits)])
        sample_success = _mean([sum(h) / k for h in hits])
        sample_correct = _mean([sum(bool(s["correct"]) for s in r["samples"]) / k for r in records])
    measured = greedy or [s for r in records for s in r["samples"]]
    return {
        "n_problems": len(records),
        "k": k,
        "success": success,
        "correct": correct,
        "pass_at_k": pass_k,
        "maj_at_k": maj_k,
        "sample_success": sample_success,
        "sample_correct": sample_correct,
        "format_rate": _mean([float(bool(c["formatted"])) for c in measured]),
        "mean_length": _mean([float(c["length"]) for c in measured]),
        "length_unit": length_unit,
        "measured_on": "greedy" if greedy else "samples",
    }
