"""The local stack: Cassandra node(s), the schema, backend instances and nginx, each started once and tracked by pid.

    python -m tools.stack up [--nodes 1|3] [--instances N] [--port 8080] [--var var] [--cql-port 9042] ...
    python -m tools.stack down | status  (with the same --var, --port and Cassandra ports)
    python -m tools.stack nginx-conf --upstreams backend1:8080,backend2:8080 --listen 8080 ...  (the nginx image)

Tests use the same code with their own folder and ports, so they never touch a `make up` stack.
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools import pidfile
from tools.cassandra import node as cassandra

ROOT = Path(__file__).resolve().parent.parent
# An instance runs its Python on one core at a time (the GIL), so one per core uses the machine: more only split the
# caches and keep each instance idle, hence slower, between requests (bench/PROFILE.md, "Instances per core": on 2
# cores, 2 instances against 4 took JSON writes at 0.99x InfluxDB against 0.64x, and answered the small PromQL
# queries faster). Two at least, so that one restarting leaves nginx another; four at most, the ports the docs give
# (nginx's + 1 to + 4; `--instances` takes more).
DEFAULT_INSTANCES = min(4, max(2, len(os.sched_getaffinity(0))))
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass
class Stack:
    """Where one stack keeps its state and which ports it uses."""

    var: Path = ROOT / "var"
    port: int = 8080
    instances: int = DEFAULT_INSTANCES
    nodes: int = 1
    cql_port: int = 9042
    storage_port: int = 7000
    jmx_port: int = 7199
    graphite_port: int = 0  # the Graphite listener's TCP port; 0: none (make up passes 2003)
    keyspace: str = "metrics_server"
    cluster_name: str = "metrics_server"
    heap: str = "1G"
    fast_start: bool = False
    durable_system: bool = False
    frontend: Path = ROOT / "frontend" / "dist"
    env: dict[str, str] = field(default_factory=dict)
    monitor: bool = False  # run `metrics-server tail` on nginx's access log, pushing to this stack (make up)
    # Cassandra nodes under a supervisor, as every other process of the stack; the failure tests take nodes down
    # on purpose (a machine lost) and keep them down while they measure.
    supervised_nodes: bool = True

    @property
    def backend_ports(self) -> list[int]:
        return [self.port + 1 + i for i in range(self.instances)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def run_dir(self) -> Path:
        return self.var / "run"

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    def cassandra_nodes(self) -> list[cassandra.Node]:
        """The Cassandra nodes: one on 127.0.0.1, or three on 127.0.0.1-3 sharing ports."""
        nodes = cassandra.cluster_nodes(self.var / "cassandra", self.nodes, self.fast_start, self.heap)
        seeds = nodes[0].address
        return [cassandra.Node(
            dir=n.dir, address=n.address, cql_port=self.cql_port, storage_port=self.storage_port,
            jmx_port=self.jmx_port + 100 * i, seeds=seeds, cluster_name=self.cluster_name, heap=self.heap,
            initial_token=n.initial_token, fast_start=self.fast_start, durable_system=self.durable_system,
        ) for i, n in enumerate(nodes)]

    def app_env(self, port: int | None = None) -> dict[str, str]:
        """Environment for backend processes: the user's METRICS_SERVER_* settings, then this stack's."""
        env = dict(os.environ)
        env.update({
            "METRICS_SERVER_CASSANDRA": ",".join(n.address for n in self.cassandra_nodes()),
            "METRICS_SERVER_CASSANDRA_PORT": str(self.cql_port),
            "METRICS_SERVER_KEYSPACE": self.keyspace,
            "METRICS_SERVER_HOST": "127.0.0.1",
        })
        if self.nodes == 3:
            env.setdefault("METRICS_SERVER_REPLICATION", "3")
            env["METRICS_SERVER_READ_CONSISTENCY"] = env.get("METRICS_SERVER_READ_CONSISTENCY", "QUORUM")
            env["METRICS_SERVER_WRITE_CONSISTENCY"] = env.get("METRICS_SERVER_WRITE_CONSISTENCY", "QUORUM")
        env.update(self.env)
        if port is not None:
            env["METRICS_SERVER_PORT"] = str(port)
        return env


def wait_http(url: str, timeout: float = 60, ok_statuses=(200, 503)) -> int:
    """Poll a URL until it answers with one of the statuses; returns the status."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                return response.status
        except urllib.error.HTTPError as error:
            if error.code in ok_statuses:
                return error.code
            last = f"HTTP {error.code}"
        except OSError as error:
            last = str(error)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f}s ({last})")
        time.sleep(0.3)


