"""`metrics-server tail`: follow an access log, show the GlanceMetrics view, alert, and push metrics to the server.

One loop, one thread (plus the shipper's sender): read what the file gained, count it into per-second bins by the
log's timestamps; every second evaluate the alert on the wall clock; every `refresh` redraw the view; every
`interval` hand the bins that changed to the shipper and write the state file. The state file holds the file
positions together with the bins and the unsent points of that same moment, so a restart (even after kill -9)
continues from a consistent point: lines after it are read again into the restored bins, which are then resent
whole, and the server keeps one point per metric + series + timestamp. Nothing is lost or counted twice.
"""
import json
import os
import signal
import sys
import time
from pathlib import Path

from metrics_server.agents.alert import HighTraffic
from metrics_server.agents.client import Client
from metrics_server.agents.follow import Follower
from metrics_server.agents.logformat import compile_format
from metrics_server.agents.shipper import Shipper
from metrics_server.agents.traffic import Traffic, points
from metrics_server.agents.view import duration, insights, line, screen

STATE_VERSION = 1
# (name, type, label keys, unit, description); the names take --metric-prefix, and each description names this
# program, so that another program meeting one of these metrics learns who made it (issue 25).
DEFINITIONS = [
    ("http_requests", "gauge", ("log", "section", "method", "status_class"), "req",
     "requests whose log timestamp falls in the point's second"),
    ("http_response_bytes", "gauge", ("log", "section"), "B", "bytes sent in the point's second"),
    ("http_request_seconds", "histogram", ("log", "section"), "s", "request time ($request_time) buckets"),
    ("tail_parse_errors", "gauge", ("log",), "lines", "malformed lines (counted, skipped)"),
    ("tail_lag_seconds", "gauge", ("log",), "s", "how far reading is behind the log (0 when caught up)"),
    ("tail_buffered_points", "gauge", ("log",), "points", "points waiting for the server"),
    ("tail_dropped_points", "gauge", ("log",), "points", "points dropped because the buffer was full"),
]


def definitions(prefix: str, log: str) -> list[tuple]:
    """DEFINITIONS with their names prefixed and their descriptions signed by this agent and its log."""
    return [(prefix + name, type_, keys, unit, f"{what} (metrics-server tail --name {log})")
            for name, type_, keys, unit, what in DEFINITIONS]


def server_rule(log: str, threshold: float, window: float, interval: float, prefix: str = "") -> dict:
    """The console's alert as a rule group for the server's evaluator (the alerting API): the same window and
    threshold over the pushed http_requests, so it also shows on the dashboard and notifies. Evaluated a push
    interval (+5 s) behind, when that window's bins have arrived. The range is a millisecond short of the window:
    PromQL's ranges are closed at both ends, so `[60s]` at a whole second holds 61 one-second bins."""
    seconds = int(window)
    selector = prefix + "http_requests{log=\"" + log.replace("\\", "\\\\").replace('"', '\\"') + "\"}"
    return {"name": f"metrics-server-tail-{log}", "interval": "10s", "query_offset": f"{int(interval) + 5}s",
            "rules": [{"alert": "HighTraffic",
                       "expr": f"sum(sum_over_time({selector}[{seconds * 1000 - 1}ms])) / {seconds} > {threshold:g}",
                       "labels": {"severity": "warning", "log": log},
                       "annotations": {"summary": "High traffic generated an alert - hits = {{ $value }}",
                                       "description": f"{log}: average req/s over {seconds}s above {threshold:g}"}}]}


