"""Generation in one place: which weights answer is an argument, never a guess.

A :class:`Generator` turns prompts (chats or plain strings) into completions, with the base
model (``adapter=None``) or a saved LoRA adapter (``adapter="saved_adapters/run"``). Two
implementations share the interface: :class:`HFGenerator` (transformers ``generate`` with
PEFT; CPU or GPU) and :class:`VLLMGenerator` (the vLLM engine Unsloth co-locates with the
model, ``fast_generate`` with a LoRA request). A backend makes its own
(:meth:`r1kit.backends.TransformersBackend.generator`); evaluation, the CLI, the demo and the
notebooks all generate through it.

Prompts are rendered as TRL's GRPOTrainer renders them (``maybe_apply_chat_template``: a
generation prompt after a user turn, the prefilled assistant turn continued), and the texts
returned are what the model generated, without the prompt or any prefill.

    gen = HFGenerator(model, tokenizer)       # or pipe.backend.generator(model, tokenizer, batch_size=32)
    gen.generate([[{"role": "user", "content": "What is 2 + 3?"}]], adapter=None, max_tokens=16)
    # [['2 + 3 = 5.']]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

Prompt = str | list[dict[str, str]]


def render_prompt(prompt: Prompt, tokenizer: Any) -> str:
    """The prompt text the model continues, by TRL's own ``maybe_apply_chat_template``."""
    from trl.data_utils import maybe_apply_chat_template  # lazy: unsloth must be imported before trl

    return maybe_apply_chat_template({"prompt": prompt}, tokenizer)["prompt"]


def adapter_folder(adapter: str | os.PathLike[str]) -> str:
    """``adapter`` as a string path, after checking it is a saved LoRA adapter folder."""
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter} is not a saved LoRA adapter (no adapter_config.json)")
    return str(adapter)


class Generator(Protocol):
    """Completions for prompts, with the base model (``adapter=None``) or a saved adapter folder."""

    tokenizer: Any

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        adapter: str | os.PathLike[str] | None,
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 256,
        seed: int = 0,
    ) -> list[list[str]]:
        """``n`` completions per prompt (greedy when ``temperature`` is 0), generated text only."""
        ...


def _token_ids(value: int | list[int] | None) -> list[int]:
    return [] if value is None else [value] if isinstance(value, int) else list(value)


