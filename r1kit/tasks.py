r"""Tasks by name: the data, the rewards and the answer reading that training and evaluation share.

A recipe names a task (``task: countdown``); training takes its dataset and default rewards,
evaluation its success reward, format check and answer key (what maj@k votes on).

    task = get_task("countdown")
    ds = task.build_dataset(100, seed=1)
    task.success_reward(completions, **columns)  # 1.0 = correct equation

>>> sorted(TASKS)
['arithmetic', 'countdown', 'countdown_boxed', 'gsm8k']
>>> get_task("gsm8k").success_score
2.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import data_prep
from rewards import (
    MAX_SCORES,
    completion_text,
    extract_answer,
    extract_boxed,
    get_reward,
    latex_to_expression,
    parse_number,
)

RewardFunction = Callable[..., list[float]]


@dataclass(frozen=True)
class Task:
    """What one task needs for training and evaluation.

    build_dataset(n, *, seed, prompt_style=None, **args) -> datasets.Dataset
    success_reward / success_score: a completion is correct when it scores `success_score`
    format_reward: > 0 means the completion is in the task's answer format
    answer_key(completion_text, row): the normalised answer maj@k votes on (None: no answer)
    default_rewards: (reward name, weight) pairs that recipes start from
    """

    name: str
    description: str
    prompt_style: str
    build_dataset: Callable[..., Any]
    success_reward: RewardFunction
    success_score: float
    format_reward: RewardFunction
    answer_key: Callable[[str, Mapping[str, Any]], str | None]
    default_rewards: tuple[tuple[str, float], ...]


def normalize_expression(expr: str | None) -> str | None:
    """An equation answer as a vote key: no spaces, ASCII operators, no trailing `= result`.

    >>> normalize_expression(" (3 + 5) × 2 = 16 ")
    '(3+5)*2'
    >>> normalize_expression("   ") is None
    True
    """
    if expr is None:
        return None
    text = "".join(expr.split("=", 1)[0].split())
    text = text.replace("×", "*").replace("÷", "/").replace("−", "-")
    return text or None


def normalize_number(answer: str | None) -> str | None:
    """A numeric answer as a vote key: `$1,080.00` and `1080` agree; other text is kept as written.

    >>> normalize_number(" $1,080.00 "), normalize_number("2.50"), normalize_number("about 7")
    ('1080', '2.5', 'about 7')
    """
    if answer is None:
        return None
    number = parse_number(answer)
    if number is None:
        return " ".join(answer.split()) or None
    return format(number.normalize(), "f")


def _tagged_equation_key(text: str, row: Mapping[str, Any]) -> str | None:
    return normalize_expression(extract_answer(text))


def _boxed_equation_key(text: str, row: Mapping[str, Any]) -> str | None:
    boxed = extract_boxed(text)
    return normalize_expression(None if boxed is None else latex_to_expression(boxed) or boxed)


def _number_key(text: str, row: Mapping[str, Any]) -> str | None:
    return normalize_number(extract_answer(text))


def has_boxed(completions: list[Any], **kwargs: Any) -> list[float]:
    r"""1.0 when the completion holds a `\boxed{...}`, else 0.0 (the boxed task's format check).

    >>> has_boxed([r"so \boxed{3 + 4}", "7"])
    [1.0, 0.0]
    """
    return [float(extract_boxed(completion_text(c)) is not None) for c in completions]


def has_answer(completions: list[Any], **kwargs: Any) -> list[float]:
    """1.0 when the completion holds a complete `<answer>...</answer>`, else 0.0.

    >>> has_answer([[{"role": "assistant", "content": "<answer>7</answer>"}], "<answer>7"])
    [1.0, 0.0]
    """
    return [float(extract_answer(completion_text(c)) is not None) for c in completions]


def _generated(make: Callable[..., Any], default_style: str) -> Callable[..., Any]:
    """A `build_dataset` for a data_prep generator: fresh problems from `seed`."""

    def build_dataset(n: int, *, seed: int, prompt_style: str | None = None, **args: Any) -> Any:
        return make(n, seed=seed, prompt_style=prompt_style or default_style, **args)

    return build_dataset


def _gsm8k_dataset(
    n: int, *, seed: int, prompt_style: str | None = None, source: str = "fixture", **args: Any
) -> Any:
    """`n` GSM8K rows, shuffled with `seed`, from the bundled fixture or (source="hub") the hub."""
    style = prompt_style or "gsm8k_xml"
    if source == "fixture":
        rows = data_prep.gsm8k_fixture(style, **args)
    elif source == "hub":
        rows = data_prep.load_gsm8k(prompt_style=style, **args)
    else:
        raise ValueError(f"unknown GSM8K source {source!r}; use 'fixture' or 'hub'")
    if n > rows.num_rows:
        raise ValueError(f"asked for {n} GSM8K problems but the {source} holds only {rows.num_rows}")
    return rows.shuffle(seed=seed).select(range(n))


def _task(name: str, description: str, prompt_style: str, build: Callable[..., Any], success: str,
          format_reward: RewardFunction, answer_key: Callable, default_rewards: tuple) -> Task:
    return Task(name, description, prompt_style, build, get_reward(success), MAX_SCORES[success],
                format_reward, answer_key, default_rewards)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        _task(
            "countdown", "Countdown equations, <think> then <answer> tags (Mini-R1)", "qwen_think",
            _generated(data_prep.countdown_dataset, "qwen_think"), "countdown",
            get_reward("think_format"), _tagged_equation_key,
            (("think_format", 1.0), ("countdown", 1.0)),
        ),
        _task(
            "countdown_boxed", "Countdown equations, final answer in \\boxed{} (R1 distill)", "r1_boxed",
            _generated(data_prep.countdown_dataset, "r1_boxed"), "boxed_countdown",
            has_boxed, _boxed_equation_key,
            (("boxed_countdown", 1.0),),
        ),
        _task(
            "gsm8k", "GSM8K word problems, <reasoning> then <answer> tags", "gsm8k_xml",
            _gsm8k_dataset, "gsm8k_correctness",
            get_reward("soft_format"), _number_key,
            (("xmlcount", 1.0), ("soft_format", 1.0), ("strict_format", 1.0), ("int", 1.0),
             ("gsm8k_correctness", 1.0)),
        ),
        _task(
            "arithmetic", "Generated sums and products, number in <answer> tags", "answer_only",
            _generated(data_prep.arithmetic_dataset, "answer_only"), "gsm8k_correctness",
            has_answer, _number_key,
            (("gsm8k_correctness", 1.0), ("int", 1.0)),
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called `name`; ValueError listing the known tasks otherwise.

    >>> get_task("countdown").success_reward.__name__
    'countdown_reward'
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]
