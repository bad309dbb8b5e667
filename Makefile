# Entry points of the first-login promotion system. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never

SERVICES := login_service promotion_service
PROJECTS := tools/mongo-standin $(SERVICES)
LOGIN_PROBES := $(addprefix ../bench/src/benchmarks/probes/,argon2_ceiling.py failure_timing.py)
UV := uv

.PHONY: help
help: ## List the entry points
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: uv
uv: ## Make sure uv runs (installs it with pip into the Python 3.13 of .python-version)
	@bash scripts/ensure-uv.sh

.PHONY: install
install: uv ## Install every project's locked dependencies (one uv lock each)
	@for p in . $(PROJECTS); do \
	  echo "== installing the locked dependencies of $$p (uv sync; about a minute the first time)"; \
	  $(UV) sync --project $$p --frozen || exit 1; \
	done

.PHONY: dev
dev: install rabbitmq ## Run the whole system locally in the foreground (Ctrl-C stops all)
	$(UV) run --project . python -m devstack

.PHONY: rabbitmq
rabbitmq: ## Make sure a local RabbitMQ answers (starts it, or installs it from Debian as root)
	@echo "== RabbitMQ"
	@bash scripts/ensure-rabbitmq.sh

.PHONY: test-tools
test-tools: ## Install the programs the tests call (Chromium, wrk and Prometheus from Debian, as root)
	@bash scripts/ensure-browser.sh
	@bash scripts/ensure-wrk.sh
	@bash scripts/ensure-prometheus.sh

.PHONY: test-rules
test-rules: ## Check the Prometheus rules and run their unit tests (promtool; installs Debian's prometheus as root)
	@echo "== tests: Prometheus rules (promtool)"
	@bash scripts/ensure-prometheus.sh
	promtool check rules deploy/prometheus/rules/*.yml
	promtool test rules deploy/prometheus/tests/*.test.yml

.PHONY: test
test: install rabbitmq test-tools ## Run every test suite (real RabbitMQ, real MongoDB wire server)
	@set -e; for p in $(PROJECTS); do \
	  echo "== tests: $$p"; (cd $$p && $(UV) run --frozen pytest -q); \
	done
	@$(MAKE) --no-print-directory test-rules
	@echo "== tests: bench (the benchmark's own logic)"
	cd bench && $(UV) run --frozen pytest -q
	@echo "== tests: end to end, and the repository's own checks"
	$(UV) run --frozen pytest -q tests/stack tests/e2e
	@$(MAKE) --no-print-directory test-compose

.PHONY: test-login
test-login: install rabbitmq ## Run the login service's tests
	cd login_service && $(UV) run --frozen pytest -q

.PHONY: test-promotion
test-promotion: install rabbitmq ## Run the promotion service's tests
	cd promotion_service && $(UV) run --frozen pytest -q

.PHONY: test-e2e
test-e2e: install rabbitmq test-tools ## Run the end-to-end tests (LOGIN_URL/PROMOTION_URL to target a running stack)
	$(UV) run --frozen pytest -q tests/e2e

.PHONY: fuzz
fuzz: install rabbitmq ## Long fuzzing run of both APIs (FUZZ_EXAMPLES=500, FUZZ_STEPS=30 unless set)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} FUZZ_STEPS=$${FUZZ_STEPS:-30} \
	  $(UV) run --frozen pytest -q tests/e2e/fuzz

.PHONY: lint
lint: install ## ruff (lint + format check), mypy and deptry (declared = imported dependencies) on every project
	@echo "== installing the locked dependencies of bench (uv sync)"
	@$(UV) sync --project bench --frozen
	@set -e; for p in . $(PROJECTS) bench; do \
	  echo "== lint: $$p"; \
	  (cd $$p && $(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check . && $(UV) run --frozen mypy \
	    && $(UV) run --frozen deptry .); \
	done
	@echo "== lint: the benchmark's probes, in the login service's environment they run in"
	cd login_service && $(UV) run --frozen mypy $(LOGIN_PROBES)

.PHONY: format
format: install ## Format and auto-fix every project
	@for p in . $(PROJECTS); do (cd $$p && $(UV) run ruff format . && $(UV) run ruff check --fix .); done

.PHONY: compose-check
compose-check: install ## Validate docker-compose.yml with the Compose CLI (no engine needed)
	.venv/bin/docker-compose -f docker-compose.yml config -q

.PHONY: compose-up
compose-up: install ## Build the images and start the compose stack (proxy on http://127.0.0.1:8080)
	@bash scripts/compose-up.sh

.PHONY: compose-down
compose-down: install ## Remove the compose stack (containers, networks, volumes) and stop the project's engine
	@bash scripts/compose.sh down --volumes --remove-orphans
	@bash scripts/docker-engine.sh stop

.PHONY: test-compose
test-compose: install ## Run the compose stack for real: build, start, end-to-end, failures, tear down (about 10 min)
	@echo "== tests: the compose stack (docker engine, images, scenarios)"
	$(UV) run --frozen pytest -q tests/compose

.PHONY: consistency
consistency: install ## Report disagreements between the login's and the promotion's data (read-only; MONGODB_URI)
	$(UV) run --project . python -m devstack.consistency $(CONSISTENCY_ARGS)

.PHONY: apidoc
apidoc: install ## Regenerate docs/api.md and docs/openapi/*.json from the services
	$(UV) run --project . python -m devstack.apidoc

.PHONY: bench
bench: install rabbitmq ## Run the benchmarks and regenerate docs/benchmarks.md (about 40 min; --quick: BENCH_ARGS=--quick; MONGODB_URI=... to run against a MongoDB server; BENCH_ARGS='--render docs/benchmarks.json' rewrites the report from a run's saved figures)
	@bash scripts/ensure-wrk.sh
	@echo "== installing the locked dependencies of bench (uv sync)"
	$(UV) sync --project bench --frozen
	$(UV) run --project bench python -m benchmarks $(BENCH_ARGS)

.PHONY: clean
clean: ## Remove local data, development keys, caches, and the project's container engine with its images
	@bash scripts/docker-engine.sh stop
	rm -rf .data .docker login_service/.dev-keys */.pytest_cache */.mypy_cache */.ruff_cache
