"""A private Docker engine for the compose test, started and stopped like the project's other peers.

    python -m tools.dockerd start --run-dir /tmp/ms-docker [--offset 100]   prints the DOCKER_HOST to use
    python -m tools.dockerd stop --run-dir /tmp/ms-docker [--offset 100]

Its own dockerd (which runs its own containerd) with its own socket, exec root, pid file, bridge, address pool
and cgroup parent, all derived from the port offset, so it never meets another engine on the machine or another
test run. Images and layers live in a cache folder (~/.cache/metrics_server/docker) kept between runs: the
locally made base image and the build cache make a second run minutes shorter. stop() ends everything the engine
started: the containers (by the cgroup they were put in), dockerd, containerd and the shims, then the bridge.
"""
import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import pidfile

CACHE = Path(os.environ.get("METRICS_SERVER_DOCKER_CACHE", Path.home() / ".cache" / "metrics_server" / "docker"))
# Debian's docker.io client (20.10) speaks the engine's API and builds with its built-in BuildKit; a newer
# client on the PATH may need the buildx plugin for that.
CLIENT = "/usr/bin/docker"
CGROUP_ROOT = Path("/sys/fs/cgroup")


_LOCKS: dict = {}  # run folder -> the open lock file of the data root its engine uses
_PROCESSES: dict = {}  # run folder -> the dockerd this process started (reaped by stop)


class EngineError(RuntimeError):
    """The engine could not start or stop; the message says why in one line."""


