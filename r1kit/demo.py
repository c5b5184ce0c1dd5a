"""R1 in miniature: evaluate the base model, cold start, evaluate, GRPO, evaluate, print the table.

    python -m r1kit demo recipes/cpu_demo.yaml

:class:`r1kit.pipeline.Pipeline` runs the stages; this prints what they did. Every evaluation
uses the same held-out problems (``eval_size`` of them, drawn with ``eval_seed``; training never
sees them) and reports strict success beside format-free correctness, pass@k at the training
temperature and accuracy by difficulty, so the table shows what each stage added to the answers
themselves, not only to their format. Results go to ``<run folder>/eval.json`` and into the
adapters' run cards; each stage resumes on its own when the demo runs again.
"""

from __future__ import annotations

from r1kit.recipe import Recipe


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def run_demo(recipe: Recipe, *, show_progress: bool = True) -> dict:
    """Run every stage of ``recipe`` between evaluations; prints and returns the results and timings."""
    from r1kit.pipeline import Pipeline

    pipe = Pipeline(recipe, show_progress=show_progress)
    table = pipe.run()
    grpo = pipe.stages["grpo"]
    pipe.timings["seconds_per_grpo_step"] = round(pipe.timings["GRPO"] / max(1, grpo.steps), 2)
    if table is not None:
        summary = {name: result["metrics"] for name, result in pipe.results.items()}
        print(f"\n{table}\n")
        for metric, label in (("correct", "Format-free correctness"), ("success", "Strict success")):
            print(f"{label}: " + " -> ".join(f"{_percent(m[metric])} ({name})" for name, m in summary.items()))
        print(
            "success = right answer in the required format (what the rewards pay); correct = right answer "
            "read format-free from the whole completion; greedy decoding. pass@k: one of k samples at the "
            "training temperature is right (strict)."
        )
        print("Time (s): " + ", ".join(f"{name} {value}" for name, value in pipe.timings.items()))
        print(
            f"Adapters: {', '.join(str(r.adapter_path) for r in pipe.stages.values())}   Run folder: {grpo.run_dir}/ "
            "(rewards.png, metrics.csv, samples.jsonl, tensorboard/, eval.json)"
        )
    return {
        "results": pipe.results,
        "timings": pipe.timings,
        "adapter": str(grpo.adapter_path),
        "run_dir": str(grpo.run_dir),
    }
