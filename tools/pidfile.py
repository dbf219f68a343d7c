"""Processes tracked by pid file, for everything the project starts itself (the stack's instances and nginx,
Cassandra nodes, the benchmark's peers): is it still running, stop it (a signal, then SIGKILL), and keep it
running under metrics_server.supervise (issue 21: a killed process of `make up` came back only with the next
`make up`)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def running(pid_file: Path, program: str | None = None) -> int | None:
    """The pid in the file while that process runs, else None. A zombie (an exited child of ours) is reaped and
    counts as gone; with `program`, a pid reused by another program counts as gone too (an empty command line is a
    transient read of a process busy mapping memory, and still counts as ours)."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, ProcessLookupError, IndexError):
        return None
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return None
    if program and cmdline and program.encode() not in cmdline:
        return None
    return pid


def stop(pid_file: Path, sig: int = signal.SIGTERM, timeout: float = 30, program: str | None = None) -> bool:
    """Signal the process, wait up to `timeout` for it to exit, then SIGKILL it; False when it was not running.
    The pid file is removed either way."""
    pid = running(pid_file, program)
    if pid is not None:
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while running(pid_file, program) == pid and time.monotonic() < deadline:
            time.sleep(0.1)
        if running(pid_file, program) == pid:
            os.kill(pid, signal.SIGKILL)
            while running(pid_file, program) == pid:
                time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return pid is not None


def supervisor_pid_file(pid_file: Path) -> Path:
    """Where the pid of the supervisor that keeps a process running is kept, beside the process's own."""
    return pid_file.with_suffix(".supervisor.pid")


def supervise(pid_file: Path, command: list[str], log: Path, cwd: Path, env: dict[str, str],
              program: str | None = None) -> int:
    """Start `command` under its supervisor (started again when it dies on its own) unless it already runs, with
    its output appended to `log`; the supervisor writes the process's pid to `pid_file` at every start and keeps
    its own beside it. Returns the process's pid once written (or the supervisor's, if it is slow to start)."""
    keeper = supervisor_pid_file(pid_file)
    supervisor = running(keeper)
    if not supervisor:
        pid = running(pid_file, program)
        if pid:
            return pid
        with open(log, "ab") as out:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "metrics_server.supervise", "--pid-file", str(pid_file), "--", *command],
                cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True).pid
        pid_file.unlink(missing_ok=True)
        keeper.write_text(str(supervisor))
    deadline = time.monotonic() + 30
    while not running(pid_file, program) and running(keeper) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the supervisor has (re)started the process and written its pid
    return running(pid_file, program) or supervisor


def stop_supervised(pid_file: Path, sig: int = signal.SIGTERM, timeout: float = 30,
                    program: str | None = None) -> bool:
    """Stop a process for good, supervised or not: the supervisor passes the signal on and exits with it; then
    the process itself, should it outlive that. False when neither was running."""
    keeper = stop(supervisor_pid_file(pid_file), sig, timeout)
    return stop(pid_file, sig, timeout, program) or keeper
