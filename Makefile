# The two commands of the README: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test unit lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/agentload demo

# The two-minute soak test mostly waits, so it runs alongside the rest of the suite.
test: $(STAMP) lint
	@mkdir -p reports
	$(PY) -m pytest -q -m soak -p no:cacheprovider > reports/soak-test.log 2>&1 & soak=$$!; \
	$(PY) -m pytest -q -m "not soak"; rest=$$?; \
	wait $$soak; soak_status=$$?; \
	echo "--- soak test (run alongside the rest):"; cat reports/soak-test.log; \
	test $$rest -eq 0 && test $$soak_status -eq 0

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks locustfiles examples ci

bench: $(STAMP)
	$(PY) benchmarks/run.py

bench-quick: $(STAMP)
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) reports .pytest_cache .ruff_cache
