#!/usr/bin/env bash
# Installs what the project needs and is missing; quick and silent when everything is already there.
#   tools/install.sh [base|test|bench]   base: run the stack; test and bench: + browser, a Docker engine with
#   docker-compose and debootstrap (the compose test builds the images on a locally made Debian base), InfluxDB
#   and VictoriaMetrics (the quick benchmark in `make test` compares against them too)
set -euo pipefail
cd "$(dirname "$0")/.."
level=${1:-base}

debian_packages=(nginx maven openjdk-17-jre-headless python3-venv)
[ "$level" = base ] || debian_packages+=(chromium chromium-driver docker.io docker-compose debootstrap influxdb
                              victoria-metrics prometheus-alertmanager)
# The real senders the protocol tests drive (tests/protocols): Prometheus and node-exporter (remote_write),
# vmagent (in victoria-metrics), the influx CLI, collectd (write_graphite).
[ "$level" = base ] || debian_packages+=(prometheus prometheus-node-exporter influxdb-client collectd-core)
# logrotate: the tail agent's tests rotate logs with the real program; goaccess: its parse-rate benchmark's peer.
[ "$level" = base ] || debian_packages+=(logrotate)
if [ "$level" = bench ]; then debian_packages+=(goaccess); fi

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  # Packages must not start their own services (nginx on :80, influxd, prometheus on :9090): the project runs its own.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null && $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  # Other installs may hold apt's lock for a while (parallel sessions, unattended upgrades): wait for it.
  apt=(apt-get -o DPkg::Lock::Timeout=600)
  $sudo "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $sudo "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a venv, reinstalled only when the pinned requirements change.
stamp=.venv/.requirements.sha
wanted=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "installing Python packages into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  # The `metrics-server` command (agents): an editable install of this checkout, built by the venv's own
  # setuptools (no download), so it always runs the code in the tree.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$wanted" > "$stamp"
fi

# The Prometheus project's PromQL compliance tester (tests/protocols/test_promql_compliance.py), built with Go from
# shared/'s copy of its source (beside the clone, or $METRICS_SHARED_DIR) into a cache outside the clone; nothing
# to do where shared/ or Go is absent (the test then skips saying so).
compliance_source=${METRICS_SHARED_DIR:-../shared}/tools/prometheus-compliance
compliance_cache=${HOME}/.cache/metrics_server/compliance
if [ "$level" != base ] && [ -x "$compliance_source/build.sh" ] && command -v go >/dev/null \
   && [ ! -x "$compliance_cache/promql-compliance-tester" ]; then
  echo "building the PromQL compliance tester"
  "$compliance_source/build.sh" "$compliance_cache" >/dev/null
fi

# Cassandra jars from Maven Central, cached outside the clone.
.venv/bin/python -m tools.cassandra.node resolve >/dev/null

# Frontend: npm packages when the lock file changes, a build when any source changes.
if [ -f frontend/package-lock.json ]; then
  lock=$(sha256sum frontend/package-lock.json | cut -d' ' -f1)
  if [ ! -d frontend/node_modules ] || [ "$(cat frontend/node_modules/.lock.sha 2>/dev/null)" != "$lock" ]; then
    echo "installing npm packages"
    (cd frontend && npm ci --no-audit --no-fund --silent)
    echo "$lock" > frontend/node_modules/.lock.sha
  fi
  sources=$(cd frontend && find . \( -name node_modules -o -name dist \) -prune -o -type f -print \
    | sort | xargs cat | sha256sum | cut -d' ' -f1)
  if [ ! -f frontend/dist/index.html ] || [ "$(cat frontend/dist/.sources.sha 2>/dev/null)" != "$sources" ]; then
    echo "building the frontend"
    (cd frontend && npm run --silent build >/dev/null)
    echo "$sources" > frontend/dist/.sources.sha
  fi
fi
