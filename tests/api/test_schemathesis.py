"""schemathesis 4.x against the live OpenAPI document of a running instance: every check, every phase, bounded
in examples and time, as the admin token (tests/api/schemathesis.toml lists the one exception and why). The
instance has a keyspace of its own (the fuzzer creates and deletes metrics, users, tokens and rule groups) and
no alert evaluator."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tools import stack as stacks

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
HERE = Path(__file__).parent
ST = Path(stacks.PYTHON).parent / "st"


@pytest.fixture(scope="module")
def fuzz_instance(test_stack, cassandra_node):
    var = Path(tempfile.mkdtemp(prefix="metrics_server_fuzz_"))
    stack = stacks.Stack(var=var, port=18095 + OFFSET, instances=1, cql_port=test_stack.cql_port,
                         keyspace="metrics_fuzz", frontend=test_stack.frontend,
                         env={**test_stack.env, "METRICS_SERVER_ALERTING": "false"})
    for folder in (stack.run_dir, stack.log_dir):
        folder.mkdir(parents=True)
    port = stack.backend_ports[0]
    try:
        stacks.apply_schema(stack)
        stacks.start_instance(stack, port)
        stacks.wait_http(f"http://127.0.0.1:{port}/api/health", timeout=120, ok_statuses=(200,))
        yield f"http://127.0.0.1:{port}"
    finally:
        stacks.stop_instance(stack, port)
        shutil.rmtree(var, ignore_errors=True)


@pytest.mark.fuzz
def test_schemathesis_finds_nothing_in_the_live_document(fuzz_instance, auth_headers, tmp_path):
    command = [str(ST), "--config-file", str(HERE / "schemathesis.toml"), "run", f"{fuzz_instance}/api/openapi.json",
               "--url", f"{fuzz_instance}/api", "--checks", "all", "--max-examples", "8", "--max-time", "300",
               "--request-timeout", "30", "--seed", "10", "--no-color",
               "-H", f"Authorization: {auth_headers['Authorization']}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    summary = result.stdout[result.stdout.find("SUMMARY"):] if "SUMMARY" in result.stdout else result.stdout[-3000:]
    print(summary)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
