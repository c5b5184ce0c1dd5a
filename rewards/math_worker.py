"""The child process behind ``math_accuracy_reward``: math-verify, one JSON line at a time.

math-verify bounds its own work with SIGALRM, which only works on a process's main thread
and cannot stop a runaway big-number computation from outside. Here it always runs on the
main thread of a process of its own, which the parent kills when it overruns.

Protocol: after start (and one check, so the first real one is as fast as any) it prints
``{"ready": true}``; then for each input line ``{"gold": str, "answer": str}`` it prints
``{"score": float}``, and for ``{"ping": true}`` (the parent's "are you alive?") ``{"pong": true}``.
Run by ``rewards.math_rewards``; ``python -m rewards.math_worker`` starts it by hand.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from math_verify import LatexExtractionConfig, parse, verify
    from math_verify.parser import NormalizationConfig

    answer_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(
                nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
            ),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]

    def score(gold: str, answer: str) -> float:
        gold_parsed = parse(gold, extraction_mode="first_match")
        if not gold_parsed:
            return 0.0
        answer_parsed = parse(answer, extraction_config=answer_config, extraction_mode="first_match")
        return 1.0 if verify(gold_parsed, answer_parsed) else 0.0

    score("$1$", r"$\boxed{1}$")  # the first check is slow (lazy set-up): pay it before "ready"
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("ping"):
            print(json.dumps({"pong": True}), flush=True)
            continue
        print(json.dumps({"score": score(request["gold"], request["answer"])}), flush=True)


if __name__ == "__main__":
    main()
