"""GSM8K: the public dataset from the hub, or small fixtures in the same schema for offline runs.

Raw GSM8K rows hold ``question`` and ``answer``, where the answer is worked steps ending in a
line ``#### N``. Loaded rows keep ``question``, put the final number (commas removed) in
``answer`` as a string, keep the worked steps without the ``<<48/2=24>>`` calculator
annotations in ``solution`` (for SFT traces, see :mod:`data_prep.traces`), and add a
conversational ``prompt``. Our own fixtures are split like the hub: ``train`` (30 problems)
for quick runs and ``test`` (30 other problems) for evaluation.

>>> extract_hash_answer("She pays 2 * 600 = 1,200 dollars.\\n#### 1,200")
'1200'
>>> gsm8k_fixture()[0]["answer"]
'34'
>>> gsm8k_fixture(split="test").num_rows
30
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hub import check_count, first_rows, load_hub_dataset, rows_to_dataset
from .prompts import build_prompt, get_style

if TYPE_CHECKING:
    from datasets import Dataset

HUB_GSM8K = "openai/gsm8k"
FIXTURE_PATH = Path(__file__).parent / "fixtures" / "gsm8k_sample.jsonl"  # the train split
FIXTURE_PATHS = {"train": FIXTURE_PATH, "test": FIXTURE_PATH.with_name("gsm8k_test_sample.jsonl")}
_CALCULATOR = re.compile(r"<<[^<>]*>>")


def extract_hash_answer(text: object) -> str | None:
    """The final answer after ``####`` with commas and surrounding spaces removed, or None.

    >>> extract_hash_answer("4 + 4 = 8\\n####  8 ")
    '8'
    >>> extract_hash_answer("no marker here") is None
    True
    """
    if not isinstance(text, str) or "####" not in text:
        return None
    tail = text.rsplit("####", 1)[1].strip().splitlines()
    answer = tail[0].replace(",", "").strip() if tail else ""
    return answer or None


def worked_solution(text: str) -> str:
    """The worked steps of a raw GSM8K answer: the text before ``####``, calculator notes removed.

    >>> worked_solution("Half of 48 is 48/2 = <<48/2=24>>24.\\n#### 24")
    'Half of 48 is 48/2 = 24.'
    """
    return _CALCULATOR.sub("", text.rsplit("####", 1)[0]).strip()


def _format(question: str, raw_answer: str, prompt_style: str) -> dict[str, Any]:
    """One output row from a raw GSM8K-schema row."""
    answer = extract_hash_answer(raw_answer)
    if answer is None:
        raise ValueError(f"GSM8K answer has no '#### N' line: {raw_answer[-80:]!r}")
    return {
        "question": question,
        "answer": answer,
        "prompt": build_prompt(prompt_style, question=question),
        "solution": worked_solution(raw_answer),
    }


def _fixture_path(path: str | Path | None, split: str) -> str | Path:
    if path is not None:
        return path
    if split not in FIXTURE_PATHS:
        raise ValueError(f"unknown GSM8K fixture split {split!r}; known splits: {sorted(FIXTURE_PATHS)}")
    return FIXTURE_PATHS[split]


def read_raw_fixture(path: str | Path | None = None, *, split: str = "train") -> list[dict[str, str]]:
    """The raw rows (``question``, worked ``answer``) of a GSM8K-schema JSON-lines file.

    Without ``path``, the bundled fixture of ``split`` ("train" or "test").
    """
    with open(_fixture_path(path, split), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def gsm8k_fixture(prompt_style: str = "gsm8k_xml", path: str | Path | None = None, *, split: str = "train") -> Dataset:
    """Our own GSM8K-style word problems (original, not from GSM8K), formatted like :func:`load_gsm8k`.

    ``split="test"`` gives 30 problems disjoint from the ``train`` ones, for evaluation;
    ``path`` reads another file in the raw schema instead.

    >>> gsm8k_fixture().column_names
    ['question', 'answer', 'prompt', 'solution']
    """
    get_style(prompt_style)
    rows = [_format(raw["question"], raw["answer"], prompt_style) for raw in read_raw_fixture(path, split=split)]
    return rows_to_dataset(rows)


def load_gsm8k(split: str = "train", n: int | None = None, prompt_style: str = "gsm8k_xml") -> Dataset:
    """``openai/gsm8k`` (config "main") from the hub, first ``n`` rows, formatted.

    Raises RuntimeError naming :func:`gsm8k_fixture` when the hub is unreachable.
    """
    get_style(prompt_style)
    if n is not None:
        check_count(n)
    data = load_hub_dataset(HUB_GSM8K, "main", split, offline_alternative="data_prep.gsm8k_fixture()")
    return first_rows(data, n).map(lambda row: _format(row["question"], row["answer"], prompt_style))
