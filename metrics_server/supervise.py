"""Keep one process running: `python -m metrics_server.supervise [--pid-file F] -- COMMAND ...` (issue 21).

A backend instance that dies (a crash, the kernel's OOM killer, a SIGKILL) used to stay dead until someone ran
`make up` again, so one query of death, replayed by nginx, left the API down. The supervisor starts the command,
and when it exits without having been asked to, starts it again after a short back-off (doubling from 0.5 s to
30 s while it keeps dying young, back to 0.5 s once it has run a minute). Each new start gets the number of
restarts so far in SUPERVISOR_RESTARTS, which the instance exposes as `metrics_server_restarts_total`.

SIGTERM, SIGINT or SIGQUIT (nginx's graceful stop) to the supervisor is passed on to the command, whose exit
ends the supervisor (an instance drains first: run.py). Exit code 2 (invalid configuration) is not retried: it
would fail the same way forever.
The command runs in a process group of its own, and whatever of the group outlives it is killed before it starts
again: nginx's workers outlive a SIGKILLed master, keep its port, and the next master could not bind it.
The command's pid is written to --pid-file at every start, so tools that watch or signal the instance itself
(`make status`, the failure tests) keep working.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RESTARTS_ENV = "SUPERVISOR_RESTARTS"
FIRST_DELAY, MAX_DELAY = 0.5, 30.0
STABLE_AFTER = 60.0  # seconds of running after which a death counts as new, not as part of a crash loop
CONFIG_ERROR = 2


class Supervisor:
    """Runs `command` until asked to stop; `clock` and `sleep` are injected so tests need not wait."""

    def __init__(self, command: list[str], pid_file: Path | None = None, clock=time.monotonic, sleep=time.sleep):
        self.command, self.pid_file, self.clock, self.sleep = command, pid_file, clock, sleep
        self.restarts = 0
        self.stopping = False
        self.child: subprocess.Popen | None = None

    def stop(self, signum: int) -> None:
        """Pass a stop signal on; the running command's exit then ends run()."""
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def run(self) -> int:
        """Start the command, restart it whenever it dies on its own; its exit code once stopped."""
        delay = FIRST_DELAY
        while True:
            started = self.clock()
            self.child = subprocess.Popen(self.command, env={**os.environ, RESTARTS_ENV: str(self.restarts)},
                                          process_group=0)
            if self.pid_file is not None:
                self.pid_file.write_text(str(self.child.pid))
            code = self.child.wait()
            try:
                os.killpg(self.child.pid, signal.SIGKILL)  # what the command left behind (nginx's workers)
            except ProcessLookupError:
                pass
            if self.stopping or code == CONFIG_ERROR:
                return code
            delay = FIRST_DELAY if self.clock() - started >= STABLE_AFTER else min(delay * 2, MAX_DELAY)
            print(f"supervise: {self.command[-1]} exited with {code}; restarting in {delay:.1f} s", file=sys.stderr,
                  flush=True)
            self.sleep(delay)
            if self.stopping:
                return code
            self.restarts += 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m metrics_server.supervise")
    parser.add_argument("--pid-file", type=Path, help="where to write the command's pid at every start")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required")
    supervisor = Supervisor(command, args.pid_file)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, lambda signum, frame: supervisor.stop(signum))
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
