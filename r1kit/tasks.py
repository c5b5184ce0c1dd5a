r"""Tasks by name: one definition each of the data, the answer parsing, the rewards and the examples.

A recipe names a task (``task: countdown``). The task owns what the task means:

* ``build_dataset(n, seed=, split=, prompt_style=, **task_args)``: its problems (data_prep);
* ``parser``: how an answer is read, strictly (in the required format) and format-free (from
  the whole text), how answers vote, what counts as correct (rewards.parsers);
* ``default_rewards`` and ``success_reward``: the rewards it trains on, and the one whose
  maximum (the reward's own ``max_score``) marks a correct answer in the required format;
* ``trace(row, style)``: a worked solution, the cold start's training text (data_prep.traces);
* ``wrong_example(row)``: a plausible wrong answer, shown beside a trace in the notebooks.

Evaluation scores every completion through :meth:`Task.score`.

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
from data_prep import prefill_of, traces
from rewards import get_reward
from rewards.parsers import BOXED_EQUATION, EQUATION_IN_ANSWER_TAG, NUMBER_IN_ANSWER_TAG, Parser


@dataclass(frozen=True)
class Task:
    """Everything a task means; see the module docstring."""

    name: str
    description: str
    prompt_style: str
    build_dataset: Callable[..., Any]
    parser: Parser
    success_reward: str
    format_reward: str | None  # the reward that checks the layout (None: the parser's answer format)
    default_rewards: tuple[tuple[str, float], ...]
    trace: Callable[[Mapping[str, Any], str], str]
    wrong_example: Callable[[Mapping[str, Any]], str]
    eval_split: str = "train"  # where held-out problems come from ("test" where the dataset has one)

    @property
    def success_reward_name(self) -> str:
        """The success reward's function name, as TRL logs it (``rewards/<name>/mean``)."""
        return get_reward(self.success_reward).__name__

    @property
    def success_score(self) -> float:
        """What the success reward pays for a correct answer in the required format."""
        return float(get_reward(self.success_reward).max_score)

    def score(self, text: str, row: Mapping[str, Any]) -> dict:
        """How one completion (prefill included) fares on ``row``.

        success: right answer in the required format (what the success reward pays for);
        correct: right answer read format-free from the whole text; formatted: the layout is
        right; key: the answer's vote key for maj@k (None: no answer).
        """
        answer = self.parser.strict(text)
        if self.format_reward is None:
            formatted = self.parser.formatted(text)
        else:
            formatted = get_reward(self.format_reward)([text], **{k: [v] for k, v in row.items()})[0] > 0
        return {
            "text": text,
            "success": self.parser.is_correct(answer, row),
            "correct": self.parser.is_correct(self.parser.lenient(text, row), row),
            "formatted": bool(formatted),
            "key": self.parser.vote_key(answer),
        }

    def examples(self, row: Mapping[str, Any], style: str | None = None) -> list[tuple[str, str]]:
        """Two completions for ``row``, prefill included: a worked solution, and a wrong, loosely formatted answer."""
        return [
            ("correct, formatted", self.trace(row, style or self.prompt_style)),
            ("wrong, loose format", prefill_of(row["prompt"]) + self.wrong_example(row)),
        ]


def _generated(make: Callable[..., Any], default_style: str) -> Callable[..., Any]:
    """A ``build_dataset`` for a data_prep generator: fresh problems from ``seed`` (any split)."""

    def build_dataset(n: int, *, seed: int, split: str = "train", prompt_style: str | None = None, **args: Any) -> Any:
        return make(n, seed=seed, prompt_style=prompt_style or default_style, **args)

    return build_dataset


def _gsm8k_dataset(
    n: int, *, seed: int, split: str = "train", prompt_style: str | None = None, source: str = "fixture", **args: Any
) -> Any:
    """``n`` GSM8K rows of ``split``, shuffled with ``seed``, from our fixture or (source="hub") the hub."""
    style = prompt_style or "gsm8k_xml"
    if source == "fixture":
        rows = data_prep.gsm8k_fixture(style, split=split, **args)
    elif source == "hub":
        rows = data_prep.load_gsm8k(split=split, prompt_style=style, **args)
    else:
        raise ValueError(f"unknown GSM8K source {source!r}; use 'fixture' or 'hub'")
    if n > rows.num_rows:
        raise ValueError(f"asked for {n} GSM8K {split} problems but the {source} holds only {rows.num_rows}")
    return rows.shuffle(seed=seed).select(range(n))


