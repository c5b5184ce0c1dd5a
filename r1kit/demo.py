"""R1 in miniature: evaluate the base model, cold start, evaluate, GRPO, evaluate, print the table.

    python -m r1kit demo recipes/cpu_demo.yaml

Every evaluation uses the same held-out problems (``eval_size`` of them, drawn with
``eval_seed``; training never sees them), greedy decoding, and reports strict success beside
format-free correctness, so the table shows what each stage added to the answers themselves,
not only to their format. Stages run in this process on one loaded model; each saves its
adapter and run card and resumes on its own when the demo runs again. Results go to
``<run folder>/eval.json`` and into the adapters' run cards.
"""

from __future__ import annotations

import time

from r1kit.recipe import Recipe


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def run_demo(recipe: Recipe, *, show_progress: bool = True) -> dict:
    """Run every stage of ``recipe`` between evaluations; prints and returns the results and timings."""
    from accelerate import PartialState

    from r1kit.adapters import update_run_card
    from r1kit.evaluate import compare, evaluate_recipe, save_results
    from r1kit.generation import make_generator
    from r1kit.runs import Stage, load_stage_model
    from r1kit.sft import sft
    from r1kit.tasks import build_datasets
    from r1kit.train import train

    state = PartialState()
    timings: dict[str, float] = {}
    start = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 1)
        clock = now

    first = Stage.of(recipe, "sft" if recipe.cold_start else "grpo")
    model, tokenizer = load_stage_model(first)  # the first stage starts from the base model
    _, eval_ds = build_datasets(recipe)
    generator = make_generator(first.backend, model, tokenizer, batch_size=recipe.eval_batch_size)
    lap("load")
    results: dict[str, dict] = {}

    def evaluate(name: str, adapter: object) -> None:
        if state.is_main_process:  # one process evaluates; the others wait
            print(f"Evaluating {name} on {len(eval_ds)} held-out problems ...")
            results[name] = evaluate_recipe(recipe, generator, eval_ds, adapter=adapter)
        state.wait_for_everyone()
        lap(f"eval {name}")

    evaluate("base model", None)
    stages = []
    if recipe.cold_start:
        cold = sft(recipe, model=model, tokenizer=tokenizer, show_progress=show_progress)
        lap("cold start")
        evaluate("after cold start", cold.adapter_path)
        stages.append(cold)
    grpo = train(recipe, model=model, tokenizer=tokenizer, show_progress=show_progress)
    lap("GRPO")
    evaluate("after GRPO", grpo.adapter_path)
    stages.append(grpo)
    timings["total"] = round(time.perf_counter() - start, 1)
    timings["seconds_per_grpo_step"] = round(timings["GRPO"] / max(1, grpo.steps), 2)
    if not state.is_main_process:
        return {"results": {}, "timings": timings, "adapter": str(grpo.adapter_path), "run_dir": str(grpo.run_dir)}

    save_results(results, grpo.run_dir / "eval.json")
    summary = {name: result["metrics"] for name, result in results.items()}
    for result in stages:
        update_run_card(result.adapter_path, eval=summary, timings=timings)
    print()
    print(compare(results))
    print()
    for metric, label in (("correct", "Format-free correctness"), ("success", "Strict success")):
        print(f"{label}: " + " -> ".join(f"{_percent(m[metric])} ({name})" for name, m in summary.items()))
    print(
        "success = right answer in the required format (what the rewards pay); correct = right answer "
        "read format-free from the whole completion; greedy decoding."
    )
    print("Time (s): " + ", ".join(f"{name} {value}" for name, value in timings.items()))
    print(
        f"Adapters: {', '.join(str(r.adapter_path) for r in stages)}   Run folder: {grpo.run_dir}/ "
        "(rewards.png, metrics.csv, samples.jsonl, tensorboard/, eval.json)"
    )
    return {"results": results, "timings": timings, "adapter": str(grpo.adapter_path), "run_dir": str(grpo.run_dir)}
