"""Held-out evaluation: greedy success, pass@k and maj@k, format rate and length, base vs adapter.

Prompts are rendered and completions are scored exactly as TRL's GRPOTrainer (0.22.2) does in
training: the chat template gets `add_generation_prompt` after a user turn and
`continue_final_message` after a prefilled assistant turn, and the text the rewards see is the
prefill followed by the generated text. Scoring goes through the task's own reward functions,
so the answer is extracted by the same routine that trained the model.

    results = {"base": evaluate(model, tok, ds, "countdown", use_adapter=False),
               "adapter": evaluate(model, tok, ds, "countdown")}
    print(compare(results)); save_results(results, "runs/demo/eval.json")
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from data_prep import prefill_of
from r1kit.atomic import write_json
from r1kit.metrics import summarize
from r1kit.tasks import Task, get_task

# Dataset columns that TRL keeps away from the reward functions' keyword arguments.
_NOT_REWARD_COLUMNS = ("prompt", "completion", "completion_ids")


class GenerateFn(Protocol):
    """A batched generation backend, e.g. vLLM on the unsloth backend:
    `functools.partial(unsloth_generate, model, tokenizer, lora_path=...)`.

    Gets the chat-formatted prompt strings and returns, per prompt, `n` generated texts
    (without the prompt or any prefill). `temperature=0.0` means greedy.
    """

    def __call__(
        self, prompts: list[str], *, n: int, temperature: float, top_p: float, max_tokens: int, seed: int
    ) -> list[list[str]]: ...


def render_prompt(prompt: str | list[dict[str, str]], tokenizer: Any) -> str:
    """The prompt text the model continues, by TRL's own `maybe_apply_chat_template`."""
    from trl.data_utils import maybe_apply_chat_template  # lazy: unsloth must be imported before trl

    return maybe_apply_chat_template({"prompt": prompt}, tokenizer)["prompt"]


def reward_completion(prompt: str | list[dict[str, str]], generated: str) -> str | list[dict[str, str]]:
    """What the rewards receive, as GRPOTrainer builds it: prefill + generated text for chats.

    >>> chat = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "<answer>"}]
    >>> reward_completion(chat, "4</answer>")
    [{'role': 'assistant', 'content': '<answer>4</answer>'}]
    >>> reward_completion("2+2=", "4")
    '4'
    """
    if isinstance(prompt, str):
        return generated
    return [{"role": "assistant", "content": prefill_of(prompt) + generated}]


def score_completions(task: Task, rows: Sequence[dict], generated: Sequence[str]) -> list[dict]:
    """Completion records (see `r1kit.metrics`) for one generated text per row, without `length`."""
    completions = [reward_completion(row["prompt"], text) for row, text in zip(rows, generated, strict=True)]
    columns = {key: [row[key] for row in rows] for key in rows[0] if key not in _NOT_REWARD_COLUMNS}
    prompts = [row["prompt"] for row in rows]
    scores = task.success_reward(prompts=prompts, completions=completions, **columns)
    formats = task.format_reward(prompts=prompts, completions=completions, **columns)
    records = []
    for row, completion, score, fmt in zip(rows, completions, scores, formats, strict=True):
        text = completion if isinstance(completion, str) else completion[0]["content"]
        records.append(
            {
                "text": text,
                "score": float(score),
                "success": float(score) >= task.success_score,
                "formatted": float(fmt) > 0,
                "key": task.answer_key(text, row),
            }
        )
    return records


@contextlib.contextmanager
def _eval_mode(model: Any, use_adapter: bool) -> Iterator[None]:
    """Model in eval mode (restored afterwards), with PEFT adapters disabled if asked."""
    if model is None:
        yield
        return
    was_training = model.training
    model.eval()
    try:
        with contextlib.nullcontext() if use_adapter else model.disable_adapter():
            yield
    finally:
        model.train(was_training)


def _token_ids(value: int | list[int] | None) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else list(value)


