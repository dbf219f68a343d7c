"""Following one log path as a shipper does: by file identity and offset, through rotation, truncation and restarts.

- A file is known by (device, inode) and a fingerprint of its first bytes; the offset is always just after the last
  complete line read, so a half-written line is read again whole next time.
- rename + create: the path's inode changes. The old file stays open and is drained (nginx keeps writing to it until
  it is told to reopen its logs) until it has been quiet for `grace` seconds; the new file is read from 0.
- copytruncate: the file shrinks below the offset, or its first bytes change (truncated and grown back between two
  polls, or while we were stopped: Promtail's documented miss). The copy, when a sibling named like the log still
  starts with our fingerprint, is read from our offset first, so the lines written between our last read and the
  copy are not lost (the loss rsyslog#2640 calls inherent); then the log is read again from 0.
- A path that does not exist yet is waited for; a file that appears after the start is read from its beginning.
- `state()` / `restore()` carry the positions across restarts; a file rotated while we were stopped is found again
  among its siblings by its inode and drained from the saved offset.
"""
import os
import time
from dataclasses import dataclass
from pathlib import Path

FINGERPRINT = 256


@dataclass
class Open:
    """One open file: identity, read offset, fingerprint, when it last gave data."""

    fd: int
    dev: int
    ino: int
    offset: int
    fingerprint: bytes = b""
    last_data: float = 0.0

    def to_json(self) -> dict:
        return {"dev": self.dev, "ino": self.ino, "offset": self.offset, "fingerprint": self.fingerprint.hex()}


