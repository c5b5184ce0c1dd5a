"""One recipe's stages, in order, in one place: base evaluation, cold start, GRPO, each evaluated.

    pipe = Pipeline(load_recipe("recipes/cpu_demo.yaml"))   # checks the recipe; nothing loads yet
    pipe.base()         # loads the model once, evaluates it on the held-out problems
    pipe.cold_start()   # SFT on solver-made worked solutions (when the recipe has one), then evaluates
    pipe.grpo()         # GRPO from the cold start's weights, then evaluates
    pipe.finish()       # eval.json, run cards; returns the table
    # or: pipe.run(), which is exactly those four

The demo, the CLI's commands and the notebooks all go through this class; the notebooks call the
steps one cell each. The datasets are built once (prompts measured in tokens before any model
loads), the model and its generator are loaded once, and every evaluation uses the same held-out
problems, the recipe's settings (greedy, plus ``eval_k`` samples at the training temperature),
strict success beside format-free correctness. With several processes every process trains; the
main one evaluates and writes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from r1kit.recipe import Recipe, RecipeError

STEPS = ("base", "cold_start", "grpo")  # what run() calls, in order, then finish()


class Pipeline:
    """A recipe's stages on this machine, sharing one set of datasets, one model and one generator."""

    def __init__(self, recipe: Recipe, *, show_progress: bool = True) -> None:
        from r1kit.gpu import detect
        from r1kit.validate import validate_recipe

        # every check, before anything loads (Unsloth imported first where it runs)
        self.backend, self.gpu = validate_recipe(recipe), detect()
        self.recipe, self.show_progress = recipe, show_progress
        self.results: dict[str, dict] = {}  # evaluation name -> evaluate()'s result
        self.stages: dict[str, Any] = {}  # stage name -> StageResult
        self.timings: dict[str, float] = {}
        self.model = self.tokenizer = self.generator = None
        self._holds = "base"  # whose weights the model's LoRA holds: "base" (fresh), "sft", "grpo"

    def stage(self, name: str) -> Any:
        """The :class:`r1kit.runs.Stage` ``name`` ("sft" or "grpo") of this recipe."""
        from r1kit.runs import Stage

        return Stage(self.recipe, name, self.backend, self.gpu)

    @cached_property
    def data(self) -> Any:
        """Training and held-out problems, built once, prompts measured with the model's tokenizer."""
        from r1kit.tasks import build_datasets

        tokenizer = self.tokenizer or self.backend.load_tokenizer(self.recipe.model)
        return build_datasets(self.recipe, tokenizer)

    def load(self) -> None:
        """Load the model with a fresh LoRA and its generator (once)."""
        if self.model is not None:
            return
        data = self.data  # built and measured before the model loads: a recipe that cannot run fails in seconds
        print(
            f"{len(data.train)} training problems, {len(data.eval)} held out; "
            f"longest prompt {data.longest_prompt} tokens (grpo.max_prompt_length {self.recipe.grpo_value('max_prompt_length')})"
        )
        with self._lap("load"):
            self.model, self.tokenizer = self.backend.load(self.recipe, self.gpu)
            self.generator = self.backend.generator(self.model, self.tokenizer, batch_size=self.recipe.eval_batch_size)

    def evaluate(self, name: str, adapter: str | Path | None) -> dict | None:
        """Evaluate the base model (``adapter=None``) or a saved adapter on the held-out problems.

        The main process evaluates and keeps the result under ``name``; the others wait (None).
        """
        from accelerate import PartialState

        from r1kit.evaluate import evaluate_recipe

        self.load()
        state = PartialState()
        result = None
        with self._lap(f"eval {name}"):
            if state.is_main_process:
                print(f"Evaluating {name} on {len(self.data.eval)} held-out problems ...")
                result = self.results[name] = evaluate_recipe(
                    self.recipe, self.generator, self.data.eval, adapter=adapter
                )
            state.wait_for_everyone()
        return result

    def base(self) -> dict | None:
        """Load the model and evaluate it before any training."""
        return self.evaluate("base model", None)

    def cold_start(self, *, evaluate: bool = True, resume: bool = True, callbacks: list[Any] | None = None) -> Any:
        """The cold start (SFT on worked solutions) when the recipe has one; None otherwise."""
        from r1kit.sft import run_sft

        if not self.recipe.cold_start:
            return None
        self.load()
        with self._lap("cold start"):
            result = run_sft(
                self.stage("sft"),
                self.model,
                self.tokenizer,
                self.data.train,
                callbacks=callbacks,
                resume=resume,
                show_progress=self.show_progress,
            )
        self.stages["sft"], self._holds = result, "sft"
        if evaluate:
            self.evaluate("after cold start", result.adapter_path)
        return result

    def grpo(self, *, evaluate: bool = True, resume: bool = True, callbacks: list[Any] | None = None) -> Any:
        """GRPO, starting from the cold start's adapter when the recipe has one."""
        from r1kit.grpo import run_grpo

        stage = self.stage("grpo")
        if stage.previous is not None and self._holds != "sft":
            self._check_previous(stage.previous.adapter_path)  # a missing or damaged cold start fails before loading
        self.load()
        if stage.previous is not None and self._holds != "sft":
            self._load_weights(stage.previous.adapter_path)
        train = self.data.train
        with self._lap("GRPO"):
            result = run_grpo(
                stage,
                self.model,
                self.tokenizer,
                train.select(range(min(self.recipe.train_size, len(train)))),
                callbacks=callbacks,
                resume=resume,
                show_progress=self.show_progress,
            )
        self.stages["grpo"], self._holds = result, "grpo"
        if evaluate:
            self.evaluate("after GRPO", result.adapter_path)
        return result

    def finish(self) -> str | None:
        """Write ``eval.json`` in the last stage's run folder and the results into each adapter's run card.

        Returns the table of every evaluation (None in the processes that do not evaluate).
        """
        from accelerate import PartialState

        from r1kit.adapters import update_run_card
        from r1kit.evaluate import compare, save_results

        if not PartialState().is_main_process or not self.results:
            return None
        summary = {name: result["metrics"] for name, result in self.results.items()}
        last = list(self.stages.values())[-1] if self.stages else None
        if last is not None:
            save_results(self.results, last.run_dir / "eval.json")
        for result in self.stages.values():
            update_run_card(result.adapter_path, eval=summary, timings=self.timings)
        return compare(self.results)

    def run(self) -> str | None:
        """Every step of :data:`STEPS` in order, then :meth:`finish`; returns the table."""
        start = time.perf_counter()
        for step in STEPS:
            getattr(self, step)()
        self.timings["total"] = round(time.perf_counter() - start, 1)
        return self.finish()

    def _check_previous(self, folder: Path) -> None:
        """The cold start's adapter exists, reads whole and fits the recipe's model (no model loads)."""
        from r1kit.adapters import check_adapter

        if not (folder / "adapter_model.safetensors").is_file():
            raise RecipeError(
                f"the recipe has a cold start, and its adapter {folder} does not exist yet: "
                f"run `python -m r1kit sft RECIPE` first (`python -m r1kit demo RECIPE` runs every stage)"
            )
        check_adapter(folder, base=self.recipe.model, tokenizer=False)

    def _load_weights(self, folder: Path) -> None:
        """Put a saved stage's adapter weights into the model's LoRA (GRPO after a separate cold start)."""
        from r1kit.adapters import load_adapter_weights

        load_adapter_weights(self.model, folder)
        self._holds = "sft"

    @contextlib.contextmanager
    def _lap(self, name: str) -> Iterator[None]:
        """Record how long the block took under ``name`` (seconds)."""
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 1)
