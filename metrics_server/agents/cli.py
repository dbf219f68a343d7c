"""The `metrics-server` command: `tail` (the access-log monitor), `simulate` (the load simulator) and `auth`
(tokens and users: `metrics-server auth token create NAME --scope write`, as `python -m metrics_server.auth`).

Bad options stop with argparse's one line naming the option, before anything starts.
"""
import argparse
import os
import re
import sys

from metrics_server.agents import simulate, tail
from metrics_server.agents.client import WRITERS
from metrics_server.agents.logformat import PRESETS, FormatError, compile_format
from metrics_server.model import NAME_PATTERN


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return value
    return parse


def label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def metric_prefix(text: str) -> str:
    """A prefix that keeps metric names valid (model.NAME_PATTERN)."""
    if text and not re.match(NAME_PATTERN, text + "x"):
        raise argparse.ArgumentTypeError(f"expected the start of a metric name ({NAME_PATTERN}), got {text!r}")
    return text


def server_options(parser: argparse.ArgumentParser, url: str | None) -> None:
    parser.add_argument("--url", default=url, help="metrics_server's base URL"
                        + (" (default %(default)s)" if url else "; without it nothing is pushed"))
    parser.add_argument("--token", default=os.environ.get("METRICS_SERVER_TOKEN"),
                        help="sent as 'Authorization: Bearer TOKEN' when the server has auth on "
                             "(default: $METRICS_SERVER_TOKEN)")
    parser.add_argument("--timeout", type=positive(float), default=10.0, help="seconds per request (default 10)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="metrics-server", description="metrics_server's agents.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{tail,simulate,auth}")
    commands.add_parser("auth", help="tokens and users (metrics-server auth -h)", add_help=False)

    t = commands.add_parser("tail", help="follow an access log: console view, high-traffic alert, metrics pushed",
                            description="Follow an HTTP access log like a log shipper (rotation, truncation, "
                                        "restarts), show the GlanceMetrics view, alert on high traffic and push "
                                        "per-second metrics keyed by the log's timestamps to metrics_server.")
    t.add_argument("file", help="the access log (it may not exist yet)")
    t.add_argument("--format", default="combined",
                   help=f"a preset ({', '.join(PRESETS)}) or an nginx log_format string using $time_local, "
                        "$time_iso8601 or $msec, $request (or $request_method + $request_uri), $status, "
                        "$body_bytes_sent, $request_time (default combined)")
    t.add_argument("--from-start", action="store_true",
                   help="read the file from its beginning (default: join at its end, like tail -f)")
    t.add_argument("--state-file", help="where to keep positions, bins and unsent points across restarts")
    server_options(t, None)
    t.add_argument("--name", help="the `log` label of the metrics (default: the file's name)")
    t.add_argument("--metric-prefix", type=metric_prefix, default="",
                   help="put this before every metric's name (nginx_ gives nginx_http_requests, ...), so that they "
                        "never meet another program's metrics of the same name (default: none)")
    t.add_argument("--interval", type=positive(float), default=10.0, help="seconds between pushes (default 10)")
    t.add_argument("--buffer-points", type=positive(int), default=200_000,
                   help="points kept while the server is unreachable; beyond, the oldest are dropped and counted "
                        "(default 200000)")
    t.add_argument("--window", type=positive(float), default=10.0, help="seconds the view sums (default 10)")
    t.add_argument("--refresh", type=positive(float), default=2.0, help="seconds between redraws (default 2)")
    t.add_argument("--top", type=positive(int), default=10, help="sections shown (default 10)")
    t.add_argument("--view", choices=("auto", "screen", "lines", "none"), default="auto",
                   help="screen: redraw in place; lines: one summary line per refresh; auto: screen on a terminal "
                        "(alerts are printed as lines unless screen)")
    t.add_argument("--alert-threshold", type=positive(float), default=10.0,
                   help="alert when the average req/s over the alert window exceeds this (default 10)")
    t.add_argument("--alert-window", type=positive(float), default=120.0, help="seconds (default 120)")
    t.add_argument("--server-rule", action="store_true",
                   help="also install the same alert as a rule group on the server (PUT /api/alerts/rules/"
                        "metrics-server-tail-NAME), so it shows on the dashboard and notifies")
    t.add_argument("--alert-log", help="append every alert and recovery message to this file")
    t.add_argument("--max-sections", type=positive(int), default=200,
                   help="distinct sections tracked; later new ones count as (other) (default 200)")
    t.add_argument("--late", type=positive(float), default=300.0,
                   help="seconds a bin stays open for late lines behind the newest timestamp (default 300)")
    t.add_argument("--rotate-grace", type=positive(float), default=5.0,
                   help="seconds a rotated file is still read after its last line (default 5)")
    t.add_argument("--poll", type=positive(float), default=0.2, help="seconds between reads when idle (default 0.2)")
    t.add_argument("--flush-timeout", type=positive(float), default=10.0,
                   help="seconds to send what waits when stopping (default 10)")
    t.add_argument("--once", action="store_true",
                   help="stop at the end of the file (with --from-start: import or replay a whole log)")
    t.add_argument("--duration", type=positive(float), help="stop after this many seconds (default: run until stopped)")

    s = commands.add_parser("simulate", help="send N metrics every interval, concurrently (the Go seed's simulator)",
                            description="Send realistic metrics (cycles, noise, spikes, a counter, an enum, a "
                                        "histogram) concurrently, one thread per metric; prints sends and errors "
                                        "per second.")
    server_options(s, "http://127.0.0.1:8080")
    s.add_argument("--metrics", type=positive(int), default=20, help="how many metrics (default 20)")
    s.add_argument("--interval", type=positive(float), default=0.3, help="seconds between points (default 0.3)")
    s.add_argument("--duration", type=positive(float), help="stop after this many seconds (default: until Ctrl-C)")
    s.add_argument("--prefix", default="sim", help="metric names start with this (default sim)")
    s.add_argument("--label", dest="label_list", action="append", type=label, default=[], metavar="KEY=VALUE",
                   help="a label on every series (repeatable; default source=simulate)")
    s.add_argument("--protocol", choices=sorted(WRITERS), default="json", help="write path (default json)")
    s.add_argument("--flush-timeout", type=positive(float), default=30.0,
                   help="seconds to resend what waits when stopping (default 30); the exit status is 1 when any "
                        "point was refused or is still unsent then")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["auth"]:
        from metrics_server.auth.cli import main as auth_main  # its own parser; needs Cassandra's settings only

        return auth_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "tail":
            compile_format(args.format)
            monitor = tail.Monitor(args)
        else:
            args.labels = dict(args.label_list) or {"source": "simulate"}
            return simulate.run(args, sys.stdout)
    except (FormatError, ValueError) as error:
        parser.error(str(error))
    return monitor.run()


if __name__ == "__main__":
    sys.exit(main())
