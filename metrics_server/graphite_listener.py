"""Graphite plaintext over TCP: `python -m metrics_server.graphite_listener [config.json]`.

A small process of its own beside the HTTP instances (waitress speaks only HTTP, and one port cannot be bound
by four instances): a thread per connection reads `path value timestamp` lines, and every second (or every
FLUSH_LINES lines) hands them to the same ingest path as /api/write. Graphite has no answer to send, so a bad
line cannot be refused: it is skipped, counted and logged, and the connection goes on. A batch Cassandra does
not take is tried again (RETRIES times) before its points are logged as lost. Graphite has no authentication:
the listener binds `graphite_host` (127.0.0.1 by default, local senders only); open it wider only behind a
firewall. A connection silent for IDLE_SECONDS is closed, and past MAX_CONNECTIONS a new one is closed at once
(200 idle connections were once kept forever, a thread each).
"""
import logging
import os
import signal
import socketserver
import sys
import threading
import time

from metrics_server.api.errors import is_driver_error
from metrics_server.config import ConfigError, load_config
from metrics_server.errors import ApiError
from metrics_server.ingest.samples import Intake, Samples
from metrics_server.protocols.graphite import parse_line, parse_template
from metrics_server.schemas import now_ms
from metrics_server.storage.db import Database

FLUSH_LINES = 10_000
FLUSH_SECONDS = 1.0
MAX_LINE = 4096
RETRIES = 3
IDLE_SECONDS = 60.0  # carbon's own senders reconnect when the server closes a connection
MAX_CONNECTIONS = 100
log = logging.getLogger("metrics_server.graphite")


class Counts:
    """Lines taken, points stored, bad lines and lost points since start, for the log."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stored = self.bad = self.lost = 0
        self.last_logged = 0.0

    def add(self, **counts: int) -> None:
        with self.lock:
            for key, value in counts.items():
                setattr(self, key, getattr(self, key) + value)

    def bad_line(self, peer: str, line: str, reason: str) -> None:
        """Count a bad line; log it, at most once a second (with the running count), so a flood cannot flood."""
        self.add(bad=1)
        now = time.monotonic()
        if now - self.last_logged >= 1.0:
            self.last_logged = now
            log.warning("bad graphite line from %s (%d bad lines so far): %s: %r", peer, self.bad, reason, line[:200])


class Sink:
    """Parses lines into Samples and stores them through the ingest path, one batch at a time."""

    def __init__(self, intake: Intake, templates, counts: Counts):
        self.intake, self.templates, self.counts = intake, templates, counts

    def write(self, lines: list[str], peer: str) -> None:
        samples = Samples()
        now = now_ms()
        for line in lines:
            try:
                name, labels, ts, value = parse_line(line, now, self.templates)
            except ValueError as error:
                self.counts.bad_line(peer, line, str(error))
                continue
            if value != value:  # NaN: carbon drops it too
                samples.skip("nan")
                continue
            samples.add(name, labels, line, [ts], [value])
            samples.types.setdefault(name, "gauge")
        self.store(samples, peer)

    def store(self, samples: Samples, peer: str) -> None:
        """Store the samples; when the ingest rules refuse one, each half is stored on its own, down to the bad
        lines, which are counted and dropped: k bad lines among n cost about k log n writes, not k times n (one
        bad line more used to send the whole rest again)."""
        if not samples.names:
            return
        try:
            self.keep(samples, peer)
        except ApiError as error:  # a bad line, or a limit of the whole batch (new metrics, new series)
            if error.status != 400:
                raise
            if len(samples.names) == 1:
                self.counts.bad_line(peer, samples.where_of(0), error.message)
                return
            middle = len(samples.names) // 2
            self.store(part(samples, 0, middle), peer)
            self.store(part(samples, middle, len(samples.names)), peer)

    def keep(self, samples: Samples, peer: str) -> None:
        """Write through the ingest path; a failure of Cassandra is retried, then counted as lost."""
        for attempt in range(RETRIES):
            try:
                self.counts.add(stored=self.intake.write(samples))
                return
            except Exception as error:  # noqa: BLE001 - only Cassandra's failures are retried
                if not is_driver_error(error):
                    raise
                if attempt == RETRIES - 1:
                    self.counts.add(lost=len(samples))
                    log.error("graphite: Cassandra did not store %d points from %s: %s", len(samples), peer, error)
                    return
                time.sleep(0.5 * 2 ** attempt)


def part(samples: Samples, first: int, stop: int) -> Samples:
    """The series first..stop-1 of the samples, with their points."""
    kept = Samples(types=samples.types, skipped=samples.skipped)
    offset = sum(samples.sizes[:first])
    for index in range(first, stop):
        size = samples.sizes[index]
        kept.add(samples.names[index], samples.labels[index], samples.where[index], samples.ts[offset:offset + size],
                 samples.values[offset:offset + size])
        offset += size
    return kept


class Handler(socketserver.BaseRequestHandler):
    """One sender's connection: lines in, a flush every FLUSH_SECONDS or FLUSH_LINES lines, and at the end."""

    def handle(self) -> None:
        sink: Sink = self.server.sink
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        self.request.settimeout(FLUSH_SECONDS)
        buffer, pending, flushed = b"", [], time.monotonic()
        heard = flushed
        while not self.server.stopping.is_set():
            try:
                chunk = self.request.recv(65536)
            except TimeoutError:
                chunk = None
            except OSError:
                break
            if chunk == b"" or (chunk is None and time.monotonic() - heard > self.server.idle_seconds):
                break
            if chunk:
                heard = time.monotonic()
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                pending += [line.decode("utf-8", "replace").strip() for line in complete if line.strip()]
                if len(buffer) > MAX_LINE:
                    sink.counts.bad_line(peer, buffer[:200].decode("utf-8", "replace"), "line longer than 4096 bytes")
                    buffer = b""
            if pending and (len(pending) >= FLUSH_LINES or time.monotonic() - flushed >= FLUSH_SECONDS):
                sink.write(pending, peer)
                pending, flushed = [], time.monotonic()
        if buffer.strip():
            pending.append(buffer.decode("utf-8", "replace").strip())
        if pending:
            sink.write(pending, peer)


