"""Raw points in a real Cassandra: a request's points of a metric as one intake row, merged by the worker into a
chunk per series and hour, read the same before and after, the later write of a repeated time still winning."""
import re
import time

import numpy as np

from metrics_server.query.timeparse import format_iso_array
from metrics_server.storage import codec, intake, points
from metrics_server.storage.cql_schema import migrate_chunks, migrate_marks, migrate_rollups
from metrics_server.storage.intake import INTAKE
from metrics_server.storage.intake import SETTLE_MS as INTAKE_SETTLE_MS
from metrics_server.storage.points import COMPACT_AT, SETTLED_MS
from metrics_server.storage.registry import series_id
from metrics_server.storage.rollups import MARK_CACHE_SECONDS, MARKS_NOW, SETTLE, SHARDS, UNMARK, shard_of

HOUR = 3_600_000
DAY0 = 1_704_067_200_000  # 2024-01-01
YOUNG = 30  # seconds: past the intake marks' wait, short of chunks' SETTLED_MS


def chunks_per_hour(db, name: str, sid: str) -> dict[int, int]:
    rows = db.session.execute(f"SELECT toUnixTimestamp(hour), series_id FROM {db.keyspace}.sharded_chunks"
                              f" WHERE metric = %s AND shard = %s AND bucket = %s", (name, points.shard_of(sid), DAY0))
    counts: dict[int, int] = {}
    for hour, stored_sid in rows:
        assert stored_sid == sid
        counts[hour] = counts.get(hour, 0) + 1
    return counts


def raw(client, name: str) -> list[tuple]:
    return [(p["timestamp"], p["value"], p.get("state"))
            for p in client.get(f"/api/metrics/{name}/data", {"start_time": DAY0, "end_time": DAY0 + 3 * HOUR}).json]


def intake_rows(db, name: str) -> int:
    """The intake rows of DAY0's bucket (not the partition's `changed` alone)."""
    return len(intake.stored(db.session.execute(f"SELECT written FROM {db.keyspace}.intake WHERE metric = %s AND "
                                                "bucket = %s", (name, DAY0))))


def merge_young(app) -> None:
    """Every mark due within YOUNG taken, intake rows settled (INTAKE_SETTLE_MS) but chunks not (SETTLED_MS)."""
    app.extensions["points"].clock = lambda: time.time() + INTAKE_SETTLE_MS / 1000 + 1
    while app.extensions["rollups"].run_once(settle=-YOUNG):
        pass


def test_many_small_writes_are_intake_rows_until_merged_into_a_chunk_an_hour(client, db, name, drain):
    sid = series_id({"host": "a"})
    minutes = [*range(0, 60, 5), *range(60, 60 + 5 * (COMPACT_AT - 1), 5)]
    for minute in minutes:  # one request per point
        client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": minute,
                                         "timestamp": DAY0 + minute * 60_000}], status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": -1.5,
                                     "timestamp": DAY0 + 20 * 60_000}], status=201)  # rewrites minute 20
    assert chunks_per_hour(db, name, sid) == {} and intake_rows(db, name) == len(minutes) + 1
    before = raw(client, name)  # read from the intake rows, the later write of minute 20 winning
    assert len(before) == len(minutes) and before[4][1] == -1.5

    drain()
    assert chunks_per_hour(db, name, sid) == {DAY0: 1, DAY0 + HOUR: 1} and intake_rows(db, name) == 0
    assert raw(client, name) == before

    for minute in (20, 100):  # a late rewrite in hour 0, and a point in hour 1
        client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": 99,
                                         "timestamp": DAY0 + minute * 60_000}], status=201)
    assert raw(client, name)[4][1] == 99  # an intake row written later than the chunk wins
    drain()
    after = raw(client, name)
    assert after[4][1] == 99 and after[:4] == before[:4] and after[5:-1] == before[5:]
    assert after[-1] == (format_iso_array([DAY0 + 100 * 60_000])[0], 99.0, None)
    assert chunks_per_hour(db, name, sid) == {DAY0: 2, DAY0 + HOUR: 2}


