"""Serve the app with waitress: `python -m metrics_server.run [path/to/config.json]`.

SIGTERM drains: the listening socket closes at once (nginx moves on to another instance), requests in
flight finish and are sent, then the process exits. Each process also keeps the hourly rollups current and
competes for the alert evaluator's lease (alerting/evaluator.py), releasing it on the way out.
"""
import gc
import logging
import os
import signal
import sys
import threading
import time

from waitress import create_server, wasyncore

from metrics_server.alerting.rules import RuleError
from metrics_server.alerting.wiring import start_evaluator
from metrics_server.api.selfmetrics import ClosingIterable
from metrics_server.app import create_app
from metrics_server.config import ConfigError, load_config
from metrics_server.storage.rollups import RollupWorker

DRAIN_TIMEOUT = 30.0
RECV_BYTES = 65536
QUIET = 0.5  # seconds without a request after which the process counts as idle, for the rollup worker
log = logging.getLogger("metrics_server.run")


class InFlight:
    """WSGI middleware counting requests whose response is not yet fully handed to waitress."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.last_done = time.monotonic()
        self._lock = threading.Lock()

    def busy(self) -> bool:
        """Serving a request, or done with one less than QUIET seconds ago."""
        return self.count > 0 or time.monotonic() - self.last_done < QUIET

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterable(body, self._done)

    def _done(self):
        with self._lock:
            self.count -= 1
            self.last_done = time.monotonic()


def serve(config: dict) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    app = create_app(config)
    # The driver allocates many short-lived objects per request: collect less often, and never scan the
    # long-lived ones made at start-up (measured: 20-30 % less CPU per ingested point).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    counted = InFlight(app)
    worker = RollupWorker(app.extensions["rollups"], busy=counted.busy)
    worker.start()
    evaluator = start_evaluator(app)
    socket_map: dict = {}
    # A body is read 64 KiB a time (waitress' default, 8 KiB, took a JSON write of 100 KB in 13 reads): an
    # instance's CPU for a 5,000-point write, parsed but not stored, 2.4 → 2.0 ms (bench/PROFILE.md).
    server = create_server(counted, map=socket_map, host=config["host"], port=config["port"],
                           threads=config["threads"], ident="metrics_server", clear_untrusted_proxy_headers=False,
                           recv_bytes=RECV_BYTES)
    stopping = threading.Event()
    drained = threading.Event()

    def drain():
        deadline = time.monotonic() + DRAIN_TIMEOUT
        while counted.count > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        drained.set()

    def on_signal(signum, frame):
        if not stopping.is_set():
            stopping.set()
            log.info("signal %s: closing the listener and draining %d request(s)", signum, counted.count)
            server.close()
            threading.Thread(target=drain, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"metrics_server listening on http://{config['host']}:{config['port']} "
          f"({config['threads']} threads, pid {os.getpid()})", flush=True)
    while not drained.is_set():
        wasyncore.loop(timeout=0.2, map=socket_map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(timeout=5)
    worker.stop()
    if evaluator is not None:
        evaluator.stop()
        evaluator.join(timeout=10)
        evaluator.notifier.stop()
    worker.join(timeout=10)
    app.extensions["db"].close()
    log.info("stopped")


def main(argv: list[str]) -> int:
    try:
        config = load_config(argv[0] if argv else os.environ.get("METRICS_SERVER_CONFIG"))
    except ConfigError as error:
        print(f"metrics_server: invalid configuration: {error}", file=sys.stderr)
        return 2
    try:
        serve(config)
    except RuleError as error:
        print(f"metrics_server: invalid alert rules ({config['alert_rules_file']}): {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"metrics_server: cannot listen on {config['host']}:{config['port']}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
