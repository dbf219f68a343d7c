"""The Graphite listener of the test stack over a plain socket: bad lines are skipped, counted and logged, the
good lines around them are stored, and the listener keeps taking connections."""
import socket
import time
import uuid

from tests.protocols.conftest import points_of, wait_for


def send(port: int, text: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(text.encode())


def test_bad_lines_are_skipped_and_logged_and_the_good_ones_stored(live_stack):
    name = f"g{uuid.uuid4().hex[:8]}.cpu"
    now = int(time.time())
    send(live_stack.graphite_port, f"{name};host=a 1.5 {now}\ngarbage\n{name} x {now}\nbad..path 1 {now}\n"
                                   f"{name};bad-key=v 1 {now}\n{name};host=b 2.5 -1\n{name};host=c nan {now}\n")
    points = wait_for("the good lines", lambda: len(found := points_of(live_stack.url, name)) == 2 and found)
    assert sorted((point["labels"]["host"], point["value"]) for point in points) == [("a", 1.5), ("b", 2.5)]
    send(live_stack.graphite_port, f"{name};host=d 3 {now}\n")
    wait_for("a line on a new connection", lambda: len(points_of(live_stack.url, name)) == 3)
    log = (live_stack.log_dir / "graphite.log").read_text()
    assert "bad graphite line" in log and "garbage" in log
