# Entry points of the first-login promotion system. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never

SERVICES := login_service promotion_service
PROJECTS := tools/mongo-standin $(SERVICES)
UV := uv

.PHONY: help
help: ## List the entry points
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: install
install: ## Install every project's dependencies (one uv lock each)
	@for p in . $(PROJECTS); do echo "== uv sync $$p"; $(UV) sync --project $$p --frozen --quiet || exit 1; done

.PHONY: dev
dev: install rabbitmq ## Run the whole system locally in the foreground (Ctrl-C stops all)
	$(UV) run --project . python -m devstack

.PHONY: rabbitmq
rabbitmq: ## Make sure a local RabbitMQ is installed and running
	@bash scripts/ensure-rabbitmq.sh

.PHONY: test
test: install rabbitmq ## Run every test suite (real RabbitMQ, real MongoDB wire server)
	@set -e; for p in $(PROJECTS); do \
	  echo "== tests: $$p"; (cd $$p && $(UV) run --frozen pytest -q); \
	done
	cd bench && $(UV) run --frozen pytest -q
	@echo "== tests: end to end"
	$(UV) run --frozen pytest -q tests

.PHONY: test-login
test-login: install rabbitmq ## Run the login service's tests
	cd login_service && $(UV) run --frozen pytest -q

.PHONY: test-promotion
test-promotion: install rabbitmq ## Run the promotion service's tests
	cd promotion_service && $(UV) run --frozen pytest -q

.PHONY: test-e2e
test-e2e: install rabbitmq ## Run the end-to-end tests (LOGIN_URL/PROMOTION_URL to target a running stack)
	$(UV) run --frozen pytest -q tests

.PHONY: lint
lint: install ## ruff (lint + format check) and mypy on every project
	@$(UV) sync --project bench --frozen --quiet
	@set -e; for p in . $(PROJECTS) bench; do \
	  echo "== lint: $$p"; \
	  (cd $$p && $(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check . && $(UV) run --frozen mypy); \
	done

.PHONY: format
format: ## Format and auto-fix every project
	@for p in . $(PROJECTS); do (cd $$p && $(UV) run ruff format . && $(UV) run ruff check --fix .); done

.PHONY: compose-check
compose-check: ## Validate docker-compose.yml (needs Debian's docker-compose)
	docker-compose -f docker-compose.yml config -q

.PHONY: apidoc
apidoc: install ## Regenerate docs/api.md and docs/openapi/*.json from the services
	$(UV) run --project . python -m devstack.apidoc

.PHONY: bench
bench: install rabbitmq ## Run the benchmarks and regenerate docs/benchmarks.md (about 20 min; --quick: BENCH_ARGS=--quick; MONGODB_URI=... to run against a MongoDB server)
	@command -v wrk >/dev/null || { echo "== installing wrk (Debian package) to load the HTTP endpoints"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y wrk \
	  || echo "== wrk not installed: read ratios whose bare reference is load-generator-bound are refused"; }
	$(UV) sync --project bench --frozen --quiet
	$(UV) run --project bench python -m benchmarks $(BENCH_ARGS)

.PHONY: clean
clean: ## Remove local data, development keys and caches
	rm -rf .data login_service/.dev-keys */.pytest_cache */.mypy_cache */.ruff_cache