def test_a_request_of_many_series_is_one_intake_row_and_reads_the_same_merged(client, db, name, drain):
    """Issue 23: a row per series and request made Cassandra's work grow with series × requests."""
    hosts = [f"h{i}" for i in range(50)]
    for minute in range(3):
        client.post_json("/api/write", [{"name": name, "labels": {"host": host}, "value": i + minute,
                                         "timestamp": DAY0 + minute * 60_000} for i, host in enumerate(hosts)],
                         status=201)
    assert intake_rows(db, name) == 3
    query = {"metric": name, "start": DAY0, "end": DAY0 + HOUR, "width": 60, "agg": "sum"}
    summed = client.get("/api/query", query).json["series"]
    one = client.get("/api/query", {**query, "metric": name + '{host="h7"}'}).json["series"]
    drain()
    assert intake_rows(db, name) == 0 and chunks_per_hour(db, name, series_id({"host": "h7"})) == {DAY0: 1}
    assert client.get("/api/query", query).json["series"] == summed
    assert client.get("/api/query", {**query, "metric": name + '{host="h7"}'}).json["series"] == one


def test_an_acknowledgement_later_than_ack_within_is_a_503_not_a_2xx(client, name, monkeypatch):
    """The merge deletes the rows it read up to the newest: a row acknowledged after that read could be deleted
    unmerged, so a write acknowledged later than ACK_WITHIN is not reported stored."""
    monkeypatch.setattr(intake, "ACK_WITHIN", -1.0)
    answer = client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0}], status=503)
    assert "too late to count as stored" in answer.json["error"]


def test_states_survive_compaction(client, db, name, drain):
    client.post_json("/api/metrics", {"name": name, "type": "enum", "label_keys": []}, status=201)
    states = ["up", "down", "up", "degraded"] * 2
    for minute, state in enumerate(states):
        client.post_json(f"/api/metrics/{name}/data", {"state": state, "timestamp": DAY0 + minute * 60_000},
                         status=201)
    before = raw(client, name)
    drain()
    assert chunks_per_hour(db, name, series_id({})) == {DAY0: 1}
    assert raw(client, name) == before and [state for _, _, state in before] == states


def test_a_partition_is_marked_once_while_this_process_remembers_its_mark(client, app, db, name, drain):
    """Issue 23: a mark per series and request was a second row per chunk; within MARK_CACHE_SECONDS the write
    that follows relies on the mark before, which no worker takes until those writes are acknowledged."""
    sid = series_id({})
    client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0}], status=201)
    key = (shard_of(name, INTAKE), name, INTAKE, DAY0)
    first = db.session.execute(db.prepare(MARKS_NOW), (key[0], [key[1:]])).one()[3]
    client.post_json("/api/write", [{"name": name, "value": 5, "timestamp": DAY0 + 60_000}], status=201)
    assert db.session.execute(db.prepare(MARKS_NOW), (key[0], [key[1:]])).one()[3] == first
    assert SETTLE > MARK_CACHE_SECONDS and app.extensions["rollups"].run_once(settle=SETTLE) == 0
    drain()
    hours = app.extensions["rollups"].read(app.extensions["registry"].get(name), [sid], DAY0, DAY0 + HOUR)[sid]
    assert hours["count"].tolist() == [2] and hours["max"].tolist() == [5.0]