def start_cassandra(stack: Stack) -> None:
    """Start every node not yet running, seed first, each waited for before the next."""
    for node in stack.cassandra_nodes():
        cassandra.start(node, supervised=stack.supervised_nodes)


def apply_schema(stack: Stack) -> None:
    """Create or migrate the keyspace and tables (once, before the instances start; the job waits for a node that
    is still starting)."""
    result = subprocess.run([str(PYTHON), "-m", "metrics_server.storage.cql_schema"], cwd=ROOT, env=stack.app_env(),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or result.stdout.strip())


def start_supervised(stack: Stack, name: str, command: list[str], env: dict[str, str]) -> int:
    """Start a long-running process of the stack under its supervisor (metrics_server.supervise: started again
    when it dies on its own) unless it already runs; its pid is kept in `<name>.pid`, the supervisor's beside it,
    and its output goes to `<name>.log`. Returns the process's pid."""
    return pidfile.supervise(stack.run_dir / f"{name}.pid", command, stack.log_dir / f"{name}.log", ROOT, env)


def stop_supervised(stack: Stack, name: str, sig: int = signal.SIGTERM) -> None:
    """Stop a supervised process for good: the supervisor passes the signal on, then both exit."""
    pidfile.stop_supervised(stack.run_dir / f"{name}.pid", sig)


def start_instance(stack: Stack, port: int) -> int:
    """Start one backend instance unless it already runs; returns its pid."""
    return start_supervised(stack, f"backend-{port}", [str(PYTHON), "-m", "metrics_server.run"], stack.app_env(port))


def stop_instance(stack: Stack, port: int) -> None:
    """Stop one instance for good (it drains first: metrics_server/run.py)."""
    stop_supervised(stack, f"backend-{port}")


def start_graphite(stack: Stack) -> int:
    """Start the Graphite plaintext listener unless it already runs, and wait until it accepts; returns its pid."""
    env = {**stack.app_env(), "METRICS_SERVER_GRAPHITE_PORT": str(stack.graphite_port)}
    pid = start_supervised(stack, "graphite", [str(PYTHON), "-m", "metrics_server.graphite_listener"], env)
    wait_tcp(env.get("METRICS_SERVER_GRAPHITE_HOST", "127.0.0.1"), stack.graphite_port,
             lambda: pidfile.running(pidfile.supervisor_pid_file(stack.run_dir / "graphite.pid")) is not None)
    return pid


