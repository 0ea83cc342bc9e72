# The two set-up commands (see README): `make demo` and `make test`. Both create .venv on first use.
# Also: `make docs` (the documentation site, strict), `make test-interop` (translate's claims, drawn
# in JAX, Flax and Keras: installs the interop extra), `make docs-figures` (redraw the guides' figures).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

INTEROP := $(VENV)/.interop
MODELS_VENV ?= .venv-models
MODELS_STAMP := $(MODELS_VENV)/.installed

.PHONY: demo test test-models lint typecheck unit docs docs-figures test-interop bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,docs]'
	touch $(STAMP)

$(INTEROP): $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,docs,interop]'
	touch $(INTEROP)

demo: $(STAMP)
	$(BIN)/initlab reproduce --force --out runs/reproduce
	@echo "The report: $(CURDIR)/runs/reproduce/report.html (also report.md; numbers in results.json)"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs/*.py
	$(BIN)/ruff format --check src tests benchmarks docs/*.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	@echo "The site: $(CURDIR)/site/index.html"

docs-figures: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python docs/make_figures.py

test-interop: $(INTEROP)
	KERAS_BACKEND=jax $(BIN)/pytest -q -m interop tests/schemes/test_translate_interop.py

test: lint typecheck docs unit

# Optional: auto init / LSUV / audit on Hugging Face models from small configs (random init, no
# downloads), in a venv of their own so `make test` never depends on transformers.
$(MODELS_STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(MODELS_VENV)
	$(MODELS_VENV)/bin/pip install -q -c constraints.txt torch==2.13.0 transformers -e '.[dev]'
	touch $(MODELS_STAMP)

test-models: $(MODELS_STAMP)
	INITLAB_TEST_MODELS=1 OMP_NUM_THREADS=1 $(MODELS_VENV)/bin/pytest -q -p no:cacheprovider tests/tools/test_real_models.py tests/tools/test_residual_libraries.py

bench: $(STAMP)
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) $(MODELS_VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache
