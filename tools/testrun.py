"""`make test`'s pytest run: the test layers in groups that run side by side, each group one pytest process on ports
of its own, so that the run takes about as long as its longest group instead of the sum of all.

    python -m tools.testrun [pytest options]        e.g. -x, -k name, -m "not e2e"

Most of a run is waiting (Cassandra starting, containers becoming healthy, agents pushing every few seconds), not
computing, so two groups share the machine's two cores well. The first group runs pytest.ini's testpaths in their
order (the unit layer, then what shares the session's Cassandra and live stack, which tests/api must not meet)
without the other groups' modules; every other group brings up only stacks of its own and runs its modules in
their order. Group n runs with TEST_PORT_OFFSET = the caller's (0 unless set) + 50 n: every test port derives from
it (tests/conftest.py), and offsets 50 apart share no port, nor one of `make up`'s (8080-8084, 9042, 7000, 7199,
2003). Each group's lines are printed as they come, after the group's name, then each group's time and result;
the exit status is the first failing group's.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFSET_STEP = 50
# The groups after the first: modules that start no session Cassandra and share nothing with the first group. The
# heaviest (three Cassandra nodes each: the compose deployment, the failure tests' cluster) run one after the other.
APART: dict[str, tuple[str, ...]] = {
    "own stacks": ("tests/deploy/test_first_hour.py", "tests/bench", "tests/deploy/test_compose_stack.py",
                   "tests/failure"),
}
NO_TESTS = 5  # pytest's exit status when its selection (e.g. -m) leaves nothing in a group: not a failure


@dataclass
class Group:
    name: str
    offset: int
    args: list[str]
    process: subprocess.Popen | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def plan(base_offset: int, options: list[str]) -> list[Group]:
    """The session's group (pytest.ini's testpaths minus the modules apart), then one group per APART entry."""
    apart = [path for paths in APART.values() for path in paths]
    # --deselect, not --ignore: pytest does not ignore a folder that testpaths names
    groups = [Group("session stack", base_offset, [f"--deselect={path}" for path in apart] + options)]
    for number, (name, paths) in enumerate(APART.items(), start=1):
        groups.append(Group(name, base_offset + OFFSET_STEP * number, [*paths, "-p", "no:cacheprovider", *options]))
    return groups


def relay(group: Group, lock: threading.Lock) -> None:
    """Print the group's output line by line, each line after the group's name, and keep pytest's summary lines of
    failing tests, which the report repeats at the end: a CI log shows only its tail."""
    for line in group.process.stdout:
        if line.startswith(("FAILED ", "ERROR ")):
            group.failures.append(line.rstrip())
        with lock:
            sys.stdout.write(f"[{group.name}] {line}")
            sys.stdout.flush()


def watch(group: Group, started: float) -> None:
    group.process.wait()
    group.seconds = time.monotonic() - started


def run(groups: list[Group]) -> int:
    """Start every group, relay their output, wait for all. Each pytest leads a process group of its own; a Ctrl-C
    or a SIGTERM to this runner becomes a SIGINT to each whole group, as a terminal's Ctrl-C, so that every pytest
    (and a program it runs, such as the benchmark) stops what it started."""
    lock, started = threading.Lock(), time.monotonic()
    relays, watchers = [], []
    for group in groups:
        env = {**os.environ, "TEST_PORT_OFFSET": str(group.offset)}
        group.process = subprocess.Popen([sys.executable, "-m", "pytest", *group.args], cwd=ROOT, env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                                         start_new_session=True)
        relays.append(threading.Thread(target=relay, args=(group, lock), daemon=True))
        watchers.append(threading.Thread(target=watch, args=(group, started), daemon=True))
        relays[-1].start()
        watchers[-1].start()

    def interrupt(*_) -> None:
        for group in groups:
            if group.process.poll() is None:
                os.killpg(group.process.pid, signal.SIGINT)
    signal.signal(signal.SIGTERM, interrupt)
    for watcher in watchers:
        while watcher.is_alive():
            try:
                watcher.join()
            except KeyboardInterrupt:
                interrupt()
    for thread in relays:  # a process left running by a test may hold the output open: not waited for long
        thread.join(timeout=10)
    return report(groups, time.monotonic() - started)


def report(groups: list[Group], seconds: float) -> int:
    """Each failing test's summary line, one line per group (offset, exit status, minutes) and the run's; returns
    the first failing status."""
    failing = 0
    for group in groups:
        for line in group.failures:
            print(f"[testrun] {group.name}: {line}")
    for group in sorted(groups, key=lambda g: g.seconds):
        status = group.process.returncode
        failed = status not in (0, NO_TESTS)
        failing = failing or (status if failed else 0)
        print(f"[testrun] {group.name:14} TEST_PORT_OFFSET={group.offset:<5} "
              f"{'FAILED (exit ' + str(status) + ')' if failed else 'passed'} in {group.seconds / 60:.1f} min")
    print(f"[testrun] all groups done in {seconds / 60:.1f} min")
    return failing


def main(argv: list[str]) -> int:
    return run(plan(int(os.environ.get("TEST_PORT_OFFSET", "0")), argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
