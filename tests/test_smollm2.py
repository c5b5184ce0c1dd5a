"""The converted SmolLM2 folder: a faithful tokenizer, a versioned conversion, adapters naming the alias.

One real conversion per module (~30-60 s on two cores) into a temporary cache; everything else
reads it or fakes the slow part.
"""

import json
import os
import shutil
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest

from r1kit import models, smollm2
from r1kit.smollm2 import CONVERSION_MARKER, CONVERSION_VERSION, SMOLLM2_ALIAS

TEXTS = [
    "Hello world, this is a test.\nNew line",  # the sentence transformers 5 decoded as "Helloworld,..."
    "double  space",  # runs of spaces survive
    " leading space",  # a leading space is kept, none is added
    "trailing space ",  # nor dropped at the end
    "a\n\nb\n",  # blank lines and a final newline
    "tab\there\t\t",  # tabs
    "Hello , world . ( x ) !?",  # no clean-up of spaces before punctuation
    "12345 + 0.5 = 12345.5",  # digits and decimals
    "é—✓ 日本語 🙂",  # multi-byte unicode, split across byte-level tokens
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n",  # the chat template's special tokens
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The alias converted for real into a fresh cache."""
    cache = tmp_path_factory.mktemp("cache")
    return models.resolve_model(SMOLLM2_ALIAS, cache=cache)


@pytest.fixture(scope="module")
def tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("text", TEXTS)
def test_decode_inverts_encode(tokenizer, text):
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_ids_match_the_tokenizer_transformers_reads_from_the_gguf(tokenizer):
    from transformers import AutoTokenizer

    gguf = smollm2.smollm2_gguf()
    reference = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    for text in TEXTS:
        assert tokenizer.encode(text, add_special_tokens=False) == reference.encode(text, add_special_tokens=False), (
            text
        )


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("12345", ["1", "2", "3", "4", "5"]),  # one digit per token
        (" 42", ["Ġ", "4", "2"]),  # a space before digits stands alone
        ("hi", ["hi"]),  # no BOS prepended, as on the hub (the GGUF's add_bos_token is false)
    ],
)
def test_tokens(tokenizer, text, tokens):
    assert tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"]) == tokens


@pytest.mark.parametrize(
    ("skip", "expected"),
    [
        (False, "<|im_start|>user\nhi<|im_end|>\n<|endoftext|>"),  # special tokens decode back
        (True, "user\nhi\n"),  # and are dropped when asked
    ],
)
def test_special_tokens(tokenizer, skip, expected):
    ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>\n<|endoftext|>", add_special_tokens=False)
    assert ids[0] == 1 and ids[-3] == 2 and ids[-1] == 0  # each one a single token
    assert tokenizer.decode(ids, skip_special_tokens=skip) == expected


def test_folder_declares_a_byte_level_gpt2_tokenizer(folder, tokenizer):
    config = json.loads((Path(folder) / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "GPT2Tokenizer" and config["clean_up_tokenization_spaces"] is False
    pipeline = json.loads((Path(folder) / "tokenizer.json").read_text())
    assert pipeline["normalizer"] is None and pipeline["decoder"]["type"] == "ByteLevel"
    assert [p["type"] for p in pipeline["pre_tokenizer"]["pretokenizers"]] == ["Digits", "ByteLevel"]
    assert sum(t["special"] for t in pipeline["added_tokens"]) == 17  # the GGUF's control tokens
    special = (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token, tokenizer.unk_token)
    assert special == ("<|im_start|>", "<|im_end|>", "<|im_end|>", "<|endoftext|>")  # as the hub's config
    model_config = json.loads((Path(folder) / "config.json").read_text())
    assert model_config["eos_token_id"] == model_config["pad_token_id"] == tokenizer.eos_token_id == 2


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (  # a full conversation
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "4"},
            ],
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
            "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>assistant\n",
        ),
        (  # no system message: SmolLM2's default one is inserted
            [{"role": "user", "content": "hi"}],
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        ),
    ],
)
def test_chat_template(tokenizer, messages, expected):
    assert tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == expected


def fake_writer(calls, delay=0.0):
    """A stand-in for the slow conversion that records each call."""

    def write(folder):
        calls.append(folder)
        time.sleep(delay)
        (folder / "config.json").write_text("{}")
        (folder / CONVERSION_MARKER).write_text(json.dumps({"version": CONVERSION_VERSION}))

    return write


@pytest.mark.parametrize(
    ("files", "rebuilt"),
    [
        (None, True),  # no folder: converted
        ({"config.json": "{}", "tokenizer.json": "old"}, True),  # an old-format folder (no marker): rebuilt
        ({"config.json": "{}", CONVERSION_MARKER: '{"version": 1}'}, True),  # an older version: rebuilt
        ({"config.json": "{}", CONVERSION_MARKER: "not json"}, True),  # a damaged marker: rebuilt
        (
            {"config.json": "{}", CONVERSION_MARKER: json.dumps({"version": CONVERSION_VERSION})},
            False,
        ),  # current: reused
    ],
)
def test_conversion_version(monkeypatch, tmp_path, files, rebuilt):
    target = tmp_path / SMOLLM2_ALIAS
    if files is not None:
        target.mkdir()
        for name, text in files.items():
            (target / name).write_text(text)
    calls = []
    monkeypatch.setattr(smollm2, "_write_smollm2", fake_writer(calls))
    assert models.resolve_model(SMOLLM2_ALIAS, cache=tmp_path) == str(target)
    assert len(calls) == rebuilt and smollm2.conversion_version(target) == CONVERSION_VERSION
    assert not (target / "tokenizer.json").exists()  # nothing of the old folder is left inside
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [SMOLLM2_ALIAS]  # no temporary folders left


def test_racing_processes_convert_once(monkeypatch, tmp_path):
    target = tmp_path / SMOLLM2_ALIAS
    target.mkdir()
    (target / "config.json").write_text("{}")  # an old-format folder
    calls = []
    monkeypatch.setattr(smollm2, "_write_smollm2", fake_writer(calls, delay=0.3))
    threads = [
        threading.Thread(target=models.resolve_model, args=(SMOLLM2_ALIAS,), kwargs={"cache": tmp_path})
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and smollm2.conversion_version(target) == CONVERSION_VERSION


@pytest.fixture(scope="module")
def tiny_alias(folder, tmp_path_factory):
    """A cache whose current alias folder holds a tiny random Llama (fast to load) and the real tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cache = tmp_path_factory.mktemp("tiny")
    target = cache / SMOLLM2_ALIAS
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(target)
    for path in Path(folder).iterdir():  # the tokenizer files and the marker
        if path.name not in ("config.json", "generation_config.json", "model.safetensors"):
            shutil.copy(path, target / path.name)
    return cache


@pytest.mark.parametrize(
    "asked",
    [
        SMOLLM2_ALIAS,  # the alias, not the cache folder: another machine can resolve it
        "SmolLM2-135M-Instruct",  # any spelling of the alias is kept as the recipe wrote it
        "FOLDER",  # a local folder stays as given
    ],
)
def test_adapters_name_the_base_model_as_the_recipe_does(tiny_alias, tmp_path, asked):
    from r1kit.adapters import adapter_config, save_adapter

    folder = str(tiny_alias / SMOLLM2_ALIAS)
    asked = asked.replace("FOLDER", folder)
    base, tokenizer = models.load_base(asked, cache=tiny_alias)
    model = models.add_lora(base, lora_rank=2, lora_alpha=2, target_modules=["q_proj"])
    assert model.name_or_path == folder  # the loaded model keeps its real folder (TRL's colocated vLLM opens it)
    save_adapter(model, tokenizer, tmp_path / "adapter", {"base_model": asked})
    assert adapter_config(tmp_path / "adapter")["base_model_name_or_path"] == asked
