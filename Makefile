# metrics_server: `make up` runs the stack locally, `make test` runs every test. See README.md.
PY := .venv/bin/python
NODES ?= 1
# Backend instances; left empty: one per core, 2 to 4 (tools/stack.py).
INSTANCES ?=
INSTANCES_ARG = $(if $(INSTANCES),--instances $(INSTANCES))
# Where a stack lives: nginx's port (the instances take the next ones), its folder, Cassandra's ports. A second
# stack beside the first: make up PORT=28080 VAR=/tmp/stack2 CQL_PORT=29042 STORAGE_PORT=27000 JMX_PORT=27199
# METRICS_SERVER_GRAPHITE_PORT=22003 (and the same PORT, VAR and ports for demo, simulate, tail, down, clean).
PORT ?= 8080
VAR ?= var
CQL_PORT ?= 9042
STORAGE_PORT ?= 7000
JMX_PORT ?= 7199
STACK := $(PY) -m tools.stack --port $(PORT) --var $(VAR) --cql-port $(CQL_PORT) --storage-port $(STORAGE_PORT) \
	--jmx-port $(JMX_PORT)
URL := http://127.0.0.1:$(PORT)

.PHONY: up down status deps test test-unit lint demo simulate tail bench bench-tail cluster-up clean compliance

up: deps  ## install what is missing, start Cassandra, the schema, the instances and nginx; print the URL
	@$(STACK) up --nodes $(NODES) $(INSTANCES_ARG)

cluster-up:  ## the same with a 3-node Cassandra cluster (replication factor 3, QUORUM)
	@$(MAKE) --no-print-directory up NODES=3

down:  ## stop everything `make up` started (data stays in var/)
	@$(STACK) down $(INSTANCES_ARG)

status:  ## show what runs
	@$(STACK) status --nodes $(NODES) $(INSTANCES_ARG) || true

deps:  ## what is missing: Debian's nginx, maven (mvn) and openjdk-17 (java), the venv, npm packages, Cassandra's jars
	@tools/install.sh base

test:  ## install what is missing (also chromium + chromium-driver, docker-compose, InfluxDB, VictoriaMetrics), then lint and run every test against real services on their own ports, in two groups side by side (tools/testrun.py)
	@tools/install.sh test
	@$(MAKE) --no-print-directory lint
	@cd frontend && npm test --silent
	@$(PY) -m tools.testrun

test-unit: deps  ## the fast layer, no services: linters, Python unit tests, the frontend's vitest
	@$(MAKE) --no-print-directory lint
	@cd frontend && npm test --silent
	@$(PY) -m pytest tests/unit -q

lint:  ## ruff over the Python tree (ruff.toml), ESLint over the frontend (frontend/eslint.config.js)
	@$(PY) -m ruff check .
	@cd frontend && npm run --silent lint

demo: deps  ## load a realistic month of demo data into the running stack
	@METRICS_SERVER_CASSANDRA_PORT=$(CQL_PORT) $(PY) -m tools.demo --url $(URL)

simulate: deps  ## send 20 metrics every 300 ms to the running stack (DURATION=seconds, default until Ctrl-C; a write token in METRICS_SERVER_TOKEN)
	@.venv/bin/metrics-server simulate --url $(URL) $(if $(DURATION),--duration $(DURATION),)

tail: deps  ## the console view of the running stack's nginx access log (`make up` already pushes its metrics)
	@.venv/bin/metrics-server tail $(VAR)/log/nginx-access.log --format metrics_server

bench:  ## benchmarks against InfluxDB and VictoriaMetrics (QUICK=1 for a small run)
	@tools/install.sh bench
	@$(PY) -m bench.run $(if $(QUICK),--quick,)

bench-tail:  ## the tail agent's parse rate beside GoAccess on the same 1M-line log (writes bench/TAIL_RESULTS.md)
	@tools/install.sh bench
	@$(PY) -m bench.tail

compliance: deps  ## the Prometheus alert-generator compliance tester (built with Go from ../shared) against a stack of its own on COMPLIANCE_PORT (default 28080); ~40 min
	@$(PY) -m tools.compliance $(if $(COMPLIANCE_PORT),--port $(COMPLIANCE_PORT),)

clean: down  ## stop the stack and delete its data
	rm -rf $(VAR)
