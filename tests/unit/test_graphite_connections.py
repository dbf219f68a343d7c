"""The Graphite listener's connections and refused lines (issue 21: 200 idle connections were kept forever, a
thread each; each refused line sent the rest of its batch again): a silent connection is closed after
idle_seconds, past max_connections a new one is closed at once while the others go on, and refused lines cost
halves of their batch, not the whole of it again.
A real listening socket; the sink keeps the lines it is handed (storing them is the ingest path's, tested
against Cassandra in tests/protocols)."""
import socket
import threading
import time

import pytest

from metrics_server.graphite_listener import Counts, Server


class Kept:
    """A sink that keeps what it is handed."""

    def __init__(self):
        self.counts, self.lines = Counts(), []

    def write(self, lines, peer):
        self.lines += lines


@pytest.fixture
def listener():
    made = []

    def start(**limits) -> Server:
        server = Server(("127.0.0.1", 0), Kept(), **limits)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        made.append(server)
        return server

    yield start
    for server in made:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def closed_within(connection: socket.socket, seconds: float) -> float | None:
    """How long until the server closed the connection, or None when it stayed open that long."""
    connection.settimeout(seconds)
    started = time.monotonic()
    try:
        return time.monotonic() - started if connection.recv(1) == b"" else None
    except TimeoutError:
        return None


def test_a_silent_connection_is_closed_after_the_idle_time(listener):
    server = listener(idle_seconds=1.0)
    with socket.create_connection(server.server_address) as talking, \
            socket.create_connection(server.server_address) as silent:
        for _ in range(4):
            talking.sendall(b"a.b 1 1700000000\n")
            time.sleep(0.5)
        took = closed_within(silent, 5)
        assert took is not None and took < 4, took
        talking.sendall(b"a.b 2 1700000001\n")  # the one that talked is still open
    deadline = time.monotonic() + 5
    while len(server.sink.lines) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.sink.lines) == 5


def test_past_max_connections_a_new_connection_is_closed_at_once(listener):
    server = listener(max_connections=2)
    first, second = (socket.create_connection(server.server_address) for _ in range(2))
    time.sleep(0.3)
    with socket.create_connection(server.server_address) as third:
        assert closed_within(third, 3) is not None
    assert closed_within(first, 0.3) is None and closed_within(second, 0.3) is None
    first.close()
    time.sleep(0.5)  # its slot is free again
    with socket.create_connection(server.server_address) as fourth:
        assert closed_within(fourth, 0.5) is None
    second.close()


class Refusing:
    """An intake that refuses the samples of lines holding 'bad', as the ingest rules refuse a sample, and counts
    how many samples it was handed in all."""

    def __init__(self):
        self.handed = self.stored = 0

    def write(self, samples):
        from metrics_server.ingest.samples import BadSample

        self.handed += len(samples.names)
        for where in samples.where:
            if "bad" in where:
                raise BadSample(where, "labels", "refused")
        self.stored += len(samples.names)
        return len(samples.names)


def test_refused_lines_cost_about_log_n_each_not_the_whole_rest_again():
    from metrics_server.graphite_listener import Sink

    intake = Refusing()
    sink = Sink(intake, [], Counts())
    lines = [f"ok.m{i} 1 1700000000" for i in range(4096)]
    for i in range(0, 4096, 4):
        lines[i] = f"bad.m{i} 1 1700000000"
    sink.write(lines, "peer")
    assert (intake.stored, sink.counts.bad) == (3072, 1024)
    print(f"4,096 lines, 1,024 refused: {intake.handed} samples handed to the intake")
    assert intake.handed <= 4096 * 13  # each of 12 levels of halves hands each line once at most