class HFGenerator:
    """transformers ``generate``, batched and left-padded; adapters through PEFT.

    ``adapter=None`` runs inside ``disable_adapter()`` (a plain model runs as it is). A folder
    is loaded into the model for the call under a name of its own, made active, and removed
    afterwards, so evaluating a saved adapter evaluates exactly what was saved and the model's
    own adapter (the one being trained) is left as it was.
    """

    EVAL_ADAPTER = "r1kit-eval"

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 32) -> None:
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size

    @contextlib.contextmanager
    def _weights(self, adapter: str | os.PathLike[str] | None) -> Iterator[Any]:
        """The model to generate with, its weights set to the base model or to ``adapter``."""
        model = self.model
        peft = hasattr(model, "disable_adapter")  # a PeftModel (a plain transformers model has none)
        if adapter is None:
            with model.disable_adapter() if peft else contextlib.nullcontext():
                yield model
            return
        folder = adapter_folder(adapter)
        from r1kit.adapters import check_adapter

        check_adapter(folder, model=model, tokenizer=False)  # whole and fitting, as training's loading requires
        if not peft:
            from peft import PeftModel

            wrapped = PeftModel.from_pretrained(model, folder)
            try:
                with merged(wrapped):
                    yield wrapped
            finally:
                wrapped.unload()  # takes the LoRA layers out of the base model again
            return
        previous = model.active_adapter
        model.load_adapter(folder, adapter_name=self.EVAL_ADAPTER, is_trainable=False)
        try:
            model.set_adapter(self.EVAL_ADAPTER)
            with merged(model):
                yield model
        finally:
            model.set_adapter(previous)
            model.delete_adapter(self.EVAL_ADAPTER)

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        adapter: str | os.PathLike[str] | None,
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 256,
        seed: int = 0,
    ) -> list[list[str]]:
        import torch

        if n < 1 or max_tokens < 1:
            raise ValueError(f"n and max_tokens must be at least 1, got {n} and {max_tokens}")
        tokenizer = self.tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token  # the same fallback GRPOTrainer applies
        texts = [render_prompt(p, tokenizer) for p in prompts]
        with self._weights(adapter) as model:
            # stop at the tokenizer's end token (as GRPOTrainer does) and at the checkpoint's own
            eos = _token_ids(tokenizer.eos_token_id) + _token_ids(
                getattr(model.generation_config, "eos_token_id", None)
            )
            device = next(model.parameters()).device
            stop = torch.tensor(sorted({*eos, tokenizer.pad_token_id} - {None}), device=device)
            rng = torch.Generator(device=device).manual_seed(seed)
            per_call = max(1, self.batch_size // n)
            out: list[str] = []
            was_training = model.training
            model.eval()
            try:
                with torch.inference_mode():
                    for start in range(0, len(texts), per_call):
                        batch = tokenizer(
                            texts[start : start + per_call],
                            return_tensors="pt",
                            padding=True,
                            padding_side="left",
                            add_special_tokens=False,
                        ).to(device)
                        rows = decode(
                            model,
                            batch["input_ids"],
                            batch["attention_mask"],
                            n=n,
                            max_tokens=max_tokens,
                            temperature=temperature,
                            top_p=top_p,
                            stop=stop,
                            rng=rng,
                        )
                        out += [tokenizer.decode(row, skip_special_tokens=True) for row in rows]
            finally:
                model.train(was_training)
        return [out[i : i + n] for i in range(0, len(out), n)]


def next_tokens(logits: Any, *, temperature: float, top_p: float, rng: Any) -> Any:
    """One token per row: the most likely (temperature 0), else drawn from softmax(logits / temperature).

    ``top_p`` < 1 keeps the smallest set of most likely tokens whose probability reaches it, as
    transformers' ``TopPLogitsWarper`` does. The draw inverts the cumulative distribution with
    one uniform number per row (exact, and far cheaper than ``torch.multinomial``'s exponential
    draw over the whole vocabulary on a CPU).

    >>> import torch
    >>> next_tokens(torch.tensor([[0.0, 3.0, 1.0]]), temperature=0.0, top_p=1.0, rng=None).tolist()
    [1]
    """
    import torch

    if temperature == 0.0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        ordered, order = probs.sort(dim=-1, descending=True)
        outside = ordered.cumsum(dim=-1) - ordered > top_p  # mass before a token already reaches top_p
        probs = probs.scatter(-1, order, ordered.masked_fill(outside, 0.0))
    cdf = probs.cumsum(dim=-1)
    draw = torch.rand((cdf.shape[0], 1), generator=rng, device=cdf.device) * cdf[:, -1:]
    return torch.searchsorted(cdf, draw, right=True).squeeze(-1).clamp_(max=cdf.shape[-1] - 1)


def decode(
    model: Any,
    ids: Any,
    mask: Any,
    *,
    n: int,
    max_tokens: int,
    temperature: float,
    top_p: float,
    stop: Any,
    rng: Any,
) -> list[list[int]]:
    """``n`` continuations of each left-padded prompt, as token ids without the stop token.

    The loop ``generate`` runs, with what evaluation needs and ``generate`` lacks: each prompt is
    prefilled once and its cache repeated for its ``n`` samples (``generate`` prefills every
    copy), and a sequence that has stopped leaves the batch and its cache at once (``generate``
    keeps computing it until the longest has stopped). Positions follow the attention mask, as
    ``generate`` numbers left-padded rows. Rows come back grouped by prompt: prompt 0's n, then 1's.
    """
    import torch

    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    cache, logits = out.past_key_values, out.logits[:, -1]
    if n > 1:
        cache.batch_repeat_interleave(n)
        logits, mask = logits.repeat_interleave(n, dim=0), mask.repeat_interleave(n, dim=0)
    live = torch.arange(mask.shape[0], device=mask.device)  # the original row of each row still running
    position = mask.long().sum(-1)  # the next token's position in each row
    tokens: list[list[int]] = [[] for _ in range(mask.shape[0])]
    for step in range(max_tokens):
        chosen = next_tokens(logits, temperature=temperature, top_p=top_p, rng=rng)
        stopped = torch.isin(chosen, stop)
        for row, token, done in zip(live.tolist(), chosen.tolist(), stopped.tolist()):
            if not done:
                tokens[row].append(token)
        if step == max_tokens - 1 or bool(stopped.all()):
            break
        if bool(stopped.any()):
            keep = (~stopped).nonzero().squeeze(-1)
            cache.batch_select_indices(keep)
            live, chosen, mask, position = live[keep], chosen[keep], mask[keep], position[keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=-1)
        out = model(
            input_ids=chosen[:, None],
            attention_mask=mask,
            position_ids=position[:, None],
            past_key_values=cache,
            use_cache=True,
        )
        logits, position = out.logits[:, -1], position + 1
    return tokens


@contextlib.contextmanager
def merged(model: Any) -> Iterator[None]:
    """The active LoRA adapter merged into the base weights for the block, then taken out exactly.

    An unmerged LoRA adds two small matmuls to every adapted layer at every generated token; a
    merged one costs nothing. On exit PEFT's ``unmerge_adapter`` takes the update out again and
    the saved base weights are copied back, so the model trains on exactly the weights it had
    (no rounding from merge and unmerge). Quantized base layers (bitsandbytes) are left unmerged:
    merging into them would round the update.

        with merged(peft_model):
            peft_model.generate(...)
    """
    import torch
    from peft.tuners.lora import LoraLayer

    layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
    if not layers or any(type(m.get_base_layer()) is not torch.nn.Linear for m in layers):
        yield
        return
    saved = [m.get_base_layer().weight.detach().clone() for m in layers]
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()
        with torch.no_grad():
            for m, weight in zip(layers, saved):
                m.get_base_layer().weight.copy_(weight)


class VLLMGenerator:
    """The vLLM engine Unsloth co-locates with the model (``fast_inference=True``).

    ``adapter=None`` sends no LoRA request, so vLLM answers with the base weights it holds; a
    folder is served through ``model.load_lora(folder)`` (unsloth_zoo's ``load_lora``), which
    is how Unsloth's notebooks generate with a saved adapter.

    Prompts go to vLLM as token ids, tokenized as :class:`HFGenerator` and TRL's loss tokenize
    them (no special tokens added): vLLM would encode a text prompt with the tokenizer's defaults
    (vllm/inputs/preprocess.py, ``_tokenize_prompt``), which add a second BOS after the chat
    template's own where the tokenizer adds one. vLLM schedules requests itself; ``batch_size``
    (sequences, as in :class:`HFGenerator`) bounds how many are handed to it at once, and so the
    outputs held in memory.
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 32) -> None:
        # Unsloth gives every model a fast_generate; without a vllm_engine it is plain HF generate
        if not hasattr(model, "vllm_engine") or not hasattr(model, "load_lora"):
            raise ValueError("the model has no vLLM engine: load it on the unsloth backend (fast_inference=True)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self._requests: dict[tuple[str, int], Any] = {}

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        adapter: str | os.PathLike[str] | None,
        n: int = 1,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 256,
        seed: int = 0,
    ) -> list[list[str]]:
        if n < 1 or max_tokens < 1:
            raise ValueError(f"n and max_tokens must be at least 1, got {n} and {max_tokens}")
        if not prompts:
            return []
        lora_request = None
        if adapter is not None:
            folder = adapter_folder(adapter)
            # a folder saved again (a new run, a "-best" copy) needs a new request: each load_lora
            # gets a new id, and vLLM keeps serving what it loaded under an id it knows
            key = (folder, (Path(folder) / "adapter_model.safetensors").stat().st_mtime_ns)
            if key not in self._requests:
                self._requests[key] = self.model.load_lora(folder)
            lora_request = self._requests[key]
        from vllm import SamplingParams

        sampling_params = SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
        texts = [render_prompt(p, self.tokenizer) for p in prompts]
        requests = [{"prompt_token_ids": ids} for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        per_call = max(1, self.batch_size // n)
        out: list[list[str]] = []
        for start in range(0, len(requests), per_call):
            outputs = self.model.fast_generate(
                requests[start : start + per_call], sampling_params=sampling_params, lora_request=lora_request
            )
            out += [[sample.text for sample in output.outputs] for output in outputs]
        return out