def test_merges_and_compactions_leave_one_range_tombstone_not_one_per_row(client, app, db, name, drain):
    """Issue 23: compaction deleted each merged chunk, and a read of fresh data met thousands of tombstones;
    Cassandra's own trace of the reads counts them."""
    for minute in range(2 * COMPACT_AT - 1):  # as many merges, compacted at the COMPACT_AT-th and the last
        client.post_json("/api/write", [{"name": name, "value": minute, "timestamp": DAY0 + minute * 60_000}],
                         status=201)
        drain()
    sid = series_id({})
    assert chunks_per_hour(db, name, sid) == {DAY0: 1}
    for table, shard in (("sharded_chunks", f" AND shard = {points.shard_of(sid)}"), ("intake", "")):
        result = db.session.execute(f"SELECT ts FROM {db.keyspace}.{table} WHERE metric = %s{shard}"
                                    f" AND bucket = %s", (name, DAY0), trace=True)
        events = [event.description for event in result.get_query_trace(max_wait_sec=10).events]
        counts = [re.search(r"Read (\d+) live rows and (\d+) tombstone cells", text) for text in events]
        live, tombstones = next((int(m[1]), int(m[2])) for m in counts if m)
        assert live == 1 and tombstones <= 2, (table, events)  # the chunk; the intake partition's `changed`


def test_chunks_too_young_to_merge_are_merged_by_a_pass_once_they_are_settled(client, app, db, name):
    """A partition refreshed right after its writes keeps a mark dated for when its chunks can be merged, so a
    backfill of one-point writes does not stay COMPACT_AT rows an hour."""
    for minute in range(COMPACT_AT):
        client.post_json("/api/write", [{"name": name, "value": minute, "timestamp": DAY0 + minute * 60_000}],
                         status=201)
        merge_young(app)
    rollups, sid = app.extensions["rollups"], series_id({})
    metric = app.extensions["registry"].get(name)
    assert chunks_per_hour(db, name, sid) == {DAY0: COMPACT_AT} and rollups.pending(metric, [sid]) == {(sid, DAY0)}
    assert rollups.run_once() == 0  # not before its time
    app.extensions["points"].clock = lambda: time.time() + SETTLED_MS / 1000
    assert rollups.run_once(settle=-SETTLED_MS / 1000 - 1) == 1  # a pass once they are settled
    assert chunks_per_hour(db, name, sid) == {DAY0: 1} and rollups.pending(metric, [sid]) == set()
    assert [p["value"] for p in client.get(f"/api/metrics/{name}/data").json] == list(map(float, range(COMPACT_AT)))


def test_a_mark_set_again_during_a_recompute_survives_its_delete(client, app, db, name, drain):
    rollups, sid = app.extensions["rollups"], series_id({})
    client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0}], status=201)
    metric = app.extensions["registry"].get(name)
    key = (shard_of(name, INTAKE), name, INTAKE, DAY0)
    first = db.session.execute(db.prepare(MARKS_NOW), (key[0], [key[1:]])).one()[3]
    rollups.mark_cache = 0  # the next write marks again, as one through another instance would
    client.post_json("/api/write", [{"name": name, "value": 5, "timestamp": DAY0 + 60_000}], status=201)
    rollups.refresh(metric, INTAKE, DAY0, first)  # a merge that started from the first mark (rows too young) ...
    db.session.execute(db.prepare(UNMARK), (first, *key))  # ... clears only that mark
    assert rollups.pending(metric, [sid]) == {(sid, DAY0)}
    drain()
    assert rollups.pending(metric, [sid]) == set()
    hours = rollups.read(metric, [sid], DAY0, DAY0 + HOUR)[sid]
    assert hours["count"].tolist() == [2] and hours["max"].tolist() == [5.0]


