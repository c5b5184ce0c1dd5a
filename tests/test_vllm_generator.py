"""VLLMGenerator against a stand-in for Unsloth's model: what it hands vLLM, and how much at once.

vLLM's ``LLM.generate`` (what Unsloth's ``fast_generate`` is) takes token-id prompts
(``{"prompt_token_ids": [...]}``, vllm/inputs/data.py ``TokensPrompt`` in 0.11.2 and 0.15.1).
The real SmolLM2 tokenizer renders and tokenizes; only the engine is scripted.
"""

from __future__ import annotations

import sys
import types

import pytest

from r1kit.generation import VLLMGenerator, render_prompt
from r1kit.models import load_tokenizer

CHATS = [[{"role": "user", "content": f"What is {i} + {i}?"}] for i in range(5)]


class Engine:
    """Unsloth's model as generation sees it: fast_generate records each call's prompts."""

    vllm_engine = "attached by fast_inference=True"

    def __init__(self):
        self.calls: list[list[dict]] = []

    def load_lora(self, path):
        return f"LoRARequest({path})"

    def fast_generate(self, prompts, sampling_params=None, lora_request=None):
        self.calls.append(prompts)
        return [
            types.SimpleNamespace(outputs=[types.SimpleNamespace(text=f"#{len(p['prompt_token_ids'])}")])
            for p in prompts
        ]


@pytest.fixture()
def fake_vllm(monkeypatch):
    import trl.data_utils  # noqa: F401  (first: TRL looks for a real vllm when it is imported)

    module = types.ModuleType("vllm")
    module.SamplingParams = lambda **kwargs: types.SimpleNamespace(**kwargs)
    monkeypatch.setitem(sys.modules, "vllm", module)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("smollm2-135m-instruct")


def test_prompts_go_as_token_ids_without_added_special_tokens(fake_vllm, tokenizer):
    engine = Engine()
    VLLMGenerator(engine, tokenizer).generate(CHATS[:1], adapter=None, max_tokens=4)
    text = render_prompt(CHATS[0], tokenizer)
    # the ids HFGenerator and TRL's loss use for this prompt: the chat template's tokens, nothing added
    assert engine.calls == [[{"prompt_token_ids": tokenizer(text, add_special_tokens=False)["input_ids"]}]]


@pytest.mark.parametrize(("batch_size", "n", "calls"), [(2, 1, [2, 2, 1]), (4, 2, [2, 2, 1]), (1, 3, [1] * 5)])
def test_batch_size_bounds_the_sequences_handed_over_at_once(fake_vllm, tokenizer, batch_size, n, calls):
    engine = Engine()
    out = VLLMGenerator(engine, tokenizer, batch_size=batch_size).generate(CHATS, adapter=None, n=n, max_tokens=4)
    assert [len(call) for call in engine.calls] == calls
    ids = [len(tokenizer(render_prompt(c, tokenizer), add_special_tokens=False)["input_ids"]) for c in CHATS]
    assert out == [[f"#{length}"] for length in ids]  # every prompt answered once, in order
