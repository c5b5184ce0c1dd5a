"""Evaluation's generation speed: the kit's generator beside a plain ``model.generate`` loop.

    python benchmarks/generation.py                 # make bench runs it
    python benchmarks/generation.py --problems 24 --k 8 --tokens 64

The same work for both: SmolLM2-135M-Instruct under a saved LoRA adapter (r16 on every
projection, its B matrices drawn at random so the adapter changes the answers), the CPU demo's
held-out prompts, the demo's lengths, and the same number of sequences per ``generate`` call.

* greedy: one completion per problem. The kit's texts must equal the plain loop's (checked).
* sampled: ``--k`` completions per problem at the demo's training temperature, as pass@k draws them.

kit: :class:`r1kit.generation.HFGenerator` (the adapter merged into the weights for the call;
each prompt prefilled once for its k samples). plain: the adapter loaded with PEFT and
``model.generate(num_return_sequences=k)``, as a notebook would write it. Each runs A B A B
(``--rounds``); the figures are completions and generated tokens per second, best round each,
and the ratio kit / plain.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def random_adapter(model, folder: Path, seed: int = 0) -> None:
    """Save the model's LoRA with B drawn at random (a fresh LoRA's B is zero: it changes nothing)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    model.save_pretrained(str(folder))


def plain_generate(model, tokenizer, prompts, *, n, temperature, max_tokens, batch_size, seed) -> list[list[str]]:
    """The loop a notebook writes: left-padded batches, ``num_return_sequences``, PEFT's adapter as loaded."""
    import torch

    from r1kit.generation import render_prompt

    texts = [render_prompt(p, tokenizer) for p in prompts]
    sampling = {"do_sample": True, "temperature": temperature, "top_p": 1.0, "top_k": None} if temperature else {}
    per_call, out = max(1, batch_size // n), []
    torch.manual_seed(seed)
    with torch.inference_mode():
        for start in range(0, len(texts), per_call):
            batch = tokenizer(
                texts[start : start + per_call], return_tensors="pt", padding=True, padding_side="left",
                add_special_tokens=False,
            )  # fmt: skip
            output = model.generate(
                **batch, max_new_tokens=max_tokens, num_return_sequences=n, pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )  # fmt: skip
            stop = {tokenizer.eos_token_id, tokenizer.pad_token_id}
            for row in output[:, batch["input_ids"].shape[1] :].tolist():
                end = next((j for j, token in enumerate(row) if token in stop), len(row))
                out.append(tokenizer.decode(row[:end], skip_special_tokens=True))
    return [out[i : i + n] for i in range(0, len(out), n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=24, help="held-out problems (the demo evaluates 100)")
    parser.add_argument("--k", type=int, default=8, help="samples per problem in the sampled run")
    parser.add_argument("--tokens", type=int, default=0, help="tokens per completion (0: the demo's)")
    parser.add_argument("--batch-size", type=int, default=0, help="sequences per generate call (0: the demo's)")
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds per mode; the best round counts")
    args = parser.parse_args()

    import torch
    from peft import PeftModel
    from transformers import set_seed

    from r1kit.backends import TransformersBackend
    from r1kit.generation import HFGenerator
    from r1kit.gpu import detect
    from r1kit.models import load_base
    from r1kit.recipe import load_recipe
    from r1kit.tasks import build_datasets

    recipe = load_recipe(ROOT / "recipes" / "cpu_demo.yaml")
    tokens = args.tokens or recipe.eval_tokens
    batch_size = args.batch_size or recipe.eval_batch_size
    temperature = recipe.sample_temperature
    set_seed(0)
    backend = TransformersBackend()
    model, tokenizer = backend.load(recipe, detect())
    prompts = [row["prompt"] for row in build_datasets(recipe, tokenizer).eval.select(range(args.problems))]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(prompts)} problems, {tokens} tokens, "
        f"{batch_size} sequences per call; sampled: k={args.k} at temperature {temperature}"
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "adapter"
        random_adapter(model, folder)
        kit = HFGenerator(model, tokenizer, batch_size=batch_size)
        plain_model = PeftModel.from_pretrained(load_base(recipe.model)[0], str(folder))  # a second, plain base
        plain_model.eval()

        def count(groups: list[list[str]]) -> tuple[int, int]:
            texts = [t for group in groups for t in group]
            return len(texts), sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)

        for mode, n, temp in (("greedy", 1, 0.0), ("sampled", args.k, temperature)):
            best: dict[str, tuple[float, int, int]] = {}
            outputs: dict[str, list[list[str]]] = {}
            for _ in range(args.rounds):
                for name in ("kit", "plain"):
                    start = time.perf_counter()
                    if name == "kit":
                        groups = kit.generate(prompts, adapter=folder, n=n, temperature=temp, max_tokens=tokens)
                    else:
                        groups = plain_generate(
                            plain_model, tokenizer, prompts, n=n, temperature=temp, max_tokens=tokens,
                            batch_size=batch_size, seed=0,
                        )  # fmt: skip
                    seconds = time.perf_counter() - start
                    completions, generated = count(groups)
                    outputs[name] = groups
                    if name not in best or seconds < best[name][0]:
                        best[name] = (seconds, completions, generated)
            for name, (seconds, completions, generated) in best.items():
                print(
                    f"{mode:>7} {name:>5}: {completions / seconds:6.2f} completions/s, {generated / seconds:7.1f} "
                    f"tokens/s ({completions} completions, {generated} tokens, {seconds:.1f} s)"
                )
            kit_rate, plain_rate = (best[x][1] / best[x][0] for x in ("kit", "plain"))
            same = sum(a == b for a, b in zip(outputs["kit"], outputs["plain"]))
            line = f"{mode:>7} kit / plain: {kit_rate / plain_rate:.2f}x completions/s"
            if mode == "greedy":
                line += f"; identical texts: {same} of {len(prompts)}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
