# Two set-up commands for a fresh machine (Python 3.11+, JDK 17, Maven; `make test` also
# installs Debian's prometheus package, for promtool and the Prometheus test):
#   make demo   set-up, then the demo on the embedded local broker
#   make test   set-up, then every test
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: setup system-packages demo test faults bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "error: Python 3.11+ is needed (PYTHON=$(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

setup: $(STAMP)
	$(BIN)/inspections broker jars

demo: setup
	$(BIN)/inspections demo $(DEMO_FLAGS)

system-packages:
	scripts/system-packages

# The pure tests (no broker) on both cores at once, then those on the real broker one by one.
test: setup system-packages
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 tests/unit tests/fuzz tests/golden $(PYTEST_FLAGS)
	$(BIN)/pytest tests/integration tests/faults $(PYTEST_FLAGS)

# The fault tests' long version (`make test` runs the short one): about 10 minutes.
faults: setup
	INSPECTIONS_FAULTS=long $(BIN)/pytest tests/faults $(PYTEST_FLAGS)

# Not part of `make test`: minutes on two cores. BENCH_FLAGS=--quick checks it works.
bench: setup
	$(BIN)/python -m bench.suite $(BENCH_FLAGS)

clean:
	-$(BIN)/inspections broker stop
	rm -rf $(VENV) .local .pytest_cache .hypothesis
