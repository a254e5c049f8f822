# The two commands a newcomer needs: `make run` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: lock broker-amqp run start stop status test test-fast test-clock test-random test-reverse lint format golden \
	setup venv broker tools audit migrate topology clean demo bench bench-housing bench-notify bench-events bench-metrics bench-footprint bench-replicas bench-tracing \
	fake-gateway test-faults test-demo bench-http test-cluster cluster-start cluster-stop test-pg-failover test-prometheus image-tools image-test

# requirements-dev.lock: everything requirements.lock pins, plus the test and lint tools, each with its hashes
$(STAMP): requirements-dev.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Debian: apt-get install python3.11 python3.11-venv)"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c "import ensurepip" 2>/dev/null \
		|| { echo "need the venv module (Debian: apt-get install python3.11-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

venv: $(STAMP)

# Regenerates both lock files from pyproject.toml with uv, keeping every version already locked unless
# pyproject's ranges exclude it (`make lock UPGRADE=1` moves everything to the newest allowed).
LOCK := $(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --custom-compile-command "make lock" \
	--quiet $(if $(UPGRADE),--upgrade)
lock: venv
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -c requirements.lock -o requirements-dev.lock

# pip-audit when its vulnerability service answers, else the vendored advisory snapshot (ops/advisories/README.md)
audit: venv ## the lock files against known vulnerabilities; fails on any finding not in ops/advisories/ignore.yaml
	$(BIN)/python -m ops.audit

broker: ## RabbitMQ with its management API (the tests and benchmarks use it)
	@scripts/ensure_broker.sh --management

broker-amqp: ## RabbitMQ's AMQP port only: all `make run` / `make start` need
	@scripts/ensure_broker.sh

tools: ## Debian packages some tests need (promtool); installed where apt can be used
	@scripts/ensure_tools.sh

image-tools: ## podman, buildah, debootstrap, runc for `make image-test`; installed where apt can be used
	@scripts/ensure_tools.sh image

migrate: venv
	$(BIN)/python -m shared.platform.migrations

topology: venv broker-amqp
	$(BIN)/python -m shared.platform.topology

setup: venv broker-amqp migrate topology

run: setup ## start all five services in the foreground; Ctrl-C stops them
	@$(BIN)/python -m ops.launcher banner
	$(BIN)/honcho start -f Procfile

start: setup ## the same in the background; pid and logs under var/
	@$(BIN)/python -m ops.launcher start

stop:
	@$(BIN)/python -m ops.launcher stop

status: venv
	@$(BIN)/python -m ops.launcher status

# The suite runs as shards, whole test files per pytest process, all at once (tests/shards.py says why and
# which); `PYTEST=1 make test` runs it in one process instead.
SUITE := $(if $(PYTEST),$(BIN)/python -m pytest,$(BIN)/python -m tests.shards)
# the markers whose suites run only by their own targets; pyproject's addopts deselects the same ones, and a
# target that passes its own -m (which replaces addopts' -m) leaves them out again (tests/shared/test_shards.py)
OWN_TARGETS := cluster or pg_failover or broker_fuzz or demo_full or prometheus or image or faults

test: venv broker tools ## the whole suite: unit, service (real RabbitMQ, SQLite and PostgreSQL), end to end
	$(SUITE) -q --durations=15

# The platform's clock (not the machine's) at the hours that break time-dependent code: 23:30 on the last day
# of a month in Cixi, the minute before quiet hours end, and the minute they end. Runs the tests marked `clock`.
CLOCK_INSTANTS ?= 2026-11-30T23:30:00+08:00 2026-12-01T07:59:00+08:00 2026-12-01T08:00:00+08:00
test-clock: venv broker tools ## the time-sensitive tests at each of CLOCK_INSTANTS
	@set -e; for instant in $(CLOCK_INSTANTS); do \
		echo "== platform clock starts at $$instant"; \
		CLOCK_START=$$instant $(SUITE) -q -m "clock and not ($(OWN_TARGETS))"; \
	done

test-random: venv broker tools ## the suite in a random order, its seed printed first (SEED=n repeats one)
	@seed=$${SEED:-$$(( (RANDOM << 15) | RANDOM ))}; echo "random order: --randomly-seed=$$seed (SEED=$$seed make test-random repeats it)"; \
		$(SUITE) -q -p randomly --randomly-seed=$$seed

test-reverse: venv broker tools ## the suite in reverse order
	$(SUITE) -q --reverse

test-fast: venv broker
	$(BIN)/python -m pytest -q -m "not e2e and not slow and not ($(OWN_TARGETS))"

# then the broker fuzz suite and the HTTP flood benchmark (docs/reliability.md, "Hostile input"); .ci/run runs
# the short form (FAULT_APPROVALS=40 BROKER_FUZZ_EXAMPLES=25, about 6 minutes)
FAULT_APPROVALS ?= 1000
BROKER_FUZZ_EXAMPLES ?= 100
test-faults: venv broker ## the fault suite (FAULT_APPROVALS through each fault), the broker fuzz, the HTTP flood
	FAULT_APPROVALS=$(FAULT_APPROVALS) BROKER_FUZZ_EXAMPLES=$(BROKER_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s -ra \
		-m "faults or broker_fuzz" tests/faults/test_faults.py tests/fuzz/test_broker_fuzz.py
	$(BIN)/python -m bench.http_flood

# A three-node RabbitMQ cluster of the suite's own (ops/cluster.py), quorum queues, two replicas of housing,
# notify and stats; kill -9, rolling restart and partition of a node while approvals flow (docs/reliability.md)
CLUSTER_APPROVALS ?= 1000
test-cluster: venv broker ## the cluster fault suite: CLUSTER_APPROVALS approvals through each of three node faults
	CLUSTER_APPROVALS=$(CLUSTER_APPROVALS) $(BIN)/python -m pytest -q -s -m cluster tests/cluster

cluster-start: venv ## a three-node RabbitMQ cluster on 127.0.0.1:5701-5703 (var/cluster); prints its AMQP_URI
	$(BIN)/python -m ops.cluster start

cluster-stop: venv
	$(BIN)/python -m ops.cluster stop

# a private primary and synchronous standby (ops/pg_cluster.py) under every service's database; the primary
# killed mid-stream and the standby promoted (docs/reliability.md, "PostgreSQL failover")
test-pg-failover: venv broker ## PostgreSQL failover under load: 300 approvals, nothing lost or doubled
	FAILOVER_APPROVALS=300 $(BIN)/python -m pytest -q -s -ra -m pg_failover tests/faults/test_pg_failover.py

# deploy/Dockerfile built with podman on a Debian base debootstrapped from the apt mirror (scripts/image.sh; the
# tarball cached under var/cache/debootstrap), then the migrations and the five services run from the image
# against the local RabbitMQ and PostgreSQL (docs/operations.md, "Build the image")
image-test: venv broker image-tools ## build the image for real and run the platform from it
	$(BIN)/python -m pytest -q -ra -s -m image tests/image

# Debian's Prometheus on loopback with deploy/prometheus' scrape config and rules, scraping a throw-away
# platform and a private RabbitMQ node with rabbitmq_prometheus; the SMS, dead-letter and outbox faults caused
# for real, every panel and rule asked of its HTTP API (docs/operations.md, "What was checked, and how")
test-prometheus: venv tools ## a real Prometheus against a running platform: every panel, rule and three alerts' faults
	$(BIN)/python -m pytest -q -ra -m prometheus tests/deploy/test_prometheus_live.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

golden: venv ## rewrite notify's golden file of every resident text (tests/services/notify/golden/); read the diff
	$(BIN)/python -m tests.services.notify.rendering --write

demo: venv ## needs `make start`: builds the 2019–2025 history through the RPC APIs, then prints the report
	$(BIN)/python -m ops.demo

test-demo: venv broker ## the demo's whole history on a throw-away platform, every figure checked against the seed
	$(BIN)/python -m pytest -q -s -m demo_full tests/e2e/test_demo.py

bench: venv broker ## the core-flow benchmark with its same-run baselines (figures in docs/performance.md)
	$(BIN)/python -m bench.core_flow

bench-housing: venv broker
	$(BIN)/python -m bench.housing_disbursement

bench-notify: venv broker ## the 112,041-contact broadcast; PROVIDER=gateway (default) | aliyun | tencent
	$(BIN)/python -m bench.notify_broadcast --provider $(or $(PROVIDER),gateway)

bench-events: venv broker
	$(BIN)/python -m bench.events_summer_season --sandbox

bench-metrics: venv broker ## a /metrics scrape with a million rows per table, against the scrape as it was
	$(BIN)/python -m bench.metrics_scrape

bench-footprint: venv broker ## bytes, events, connections per approval on PostgreSQL (the inputs of docs/scale.md)
	$(BIN)/python -m bench.footprint

bench-replicas: venv ## the core flow on a three-node cluster (ops/cluster.py) with one, then two replicas of each consumer
	$(BIN)/python -m bench.replicas

bench-tracing: venv broker ## the core flow's CPU per approval with tracing off, then on (OTLP/HTTP to a local collector)
	$(BIN)/python -m bench.tracing_cost

bench-http: venv broker ## RPC p50/p99 alone, then with 200 slow or flooding HTTP clients on every port
	$(BIN)/python -m bench.http_flood

fake-gateway: venv ## a local SMS gateway for NOTIFY_SMS_PROVIDER=gateway (loopback only)
	$(BIN)/python -m services.notify.fake_gateway --port 8090 --callback http://127.0.0.1:8004

clean:
	rm -rf $(VENV) var/*.db var/*.db-* var/log var/run