def _sum_of_nums(row: Mapping[str, Any]) -> str:
    return " + ".join(map(str, row["nums"]))


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "countdown",
            "Countdown equations, <think> then <answer> tags (Mini-R1)",
            "qwen_think",
            _generated(data_prep.countdown_dataset, "qwen_think"),
            EQUATION_IN_ANSWER_TAG,
            success_reward="countdown",
            format_reward="think_format",
            default_rewards=(("think_format", 1.0), ("countdown", 1.0), ("free_countdown", 0.0)),
            trace=traces.countdown_trace,
            wrong_example=lambda row: f" Adding everything up should do. </think> The answer is {_sum_of_nums(row)}.",
        ),
        Task(
            "countdown_boxed",
            "Countdown equations, final answer in \\boxed{} (R1 distill)",
            "r1_boxed",
            _generated(data_prep.countdown_dataset, "r1_boxed"),
            BOXED_EQUATION,
            success_reward="boxed_countdown",
            format_reward=None,
            default_rewards=(("boxed_countdown", 1.0), ("free_boxed_countdown", 0.0)),
            trace=traces.countdown_trace,
            wrong_example=lambda row: f"Adding everything: $\\boxed{{{_sum_of_nums(row)}}}$ is close enough.",
        ),
        Task(
            "gsm8k",
            "GSM8K word problems, <reasoning> then <answer> tags; evaluated on the test split",
            "gsm8k_xml",
            _gsm8k_dataset,
            NUMBER_IN_ANSWER_TAG,
            success_reward="gsm8k_correctness",
            format_reward="soft_format",
            default_rewards=(
                ("xmlcount", 1.0),
                ("soft_format", 1.0),
                ("strict_format", 1.0),
                ("int", 1.0),
                ("gsm8k_correctness", 1.0),
                ("free_number", 0.0),
            ),
            trace=traces.gsm8k_trace,
            wrong_example=lambda row: f"I think it is about {row['answer']}0.",
            eval_split="test",
        ),
        Task(
            "arithmetic",
            "Generated sums and differences; a worked solution, then the number in <answer> tags",
            "think_answer",
            _generated(data_prep.arithmetic_dataset, "think_answer"),
            NUMBER_IN_ANSWER_TAG,
            success_reward="gsm8k_correctness",
            format_reward="think_format",  # <think>...</think> then <answer>, nothing after
            default_rewards=(
                ("gsm8k_correctness", 1.0),
                ("answer_digits", 1.0),
                ("think_format", 1.0),
                ("free_number", 0.0),
            ),
            trace=traces.arithmetic_trace,
            wrong_example=lambda row: f"It is about {row['answer']}0.",
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called ``name``; ValueError listing the known tasks otherwise.

    >>> get_task("countdown").success_reward_name
    'countdown_reward'
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def _row_key(row: Mapping[str, Any]) -> str:
    import json

    return json.dumps(row["prompt"], sort_keys=True)


def _distinct(dataset: Any) -> Any:
    """``dataset`` without repeated problems (the first of each is kept)."""
    seen: set[str] = set()
    keep = [i for i, row in enumerate(dataset) if not (_row_key(row) in seen or seen.add(_row_key(row)))]
    return dataset if len(keep) == len(dataset) else dataset.select(keep)


def build_datasets(recipe: Any, *, train_size: int | None = None) -> tuple[Any, Any]:
    """(train, held-out eval) datasets of a recipe.

    The eval set holds ``eval_size`` distinct problems of the task's evaluation split (GSM8K:
    test; generated tasks: drawn with ``eval_seed``); the training set (``train_size`` rows,
    unless given) keeps none of them.
    """
    from r1kit.recipe import RecipeError

    task = get_task(recipe.task)
    options = {"prompt_style": recipe.prompt_style, **recipe.task_args}
    size = recipe.eval_size
    eval_ds = _distinct(task.build_dataset(size, seed=recipe.eval_seed, split=task.eval_split, **options))
    if len(eval_ds) < size:  # repeats drawn: draw more and keep the first distinct ones
        eval_ds = _distinct(task.build_dataset(8 * size, seed=recipe.eval_seed, split=task.eval_split, **options))
        if len(eval_ds) < size:
            raise RecipeError(
                f"the task has only {len(eval_ds)} distinct problems with these task_args; "
                f"lower eval_size or make the problems harder"
            )
        eval_ds = eval_ds.select(range(size))
    train_ds = task.build_dataset(train_size or recipe.train_size, seed=recipe.seed, split="train", **options)
    held_out = {_row_key(row) for row in eval_ds}
    train_ds = train_ds.filter(lambda row: _row_key(row) not in held_out)
    if len(train_ds) == 0:
        raise RecipeError(
            "no training problems remain after removing the held-out ones: "
            "raise train_size or use a task with more distinct problems"
        )
    return train_ds, eval_ds