def test_chunks_of_the_layout_before_are_copied_once_with_their_ttl(client, db, name):
    ks = db.keyspace
    db.session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.chunks (metric text, series_id text, bucket timestamp,"
                       f" hour timestamp, written timeuuid, ts blob, value blob, state blob, buckets blob,"
                       f" PRIMARY KEY ((metric, series_id, bucket), hour, written))")
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": 1, "timestamp": DAY0}],
                     status=201)
    sid, times, one = series_id({"host": "a"}), np.array([DAY0 + HOUR, DAY0 + HOUR + 60_000]), np.array([2])
    db.session.execute(f"INSERT INTO {ks}.chunks (metric, series_id, bucket, hour, written, ts, value)"
                       f" VALUES (%s, %s, %s, %s, now(), %s, %s) USING TTL 3600",
                       (name, sid, DAY0, DAY0 + HOUR, codec.encode_ts(times, one)[0],
                        codec.shuffle(np.array([2.5, 3.5]), one)[0]))  # float64, as values were then
    db.session.execute(f"DELETE FROM {ks}.migrations WHERE name = 'sharded_chunks_v1'")
    assert migrate_chunks(db) >= 1
    assert migrate_chunks(db) == 0  # once
    assert [value for _, value, _ in raw(client, name)] == [1.0, 2.5, 3.5]
    ttl = db.session.execute(f"SELECT TTL(value) FROM {ks}.sharded_chunks WHERE metric = %s AND shard = %s"
                             f" AND bucket = %s AND hour = %s", (name, points.shard_of(sid), DAY0, DAY0 + HOUR)).one()
    assert 0 < ttl[0] <= 3600


def test_rollups_of_the_layout_before_are_copied_once_as_a_row_per_partition(client, app, db, name):
    ks = db.keyspace
    db.session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.rollups (metric text, series_id text, resolution text,"
                       f" bucket timestamp, ts timestamp, count bigint, sum double, min double, max double,"
                       f" first double, last double, first_ts timestamp, last_ts timestamp,"
                       f" PRIMARY KEY ((metric, series_id, resolution, bucket), ts))")
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": 1, "timestamp": DAY0}],
                     status=201)
    sid = series_id({"host": "old"})
    for hour, (count, total) in enumerate([(2, 5.0), (1, 7.0)]):
        db.session.execute(f"INSERT INTO {ks}.rollups (metric, series_id, resolution, bucket, ts, count, sum, min,"
                           f" max, first, last, first_ts, last_ts) VALUES (%s, %s, 'hour', %s, %s, %s, %s, 1, 4, 1,"
                           f" 4, %s, %s) USING TTL 3600", (name, sid, DAY0, DAY0 + hour * HOUR, count, total,
                                                          DAY0 + hour * HOUR, DAY0 + hour * HOUR + 60_000))
    db.session.execute(f"DELETE FROM {ks}.migrations WHERE name = 'partition_rollups_v1'")
    assert migrate_rollups(db) >= 1
    assert migrate_rollups(db) == 0  # once
    metric = app.extensions["registry"].get(name)
    hours = app.extensions["rollups"].read(metric, [sid], DAY0, DAY0 + 3 * HOUR, {sid: [DAY0]})[sid]
    assert hours["start"].tolist() == [DAY0, DAY0 + HOUR] and hours["count"].tolist() == [2, 1]
    assert hours["sum"].tolist() == [5.0, 7.0] and hours["last_ts"].tolist() == [DAY0 + 60_000, DAY0 + HOUR + 60_000]


def test_marks_of_the_layout_before_move_once_to_their_series_shard(client, app, db, name, drain):
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": 1, "timestamp": DAY0}],
                     status=201)
    drain()
    rollups, metric, sid = app.extensions["rollups"], app.extensions["registry"].get(name), series_id({"host": "a"})
    old_shard = (shard_of(name, sid) + 1) % SHARDS  # where the layout before kept every mark of a metric
    db.session.execute(f"INSERT INTO {db.keyspace}.dirty (shard, metric, series_id, bucket, marked_at)"
                       f" VALUES (%s, %s, %s, %s, toTimestamp(now()))", (old_shard, name, sid, DAY0))
    assert rollups.pending(metric, [sid]) == set()  # a chart would miss it
    db.session.execute(f"DELETE FROM {db.keyspace}.migrations WHERE name = 'rollup_marks_by_series_v1'")
    assert migrate_marks(db) == 1
    assert migrate_marks(db) == 0  # once
    assert rollups.pending(metric, [sid]) == {(sid, DAY0)}
    assert not db.session.execute(f"SELECT * FROM {db.keyspace}.dirty WHERE shard = %s AND metric = %s",
                                  (old_shard, name)).all()
