"""metrics_server.supervise with real child processes and an injected sleep (no waiting)."""
import signal
import sys
import threading
import time
from pathlib import Path

from metrics_server.supervise import Supervisor

RECORD_AND_DIE = "import os, sys; open(sys.argv[1], 'a').write(os.environ['SUPERVISOR_RESTARTS'] + '\\n'); sys.exit(1)"


def test_a_command_that_dies_is_started_again_with_a_growing_delay_and_its_restarts_counted(tmp_path):
    starts, pid_file, delays = tmp_path / "starts", tmp_path / "child.pid", []
    supervisor = Supervisor([sys.executable, "-c", RECORD_AND_DIE, str(starts)], pid_file)

    def sleep(seconds):
        delays.append(seconds)
        if len(delays) == 3:
            supervisor.stop(signal.SIGTERM)

    supervisor.sleep = sleep
    assert supervisor.run() == 1
    assert starts.read_text().split() == ["0", "1", "2"]
    assert delays == [1.0, 2.0, 4.0]
    assert int(pid_file.read_text()) == supervisor.child.pid


def test_what_a_dead_command_left_behind_is_killed_before_it_starts_again(tmp_path):
    # A master that leaves a worker behind (as a SIGKILLed nginx master leaves its workers, holding its port).
    orphan = tmp_path / "orphan.pid"
    leave_a_worker = ("import subprocess, sys; worker = subprocess.Popen([sys.executable, '-c', "
                      "'import time; time.sleep(60)']); open(sys.argv[1], 'w').write(str(worker.pid)); sys.exit(1)")
    seen_alive = []

    def gone(pid: int) -> bool:  # exited (a zombie until init reaps it holds nothing)
        stat = Path(f"/proc/{pid}/stat")
        return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"

    def sleep(seconds):
        pid = int(orphan.read_text())
        deadline = time.monotonic() + 2  # SIGKILL takes effect within moments
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen_alive.append(not gone(pid))
        supervisor.stop(signal.SIGTERM)

    supervisor = Supervisor([sys.executable, "-c", leave_a_worker, str(orphan)], sleep=sleep)
    assert supervisor.run() == 1 and seen_alive == [False]


def test_a_command_that_ran_a_minute_is_restarted_after_the_shortest_delay(tmp_path):
    clock = iter([0.0, 61.0, 100.0, 200.0]).__next__
    delays = []
    supervisor = Supervisor([sys.executable, "-c", "raise SystemExit(3)"], clock=clock)
    supervisor.sleep = lambda seconds: (delays.append(seconds), supervisor.stop(signal.SIGTERM))
    assert supervisor.run() == 3 and delays == [0.5]


def test_an_invalid_configuration_is_not_retried(tmp_path):
    supervisor = Supervisor([sys.executable, "-c", "raise SystemExit(2)"],
                            sleep=lambda seconds: (_ for _ in ()).throw(AssertionError("restarted")))
    assert supervisor.run() == 2


def test_a_stop_signal_is_passed_on_and_ends_the_supervisor(tmp_path):
    pid_file = tmp_path / "child.pid"
    supervisor = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"], pid_file)
    stopper = threading.Thread(target=lambda: (wait_for(pid_file.exists), supervisor.stop(signal.SIGTERM)))
    stopper.start()
    started = time.monotonic()
    assert supervisor.run() == -signal.SIGTERM and time.monotonic() - started < 10
    stopper.join()


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
