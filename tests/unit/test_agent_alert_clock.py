"""The alert through the whole monitor on a real file, with an injected clock: exact trigger and recovery times."""
import io
import random
import signal

import pytest

from bench.accesslog import line
from metrics_server.agents.alert import clock_text
from metrics_server.agents.cli import build_parser
from metrics_server.agents.tail import Monitor

T0 = 1_800_000_000  # a whole second, so ticks fall on whole seconds


@pytest.fixture(autouse=True)
def signals_given_back():
    """Monitor.run takes SIGTERM, SIGINT and SIGHUP for itself; pytest gets them back after each test, or a Ctrl-C
    (or make test's runner stopping its groups) would only stop a monitor long gone."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_alert_triggers_and_recovers_at_the_ticks_the_log_timestamps_imply(tmp_path):
    """30 lines/s for 20 s, threshold 20 req/s over 5 s. The tick at T0+4 sees 4 full seconds (120 hits, 24/s):
    it fires. Traffic stops after T0+19; the tick at T0+22 sees 3 seconds (90 hits, 18/s): it recovers,
    with no line arriving (the clock tick does it)."""
    log, alerts = tmp_path / "access.log", tmp_path / "alerts.txt"
    log.touch()
    args = build_parser().parse_args([
        "tail", str(log), "--view", "lines", "--alert-window", "5", "--alert-threshold", "20", "--poll", "0.25",
        "--alert-log", str(alerts), "--duration", "30"])
    clock = {"now": float(T0)}
    rng, written = random.Random(3), set()

    def sleep(seconds):
        clock["now"] += seconds
        for second in range(T0, min(T0 + 20, int(clock["now"] - 0.5) + 1)):
            if second not in written:  # a second's 30 lines land half a second after it starts
                written.add(second)
                with open(log, "a") as f:
                    f.write("".join(line(rng, second) for _ in range(30)))

    out = io.StringIO()
    assert Monitor(args, clock=lambda: clock["now"], sleep=sleep, out=out).run() == 0
    expected = [f"High traffic generated an alert - hits = 24, triggered at {clock_text(T0 + 4)}",
                f"High traffic alert recovered - hits = 18, recovered at {clock_text(T0 + 22)}"]
    printed = [row for row in out.getvalue().splitlines() if row.startswith("High traffic")]
    assert printed == expected
    assert alerts.read_text().splitlines() == expected


def test_a_restart_while_firing_announces_nothing_again_and_still_recovers(tmp_path):
    """The same traffic, the monitor stopped at T0+10 (firing) and started again from its state file: one
    trigger and one recovery in all, at the same times as without the restart (issue 24)."""
    log, alerts, state = tmp_path / "access.log", tmp_path / "alerts.txt", tmp_path / "state.json"
    log.touch()
    clock = {"now": float(T0)}
    rng, written = random.Random(3), set()

    def sleep(seconds):
        clock["now"] += seconds
        for second in range(T0, min(T0 + 20, int(clock["now"] - 0.5) + 1)):
            if second not in written:
                written.add(second)
                with open(log, "a") as f:
                    f.write("".join(line(rng, second) for _ in range(30)))

    def run(duration: str) -> list[str]:
        args = build_parser().parse_args([
            "tail", str(log), "--view", "lines", "--alert-window", "5", "--alert-threshold", "20", "--poll", "0.25",
            "--alert-log", str(alerts), "--state-file", str(state), "--duration", duration])
        out = io.StringIO()
        assert Monitor(args, clock=lambda: clock["now"], sleep=sleep, out=out).run() == 0
        return [row for row in out.getvalue().splitlines() if row.startswith("High traffic")]

    assert run("10") == [f"High traffic generated an alert - hits = 24, triggered at {clock_text(T0 + 4)}"]
    assert run("20") == [f"High traffic alert recovered - hits = 18, recovered at {clock_text(T0 + 22)}"]
    assert len(alerts.read_text().splitlines()) == 2
