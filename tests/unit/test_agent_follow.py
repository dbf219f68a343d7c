"""The follower on real files: appends, both rotations, truncation while away, a missing file, restarts."""
import os

from metrics_server.agents.follow import Follower


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def lines(follower: Follower) -> list[bytes]:
    return b"".join(follower.read()).splitlines()


def append(path, *texts: str) -> None:
    with open(path, "a") as f:
        f.write("".join(texts))


def saved_after_reading(log, text: str) -> dict:
    """A follower's state after reading `text` from the start, the follower then stopped."""
    append(log, text)
    first = Follower(log, from_start=True)
    assert lines(first) == text.encode().splitlines()
    saved = first.state()
    first.close()
    return saved


def test_joins_at_the_end_and_reads_only_complete_lines(tmp_path):
    log = tmp_path / "access.log"
    append(log, "old 1\nold 2\n")
    follower = Follower(log)
    assert lines(follower) == []
    append(log, "new 1\nnew ")
    assert lines(follower) == [b"new 1"]
    append(log, "2\n")
    assert lines(follower) == [b"new 2"]


def test_from_start_reads_what_is_there(tmp_path):
    log = tmp_path / "access.log"
    append(log, "a\nb\n")
    assert lines(Follower(log, from_start=True)) == [b"a", b"b"]


def test_a_file_that_does_not_exist_yet_is_read_from_its_beginning_when_it_appears(tmp_path):
    log = tmp_path / "later" / "access.log"
    follower = Follower(log)
    assert lines(follower) == []
    log.parent.mkdir()
    append(log, "first\n")
    assert lines(follower) == [b"first"]


def test_rename_and_create_drains_the_old_file_then_reads_the_new_one(tmp_path):
    clock = Clock()
    log = tmp_path / "access.log"
    append(log, "")
    follower = Follower(log, grace=5, clock=clock)
    assert lines(follower) == []
    append(log, "1\n")
    assert lines(follower) == [b"1"]
    os.rename(log, tmp_path / "access.log.1")
    append(tmp_path / "access.log.1", "2\n")  # the server still writes to the renamed file until it reopens
    assert lines(follower) == [b"2"]
    append(log, "3\n")
    append(tmp_path / "access.log.1", "4 unterminated")
    assert sorted(lines(follower)) == [b"3"]
    assert follower.rotations == 1 and len(follower.draining) == 1
    append(log, "5\n")
    assert lines(follower) == [b"5"]
    clock.now = 6  # quiet for longer than the grace: the last unterminated line is taken, the old file closed
    assert lines(follower) == [b"4 unterminated"]
    assert lines(follower) == [] and follower.draining == []


def test_copytruncate_reads_the_copy_past_our_offset_then_the_log_from_zero(tmp_path):
    log = tmp_path / "access.log"
    append(log, "")
    follower = Follower(log)
    assert lines(follower) == []
    append(log, "1\n2\n")
    assert lines(follower) == [b"1", b"2"]
    append(log, "3\n")  # written after our last read, before the copy
    (tmp_path / "access.log.1").write_bytes(log.read_bytes())
    with open(log, "r+") as f:
        f.truncate(0)
    append(log, "4\n")
    got = lines(follower) + lines(follower)
    assert got == [b"3", b"4"] or sorted(got) == [b"3", b"4"]
    assert follower.truncations == 1


def test_truncated_and_grown_back_past_the_offset_is_noticed_by_the_fingerprint(tmp_path):
    log = tmp_path / "access.log"
    append(log, "")
    follower = Follower(log)
    assert lines(follower) == []
    append(log, "aaaa 1\n")
    assert lines(follower) == [b"aaaa 1"]
    with open(log, "w") as f:
        f.write("bbbb 1\nbbbb 2\n")  # truncated and rewritten longer between two polls; no copy to be found
    assert lines(follower) == [b"bbbb 1", b"bbbb 2"]
    assert follower.truncations == 1


def test_restart_continues_at_the_saved_offset(tmp_path):
    log = tmp_path / "access.log"
    saved = saved_after_reading(log, "1\n2\n")
    append(log, "3\n")
    second = Follower(log)
    second.restore(saved)
    assert lines(second) == [b"3"]


def test_restart_after_a_rotation_while_stopped_drains_the_rotated_file_first(tmp_path):
    log = tmp_path / "access.log"
    saved = saved_after_reading(log, "1\n")
    append(log, "2\n")
    os.rename(log, tmp_path / "access.log.1")
    append(log, "3\n")
    second = Follower(log)
    second.restore(saved)
    assert lines(second) == [b"2", b"3"]
    assert second.rotations == 1


def test_restart_after_a_copytruncate_while_stopped_reads_the_copy_then_the_log(tmp_path):
    log = tmp_path / "access.log"
    saved = saved_after_reading(log, "line 1\n")
    append(log, "line 2\n")
    (tmp_path / "access.log.1").write_bytes(log.read_bytes())
    log.write_text("line 3 grown back past the old offset\n")
    second = Follower(log)
    second.restore(saved)
    assert lines(second) == [b"line 2", b"line 3 grown back past the old offset"]
    assert second.truncations == 1
