# Every target installs what it needs into .venv first; only python3 is assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo lint gen bench fuzz soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff check srpc tests examples bench
	$(BIN)/mypy srpc

gen: install
	$(MAKE) -C examples/calc gen SRPC_STUBGEN=$(abspath $(BIN))/srpc-stubgen

demo: install
	$(MAKE) -C examples/calc demo BIN=$(abspath $(BIN))

bench: install
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache
