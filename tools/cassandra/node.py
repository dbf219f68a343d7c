"""Provision and run a real Apache Cassandra node from Maven Central jars, without Docker.

    python -m tools.cassandra.node resolve
    python -m tools.cassandra.node start --dir var/cassandra/node1 [--address 127.0.0.1] [--cql-port 9042] ...
    python -m tools.cassandra.node stop --dir var/cassandra/node1
    python -m tools.cassandra.node status --dir var/cassandra/node1
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import pidfile

HERE = Path(__file__).resolve().parent
CASSANDRA_VERSION = "5.0.8"
CACHE = Path(os.environ.get("CASSANDRA_JARS_CACHE", Path.home() / ".cache" / "metrics_server"))
LIB = CACHE / f"cassandra-{CASSANDRA_VERSION}" / "lib"
MAIN_CLASS = "org.apache.cassandra.service.CassandraDaemon"
RING_TOKENS = ("-9223372036854775808", "-3074457345618258603", "3074457345618258602")


class NodeError(RuntimeError):
    """A node could not be provisioned, started or stopped; the message says why in one line."""


@dataclass(frozen=True)
class Node:
    """Where a node lives and how it is reached."""

    dir: Path
    address: str = "127.0.0.1"
    cql_port: int = 9042
    storage_port: int = 7000
    jmx_port: int = 7199
    seeds: str = "127.0.0.1"
    cluster_name: str = "metrics_server"
    heap: str = "1G"
    initial_token: str | None = None
    fast_start: bool = False
    # With fast_start, system tables skip the commit log unless this is set: a crash (SIGKILL) would then lose
    # recent schema changes, so tests that kill nodes keep the system tables durable.
    durable_system: bool = False

    @property
    def pid_file(self) -> Path:
        return self.dir / "cassandra.pid"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"


def resolve() -> Path:
    """Copy cassandra-all and its runtime dependencies into the cache once; later calls need no network."""
    marker = LIB / ".complete"
    if marker.exists():
        return LIB
    if shutil.which("mvn") is None:
        raise NodeError("Maven (mvn) is not installed: run 'make deps' or 'apt-get install maven'")
    staging = LIB.with_name("lib.partial")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        "mvn", "-q", "-B", "-f", str(HERE / "pom.xml"),
        f"-Dcassandra.version={CASSANDRA_VERSION}",
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not (staging / f"cassandra-all-{CASSANDRA_VERSION}.jar").exists():
        detail = (result.stdout + result.stderr).strip().splitlines()
        unreachable = any("Could not transfer" in line or "Unknown host" in line for line in detail)
        reason = "Maven Central cannot be reached and no Cassandra jars are cached" if unreachable else (
            detail[-1] if detail else "mvn failed")
        raise NodeError(f"cannot resolve cassandra-all {CASSANDRA_VERSION}: {reason}")
    shutil.rmtree(LIB, ignore_errors=True)
    staging.rename(LIB)
    marker.touch()
    return LIB


def render_yaml(node: Node) -> str:
    """A minimal cassandra.yaml for 5.0 (which rejects unknown keys), everything under the node's folder; the
    settings shared with the Cassandra image come from settings.yaml."""
    tokens = f"num_tokens: 1\ninitial_token: {node.initial_token}" if node.initial_token else "num_tokens: 16"
    return f"""cluster_name: '{node.cluster_name}'
{tokens}
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{node.seeds}"
listen_address: {node.address}
rpc_address: {node.address}
storage_port: {node.storage_port}
native_transport_port: {node.cql_port}
auto_bootstrap: false
data_file_directories:
  - {node.dir / 'data'}
