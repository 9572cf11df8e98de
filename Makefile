# Waybill: `make demo` runs the dashboard with demo data; `make test` runs every test.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint env bootstrap bench api-fuzz

bootstrap:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		(echo "Installing uv with pip…" && $(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv)

env: bootstrap
	@$(UV) sync --frozen --quiet

demo: env
	$(UV) run waybill demo --host $(HOST) --port $(PORT)

lint: env
	$(UV) run ruff check .

test: env
	@CHROMIUM_PATH="$$(scripts/find-chromium)" || exit 1; export CHROMIUM_PATH; \
	echo "Browser tests use $$CHROMIUM_PATH"; \
	$(UV) run ruff check . && \
	echo "== Test suite on SQLite ==" && \
	WAYBILL_TEST_DB=sqlite $(UV) run pytest -q -p no:cacheprovider && \
	if [ -n "$$WAYBILL_TEST_POSTGRES_URL" ]; then \
		echo "== Test suite on PostgreSQL ==" && \
		WAYBILL_TEST_DB=postgres $(UV) run pytest -q -p no:cacheprovider; \
	else \
		echo "WAYBILL_TEST_POSTGRES_URL is not set: PostgreSQL run skipped (CI sets it)."; \
	fi

bench: env
	$(UV) run python -m bench.dashboard

# schemathesis against the served API schema with 200 cases per operation (the suite runs 12).
api-fuzz: env
	WAYBILL_FUZZ_EXAMPLES=200 $(UV) run pytest -q -p no:cacheprovider tests/integration/test_api_schema.py
