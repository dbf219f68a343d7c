"""Raw points as chunks in a real Cassandra: many small writes become one chunk per closed hour once the worker
has passed, with the same points as before, the later write of a repeated time still winning."""
import time

from metrics_server.storage.points import OPEN_HOUR_CHUNKS
from metrics_server.storage.registry import series_id

HOUR = 3_600_000
DAY0 = 1_704_067_200_000  # 2024-01-01


def chunks_per_hour(db, name: str, sid: str) -> dict[int, int]:
    rows = db.session.execute(f"SELECT toUnixTimestamp(hour) FROM {db.keyspace}.chunks"
                              f" WHERE metric = %s AND series_id = %s AND bucket = %s", (name, sid, DAY0))
    counts: dict[int, int] = {}
    for (hour,) in rows:
        counts[hour] = counts.get(hour, 0) + 1
    return counts


def raw(client, name: str) -> list[tuple]:
    return [(p["timestamp"], p["value"], p.get("state"))
            for p in client.get(f"/api/metrics/{name}/data", {"start_time": DAY0, "end_time": DAY0 + 3 * HOUR}).json]


def drain(app) -> None:
    while app.extensions["rollups"].run_once():
        pass


def test_small_writes_are_compacted_per_closed_hour_and_read_the_same(client, app, db, name):
    sid = series_id({"host": "a"})
    for minute in range(0, 150, 10):  # one request per point, over hours 0, 1 and 2
        client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": minute,
                                         "timestamp": DAY0 + minute * 60_000}], status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": -1.5,
                                     "timestamp": DAY0 + 20 * 60_000}], status=201)  # rewrites minute 20
    assert chunks_per_hour(db, name, sid) == {DAY0: 7, DAY0 + HOUR: 6, DAY0 + 2 * HOUR: 3}
    before = raw(client, name)
    assert len(before) == 15 and before[2][1] == -1.5

    drain(app)
    assert chunks_per_hour(db, name, sid) == {DAY0: 1, DAY0 + HOUR: 1, DAY0 + 2 * HOUR: 1}
    assert raw(client, name) == before

    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": 99,
                                     "timestamp": DAY0 + 20 * 60_000}], status=201)  # a late rewrite
    drain(app)
    after = raw(client, name)
    assert after[2][1] == 99 and after[:2] == before[:2] and after[3:] == before[3:]
    assert chunks_per_hour(db, name, sid)[DAY0] == 1


def test_states_survive_compaction(client, app, db, name):
    client.post_json("/api/metrics", {"name": name, "type": "enum", "label_keys": []}, status=201)
    for minute, state in enumerate(["up", "down", "up", "degraded"]):
        client.post_json(f"/api/metrics/{name}/data", {"state": state, "timestamp": DAY0 + minute * 60_000},
                         status=201)
    before = raw(client, name)
    drain(app)
    assert chunks_per_hour(db, name, series_id({})) == {DAY0: 1}
    assert raw(client, name) == before and [state for _, _, state in before] == ["up", "down", "up", "degraded"]


def test_the_open_hour_is_compacted_only_when_it_has_many_chunks(client, app, db, name):
    now = int(time.time() * 1000)
    hour = now - now % HOUR
    sid = series_id({})
    day = hour - hour % (24 * HOUR)
    for i in range(OPEN_HOUR_CHUNKS - 1):
        client.post_json("/api/write", [{"name": name, "value": i, "timestamp": hour + i}], status=201)
    drain(app)
    count = sum(1 for _ in db.session.execute(f"SELECT hour FROM {db.keyspace}.chunks WHERE metric = %s"
                                              f" AND series_id = %s AND bucket = %s", (name, sid, day)))
    assert count == OPEN_HOUR_CHUNKS - 1 or hour + HOUR <= int(time.time() * 1000)  # unless the hour closed
    client.post_json("/api/write", [{"name": name, "value": -1, "timestamp": hour + OPEN_HOUR_CHUNKS}], status=201)
    drain(app)
    rows = list(db.session.execute(f"SELECT hour FROM {db.keyspace}.chunks WHERE metric = %s"
                                   f" AND series_id = %s AND bucket = %s", (name, sid, day)))
    assert len(rows) == 1
    assert len(client.get(f"/api/metrics/{name}/data", {"start_time": hour, "end_time": hour + HOUR}).json) == \
        OPEN_HOUR_CHUNKS
