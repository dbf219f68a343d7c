"""Processes tracked by pid file, for everything the project starts itself (the stack's instances and nginx,
Cassandra nodes, the benchmark's peers): is it still running, and stop it (a signal, then SIGKILL)."""
import os
import signal
import time
from pathlib import Path


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