class Follower:
    """Reads the complete lines appended to `path`, in order, across rotations."""

    def __init__(self, path: str | Path, from_start: bool = False, grace: float = 5.0, budget: int = 4 << 20,
                 clock=time.monotonic):
        self.path = Path(path)
        self.from_start, self.grace, self.budget, self.clock = from_start, grace, budget, clock
        self.current: Open | None = None
        self.draining: list[Open] = []
        self.started = False
        self.rotations = self.truncations = 0
        self.notices: list[str] = []  # what happened to the file, for the monitor to print (then cleared)

    def _open(self, path: Path, offset: int | None) -> Open | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        st = os.fstat(fd)
        return Open(fd, st.st_dev, st.st_ino, st.st_size if offset is None else offset,
                    os.pread(fd, FINGERPRINT, 0), self.clock())

    def _read(self, f: Open, final: bool = False) -> bytes:
        """The complete lines after f's offset (up to the budget); with `final`, a trailing unterminated line too."""
        data = os.pread(f.fd, self.budget, f.offset)
        if not data:
            return b""
        end = data.rfind(b"\n") + 1
        if end == 0 and (final or len(data) == self.budget):
            data, end = data + b"\n", len(data)  # an unterminated last line, or one longer than the budget
        elif final and end < len(data):
            data, end = data + b"\n", len(data)
        else:
            data = data[:end]
        f.offset += end
        if len(f.fingerprint) < FINGERPRINT:
            f.fingerprint = os.pread(f.fd, FINGERPRINT, 0)
        f.last_data = self.clock()
        return data

    def _close(self, f: Open) -> None:
        os.close(f.fd)

    def _siblings(self):
        """Files next to the log whose names start like it (access.log.1, access.log-20240101, ...)."""
        try:
            entries = list(os.scandir(self.path.parent))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name != self.path.name and entry.name.startswith(self.path.name) and entry.is_file():
                yield Path(entry.path), entry.stat()

    def _find_copy(self, f: Open) -> Open | None:
        """After a truncation: the copy that starts like the file we were reading and reaches past our offset."""
        for path, st in self._siblings():
            if st.st_size >= f.offset:
                copy = self._open(path, f.offset)
                if copy and f.fingerprint and os.pread(copy.fd, len(f.fingerprint), 0) == f.fingerprint:
                    return copy
                if copy:
                    self._close(copy)
        return None

    def _find_inode(self, dev: int, ino: int, offset: int) -> Open | None:
        for path, st in self._siblings():
            if (st.st_dev, st.st_ino) == (dev, ino):
                return self._open(path, offset)
        return None

    def read(self) -> list[bytes]:
        """One poll: chunks of complete lines, oldest file first; never raises for a missing file. The path is
        checked before reading, so a truncated file is never read at its stale offset."""
        if self.current is None:
            # At start (no saved position) a file that exists is joined at its end unless --from-start;
            # a file that appears later is new, so all of it is read.
            joining = not self.started and not self.from_start
            self.current = self._open(self.path, None if joining else 0)
            if self.current is not None:
                where = f"its end (offset {self.current.offset})" if joining else "its start"
                self.notices.append(f"{self.path}: reading from {where}")
            self.started = True
        else:
            self._check_path()
        chunks = []
        for old in list(self.draining):
            quiet = self.clock() - old.last_data > self.grace
            data = self._read(old, final=quiet)
            if data:
                chunks.append(data)
            if quiet:  # nothing for `grace` seconds, and the last unterminated line (if any) taken: done
                self.notices.append(f"{self.path}: finished the rotated file at offset {old.offset}")
                self._close(old)
                self.draining.remove(old)
        if self.current is not None:
            data = self._read(self.current)
            if data:
                chunks.append(data)
        return chunks

    def _check_path(self) -> None:
        f = self.current
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return  # renamed away, the new file not created yet: keep reading the old one
        if (st.st_dev, st.st_ino) != (f.dev, f.ino):
            self.rotations += 1
            self.draining.append(f)
            self.current = self._open(self.path, 0)
            self.notices.append(f"{self.path}: rotated (a new file); draining the old one from offset {f.offset}, "
                                "reading the new one from its start")
        elif st.st_size < f.offset or (f.fingerprint and os.pread(f.fd, len(f.fingerprint), 0) != f.fingerprint):
            self.truncations += 1
            copy = self._find_copy(f)
            if copy:
                copy.last_data = self.clock()
                self.draining.append(copy)
            self.notices.append(f"{self.path}: truncated at offset {f.offset} (copytruncate); "
                                + ("reading its copy from there, then " if copy else "no copy found; ")
                                + "reading the log again from 0")
            f.offset, f.fingerprint = 0, b""

    @property
    def behind(self) -> int:
        """Bytes written but not read yet (all files)."""
        total = 0
        for f in [*self.draining, *([self.current] if self.current else [])]:
            total += max(os.fstat(f.fd).st_size - f.offset, 0)
        return total

    def state(self) -> dict:
        return {"path": str(self.path), "draining": [f.to_json() for f in self.draining],
                "current": self.current.to_json() if self.current else None}

    def restore(self, saved: dict) -> None:
        """Continue from saved positions: the same file at its offset; a rotated one drained from its offset."""
        self.started = True
        for old in saved.get("draining", []):
            found = self._find_inode(old["dev"], old["ino"], old["offset"])
            if found:
                self.draining.append(found)
                self.notices.append(f"{self.path}: still draining a rotated file from offset {found.offset}")
        cur = saved.get("current")
        if cur is None:
            return
        opened = self._open(self.path, 0)
        fingerprint = bytes.fromhex(cur["fingerprint"])
        if opened and (opened.dev, opened.ino) == (cur["dev"], cur["ino"]):
            opened.fingerprint = fingerprint
            st = os.fstat(opened.fd)
            if st.st_size >= cur["offset"] and os.pread(opened.fd, len(fingerprint), 0) == fingerprint:
                opened.offset = cur["offset"]
                self.notices.append(f"{self.path}: resuming at the saved offset {opened.offset}")
            else:  # truncated while we were stopped
                self.truncations += 1
                gone = Open(-1, cur["dev"], cur["ino"], cur["offset"], fingerprint)
                copy = self._find_copy(gone)
                if copy:
                    self.draining.append(copy)
                self.notices.append(f"{self.path}: truncated while stopped; "
                                    + ("reading its copy from the saved offset, then " if copy else "")
                                    + "reading the log from 0")
                opened.fingerprint = b""
            self.current = opened
            return
        old = self._find_inode(cur["dev"], cur["ino"], cur["offset"])
        if old:
            self.rotations += 1
            self.draining.append(old)
        self.notices.append(f"{self.path}: rotated while stopped; "
                            + (f"draining the old file from the saved offset {old.offset}, then " if old else "")
                            + "reading the log from its start")
        self.current = opened

    def close(self) -> None:
        for f in [*self.draining, *([self.current] if self.current else [])]:
            self._close(f)
        self.draining, self.current = [], None
