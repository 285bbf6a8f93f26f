# lightning-gen: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch/torchvision pins that install on CPU-only and CUDA machines alike (pip picks the wheel).
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH_PINS)
	$(BIN)/python -m pip install -e ".[dev]" $(TORCH_PINS)
	touch $(STAMP)

# Trains a DCGAN on the scikit-learn handwritten digits that ship with the package's dependencies
# (no download), then samples a grid from the checkpoint it wrote.
demo: $(STAMP)
	$(BIN)/python -m lightning_gen.demo --out outputs/demo

# Two pytest-xdist workers (one per core of the 2-core CI machine; each test may start 2-process DDP runs and
# ~1-2 GB of Trainer state, so more workers mostly add memory). TEST_WORKERS=0 runs serially in this process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check lightning_gen tests benchmarks

clean:
	rm -rf outputs lightning_logs .pytest_cache