class Monitor:
    """The tail agent's state and loop; `clock` (epoch seconds) and `sleep` are injectable for tests."""

    def __init__(self, args, clock=time.time, sleep=time.sleep, out=sys.stdout):
        self.args, self.clock, self.sleep, self.out = args, clock, sleep, out
        self.format = compile_format(args.format)
        self.follower = Follower(args.file, from_start=args.from_start, grace=args.rotate_grace)
        self.traffic = Traffic(self.format, max_sections=args.max_sections)
        self.alert = HighTraffic(args.alert_threshold, args.alert_window)
        self.log = args.name or Path(args.file).name
        self.prefix = args.metric_prefix
        self.shipper = None
        self.reported: set[tuple[str, str]] = set()  # refusals printed once each; the status line counts them all
        if args.url:
            client = Client(args.url, token=args.token, timeout=args.timeout)
            setup = [lambda c, d=d: c.define(*d) for d in definitions(self.prefix, self.log)]
            if args.server_rule:
                rule = server_rule(self.log, args.alert_threshold, args.alert_window, args.interval, self.prefix)
                setup.append(lambda c: c.put_rule_group(rule))
            self.shipper = Shipper(client, max_points=args.buffer_points, setup=setup)
        self.started = clock()
        self.stopping = False
        self.notice = ""
        self.screen = args.view == "screen" or (args.view == "auto" and out.isatty())

    # -- state file -------------------------------------------------------------------------------------------
    def restore(self) -> bool:
        path = self.args.state_file
        if not path or not os.path.exists(path):
            return False
        with open(path) as f:
            saved = json.load(f)
        if saved.get("version") != STATE_VERSION or saved.get("file") != str(Path(self.args.file).resolve()):
            return False
        self.follower.restore(saved["follower"])
        self.traffic.restore(saved["traffic"])
        self.alert.restore(saved.get("alert"))
        if self.shipper:
            self.shipper.restore(saved["pending"])
        return True

    def checkpoint(self) -> None:
        path = self.args.state_file
        if not path:
            return
        state = {"version": STATE_VERSION, "file": str(Path(self.args.file).resolve()),
                 "follower": self.follower.state(), "traffic": self.traffic.to_json(), "alert": self.alert.to_json(),
                 "pending": self.shipper.to_json() if self.shipper else []}
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    # -- the loop -------------------------------------------------------------------------------------------
    def read(self) -> int:
        """Count what the log gained; returns the bytes read."""
        total = 0
        for chunk in self.follower.read():
            self.traffic.add(chunk, self.clock())
            total += len(chunk)
        for notice in self.follower.notices:
            self.notice = notice
            self.say(notice)
        self.follower.notices.clear()
        while self.shipper and self.shipper.refused:
            where, count, why = self.shipper.refused.pop(0)
            if (where, why) not in self.reported:
                self.reported.add((where, why))
                self.notice = f"server refused {where}" + (f" ({count} points)" if count else "") + f": {why}"
                print(self.notice, file=sys.stderr, flush=True)
        return total

    def tick(self, now: float) -> None:
        """Evaluate the alert over the last whole seconds of the window."""
        end = int(now)
        hits = sum(b.hits for _, b in self.traffic.window(end - self.alert.window, end))
        event = self.alert.step(hits, now)
        if event:
            self.say(event.message)
            if self.args.alert_log:
                with open(self.args.alert_log, "a") as f:
                    f.write(event.message + "\n")
            self.checkpoint()  # the state file knows of the message before anything else can happen

    def say(self, text: str) -> None:
        if not self.screen:
            print(text, file=self.out, flush=True)

    def lag(self, now: float) -> float:
        return round(max(now - self.traffic.newest, 0.0), 3) if self.follower.current and self.follower.behind \
            else 0.0

    def push(self, now: float) -> None:
        """Hand changed bins and the agent's own gauges to the shipper, then checkpoint."""
        taken = self.traffic.take_dirty()
        if self.shipper:
            second, labels = int(now), (("log", self.log),)
            own = [("tail_lag_seconds", labels, second, self.lag(now)),
                   ("tail_buffered_points", labels, second, len(self.shipper.pending)),
                   ("tail_dropped_points", labels, second, self.shipper.dropped)]
            self.shipper.put((self.prefix + name, *rest) for name, *rest in points(self.log, taken) + own)
        keep = max(self.alert.window, self.args.window) + self.args.late
        self.traffic.forget_before(self.traffic.newest - keep)
        self.checkpoint()

    def status(self, now: float) -> list[str]:
        f, s = self.follower, self.shipper
        rows = [f"running {duration(now - self.started)} · {self.traffic.lines:,} lines · {self.traffic.malformed:,} "
                f"malformed · lag {self.lag(now):g} s · rotations {f.rotations} · truncations {f.truncations}"
                + ("" if f.current else " · waiting for the file to exist")]
        if s:
            rows.append(f"server {s.client.url}: {s.sent:,} points sent · {len(s.pending):,} buffered · "
                        f"{s.dropped:,} dropped · {s.rejected:,} refused"
                        + (f" · last error: {s.last_error}" if s.last_error else ""))
        if self.notice:
            rows.append("file: " + self.notice)
        if self.traffic.last_malformed is not None:
            rows.append("last malformed line: " + self.traffic.last_malformed[:100].decode("utf-8", "replace"))
        return rows

    def render(self, now: float) -> None:
        end = int(now)
        info = insights(self.traffic.window(end - self.args.window, end), self.args.window)
        if self.screen:
            title = f"{self.args.file} ({self.args.format})"
            text = screen(title, now, info, self.alert, self.status(now), top=self.args.top)
            self.out.write("\x1b[H\x1b[2J" + text + "\n")
            self.out.flush()
        elif self.args.view != "none":
            shipped = (f"; server: {self.shipper.sent} sent, {len(self.shipper.pending)} buffered, "
                       f"{self.shipper.dropped} dropped, {self.shipper.rejected} refused"
                       + (f" ({self.shipper.last_error})"
                                                            if self.shipper.last_error else "")
                       if self.shipper else "")
            print(line(now, info, self.alert) + shipped, file=self.out, flush=True)

    def run(self) -> int:
        """Loop until SIGTERM/SIGINT/SIGHUP (or --duration); the last bins are pushed and the state written on the
        way out. With --once or --duration, the exit status is 1 when any point was refused for good, dropped or
        left unsent: a replay that stored less than the log says must not look like a success."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.stop)
        self.restore()
        now = self.clock()
        next_tick, next_view, next_push = now + 1, now, now + self.args.interval
        end = now + self.args.duration if self.args.duration else None
        while not self.stopping and (end is None or now < end):
            got = self.read()
            if self.args.once and got == 0 and not self.follower.draining:
                break
            now = self.clock()
            if now >= next_tick:
                self.tick(now)
                next_tick = max(next_tick + 1, now)
            if now >= next_view:
                self.render(now)
                next_view = max(next_view + self.args.refresh, now)
            if now >= next_push:
                self.push(now)
                next_push = max(next_push + self.args.interval, now)
            if self.shipper:
                self.shipper.pump()
            if got < self.follower.budget:
                self.sleep(self.args.poll)
        self.read()
        self.push(self.clock())
        flushed = not self.shipper or self.shipper.flush(self.args.flush_timeout)
        if not flushed:
            kept = " (kept in the state file)" if self.args.state_file else ""
            print(f"tail: {len(self.shipper.pending)} points not sent{kept}: {self.shipper.last_error}",
                  file=sys.stderr)
        self.read()  # print what the last requests were refused
        self.checkpoint()
        self.follower.close()
        lost = self.shipper and (self.shipper.rejected or self.shipper.dropped or not flushed)
        if lost:
            print(f"tail: {self.shipper.sent} points stored, {self.shipper.rejected} refused by the server, "
                  f"{self.shipper.dropped} dropped (buffer full), {len(self.shipper.pending)} not sent",
                  file=sys.stderr)
        return 1 if lost and (self.args.once or self.args.duration) else 0

    def stop(self, *_) -> None:
        self.stopping = True
