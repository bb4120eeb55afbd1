# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-cluster install lint format bench clean

# The Python SDK (sdks/python) is installed editable beside the app: its tests run in the suite.
$(STAMP): pyproject.toml sdks/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./sdks/python
	touch $(STAMP)

install: $(STAMP)

# Installs, migrates, seeds demo data and starts web + worker + beat (and, when REDIS_URL or
# STRIPE_API_BASE are not set, an embedded Redis and the local Stripe server). Ctrl-C stops all.
run: install
	$(PY) -m petstore.devrun

# The metering tests that `make test` runs a second time on a local Redis Cluster of 3 masters
# (REDIS_CLUSTER=true): exactness across processes, rate limits, quotas, revocation and the flush.
CLUSTER_TESTS := tests/metering/test_rate_limit.py tests/metering/test_quota.py \
	tests/metering/test_flush.py tests/metering/test_flush_chunks.py \
	tests/integration/test_multiprocess_metering.py tests/accounts/test_keys_api.py \
	tests/metering/test_grants.py tests/metering/test_account_limit.py \
	tests/metering/test_idempotency.py tests/integration/test_rate_limit_concurrency.py \
	tests/metering/test_key_caps.py tests/integration/test_key_cap_concurrency.py \
	tests/billing/test_prepaid.py tests/integration/test_credits_concurrency.py

# Uses DATABASE_URL and REDIS_URL when set (CI: PostgreSQL and Redis), else SQLite and an
# embedded Redis. Includes the browser suite. lint-imports checks the layers between the apps
# (contracts in pyproject.toml). Then CLUSTER_TESTS against a Redis Cluster that
# petstore/redis_cluster.py starts and stops (its own ports and temporary directories).
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/vulture
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m petstore.redis_cluster --masters 3 -- $(PY) -m pytest -p no:randomly -q $(CLUSTER_TESTS)

# Only the cluster half of `make test`.
test-cluster: install
	$(PY) -m petstore.redis_cluster --masters 3 -- $(PY) -m pytest -p no:randomly -q $(CLUSTER_TESTS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/vulture
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(PY) bench/metering.py
	$(PY) bench/admission.py

clean:
	rm -rf $(VENV) .run staticfiles db.sqlite3 db.sqlite3.flush-locks .pytest_cache .ruff_cache .import_linter_cache
