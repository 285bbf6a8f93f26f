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

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check lightning_gen tests benchmarks

clean:
	rm -rf outputs lightning_logs .pytest_cache
