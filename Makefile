# Two commands on a fresh machine:
#   make run    set up .venv, install jaxssl, train the default config on digits
#   make test   set up .venv with the test extra, run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/fixmatch.py
WORKDIR ?= runs/default

.PHONY: run test venv

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/activate
	$(BIN)/pip install -q -e .

run: venv
	$(BIN)/python launch.py --config=$(CONFIG) --workdir=$(WORKDIR)

test: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m pytest -n 2 --dist worksteal tests