def wait_tcp(host: str, port: int, alive, timeout: float = 60) -> None:
    """Wait until a port accepts connections; fail at once when `alive()` says the process that should open it
    is gone."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=2).close()
            return
        except OSError as error:
            last = str(error)
        if not alive():
            raise RuntimeError(f"the process for {host}:{port} exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{host}:{port} did not accept connections within {timeout:.0f}s ({last})")
        time.sleep(0.3)


DEFAULT_MAX_BODY = 32 * 1024 * 1024
DEFAULT_LOGIN_RATE = 10
# The dashboard's pages: its own scripts, styles and API only (Vite emits no inline script; React and D3 set
# styles through the DOM, which style-src does not restrict). The API's answers carry their own (api/security.py).
PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
                    "Cross-Origin-Opener-Policy": "same-origin"}


def nginx_conf(upstreams: list[str], listen: str, run_dir: str, log_dir: str, frontend_root: str,
               max_body: int = DEFAULT_MAX_BODY, rate_limit: int = 0, login_rate: int = DEFAULT_LOGIN_RATE) -> str:
    """nginx/nginx.conf.template with every placeholder filled: the one renderer for the stack and the image."""
    values = {
        "__SECURITY_HEADERS__": "\n            ".join(
            f'add_header {name} "{value}" always;' for name, value in SECURITY_HEADERS.items()),
        "__LOGIN_RATE__": str(login_rate), "__LOGIN_RETRY__": str(-(-60 // login_rate)),
        "__RUN_DIR__": run_dir, "__LOG_DIR__": log_dir, "__LISTEN__": listen, "__FRONTEND_ROOT__": frontend_root,
        "__UPSTREAM_SERVERS__": "\n        ".join(
            f"server {upstream} max_fails=1 fail_timeout=2s;" for upstream in upstreams),
        "__MAX_BODY__": str(max_body), "__RATE_LIMIT__": str(max(rate_limit, 1)),
        "__LIMIT_REQ__": f"limit_req zone=per_client burst={rate_limit * 2} nodelay;" if rate_limit else "",
    }
    text = (ROOT / "nginx" / "nginx.conf.template").read_text()
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def render_nginx(stack: Stack) -> Path:
    """Write nginx.conf for this stack from nginx/nginx.conf.template."""
    from metrics_server.config import load_config  # here, not above: the nginx image renders without the app

    config = load_config(environ=stack.app_env())  # the instances' own settings, defaults included
    text = nginx_conf(
        [f"127.0.0.1:{port}" for port in stack.backend_ports], f"127.0.0.1:{stack.port}", str(stack.run_dir),
        str(stack.log_dir), str(stack.frontend), max_body=config["max_body_bytes"], rate_limit=config["rate_limit"],
        login_rate=config["login_rate_limit"])
    path = stack.run_dir / "nginx.conf"
    path.write_text(text)
    return path


def start_nginx(stack: Stack) -> None:
    """Start nginx under its supervisor, or reload it when it already runs (the config may have changed); a
    config nginx refuses is reported before anything starts."""
    conf = render_nginx(stack)
    command = ["nginx", "-e", str(stack.log_dir / "nginx-error.log"), "-c", str(conf), "-p", str(stack.run_dir)]
    if pidfile.running(stack.run_dir / "nginx.pid"):
        subprocess.run([*command, "-s", "reload"], check=True, capture_output=True)
        return
    result = subprocess.run([*command, "-t"], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError("nginx refused its configuration: " + result.stderr.strip().splitlines()[-1])
    start_supervised(stack, "nginx", [*command, "-g", "daemon off;"], dict(os.environ))


def stop_nginx(stack: Stack) -> None:
    """Stop nginx and its supervisor, gracefully (SIGQUIT: requests in flight are finished)."""
    stop_supervised(stack, "nginx", signal.SIGQUIT)


def up(stack: Stack) -> None:
    """Start everything that is not running yet; a second call starts nothing twice."""
    for folder in (stack.run_dir, stack.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    start_cassandra(stack)
    apply_schema(stack)
    for port in stack.backend_ports:
        start_instance(stack, port)
    for port in stack.backend_ports:
        wait_http(f"http://127.0.0.1:{port}/api/health")
    start_nginx(stack)
    wait_http(f"{stack.url}/api/health", ok_statuses=(200,))
    if stack.graphite_port:
        start_graphite(stack)
    if stack.monitor:
        start_monitor(stack)


# The log monitor's metrics are nginx_http_requests, nginx_tail_lag_seconds, ...: names of its own, so that a
# program the user runs (make demo's http_requests, an exporter's) never meets them (issue 25).
MONITOR_PREFIX = "nginx_"


def start_monitor(stack: Stack, refresh: float = 60) -> None:
    """The tail agent on nginx's access log, pushing its metrics through nginx to the stack itself: the demo
    monitors itself. Its state file makes a second `make up` continue where the last one stopped."""
    if pidfile.running(stack.run_dir / "tail-nginx.pid"):
        return
    command = [str(ROOT / ".venv" / "bin" / "metrics-server"), "tail", str(stack.log_dir / "nginx-access.log"),
               "--format", "metrics_server", "--name", "nginx", "--metric-prefix", MONITOR_PREFIX, "--url", stack.url,
               "--state-file", str(stack.run_dir / "tail-nginx.state"),
               "--alert-log", str(stack.log_dir / "alerts.log"), "--server-rule", "--view", "lines",
               "--refresh", str(refresh)]
    start_supervised(stack, "tail-nginx", command, {**os.environ, "METRICS_SERVER_TOKEN": monitor_token(stack)})


def monitor_token(stack: Stack) -> str:
    """The log monitor's write token: the stack's configured admin token when it has one (tests), else one minted
    once in Cassandra (`python -m metrics_server.auth`) and kept in the run folder, readable by its owner only."""
    configured = stack.app_env().get("METRICS_SERVER_ADMIN_TOKEN")
    if configured:
        return configured
    kept = stack.run_dir / "tail-nginx.token"
    if kept.exists():
        return kept.read_text().strip()
    result = subprocess.run([str(PYTHON), "-m", "metrics_server.auth", "token", "create", "make up log monitor",
                             "--scope", "write", "--quiet"], cwd=ROOT, env=stack.app_env(), capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or result.stdout.strip())
    kept.touch(mode=0o600)
    kept.write_text(result.stdout.strip())
    return result.stdout.strip()


def sign_in_hint(stack: Stack) -> str:
    """How to sign in to the dashboard: a one-time setup link while no user exists (metrics_server.auth setup)."""
    result = subprocess.run([str(PYTHON), "-m", "metrics_server.auth", "setup", "--url", stack.url], cwd=ROOT,
                            env=stack.app_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or result.stdout.strip())
    return result.stdout.strip()


def down(stack: Stack) -> None:
    """Stop the log monitor (its last push goes through nginx), nginx, every instance and every Cassandra node
    this stack started; data stays."""
    stop_supervised(stack, "tail-nginx")
    stop_nginx(stack)
    stop_supervised(stack, "graphite")
    for pid_file in sorted(stack.run_dir.glob("backend-*.supervisor.pid")):
        pidfile.stop(pid_file)  # passes SIGTERM on to its instance, which drains, then both exit
    for pid_file in sorted(stack.run_dir.glob("backend-*.pid")):
        pidfile.stop(pid_file)
    for node_dir in sorted((stack.var / "cassandra").glob("node*"), reverse=True):
        cassandra.stop(cassandra.Node(dir=node_dir))


def status(stack: Stack) -> list[tuple[str, int | None]]:
    """What runs: (name, pid or None) for every process of the stack."""
    rows = [(f"cassandra {n.address}:{n.cql_port}", cassandra.running_pid(n)) for n in stack.cassandra_nodes()]
    rows += [(f"backend 127.0.0.1:{port}", pidfile.running(stack.run_dir / f"backend-{port}.pid"))
             for port in stack.backend_ports]
    rows.append((f"nginx {stack.url}", pidfile.running(stack.run_dir / "nginx.pid")))
    if stack.graphite_port:
        rows.append((f"graphite 127.0.0.1:{stack.graphite_port}", pidfile.running(stack.run_dir / "graphite.pid")))
    if stack.monitor:
        rows.append(("metrics-server tail (nginx's access log)", pidfile.running(stack.run_dir / "tail-nginx.pid")))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stack")
    parser.add_argument("command", choices=("up", "down", "status", "nginx-conf"))
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=int(os.environ.get("NODES", "1")))
    parser.add_argument("--instances", type=int, default=int(os.environ.get("INSTANCES") or DEFAULT_INSTANCES),
                        help="backend instances (default: one per core, 2 to 4)")
    parser.add_argument("--port", type=int, default=8080, help="nginx's; the instances take the next ones")
    parser.add_argument("--var", type=Path, default=ROOT / "var", help="the data, logs and pid files (default var/)")
    parser.add_argument("--cql-port", type=int, default=9042)
    parser.add_argument("--storage-port", type=int, default=7000, help="Cassandra's internode port")
    parser.add_argument("--jmx-port", type=int, default=7199)
    image = parser.add_argument_group("nginx-conf (print a config for the nginx image)")
    image.add_argument("--upstreams", default="backend1:8080,backend2:8080,backend3:8080,backend4:8080")
    image.add_argument("--listen", default="8080")
    image.add_argument("--run-dir", default="/tmp/nginx")
    image.add_argument("--log-dir", default="/var/log/nginx")
    image.add_argument("--frontend-root", default="/usr/share/nginx/html")
    image.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY)
    image.add_argument("--rate-limit", type=int, default=0)
    image.add_argument("--login-rate", type=int, default=DEFAULT_LOGIN_RATE)
    args = parser.parse_args(argv)
    if args.command == "nginx-conf":
        print(nginx_conf([u.strip() for u in args.upstreams.split(",") if u.strip()], args.listen, args.run_dir,
                         args.log_dir, args.frontend_root, args.max_body, args.rate_limit, args.login_rate), end="")
        return 0
    stack = Stack(var=args.var.resolve(), nodes=args.nodes, instances=args.instances, port=args.port,
                  cql_port=args.cql_port, storage_port=args.storage_port, jmx_port=args.jmx_port,
                  graphite_port=int(os.environ.get("METRICS_SERVER_GRAPHITE_PORT") or 2003), monitor=True)
    try:
        if args.command == "up":
            up(stack)
            print(f"metrics_server is up: dashboard at {stack.url}/  (API {stack.url}/api, docs {stack.url}/api/docs, "
                  f"Graphite on tcp 127.0.0.1:{stack.graphite_port})")
            print(sign_in_hint(stack))
        elif args.command == "down":
            down(stack)
            print(f"metrics_server stopped (data kept in {args.var}/)")
        else:
            rows = status(stack)
            for name, pid in rows:
                print(f"{name:40} {'running, pid ' + str(pid) if pid else 'stopped'}")
            return 0 if all(pid for _, pid in rows) else 3
    except (RuntimeError, cassandra.NodeError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
