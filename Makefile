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

# Most integration tests wait on time-scaled profiles, so the suite runs as three pytest processes:
# the two-minute soak test, the functional tests (unit tests, contracts, reports, secrets, faults),
# and the timed ones (accuracy, schedules, gate runs, and every test that starts `--processes`,
# which binds Locust's fixed master port). Each prints its own summary; any failure fails the target.
FUNCTIONAL := tests/unit $(addprefix tests/integration/test_,ci_scripts.py cluster_faults.py \
	cluster_key.py demo_cli.py fault_matrix.py healthcheck.py hostile_input.py influx_victoria.py \
	platform_contract.py platform_sdk_events.py profiles_cli.py secrets.py webui_budgets.py \
	webui_install.py)

test: $(STAMP) lint
	@mkdir -p reports
	$(PY) -m pytest -q -m soak -p no:cacheprovider > reports/soak-test.log 2>&1 & soak=$$!; \
	$(PY) -m pytest -q -m "not soak" -p no:cacheprovider $(FUNCTIONAL) > reports/functional-tests.log 2>&1 & functional=$$!; \
	$(PY) -m pytest -q -m "not soak" $(addprefix --ignore=,$(FUNCTIONAL)); timed=$$?; \
	wait $$functional; functional_status=$$?; wait $$soak; soak_status=$$?; \
	echo "--- functional tests (run alongside):"; cat reports/functional-tests.log; \
	echo "--- soak test (run alongside):"; cat reports/soak-test.log; \
	test $$timed -eq 0 && test $$functional_status -eq 0 && test $$soak_status -eq 0

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
