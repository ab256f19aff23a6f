# blocktalk: one command each for set-up + tests, the main job, and benchmarks.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BT     := $(VENV)/bin/blocktalk

.PHONY: test test-slow run bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.3.1
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 -m slow

run: $(VENV)/.installed
	$(BT) run --stats examples/main.st

bench: $(VENV)/.installed
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