def hf_generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    *,
    n: int = 1,
    temperature: float,
    top_p: float = 1.0,
    max_tokens: int,
    seed: int = 0,
    batch_size: int = 32,
) -> list[list[str]]:
    """Batched, left-padded `model.generate`: per prompt, `n` generated texts (a `GenerateFn`).

    `temperature=0.0` is greedy. `batch_size` counts sequences (prompts x n) per call. Sampling
    is seeded, so a run repeats exactly on the same machine.
    """
    import torch
    from transformers import GenerationConfig

    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # the same fallback GRPOTrainer applies
    greedy = temperature == 0.0
    # stop at the tokenizer's end token (as GRPOTrainer does) and at the checkpoint's own
    eos = _token_ids(tokenizer.eos_token_id) + _token_ids(getattr(model.generation_config, "eos_token_id", None))
    sampling = {} if greedy else {"temperature": temperature, "top_p": top_p, "top_k": None}
    config = GenerationConfig(
        max_new_tokens=max_tokens,
        do_sample=not greedy,
        num_return_sequences=n,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=list(dict.fromkeys(eos)),
        **sampling,
    )
    stop = {*eos, tokenizer.pad_token_id}
    device = next(model.parameters()).device
    per_call = max(1, batch_size // n)
    texts: list[str] = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.inference_mode():
        torch.manual_seed(seed)
        for start in range(0, len(prompts), per_call):
            chunk = prompts[start : start + per_call]
            batch = tokenizer(chunk, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
            batch = batch.to(device)
            # use_model_defaults=False: exactly these settings, not the checkpoint's sampling defaults
            output = model.generate(**batch, generation_config=config, use_model_defaults=False)
            for row in output[:, batch["input_ids"].shape[1] :].tolist():
                end = next((j for j, token in enumerate(row) if token in stop), len(row))
                texts.append(tokenizer.decode(row[:end], skip_special_tokens=True))
    return [texts[i : i + n] for i in range(0, len(texts), n)]


def evaluate(
    model: Any,
    tokenizer: Any,
    dataset: Sequence[dict],
    task: Task | str,
    *,
    k: int = 1,
    greedy: bool = True,
    max_new_tokens: int = 256,
    temperature: float = 1.0,
    batch_size: int = 32,
    seed: int = 0,
    use_adapter: bool = True,
    generate_fn: GenerateFn | None = None,
) -> dict:
    """Evaluate `model` on `dataset` (rows with a `prompt` column and the task's columns).

    greedy: one greedy completion per problem, giving `success` (greedy pass@1), format rate and
        mean length. k: sampled completions per problem (at `temperature`) for pass@k and maj@k;
        drawn when k > 1 or greedy is False.
    use_adapter=False runs a PEFT model inside `model.disable_adapter()`: the base model's column.
    generate_fn replaces HF generation (see `GenerateFn`); it then decides which weights run,
        and `model` may be None.
    Lengths are tokens of the generated text (prefill excluded) as `tokenizer` encodes it, the
    same for every backend.
    Returns {"task", "settings", "metrics" (see `r1kit.metrics.summarize`), "records"}: one
    record per problem with its row, rendered prompt, greedy completion and samples.
    """
    task = get_task(task) if isinstance(task, str) else task
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if model is None and generate_fn is None:
        raise ValueError("evaluate needs a model or a generate_fn")
    if model is not None and not use_adapter and not hasattr(model, "disable_adapter"):
        raise ValueError("use_adapter=False needs a PEFT model (one with `disable_adapter()`)")
    rows = [dict(row) for row in dataset]
    if not rows:
        raise ValueError("evaluate got an empty dataset")
    prompts = [render_prompt(row["prompt"], tokenizer) for row in rows]
    backend = generate_fn or functools.partial(hf_generate, model, tokenizer, batch_size=batch_size)

    def generate(n: int, temp: float) -> list[list[tuple[str, int]]]:
        texts = backend(prompts, n=n, temperature=temp, top_p=1.0, max_tokens=max_new_tokens, seed=seed)
        if len(texts) != len(prompts) or any(len(group) != n for group in texts):
            raise ValueError(f"generation must return {n} completion(s) for each of the {len(prompts)} prompts")
        return [[(t, len(tokenizer(t, add_special_tokens=False)["input_ids"])) for t in group] for group in texts]

    with _eval_mode(model, use_adapter):
        greedy_out = generate(1, 0.0) if greedy else None
        samples_out = generate(k, temperature) if (k > 1 or not greedy) else None

    def scored(outputs: list[list[tuple[str, int]]], j: int) -> list[dict]:
        records = score_completions(task, rows, [group[j][0] for group in outputs])
        return [{**rec, "length": group[j][1]} for rec, group in zip(records, outputs)]

    greedy_recs = scored(greedy_out, 0) if greedy_out else [None] * len(rows)
    sample_recs = [scored(samples_out, j) for j in range(k)] if samples_out else []
    records = [
        {
            "index": i,
            "row": {key: value for key, value in row.items() if key != "prompt"},
            "prompt": prompts[i],
            "greedy": greedy_recs[i],
            "samples": [per_sample[i] for per_sample in sample_recs],
        }
        for i, row in enumerate(rows)
    ]
    return {
        "task": task.name,
        "settings": {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed, "k": k,
                     "greedy": greedy, "use_adapter": use_adapter},
        "metrics": summarize(records, length_unit="tokens"),
        "records": records,
    }


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def compare(results: dict[str, dict]) -> str:
    """Markdown table of several evaluations (e.g. base, after warm-start, adapter), one row each.

    >>> m = {"success": 0.1, "pass_at_k": 0.3, "maj_at_k": 0.2, "format_rate": 0.5,
    ...      "mean_length": 41.25, "length_unit": "tokens", "k": 4}
    >>> print(compare({"base": {"metrics": m}, "adapter": {"metrics": {**m, "success": 0.45}}}))
    | model | success (greedy) | pass@4 | maj@4 | format rate | mean length (tokens) |
    |---|---|---|---|---|---|
    | base | 10.0% | 30.0% | 20.0% | 50.0% | 41.2 |
    | adapter | 45.0% | 30.0% | 20.0% | 50.0% | 41.2 |
    """
    if not results:
        raise ValueError("compare needs at least one result")
    metrics = {name: result["metrics"] for name, result in results.items()}
    ks = {m["k"] for m in metrics.values() if m["k"]}
    k = str(ks.pop()) if len(ks) == 1 else "k"
    units = {m["length_unit"] for m in metrics.values()}
    unit = units.pop() if len(units) == 1 else "mixed units"
    lines = [
        f"| model | success (greedy) | pass@{k} | maj@{k} | format rate | mean length ({unit}) |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in metrics.items():
        cells = [_percent(m[key]) for key in ("success", "pass_at_k", "maj_at_k", "format_rate")]
        length = "–" if m["mean_length"] is None else f"{m['mean_length']:.1f}"
        lines.append(f"| {name} | {' | '.join(cells)} | {length} |")
    return "\n".join(lines)


def save_results(results: dict, path: str | os.PathLike) -> Path:
    """Write `results` as JSON atomically (temporary file, then `os.replace`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, results)
