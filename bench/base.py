"""The shared harness: timing, percentiles, concurrent keep-alive posting, daemons run by pid, disk sizes, results."""
import os
import platform
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests

from tools import pidfile
from tools.stack import wait_http

_local = threading.local()
BEGAN = time.monotonic()


class BenchError(RuntimeError):
    """A system could not be started, loaded, queried or measured; the message says which and why."""


def say(message: str) -> None:
    """A progress line, stamped with the seconds since the run began and the 1-minute load average."""
    print(f"[{time.monotonic() - BEGAN:6.0f}s load {os.getloadavg()[0]:5.1f}] {message}", flush=True)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call, by the monotonic high-resolution clock."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def percentile(samples, q: float) -> float:
    """The q-th percentile (0-100) of the samples, linearly interpolated."""
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def session() -> requests.Session:
    """This thread's keep-alive HTTP session (requests pools one connection per host)."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def check(response: requests.Response, what: str) -> requests.Response:
    """The response if it succeeded, else a BenchError quoting the answer."""
    if response.status_code >= 300:
        raise BenchError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    return response


def get(url: str, params=None, what: str = "") -> requests.Response:
    """A GET that must succeed, read completely (so its time includes the transfer)."""
    response = check(session().get(url, params=params, timeout=300), what or f"GET {url}")
    response.content  # noqa: B018 - reads the body inside the caller's timing
    return response


RETRY_STATUSES = (502, 503, 504)
RETRIES = 6


def post_all(url: str, bodies: list[bytes], clients: int, headers: dict | None = None) -> tuple[float, int]:
    """POST every body with `clients` concurrent keep-alive clients, retrying an overloaded answer (502/503/504)
    after a backoff as a well-behaved agent would; returns (wall seconds, retries)."""
    retries = []

    def send(body: bytes) -> None:
        for attempt in range(RETRIES + 1):
            response = session().post(url, data=body, headers=headers, timeout=300)
            if response.status_code not in RETRY_STATUSES or attempt == RETRIES:
                check(response, f"POST {url}")
                return
            retries.append(response.status_code)
            time.sleep(0.5 * 2 ** attempt)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for _ in pool.map(send, bodies):
            pass
    return time.perf_counter() - start, len(retries)


@dataclass
class Daemon:
    """A server the harness starts in its own folder, tracks by pid file and stops (TERM, then KILL)."""

    name: str
    command: list[str]
    dir: Path
    process: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.dir / f"{self.name}.log"

    def start(self, health_url: str, timeout: float = 90) -> None:
        """Start the process and wait until the URL answers; a failed start says the log's last line."""
        self.stop()
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True)
        self.pid_file.write_text(str(self.process.pid))
        try:
            wait_http(health_url, timeout=timeout, ok_statuses=(200, 204))
        except RuntimeError as error:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            self.stop()
            raise BenchError(f"{self.name} did not start: {error}; log: {tail[0][:300]}") from None

    def stop(self, timeout: float = 60) -> None:
        """Stop our process (or one an interrupted run left in the pid file) and reap it."""
        pidfile.stop(self.pid_file, timeout=timeout, program=self.command[0])
        self.process = None
        self.pid_file.unlink(missing_ok=True)


def disk_bytes(*paths: Path) -> int:
    """Bytes allocated on disk to every file under the paths, as `du` counts them: InfluxDB preallocates sparse
    4 MiB series-file segments whose apparent size says nothing. A file vanishing while counted counts 0."""
    total = 0
    for path in paths:
        for folder, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_blocks * 512
                except FileNotFoundError:
                    pass
    return total


def settled_size(measure, timeout: float, interval: float = 2.0, quiet: int = 3) -> int:
    """A size polled until `quiet` readings in a row agree (compactions finished), or the timeout passes."""
    deadline = time.monotonic() + timeout
    readings = [measure()]
    while time.monotonic() < deadline and not (len(readings) >= quiet and len(set(readings[-quiet:])) == 1):
        time.sleep(interval)
        readings.append(measure())
    return readings[-1]


EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
PORT_SPAN = (-1000, 1100)  # the ports a benchmark takes around its base (storage -1000 ... CQL +1042)


def check_base_port(base: int) -> None:
    """Refuse a base port whose span meets the kernel's ephemeral range: any client connection on the machine
    may hold one of those ports (a 6-minute run once ended when Prometheus found 38090 taken)."""
    low, high = (int(part) for part in EPHEMERAL_PORTS.read_text().split()) if EPHEMERAL_PORTS.exists() \
        else (32768, 60999)
    first, last = base + PORT_SPAN[0], base + PORT_SPAN[1]
    if first <= high and last >= low:
        raise BenchError(f"--base-port {base}: ports {first}-{last} meet the kernel's ephemeral range {low}-{high} "
                         f"(net.ipv4.ip_local_port_range), where client connections take ports; choose a base "
                         f"from {1024 - PORT_SPAN[0]} to {low - 1 - PORT_SPAN[1]}")


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": str(os.cpu_count()), "memory": f"{mem_kb / 1024 ** 2:.1f} GiB", "cpu": cpu,
            "kernel": platform.release(), "python": platform.python_version(),
            "load average at start": " ".join(f"{value:.2f}" for value in os.getloadavg())}


