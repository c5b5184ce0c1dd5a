"""Data for GRPO recipes: prompts, Countdown problems with an exact solver, GSM8K and fixtures,
and worked solutions ("traces") for a supervised cold start before GRPO.

Everything here is plain Python plus the `datasets` library; nothing downloads at import time
and nothing knows about models. Rows use the public datasets' columns (Countdown: ``target``,
``nums``; GSM8K: ``question``, ``answer``) plus a conversational ``prompt``.

>>> from data_prep import countdown_dataset, prefill_of, solve_countdown
>>> data = countdown_dataset(8, seed=0)
>>> row = data[0]
>>> solve_countdown(row["nums"], row["target"]) is not None
True
>>> prefill_of(row["prompt"])
'Let me solve this step by step.\\n<think>'
"""

from .arithmetic_questions import arithmetic_dataset, arithmetic_rows
from .countdown import (
    countdown_dataset,
    countdown_rows,
    countdown_targets,
    load_countdown_hub,
    solve_countdown,
)
from .gsm8k import extract_hash_answer, gsm8k_fixture, load_gsm8k, read_raw_fixture, worked_solution
from .prompts import PROMPT_STYLES, PromptStyle, build_prompt, countdown_task, prefill_of
from .traces import arithmetic_trace, countdown_trace, gsm8k_trace

__all__ = [
    "PROMPT_STYLES",
    "PromptStyle",
    "arithmetic_dataset",
    "arithmetic_rows",
    "arithmetic_trace",
    "build_prompt",
    "countdown_dataset",
    "countdown_rows",
    "countdown_targets",
    "countdown_task",
    "countdown_trace",
    "extract_hash_answer",
    "gsm8k_fixture",
    "gsm8k_trace",
    "load_countdown_hub",
    "load_gsm8k",
    "prefill_of",
    "read_raw_fixture",
    "solve_countdown",
    "worked_solution",
]