@dataclass(frozen=True)
class Engine:
    """Where one private engine keeps its state; every name is derived from the run folder and the offset."""

    run_dir: Path
    offset: int = 0
    data_root: Path = CACHE

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.run_dir / "dockerd.log"

    @property
    def bridge(self) -> str:
        return f"msdocker{self.offset % 10000}"  # at most 15 characters, a Linux interface name's limit

    @property
    def subnets(self) -> tuple[str, str]:
        """The default bridge's address and the pool compose networks take theirs from (one /22 per offset)."""
        slot = self.offset % 64
        return f"10.213.{4 * slot}.1/24", f"10.214.{4 * slot}.0/22"

    @property
    def cgroup_parent(self) -> str:
        return f"metrics_server_docker{self.offset}"

    def env(self) -> dict:
        """The environment for docker, docker-compose and build_images.sh talking to this engine."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER": CLIENT, "DOCKER_BUILDKIT": "1"}


def _lock_data_root(engine: Engine) -> Engine:
    """The shared cache folder for one engine at a time (two dockerds on one data root corrupt it); another run
    at the same time gets a folder of its own, beside it."""
    for root in (engine.data_root, engine.data_root.with_name(f"{engine.data_root.name}-{engine.offset}")):
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root.with_suffix(".lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _LOCKS[engine.run_dir] = handle
        return Engine(engine.run_dir, engine.offset, root)
    raise EngineError(f"both {engine.data_root} and its offset's folder are in use by other engines")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def start(engine: Engine, timeout: float = 120) -> Engine:
    """Start dockerd unless it already runs for this folder, and wait until it answers; returns the engine with
    the data root it locked."""
    for tool in ("dockerd", "containerd", "runc", "ip"):
        if shutil.which(tool) is None:
            raise EngineError(f"{tool} is not installed: run tools/install.sh test (Debian's docker.io)")
    engine.run_dir.mkdir(parents=True, exist_ok=True)
    if len(str(engine.socket)) > 90:
        raise EngineError(f"run folder {engine.run_dir} is too long for a unix socket path; use a shorter one")
    if pidfile.running(engine.pid_file):
        _wait_ready(engine, timeout)
        return engine
    engine = _lock_data_root(engine)
    engine.pid_file.unlink(missing_ok=True)  # a dead engine's: dockerd refuses to start while it exists
    gateway, pool = engine.subnets
    if _ip("link", "show", engine.bridge, check=False).returncode != 0:
        _ip("link", "add", "name", engine.bridge, "type", "bridge")
        _ip("addr", "add", gateway, "dev", engine.bridge)
    _ip("link", "set", engine.bridge, "up")
    config = engine.run_dir / "daemon.json"  # never /etc/docker/daemon.json: an engine of our own, its settings here
    config.write_text(json.dumps({
        "data-root": str(engine.data_root), "exec-root": str(engine.run_dir / "exec"),
        "pidfile": str(engine.pid_file), "hosts": [engine.host], "bridge": engine.bridge,
        "default-address-pools": [{"base": pool, "size": 26}], "cgroup-parent": f"/{engine.cgroup_parent}",
        "storage-driver": "overlay2", "exec-opts": ["native.cgroupdriver=cgroupfs"], "log-level": "warn",
        "shutdown-timeout": 10, "features": {"buildkit": True},
    }, indent=2))
    with open(engine.log, "ab") as log:
        process = subprocess.Popen(["dockerd", "--config-file", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    _PROCESSES[engine.run_dir] = process
    _wait_ready(engine, timeout, process)
    return engine


def _wait_ready(engine: Engine, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Block until `docker version` answers on the engine's socket, or fail with the log's last words."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine.socket.exists() and subprocess.run([CLIENT, "version"], env=engine.env(), capture_output=True,
                                                     timeout=30).returncode == 0:
            return
        if process is not None and process.poll() is not None:
            raise EngineError(f"dockerd exited during start-up: {_last_lines(engine.log)}")
        time.sleep(0.5)
    raise EngineError(f"dockerd did not answer on {engine.socket} within {timeout:.0f}s: {_last_lines(engine.log)}")


def _last_lines(path: Path, count: int = 3) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return " | ".join(lines[-count:]) or "nothing logged"


def _our_processes(engine: Engine) -> list[int]:
    """Pids of the engine's helpers (containerd, shims, docker-proxy): each names the engine's exec root or
    socket on its command line, which no other process does."""
    marker = str(engine.run_dir).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
    return pids


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, or None; the start time tells a reused pid apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1]), int(fields[19])
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError, IndexError, ValueError):
        return None


def _descendants(root: int) -> dict:
    """Every process below `root` with its start time (docker-proxy, for one, names no folder of the engine's)."""
    children: dict = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = {}, [root]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


def _container_pids(engine: Engine) -> list[int]:
    """Every process in the containers' cgroups (pids and memory controllers; cgroups v1)."""
    pids = set()
    for controller in ("pids", "memory"):
        for procs in (CGROUP_ROOT / controller / engine.cgroup_parent).glob("**/cgroup.procs"):
            try:
                pids.update(int(line) for line in procs.read_text().split())
            except (FileNotFoundError, ValueError):
                pass
    return sorted(pids)


def _kill_all(pids, sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(engine: Engine, timeout: float = 60) -> None:
    """Stop the engine and everything it started, whatever state it is in; safe to call twice."""
    pid = pidfile.running(engine.pid_file)
    tree = _descendants(pid) if pid is not None else {}
    if pid is not None:
        # dockerd stops its containers (10 s each, in parallel), then containerd, then itself.
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pidfile.running(engine.pid_file) == pid and time.monotonic() < deadline:
            time.sleep(0.5)
    # Whatever survived: the containers' processes first, then the engine's own.
    _kill_all(_container_pids(engine), signal.SIGKILL)
    survivors = [child for child, started in tree.items() if (_stat(child) or (0, None))[1] == started]
    _kill_all(_our_processes(engine) + survivors + ([pid] if pidfile.running(engine.pid_file) else []), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (_container_pids(engine) or _our_processes(engine)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for controller in CGROUP_ROOT.iterdir():
        parent = controller / engine.cgroup_parent
        folders = parent.glob("**/") if parent.is_dir() else []
        for folder in sorted(folders, key=lambda path: len(path.parts), reverse=True):  # the deepest first
            try:
                folder.rmdir()
            except OSError:
                pass
    _ip("link", "delete", engine.bridge, check=False)
    _drop_firewall_rules(engine)
    # Mounts dockerd leaves behind: its data root mounted on itself; after a crash netns files and overlays too.
    for mount_point in reversed(_mounts(engine)):
        subprocess.run(["umount", "-l", mount_point], capture_output=True)
    process = _PROCESSES.pop(engine.run_dir, None)
    if process is not None:
        process.wait(timeout=10)
    handle = _LOCKS.pop(engine.run_dir, None)
    if handle is not None:
        handle.close()
    engine.pid_file.unlink(missing_ok=True)


def _mounts(engine: Engine) -> list[str]:
    """Mount points at or under the engine's run folder and data root, in mount order."""
    roots = (str(engine.run_dir), str(engine.data_root))
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return [point for point in points if point in roots or point.startswith(tuple(f"{root}/" for root in roots))]


def _drop_firewall_rules(engine: Engine) -> None:
    """Delete the iptables rules dockerd made for its bridge (it leaves them when it stops): only rules that
    name this engine's bridge or subnet, so another engine's rules stay."""
    if shutil.which("iptables") is None:
        return
    gateway, _ = engine.subnets
    subnet = gateway.rsplit(".", 1)[0] + ".0/24"
    for table in ("filter", "nat"):
        listed = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True).stdout.splitlines()
        for rule in listed:
            words = rule.split()
            if words[:1] == ["-A"] and (engine.bridge in words or subnet in words):
                subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True)


def leftovers(engine: Engine) -> list[str]:
    """What of the engine still runs (for tests to check the teardown)."""
    found = [f"process {pid}" for pid in _our_processes(engine) + _container_pids(engine)]
    if pidfile.running(engine.pid_file):
        found.append("dockerd")
    if _ip("link", "show", engine.bridge, check=False).returncode == 0:
        found.append(f"bridge {engine.bridge}")
    found += [f"mount {point}" for point in _mounts(engine)]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dockerd", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop"))
    parser.add_argument("--run-dir", type=Path, required=True, help="socket, exec root, pid file and log")
    parser.add_argument("--offset", type=int, default=int(os.environ.get("TEST_PORT_OFFSET", "0")))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    engine = Engine(args.run_dir.resolve(), args.offset)
    try:
        if args.command == "start":
            engine = start(engine)
            print(f"export DOCKER_HOST={engine.host}  # images in {engine.data_root}")
            # This process holds the data root's lock; keep it until dockerd ends.
            while pidfile.running(engine.pid_file):
                time.sleep(2)
        else:
            stop(engine)
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