def package_version(package: str) -> str:
    """The installed Debian package's version, or 'not installed'."""
    result = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "not installed"


@dataclass(frozen=True)
class Chart:
    """One chart request: some hosts' series of a metric over [start, end) at a width, in bins of step_ms
    (the step our API picked for that width, so every system answers the same number of bins)."""

    metric: str
    hosts: tuple[str, ...]
    start_ms: int
    end_ms: int
    width: int
    step_ms: int = 0


class System(ABC):
    """What the harness asks of every benchmarked system; one subclass per system, in its own module."""

    name = ""
    write_headers: dict[str, str] = {}
    settle = (5.0, 4)  # disk polls: seconds apart, and how many equal readings in a row mean "compacted"

    @abstractmethod
    def version(self) -> str:
        """The system's name and version, as the results table shows it."""

    @abstractmethod
    def start(self) -> None:
        """Start from an empty data folder on this system's own loopback ports."""

    @abstractmethod
    def stop(self) -> None:
        """Stop everything start() started."""

    @abstractmethod
    def encode(self, dataset, index, ts, value) -> bytes:
        """One write request's body for these points, in the system's own ingest format."""

    @abstractmethod
    def write_url(self) -> str:
        """Where write requests go."""

    @abstractmethod
    def remote_write_url(self) -> str:
        """Where Prometheus remote_write requests go."""

    def prepare(self, dataset) -> None:  # noqa: B027 (optional hook: most systems need nothing first)
        """Create what writes need first (a database, metric definitions)."""

    def load(self, bodies: list[bytes], clients: int) -> tuple[float, int]:
        """(seconds, retried requests) to POST every body with `clients` concurrent clients."""
        return post_all(self.write_url(), bodies, clients, self.write_headers)

    def catch_up(self) -> float:
        """Seconds of background work a load leaves before queries see its final form (0: none)."""
        return 0.0

    @abstractmethod
    def chart(self, query: Chart) -> requests.Response:
        """The system's own binned query for a chart (read completely)."""

    @abstractmethod
    def chart_values(self, response: requests.Response) -> list[int]:
        """How many numbers (not nulls) the answer carries per series."""

    @abstractmethod
    def raw(self, metric: str, host: str, start_ms: int, end_ms: int) -> int:
        """Read one series' raw points in the range (every page); returns how many."""

    @abstractmethod
    def disk(self) -> int:
        """Bytes its data takes on disk once flushed and compacted."""


@dataclass
class Row:
    """One figure for every system; `better` is 'higher' or 'lower'."""

    label: str
    unit: str
    better: str
    values: dict[str, float] = field(default_factory=dict)


def fmt(value: float | None) -> str:
    """A figure with as many digits as it deserves."""
    if value is None or value != value:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


class Results:
    """The table: one row per figure, one column per system, then ours ÷ each peer."""

    def __init__(self, systems: list[str]):
        self.systems = systems
        self.rows: list[Row] = []

    def add(self, label: str, unit: str, better: str, values: dict[str, float]) -> None:
        """A row, unless no system has a figure for it (a round that did not run)."""
        if values:
            self.rows.append(Row(label, unit, better, dict(values)))

    def cells(self) -> list[list[str]]:
        """Header and rows as text: figure, unit, better, each system, ours/peer for each peer."""
        ours, peers = self.systems[0], self.systems[1:]
        header = ["figure", "unit", "better", *self.systems, *(f"{ours}/{peer}" for peer in peers)]
        body = []
        for row in self.rows:
            mine = row.values.get(ours)
            ratios = [fmt(mine / row.values[peer]) + "×" if mine is not None and row.values.get(peer) else ""
                      for peer in peers]
            body.append([row.label, row.unit, row.better, *(fmt(row.values.get(s)) for s in self.systems), *ratios])
        return [header, *body]

    def text(self) -> str:
        """The table for a terminal, columns aligned."""
        cells = self.cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
        return "\n".join("  ".join(cell.ljust(width) if i < 3 else cell.rjust(width)
                                   for i, (cell, width) in enumerate(zip(row, widths))) for row in cells)

    def markdown(self) -> str:
        cells = self.cells()
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "|".join(
            " --- " if i < 3 else " ---: " for i in range(len(cells[0]))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"systems": self.systems, "rows": [row.__dict__ for row in self.rows]}
