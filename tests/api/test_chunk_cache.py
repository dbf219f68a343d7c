"""The chunk cache (storage/chunk_cache.py) on a real Cassandra: a read asked again is answered from decoded
points kept in the instance, and never with points that a late write, a merge, a compaction or a DELETE of the
metric made stale."""
import time

import pytest

from metrics_server.storage import points
from metrics_server.storage.intake import SETTLE_MS as INTAKE_SETTLE_MS
from metrics_server.storage.points import COMPACT_AT
from metrics_server.storage.registry import series_id

HOUR = 3_600_000
DAY0 = 1_704_067_200_000  # 2024-01-01
YOUNG = 30  # seconds: past the intake marks' wait, short of chunks' SETTLED_MS

pytestmark = pytest.mark.usefixtures("metrics_dropped")


def write(client, name: str, minutes: list[int], value: float) -> None:
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": value,
                                     "timestamp": DAY0 + minute * 60_000} for minute in minutes], status=201)


def read(client, name: str) -> list[tuple]:
    return [(p["timestamp"], p["value"])
            for p in client.get(f"/api/metrics/{name}/data", {"start_time": DAY0, "end_time": DAY0 + 3 * HOUR}).json]


def delete_chunks(db, name: str) -> None:
    """Remove the series' chunks behind the server's back (no `changed`): only a cached read still has them."""
    db.session.execute(f"DELETE FROM {db.keyspace}.sharded_chunks WHERE metric = %s AND shard = %s AND bucket = %s",
                       (name, points.shard_of(series_id({"host": "a"})), DAY0))


def merge_young(app) -> None:
    """Intake rows merged into chunks, chunks too young to compact."""
    app.extensions["points"].clock = lambda: time.time() + INTAKE_SETTLE_MS / 1000 + 1
    while app.extensions["rollups"].run_once(settle=-YOUNG):
        pass
    app.extensions["points"].clock = time.time


def test_a_read_asked_again_is_answered_from_the_cache(client, db, name, drain, app):
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    first = read(client, name)
    assert len(first) == 12 and len(app.extensions["points"].cache) == 1
    delete_chunks(db, name)
    assert read(client, name) == first


def point_reads(db, work) -> list[str]:
    """The CQL of the requests for points (not for the registry, whose cache may have expired) that the driver
    sent Cassandra while `work` ran."""
    sent = []

    def listener(future, *_):
        cql = getattr(getattr(future.query, "prepared_statement", None), "query_string", "")
        if any(f".{table} " in cql for table in ("intake", "sharded_chunks", "chunk_changes")):
            sent.append(cql)
    db.session.add_request_init_listener(listener)
    try:
        work()
    finally:
        db.session.remove_request_init_listener(listener)
    return sent


def test_a_cached_read_is_one_request_its_intake_rows_with_their_buckets_changed(client, db, name, drain, app):
    """The bucket's `changed` comes with its intake rows (a static column of their partition), not in a second
    round trip after them (issue 22: a small PromQL query's fixed cost)."""
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    first = read(client, name)
    write(client, name, [125], 2.0)  # an intake row not merged yet, read beside the cached chunks
    assert len(point_reads(db, lambda: read(client, name))) == 1
    assert read(client, name) == [*first, ("2024-01-01T02:05:00Z", 2.0)]


def test_a_metric_with_a_retention_is_never_cached(client, db, name, drain, app):
    """Cassandra expires such a metric's points by TTL, which moves no `changed`: a cached copy would outlive them."""
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"], "retention_days": 30}, status=201)
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    assert len(read(client, name)) == 12 and len(app.extensions["points"].cache) == 0
    delete_chunks(db, name)  # as the TTL would
    assert read(client, name) == []


def test_a_late_write_merged_into_chunks_is_read_not_the_cached_points(client, name, drain):
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    before = read(client, name)
    write(client, name, [5, 20], 7.0)  # a new time and a rewritten one, in the cached hour
    assert len(read(client, name)) == 13  # from the intake row
    drain()  # merged into a chunk, the intake row deleted: the cached points are stale
    after = read(client, name)
    assert len(after) == 13 and after[1][1] == 7.0 and after[3][1] == 7.0
    assert [point for point in after if point[1] == 1.0] == [point for point in before if point[0] != after[3][0]]


def test_a_compaction_leaves_the_answer_as_it_was(client, db, app, name, drain):
    for minute in range(COMPACT_AT):  # COMPACT_AT chunks in hour 0: compacted by the next settled pass
        write(client, name, [minute], float(minute))
        merge_young(app)
    before = read(client, name)
    drain()
    rows = db.session.execute(f"SELECT count(*) FROM {db.keyspace}.sharded_chunks WHERE metric = %s AND shard = %s"
                              " AND bucket = %s", (name, points.shard_of(series_id({"host": "a"})), DAY0)).one()[0]
    assert rows == 1 and read(client, name) == before == [(before[0][0], 0.0), *before[1:]]
    delete_chunks(db, name)  # the entry filled before the compaction still answers
    assert read(client, name) == before


def test_a_metric_deleted_and_made_again_shares_no_cached_points(client, name, drain):
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    assert len(read(client, name)) == 12
    client.delete(f"/api/metrics/{name}", status=200)
    write(client, name, [30], 2.0)
    assert [value for _, value in read(client, name)] == [2.0]
    drain()
    assert [value for _, value in read(client, name)] == [2.0]


def test_a_dropped_bucket_is_not_read_from_the_cache(client, app, name, drain):
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    assert len(read(client, name)) == 12
    metric = app.extensions["registry"].get(name)
    app.extensions["points"].drop(metric, [DAY0])  # same metric, same id: only `changed` tells
    assert read(client, name) == []


def hourly_avg(client, name: str) -> list[float]:
    """avg_over_time of whole hours: answered from the hourly rollups."""
    result = client.get("/api/v1/query_range", {"query": f"avg_over_time({name}[1h])", "start": (DAY0 + HOUR) / 1000,
                                                "end": (DAY0 + 2 * HOUR) / 1000, "step": 3600}).json["data"]["result"]
    return [float(value) for _, value in result[0]["values"]] if result else []


def test_cached_hours_give_way_to_their_recomputation(client, db, app, name, drain):
    write(client, name, list(range(0, 120, 10)), 1.0)
    drain()
    assert hourly_avg(client, name) == [1.0, 1.0]
    db.session.execute(f"DELETE FROM {db.keyspace}.partition_rollups WHERE metric = %s AND shard = %s AND bucket = %s",
                       (name, points.shard_of(series_id({"host": "a"})), DAY0))
    assert hourly_avg(client, name) == [1.0, 1.0]  # from the cache
    delete_chunks(db, name)  # then the hours recomputed from what is left: nothing
    app.extensions["rollups"].refresh(app.extensions["registry"].get(name), series_id({"host": "a"}), DAY0,
                                      int(time.time() * 1_000_000))
    assert hourly_avg(client, name) == []
