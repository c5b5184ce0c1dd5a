"""Held-out evaluation: strict success beside format-free correctness, pass@k, maj@k, format rate, length.

A completion is scored by its task (:meth:`r1kit.tasks.Task.score`) exactly as the rewards read
it in training: the text is the prompt's prefill followed by the generated text, as
GRPOTrainer hands it to the rewards. Two correctness figures come out of it:

* **success** (strict): the right answer in the required format, what the rewards pay for;
* **correct** (format-free): the right answer read leniently from the whole completion.

A run that raises success but not correct taught a format, not reasoning: every table shows both.

    gen = make_generator(backend, model, tokenizer)
    results = {"base": evaluate(gen, ds, "countdown", adapter=None),
               "after GRPO": evaluate(gen, ds, "countdown", adapter="saved_adapters/countdown_qwen")}
    print(compare(results)); save_results(results, "runs/countdown_qwen/eval.json")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from data_prep import prefill_of
from r1kit.atomic import write_json
from r1kit.generation import Generator
from r1kit.metrics import summarize
from r1kit.tasks import Task, get_task


def evaluate(
    generator: Generator,
    dataset: Sequence[dict],
    task: Task | str,
    *,
    adapter: str | os.PathLike[str] | None,
    k: int = 1,
    greedy: bool = True,
    max_new_tokens: int = 256,
    temperature: float = 1.0,
    seed: int = 0,
) -> dict:
    """Evaluate the weights named by ``adapter`` (None: the base model) on ``dataset``.

    greedy: one greedy completion per problem, giving ``success`` and ``correct`` (greedy
        pass@1, strict and format-free), format rate and mean length. k: sampled completions per
        problem (at ``temperature``) for pass@k and maj@k; drawn when k > 1 or greedy is False.
    Lengths are tokens of the generated text (prefill excluded) as the generator's tokenizer
    encodes it, the same for every backend.
    Returns {"task", "settings", "metrics" (see ``r1kit.metrics.summarize``; plus
    ``by_difficulty``, the same per class of the task's ``difficulty`` where it has one), "records"}:
    one record per problem with its row, greedy completion and samples.
    """
    task = get_task(task) if isinstance(task, str) else task
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rows = [dict(row) for row in dataset]
    if not rows:
        raise ValueError("evaluate got an empty dataset")
    prompts = [row["prompt"] for row in rows]
    tokenizer = generator.tokenizer

    def generate(n: int, temp: float) -> list[list[tuple[str, int]]]:
        texts = generator.generate(
            prompts, adapter=adapter, n=n, temperature=temp, top_p=1.0, max_tokens=max_new_tokens, seed=seed
        )
        if len(texts) != len(prompts) or any(len(group) != n for group in texts):
            raise ValueError(f"generation must return {n} completion(s) for each of the {len(prompts)} prompts")
        return [[(t, len(tokenizer(t, add_special_tokens=False)["input_ids"])) for t in group] for group in texts]

    greedy_out = generate(1, 0.0) if greedy else None
    samples_out = generate(k, temperature) if (k > 1 or not greedy) else None

    def scored(outputs: list[list[tuple[str, int]]], j: int) -> list[dict]:
        return [
            {**task.score(prefill_of(row["prompt"]) + group[j][0], row), "length": group[j][1]}
            for row, group in zip(rows, outputs)
        ]

    greedy_recs = scored(greedy_out, 0) if greedy_out else [None] * len(rows)
    sample_recs = [scored(samples_out, j) for j in range(k)] if samples_out else []
    records = [
        {
            "index": i,
            "row": {key: value for key, value in row.items() if key != "prompt"},
            "greedy": greedy_recs[i],
            "samples": [per_sample[i] for per_sample in sample_recs],
        }
        for i, row in enumerate(rows)
    ]
    metrics = summarize(records, length_unit="tokens")
    if task.difficulty is not None:
        groups: dict[str, list[dict]] = {}
        for record, row in zip(records, rows):
            groups.setdefault(task.difficulty(row), []).append(record)
        metrics["by_difficulty"] = {
            label: {key: part[key] for key in ("n_problems", "success", "correct", "pass_at_k")}
            for label, group in sorted(groups.items())
            for part in [summarize(group, length_unit="tokens")]
        }
    return {
        "task": task.name,
        "settings": {
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "seed": seed,
            "k": k,
            "greedy": greedy,
            "adapter": None if adapter is None else str(adapter),
        },
        "metrics": metrics,
        "records": records,
    }


def evaluate_recipe(
    recipe: Any, generator: Generator, dataset: Sequence[dict], *, adapter: str | os.PathLike[str] | None
) -> dict:
    """:func:`evaluate` with the recipe's evaluation settings (lengths as in training unless set)."""
    return evaluate(
        generator,
        dataset,
        recipe.task,
        adapter=adapter,
        k=recipe.eval_k,
        max_new_tokens=recipe.eval_tokens,
        temperature=recipe.sample_temperature,
        seed=recipe.eval_seed,
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def compare(results: dict[str, dict]) -> str:
    """Markdown table of several evaluations (base, after the cold start, after GRPO), one row each.

    Format-free correctness per difficulty class follows when the evaluations have one.

    >>> m = {"success": 0.1, "correct": 0.6, "pass_at_k": 0.3, "maj_at_k": 0.2, "format_rate": 0.5,
    ...      "mean_length": 41.25, "length_unit": "tokens", "k": 4}
    >>> print(compare({"base": {"metrics": m}, "adapter": {"metrics": {**m, "success": 0.45}}}))
    | model | success (strict) | correct (format-free) | pass@4 | maj@4 | format rate | mean length (tokens) |
    |---|---|---|---|---|---|---|
    | base | 10.0% | 60.0% | 30.0% | 20.0% | 50.0% | 41.2 |
    | adapter | 45.0% | 60.0% | 30.0% | 20.0% | 50.0% | 41.2 |
    """
    if not results:
        raise ValueError("compare needs at least one result")
    metrics = {name: result["metrics"] for name, result in results.items()}
    ks = {m["k"] for m in metrics.values() if m["k"]}
    k = str(ks.pop()) if len(ks) == 1 else "k"
    units = {m["length_unit"] for m in metrics.values()}
    unit = units.pop() if len(units) == 1 else "mixed units"
    classes = list(dict.fromkeys(label for m in metrics.values() for label in m.get("by_difficulty", {})))
    header = f"| model | success (strict) | correct (format-free) | pass@{k} | maj@{k} | format rate | mean length ({unit}) |"
    header += "".join(f" correct, {label} |" for label in classes)
    lines = [header, "|---" * (7 + len(classes)) + "|"]
    for name, m in metrics.items():
        cells = [_percent(m[key]) for key in ("success", "correct", "pass_at_k", "maj_at_k", "format_rate")]
        cells.append("–" if m["mean_length"] is None else f"{m['mean_length']:.1f}")
        split = m.get("by_difficulty", {})
        cells += [
            f"{_percent(split[label]['correct'])} of {split[label]['n_problems']}" if label in split else "–"
            for label in classes
        ]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def save_results(results: dict, path: str | os.PathLike) -> Path:
    """Write `results` as JSON atomically (temporary file, then `os.replace`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, results)