commitlog_directory: {node.dir / 'commitlog'}
saved_caches_directory: {node.dir / 'saved_caches'}
hints_directory: {node.dir / 'hints'}
cdc_raw_directory: {node.dir / 'cdc_raw'}
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
""" + (HERE / "settings.yaml").read_text()


def java_command(node: Node, lib: Path) -> list[str]:
    """The JVM command line: Cassandra 5.0's Java 17 options, a capped heap, config and folders as URIs/paths."""
    options = [
        line.strip() for line in (HERE / "jvm17-server.options").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    flags = [flag for option in options for flag in option.split(" ", 1)]
    properties = {
        "cassandra.config": (node.dir / "cassandra.yaml").as_uri(),
        "cassandra-foreground": "yes",
        "cassandra.storagedir": str(node.dir),
        "cassandra.logdir": str(node.log_dir),
        "logback.configurationFile": (HERE / "logback.xml").as_uri(),
        "cassandra.jmx.local.port": str(node.jmx_port),
        "java.net.preferIPv4Stack": "true",
    }
    if node.fast_start:
        properties.update({
            "cassandra.skip_wait_for_gossip_to_settle": "0",
            "cassandra.ring_delay_ms": "1000",
        })
        if not node.durable_system:
            properties["cassandra.unsafesystem"] = "true"
    return [
        "java", f"-Xms{node.heap}", f"-Xmx{node.heap}", "-Xss512k", "-XX:+HeapDumpOnOutOfMemoryError",
        "-XX:ActiveProcessorCount=2", *flags,
        *(f"-D{key}={value}" for key, value in properties.items()),
        "-cp", f"{lib}/*", MAIN_CLASS,
    ]


def running_pid(node: Node) -> int | None:
    """The pid of the node's JVM if it is alive, else None."""
    return pidfile.running(node.pid_file, MAIN_CLASS)


def port_open(address: str, port: int) -> bool:
    """True when something accepts TCP connections there."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((address, port)) == 0


def start(node: Node, timeout: float = 240, supervised: bool = False) -> int:
    """Start the node unless it already runs, and wait until CQL answers; `supervised`: under a supervisor that
    starts it again when it dies (`make up`), stopped with it when it fails to start."""
    pid = running_pid(node)
    if pid is not None:
        wait_for_cql(node, lambda: running_pid(node) == pid, timeout)
        return pid
    if port_open(node.address, node.cql_port):
        raise NodeError(f"port {node.address}:{node.cql_port} is already taken by another process")
    check_layout(node)
    lib = resolve()
    for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw", "logs"):
        (node.dir / sub).mkdir(parents=True, exist_ok=True)
    (node.dir / "cassandra.yaml").write_text(render_yaml(node))
    if supervised:
        pidfile.supervise(node.pid_file, java_command(node, lib), node.log_dir / "stdout.log", node.dir,
                          dict(os.environ), MAIN_CLASS)
        try:
            wait_for_cql(node, lambda: running_pid(node) is not None, timeout)
        except NodeError:
            stop(node)
            raise
        return running_pid(node)
    with open(node.log_dir / "stdout.log", "ab") as out:
        process = subprocess.Popen(
            java_command(node, lib), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=node.dir, start_new_session=True,
        )
    node.pid_file.write_text(str(process.pid))
    wait_for_cql(node, lambda: process.poll() is None, timeout)
    return process.pid


def check_layout(node: Node) -> None:
    """Refuse to restart a node's data with other tokens (a 1-node folder under a 3-node cluster, or back):
    Cassandra would stop with "Cannot change the number of tokens"; say what to do instead."""
    def tokens(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith(("num_tokens:", "initial_token:"))]
    old = node.dir / "cassandra.yaml"
    if old.exists() and any((node.dir / "data" / "system").glob("local-*")) and \
            tokens(old.read_text()) != tokens(render_yaml(node)):
        raise NodeError(f"{node.dir} holds a node of another cluster layout ({', '.join(tokens(old.read_text()))});"
                        " to change the number of nodes, stop the stack and delete its data (make clean)")


def wait_for_cql(node: Node, alive, timeout: float) -> None:
    """Block until the native protocol port accepts connections, or fail with the log's last words."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(node.address, node.cql_port):
            return
        if not alive():
            raise NodeError(f"Cassandra exited during start-up; see {node.log_dir / 'stdout.log'}: {last_error(node)}")
        time.sleep(1)
    raise NodeError(f"Cassandra did not open {node.address}:{node.cql_port} within {timeout:.0f}s")


def last_error(node: Node) -> str:
    """The last ERROR/Exception line of the node's logs, to explain a failed start in one line."""
    for name in ("stdout.log", "system.log"):
        path = node.log_dir / name
        if path.exists():
            lines = [line for line in path.read_text(errors="replace").splitlines()
                     if "ERROR" in line or "Exception" in line]
            if lines:
                return lines[-1].strip()
    return "no error logged"


def stop(node: Node, timeout: float = 60) -> bool:
    """Stop the node by pid, and its supervisor if it has one (SIGTERM, then SIGKILL after the timeout); False
    when it was not running."""
    return pidfile.stop_supervised(node.pid_file, timeout=timeout, program=MAIN_CLASS)


def kill(node: Node, sig: int = signal.SIGKILL) -> int | None:
    """Send a signal to the running node: SIGKILL is a crash (waited for), SIGSTOP/SIGCONT freeze and thaw it.
    Returns the pid, or None when the node was not running."""
    pid = running_pid(node)
    if pid is None:
        return None
    os.kill(pid, sig)
    if sig == signal.SIGKILL:
        deadline = time.monotonic() + 30
        while running_pid(node) == pid and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        node.pid_file.unlink(missing_ok=True)
    return pid


def hint_files(node: Node) -> list[Path]:
    """Hints this node holds for replicas that were down (files go away once the hints are delivered)."""
    return sorted((node.dir / "hints").glob("*.hints"))


def nodetool(node: Node, *args: str, timeout: float = 1800) -> str:
    """Run Cassandra's nodetool against a running node (JMX on loopback), from the cached jars."""
    flags = [part for line in (HERE / "jvm17-server.options").read_text().splitlines()
             if line.startswith("--add-") for part in line.split(" ", 1)]
    result = subprocess.run(["java", "-Xmx256m", *flags, "-cp", f"{resolve()}/*", "org.apache.cassandra.tools.NodeTool",
                             "-h", "127.0.0.1", "-p", str(node.jmx_port), *args],
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise NodeError(f"nodetool {' '.join(args)}: {(result.stderr or result.stdout).strip()[-300:]}")
    return result.stdout


def cluster_nodes(base: Path, count: int, fast_start: bool = False, heap: str = "1G") -> list[Node]:
    """Up to three nodes on 127.0.0.1..3 sharing ports, with JMX ports and tokens spread apart."""
    if not 1 <= count <= len(RING_TOKENS):
        raise NodeError(f"a local cluster has 1 to {len(RING_TOKENS)} nodes, not {count}")
    return [
        Node(
            dir=base / f"node{i + 1}", address=f"127.0.0.{i + 1}", jmx_port=7199 + 100 * i,
            initial_token=RING_TOKENS[i] if count > 1 else None, fast_start=fast_start, heap=heap,
        )
        for i in range(count)
    ]


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; every node setting has a flag so tests and `make` can place nodes anywhere."""
    parser = argparse.ArgumentParser(prog="python -m tools.cassandra.node", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("resolve", "start", "stop", "status"))
    parser.add_argument("--dir", type=Path, help="the node's folder (config, data, logs, pid)")
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--cql-port", type=int, default=9042)
    parser.add_argument("--storage-port", type=int, default=7000)
    parser.add_argument("--jmx-port", type=int, default=7199)
    parser.add_argument("--seeds", default=None, help="comma-separated seed addresses (default: this node)")
    parser.add_argument("--cluster-name", default="metrics_server")
    parser.add_argument("--heap", default="1G")
    parser.add_argument("--initial-token", default=None)
    parser.add_argument("--fast-start", action="store_true", help="test-only: skip gossip waits and system fsync")
    parser.add_argument("--timeout", type=float, default=240)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "resolve":
            print(resolve())
            return 0
        if args.dir is None:
            raise NodeError(f"'{args.command}' needs --dir")
        node = Node(
            dir=args.dir.resolve(), address=args.address, cql_port=args.cql_port, storage_port=args.storage_port,
            jmx_port=args.jmx_port, seeds=args.seeds or args.address, cluster_name=args.cluster_name,
            heap=args.heap, initial_token=args.initial_token, fast_start=args.fast_start,
        )
        if args.command == "start":
            print(f"cassandra {node.address}:{node.cql_port} running (pid {start(node, args.timeout)})")
        elif args.command == "stop":
            print(f"cassandra {node.dir}: {'stopped' if stop(node) else 'was not running'}")
        else:
            pid = running_pid(node)
            print(f"cassandra {node.address}:{node.cql_port}: " + (f"running (pid {pid})" if pid else "stopped"))
            return 0 if pid else 3
    except NodeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
