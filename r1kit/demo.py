"""The before/after demo: evaluate the base model, train with GRPO, evaluate again, print the table.

    python -m r1kit demo recipes/cpu_demo.yaml

Both evaluations use the same held-out problems (``eval_size`` of them, drawn with
``eval_seed``; training never sees them) with greedy decoding. Results go to
``<run folder>/eval.json`` and into the adapter's run card.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from r1kit.recipe import Recipe


def evaluate_recipe(recipe: Recipe, model: Any, tokenizer: Any, dataset: Any, *,
                    use_adapter: bool = True, lora_path: str | None = None) -> dict:
    """Evaluate with the recipe's settings (vLLM on the unsloth backend, HF generate elsewhere)."""
    from r1kit.evaluate import evaluate

    options: dict[str, Any] = {}
    if hasattr(model, "vllm_engine"):
        from r1kit.unsloth_backend import unsloth_generate

        options["generate_fn"] = functools.partial(unsloth_generate, model, tokenizer, lora_path=lora_path)
        use_adapter = True  # vLLM decides the weights: base without lora_path, the adapter with it
    return evaluate(model, tokenizer, dataset, recipe.task, k=recipe.eval_k, max_new_tokens=recipe.eval_max_new_tokens,
                    temperature=recipe.eval_temperature, batch_size=recipe.eval_batch_size, seed=recipe.eval_seed,
                    use_adapter=use_adapter, **options)


def run_demo(recipe: Recipe, *, show_progress: bool = True) -> dict:
    """Train ``recipe`` between two evaluations; prints and returns the results and timings."""
    from r1kit.adapters import update_run_card
    from r1kit.evaluate import compare, save_results
    from r1kit.train import build_datasets, load_recipe_model, train

    timings: dict[str, float] = {}
    start = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 1)
        clock = now

    model, tokenizer = load_recipe_model(recipe)
    _, eval_ds = build_datasets(recipe)
    lap("load")
    print(f"Evaluating the base model on {len(eval_ds)} held-out problems ...")
    before = evaluate_recipe(recipe, model, tokenizer, eval_ds, use_adapter=False)
    lap("eval_before")
    result = train(recipe, model=model, tokenizer=tokenizer, show_progress=show_progress)
    lap("train")
    print(f"Evaluating the trained adapter on the same {len(eval_ds)} problems ...")
    after = evaluate_recipe(recipe, result.model, tokenizer, eval_ds, lora_path=str(result.adapter_path))
    lap("eval_after")

    results = {"base": before, "after GRPO": after}
    save_results(results, result.run_dir / "eval.json")
    gain = after["metrics"]["success"] - before["metrics"]["success"]
    timings["total"] = round(time.perf_counter() - start, 1)
    timings["seconds_per_step"] = round(timings["train"] / max(1, result.steps), 2)
    summary = {name: r["metrics"] for name, r in results.items()}
    update_run_card(result.adapter_path, eval=summary, success_gain=round(gain, 4), timings=timings)

    print()
    print(compare(results))
    print()
    print(f"Held-out success: {before['metrics']['success']:.0%} -> {after['metrics']['success']:.0%} "
          f"({100 * gain:+.0f} points) after {result.steps} GRPO steps.")
    print("success = correct number inside <answer> tags (greedy); format rate = answer tags present.")
    print("Time (s): " + ", ".join(f"{name} {value}" for name, value in timings.items()))
    print(f"Adapter: {result.adapter_path}/   Run folder: {result.run_dir}/ "
          "(rewards.png, metrics.csv, samples.jsonl, success_samples.jsonl, eval.json)")
    return {"results": results, "gain": gain, "timings": timings, "adapter": str(result.adapter_path),
            "run_dir": str(result.run_dir)}
