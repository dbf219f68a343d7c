"""`make compliance`: the Prometheus project's alert-generator compliance tester against a stack of ours.

    python -m tools.compliance [--port 28080] [--keep]

Builds the tester with shared/tools/prometheus-compliance/build.sh (cached in ~/.cache/prometheus-compliance,
outside the clone), starts a stack with the same code as `make up` but in var/compliance on its own ports (so a
running `make up` stack is not disturbed) with the tester as its only Alertmanager, loads the tester's
rules.yaml group by group through PUT /api/alerts/rules/<group>, and runs the tester (about 40 minutes). The
tester's output goes to var/compliance/tester.log; its exit status is ours. The stack is stopped afterwards
unless --keep is given.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tools import stack as stacks

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(os.environ.get("PROMETHEUS_COMPLIANCE", ROOT.parent / "shared" / "tools" / "prometheus-compliance"))
CACHE = Path(os.environ.get("PROMETHEUS_COMPLIANCE_CACHE", Path.home() / ".cache" / "prometheus-compliance"))
TESTER = "alert_generator_compliance_tester"


def build() -> Path:
    """The tester's binary, built once (build.sh does nothing when it exists)."""
    if not (SOURCE / "build.sh").exists():
        sys.exit(f"compliance: {SOURCE} not found (set PROMETHEUS_COMPLIANCE to the prometheus-compliance folder)")
    if not (CACHE / TESTER).exists() and shutil.which("go") is None:
        sys.exit("compliance: the tester is built with Go, and no `go` is on PATH")
    subprocess.run(["bash", str(SOURCE / "build.sh"), str(CACHE)], check=True, stdout=subprocess.DEVNULL)
    return CACHE / TESTER


def compliance_stack(port: int) -> stacks.Stack:
    """A stack on port (nginx), port+1.. (instances), port+1000 (CQL) and near it; the tester on port+500."""
    return stacks.Stack(
        var=ROOT / "var" / "compliance", port=port, instances=2, cql_port=port + 1000, storage_port=port + 1100,
        jmx_port=port + 1199, keyspace="metrics_compliance", cluster_name="metrics_compliance", fast_start=True,
        env={"METRICS_SERVER_AUTH": "false", "METRICS_SERVER_RATE_LIMIT": "0",
             "METRICS_SERVER_TOKEN_RATE_LIMIT": "0", "METRICS_SERVER_LOG_LEVEL": "WARNING",
             "METRICS_SERVER_ALERTMANAGERS": f"http://127.0.0.1:{reception_port(port)}",
             "METRICS_SERVER_EXTERNAL_URL": f"http://127.0.0.1:{port}"})


def reception_port(port: int) -> int:
    return port + 500


def load_rules(url: str) -> list[str]:
    """Every group of the tester's rules.yaml, stored through the rules API; their names."""
    groups = yaml.safe_load((SOURCE / "alert_generator" / "rules.yaml").read_text())["groups"]
    for group in groups:
        request = urllib.request.Request(f"{url}/api/alerts/rules/{group['name']}", data=json.dumps(group).encode(),
                                         method="PUT", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    return [group["name"] for group in groups]


def tester_config(url: str, port: int) -> str:
    return yaml.safe_dump({"settings": {
        "remote_write_url": f"{url}/api/v1/write", "query_base_url": url, "rules_and_alerts_api_base_url": url,
        "alert_reception_server_port": reception_port(port), "alert_message_parser": "default"}})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compliance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=28080, help="nginx of the compliance stack (default 28080)")
    parser.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    args = parser.parse_args(argv)
    tester = build()
    stack = compliance_stack(args.port)
    stacks.down(stack)  # a stack of an earlier run: its rules state and data would disturb this one
    shutil.rmtree(stack.var, ignore_errors=True)
    try:
        stacks.up(stack)
        print(f"compliance: stack at {stack.url}; rule groups loaded: {', '.join(load_rules(stack.url))}",
              flush=True)
        config = stack.var / "tester.yaml"
        config.write_text(tester_config(stack.url, args.port))
        started = time.monotonic()
        with open(stack.var / "tester.log", "w") as log:
            status = subprocess.run([str(tester), f"--config-file={config}"], stdout=log,
                                    stderr=subprocess.STDOUT).returncode
        lines = (stack.var / "tester.log").read_text().splitlines()
        print("\n".join(lines[-25:]))
        print(f"compliance: tester exited {status} after {(time.monotonic() - started) / 60:.0f} min "
              f"(log: {stack.var / 'tester.log'})")
        return status
    finally:
        if not args.keep:
            stacks.down(stack)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
