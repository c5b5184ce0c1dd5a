"""GSM8K: the public dataset from the hub, or a small fixture in the same schema for offline runs.

Raw GSM8K rows hold ``question`` and ``answer``, where the answer is worked steps ending in a
line ``#### N``. Loaded rows keep ``question``, put the final number (commas removed) in
``answer`` as a string, and add a conversational ``prompt``.

>>> extract_hash_answer("She pays 2 * 600 = 1,200 dollars.\\n#### 1,200")
'1200'
>>> gsm8k_fixture()[0]["answer"]
'34'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hub import check_count, first_rows, load_hub_dataset, rows_to_dataset
from .prompts import build_prompt, get_style

if TYPE_CHECKING:
    from datasets import Dataset

HUB_GSM8K = "openai/gsm8k"
FIXTURE_PATH = Path(__file__).parent / "fixtures" / "gsm8k_sample.jsonl"


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


def _format(question: str, raw_answer: str, prompt_style: str) -> dict[str, Any]:
    """One output row from a raw GSM8K-schema row."""
    answer = extract_hash_answer(raw_answer)
    if answer is None:
        raise ValueError(f"GSM8K answer has no '#### N' line: {raw_answer[-80:]!r}")
    return {"question": question, "answer": answer, "prompt": build_prompt(prompt_style, question=question)}


def read_raw_fixture(path: str | Path = FIXTURE_PATH) -> list[dict[str, str]]:
    """The raw rows (``question``, worked ``answer``) of a GSM8K-schema JSON-lines file."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def gsm8k_fixture(prompt_style: str = "gsm8k_xml", path: str | Path = FIXTURE_PATH) -> Dataset:
    """Our own GSM8K-style word problems (original, not from GSM8K), formatted like :func:`load_gsm8k`.

    >>> gsm8k_fixture().column_names
    ['question', 'answer', 'prompt']
    """
    get_style(prompt_style)
    rows = [_format(raw["question"], raw["answer"], prompt_style) for raw in read_raw_fixture(path)]
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
