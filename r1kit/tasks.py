r"""Tasks by name: one definition each of the data, the answer parsing, the rewards and the examples.

A recipe names a task (``task: countdown``). The task owns what the task means:

* ``build_dataset(n, seed=, split=, prompt_style=, **task_args)``: its problems (data_prep);
* ``parser``: how an answer is read, strictly (in the required format) and format-free (from
  the whole text), how answers vote, what counts as correct (rewards.parsers);
* ``default_rewards`` and ``success_reward``: the rewards it trains on, and the one whose
  maximum (the reward's own ``max_score``) marks a correct answer in the required format;
* ``trace(row, style)``: a worked solution, the cold start's training text (data_prep.traces);
* ``wrong_example(row)``: a plausible wrong answer, shown beside a trace in the notebooks;
* ``difficulty(row)``: the class a problem falls in, for accuracy by difficulty (arithmetic:
  with or without a carry or borrow), or None for tasks without one.

Evaluation scores every completion through :meth:`Task.score`. :func:`build_datasets` builds a
recipe's training and held-out problems once, and measures their prompts in tokens.

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
from data_prep.written_arithmetic import question_lines
from rewards import get_reward
from rewards.parsers import BOXED_EQUATION, EQUATION_IN_ANSWER_TAG, NUMBER_IN_ANSWER_TAG, Parser


@dataclass(frozen=True)
class Task:
    """Everything a task means; see the module docstring."""

    name: str
    description: str
    prompt_style: str
    make_dataset: Callable[..., Any]  # (n, seed=, split=, prompt_style=, **task_args): see build_dataset
    parser: Parser
    success_reward: str
    format_reward: str | None  # the reward that checks the layout (None: the parser's answer format)
    default_rewards: tuple[tuple[str, float], ...]
    trace: Callable[[Mapping[str, Any], str], str]
    wrong_example: Callable[[Mapping[str, Any]], str]
    eval_split: str = "train"  # where held-out problems come from ("test" where the dataset has one)
    difficulty: Callable[[Mapping[str, Any]], str] | None = None

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

    def build_dataset(
        self, n: int, *, seed: int, split: str = "train", prompt_style: str | None = None, **task_args: Any
    ) -> Any:
        """``n`` problems of ``split`` drawn with ``seed``, in ``prompt_style`` (None: the task's own)."""
        return self.make_dataset(n, seed=seed, split=split, prompt_style=prompt_style or self.prompt_style, **task_args)

    def examples(self, row: Mapping[str, Any], style: str | None = None) -> list[tuple[str, str]]:
        """Two completions for ``row``, prefill included: a worked solution, and a wrong, loosely formatted answer."""
        return [
            ("correct, formatted", self.trace(row, style or self.prompt_style)),
            ("wrong, loose format", prefill_of(row["prompt"]) + self.wrong_example(row)),
        ]


def _generated(make: Callable[..., Any]) -> Callable[..., Any]:
    """A ``build_dataset`` for a data_prep generator: fresh problems from ``seed`` (any split)."""

    def build_dataset(n: int, *, seed: int, split: str, prompt_style: str, **args: Any) -> Any:
        return make(n, seed=seed, prompt_style=prompt_style, **args)

    return build_dataset


def _gsm8k_dataset(n: int, *, seed: int, split: str, prompt_style: str, source: str = "fixture", **args: Any) -> Any:
    """``n`` GSM8K rows of ``split``, shuffled with ``seed``, from our fixture or (source="hub") the hub."""
    style = prompt_style
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


def _carry_or_borrow(row: Mapping[str, Any]) -> str:
    """Whether the written solution of an arithmetic question carries or borrows (data_prep's own columns)."""
    lines, _ = question_lines(row["question"])
    return "carry/borrow" if any("carry" in line or "borrow" in line for line in lines) else "no carry/borrow"


def _count_of_nums(row: Mapping[str, Any]) -> str:
    return f"{len(row['nums'])} numbers"


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "countdown",
            "Countdown equations, <think> then <answer> tags (Mini-R1)",
            "qwen_think",
            _generated(data_prep.countdown_dataset),
            EQUATION_IN_ANSWER_TAG,
            success_reward="countdown",
            format_reward="think_answer_format",
            default_rewards=(("think_answer_format", 1.0), ("countdown", 1.0), ("free_countdown", 0.0)),
            trace=traces.countdown_trace,
            wrong_example=lambda row: f" Adding everything up should do. </think> The answer is {_sum_of_nums(row)}.",
            difficulty=_count_of_nums,
        ),
        Task(
            "countdown_boxed",
            "Countdown equations, final answer in \\boxed{} (R1 distill)",
            "r1_boxed",
            _generated(data_prep.countdown_dataset),
            BOXED_EQUATION,
            success_reward="boxed_countdown",
            format_reward=None,
            default_rewards=(("boxed_countdown", 1.0), ("free_boxed_countdown", 0.0)),
            trace=traces.countdown_trace,
            wrong_example=lambda row: f"Adding everything: $\\boxed{{{_sum_of_nums(row)}}}$ is close enough.",
            difficulty=_count_of_nums,
        ),
        Task(
            "gsm8k",
            "GSM8K word problems, <reasoning> then <answer> tags; evaluated on the test split",
            "gsm8k_xml",
            _gsm8k_dataset,
            NUMBER_IN_ANSWER_TAG,
            success_reward="number_correctness",
            format_reward="soft_format",
            default_rewards=(
                ("xmlcount", 1.0),
                ("soft_format", 1.0),
                ("strict_format", 1.0),
                ("int", 1.0),
                ("number_correctness", 1.0),
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
            _generated(data_prep.arithmetic_dataset),
            NUMBER_IN_ANSWER_TAG,
            success_reward="number_correctness",
            format_reward="think_answer_format",  # <think>...</think> then <answer>, nothing after
            default_rewards=(
                ("number_correctness", 1.0),
                ("answer_digits", 1.0),
                ("think_answer_format", 1.0),
                ("free_number", 0.0),
            ),
            trace=traces.arithmetic_trace,
            wrong_example=lambda row: f"It is about {row['answer']}0.",
            difficulty=_carry_or_borrow,
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called ``name``; ValueError listing the known tasks otherwise.

    >>> get_task("countdown").parser.name
    'equation_in_answer_tag'
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


@dataclass
class Datasets:
    """A recipe's problems, built once: training (GRPO's and the cold start's), held out, and their prompt lengths."""

    train: Any
    eval: Any
    longest_prompt: int | None  # tokens of the longest rendered prompt kept (None: not measured)
    dropped: dict[str, int]  # prompts over grpo.max_prompt_length dropped, per split


def build_datasets(recipe: Any, tokenizer: Any = None) -> Datasets:
    """The training and held-out problems of a recipe; with ``tokenizer``, prompts measured in tokens.

    The eval set holds ``eval_size`` distinct problems of the task's evaluation split (GSM8K:
    test; generated tasks: drawn with ``eval_seed``); the training set (``max(train_size,
    sft_size)`` rows: GRPO takes ``train_size`` of them, the cold start the first ``sft_size``)
    keeps none of them. With ``tokenizer`` every prompt is rendered as the trainer renders it and
    counted: one longer than ``grpo.max_prompt_length`` would be generated from in full (vLLM,
    evaluation) but trained on cut (TRL truncates ``prompt_ids``), so it is dropped, counted and
    said; none left is a RecipeError.
    """
    from r1kit.recipe import RecipeError

    task = get_task(recipe.task)
    options = {"prompt_style": recipe.prompt_style or task.prompt_style, **recipe.task_args}
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
    train_size = max(recipe.train_size, recipe.sft_size if recipe.cold_start else 0)
    train_ds = task.build_dataset(train_size, seed=recipe.seed, split="train", **options)
    held_out = {_row_key(row) for row in eval_ds}
    train_ds = train_ds.filter(lambda row: _row_key(row) not in held_out)
    data = Datasets(train_ds, eval_ds, None, {})
    if tokenizer is not None:
        data = _measured(data, tokenizer, recipe.grpo_value("max_prompt_length"))
    if len(data.train) == 0 or len(data.eval) == 0:
        raise RecipeError(
            "no training or held-out problems remain after removing the held-out ones and the over-long prompts: "
            "raise train_size (or grpo.max_prompt_length), or use a task with more distinct problems"
        )
    return data


def _measured(data: Datasets, tokenizer: Any, limit: int | None) -> Datasets:
    """``data`` without the prompts longer than ``limit`` tokens (None: no limit), the longest kept measured."""
    from r1kit.generation import render_prompt

    kept, dropped, longest = {}, {}, 0
    for split, dataset in (("train", data.train), ("eval", data.eval)):
        texts = [render_prompt(prompt, tokenizer) for prompt in dataset["prompt"]]
        lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        keep = [i for i, n in enumerate(lengths) if limit is None or n <= limit]
        dropped[split] = len(lengths) - len(keep)
        longest = max([longest, *(lengths[i] for i in keep)])
        kept[split] = dataset if len(keep) == len(lengths) else dataset.select(keep)
        if dropped[split]:
            print(
                f"Dropped {dropped[split]} of {len(lengths)} {split} prompts longer than grpo.max_prompt_length "
                f"({limit} tokens; the longest has {max(lengths)}): raise it to keep them."
            )
    return Datasets(kept["train"], kept["eval"], longest, dropped)
