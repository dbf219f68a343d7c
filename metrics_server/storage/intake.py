"""Fresh points as intake rows (issue 23): a write stores its points of each metric and time bucket as ONE row,
whatever the number of series, so a request's Cassandra work is a few rows, not a row per series. The rollup
worker later merges a bucket's intake rows into per-series chunks (storage/points.py) and deletes them; reads
merge the intake rows not merged yet with the chunks.

A row holds its series ids (joined by commas), how many points each has, and their times, values and cells as
one chunk each (storage/codec.py), series after series, each series' points by time; values as float64 (a row
lives seconds: finding decimals, which the merged chunks do, is not worth its CPU on every request).

Why an acknowledgement must come within ACK_WITHIN: the worker merges only rows written SETTLE_MS ago and then
deletes every row up to the newest it merged. A row acknowledged after that read would be deleted unmerged; a
write whose rows took longer than ACK_WITHIN is therefore answered 503 (the sender retries) instead of 2xx, so
every acknowledged row was on a quorum of replicas before any read that may delete it (instances' clocks within
a second of each other, as NTP keeps them).

Each intake partition also holds its bucket's `changed` timeuuid (a static column), written anew whenever the
bucket's chunks change (storage/chunk_cache.py): the read of a bucket's intake rows brings it along, and a merge
writes it and deletes the rows it merged in one single-partition batch, which every replica applies whole, so a
read sees both or neither (the rows read and the cached chunks, or the new `changed` and the chunks read)."""
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from cassandra.query import UNSET_VALUE

from metrics_server.storage import codec

INTAKE = ""  # a rollup mark's series id for a metric's intake rows of a bucket (no series has an empty id)
ACK_WITHIN = 5.0  # seconds from a row's timeuuid to its acknowledgement, else the write is answered 503
SETTLE_MS = int((ACK_WITHIN + 1.0) * 1000)  # rows written this long ago are merged (a second for clocks)
RETRY_MS = 30_000  # a merge that could not read every replica is tried again this much later
MAX_ROW_POINTS = 50_000  # 800 kB of columns: far below Cassandra's largest mutation
INSERT = ("INSERT INTO {ks}.intake (metric, bucket, written, series, sizes, ts, value, state, buckets)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?")
# (a partition with no rows but its `changed` answers one row of nulls besides it: `stored` leaves it out)
SELECT = "SELECT written, series, sizes, ts, value{columns} FROM {{ks}}.intake WHERE metric = ? AND bucket = ?"
# A read's intake rows of all its buckets as one request (each row's bucket's `changed`, then its bucket, last),
# where a request per bucket cost the driver and the coordinator a round each: three buckets' reads, median
# 2.85 ms → 1.80 ms in process (a loaded 2-core machine, 300 alternated rounds); and `changed` with them, where
# it was a read of its own after them.
SELECT_BUCKETS = ("SELECT written, series, sizes, ts, value{columns}, changed, toUnixTimestamp(bucket)"
                  " FROM {{ks}}.intake WHERE metric = ? AND bucket IN ?")
CLEAR = "DELETE FROM {ks}.intake WHERE metric = ? AND bucket = ? AND written <= ?"
DROP = "DELETE FROM {ks}.intake WHERE metric = ? AND bucket = ?"
CHANGED = "UPDATE {ks}.intake USING TTL ? SET changed = now() WHERE metric = ? AND bucket = ?"
CHANGES = "SELECT DISTINCT toUnixTimestamp(bucket), changed FROM {ks}.intake WHERE metric = ? AND bucket IN ?"


def encoded(series_ids: list[str], series: np.ndarray, ts: np.ndarray, value: np.ndarray, state: list | None,
            buckets: list | None) -> list[tuple]:
    """Points of one bucket, ordered by series then time, as intake rows' columns (series, sizes, ts, value,
    state, buckets): one row, or one per MAX_ROW_POINTS."""
    rows = []
    for start in range(0, len(ts), MAX_ROW_POINTS):
        part = slice(start, start + MAX_ROW_POINTS)
        ids = series[part]
        starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))  # each series' run
        used, sizes = ids[starts], np.diff(np.append(starts, len(ids)))
        one = np.array([len(ids)])
        cells = [UNSET_VALUE if column is None else codec.encode_cells(column[part]) for column in (state, buckets)]
        rows.append((",".join(series_ids[i] for i in used.tolist()), sizes.astype("<i4").tobytes(),
                     codec.encode_ts(ts[part], one)[0], codec.shuffle(value[part].astype("<f8"), one)[0], *cells))
    return rows


def decoded(row: tuple, extra: tuple[str, ...]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list]:
    """An intake row (written, series, sizes, ts, value, *extra) as its series ids, each one's point count, and
    the points' times, values and extra cells (each a list)."""
    sids = row[1].split(",")
    sizes = np.frombuffer(row[2], dtype="<i4").astype(np.int64)
    count = int(sizes.sum())
    return (sids, sizes, codec.decode_ts([row[3]]), codec.decode_values([row[4]]),
            [codec.decode_cells(cell, count) for cell in row[5:5 + len(extra)]])


def stored(rows: Iterable[tuple]) -> list[tuple]:
    """The intake rows among rows read (a partition holding only its `changed` answers one whose `written` is
    null)."""
    return [row for row in rows if row[0] is not None]


@dataclass
class Piece:
    """One series' points of one intake row, decoded: what a read merges with that series' chunks."""

    written: uuid.UUID
    ts: np.ndarray
    value: np.ndarray
    cells: list[list]  # each extra column's cells


def pieces(rows: Iterable[tuple], wanted, extra: tuple[str, ...]) -> dict[str, list[Piece]]:
    """The points of the series in `wanted` in intake rows (written, series, sizes, ts, value, *extra), per
    series and row: every row's columns decoded at once, then sliced (a read of one series of a metric of many
    costs a membership test per series of each row, not a decoding)."""
    found: dict[str, list[Piece]] = defaultdict(list)
    rows = stored(rows)  # (a driver's result set is iterated once only)
    if not rows:
        return found
    ts, value = codec.decode_ts([row[3] for row in rows]), codec.decode_values([row[4] for row in rows])
    start = 0
    for row in rows:
        ends = np.cumsum(np.frombuffer(row[2], dtype="<i4")).tolist()
        cells = [codec.decode_cells(cell, ends[-1]) for cell in row[5:5 + len(extra)]] if extra else []
        first = 0
        for sid, end in zip(row[1].split(","), ends):
            if sid in wanted:
                found[sid].append(Piece(row[0], ts[start + first:start + end], value[start + first:start + end],
                                        [column[first:end] for column in cells]))
            first = end
        start += ends[-1]
    return found