class Server(socketserver.ThreadingTCPServer):
    """Connections on threads that server_close() waits for: each notices `stopping` within FLUSH_SECONDS and
    stores what it holds."""

    allow_reuse_address = True
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], sink: "Sink", idle_seconds: float = IDLE_SECONDS,
                 max_connections: int = MAX_CONNECTIONS):
        self.sink = sink
        self.stopping = threading.Event()
        self.idle_seconds, self.max_connections = idle_seconds, max_connections
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, Handler)

    def process_request(self, request, client_address) -> None:
        """A thread for the connection while fewer than max_connections are open; else it is closed at once."""
        if not self.slots.acquire(blocking=False):
            log.warning("graphite: %s refused, %d connections open already", client_address[0], self.max_connections)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def serve(config: dict) -> None:
    """Listen until SIGTERM/SIGINT; then every connection stores the lines it holds and ends."""
    try:
        templates = [parse_template(text) for text in config["graphite_templates"]]
    except ValueError as error:
        raise ConfigError(f"graphite_templates: {error}") from None
    db = Database(config)
    counts = Counts()
    server = Server((config["graphite_host"], config["graphite_port"]), Sink(Intake.from_db(db, config), templates,
                                                                            counts))

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"graphite listener on {config['graphite_host']}:{config['graphite_port']} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        db.close()
        log.info("stopped: %d points stored, %d bad lines, %d points lost", counts.stored, counts.bad, counts.lost)


def main(argv: list[str]) -> int:
    try:
        config = load_config(argv[0] if argv else os.environ.get("METRICS_SERVER_CONFIG"))
        logging.basicConfig(level=config["log_level"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        serve(config)
    except ConfigError as error:
        print(f"graphite listener: invalid configuration: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"graphite listener: cannot listen on {config['graphite_host']}:{config['graphite_port']}: "
              f"{error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
