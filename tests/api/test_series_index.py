"""The series index on a real Cassandra: selectors answered from postings (not by reading every label set),
paged listing, label values, the cache's visibility rules, delete, and the migration from the layout before."""
import pytest
import webtest

from metrics_server.app import create_app
from metrics_server.storage import intake, points
from metrics_server.storage.cql_schema import migrate_series_index
from metrics_server.storage.registry import FEW_ROWS, SHARDS_IN, Registry, series_id, shard_groups
from metrics_server.storage.series_index import SHARDS, Matcher

DAY0 = 1_700_006_400_000

pytestmark = pytest.mark.usefixtures("metrics_dropped")


def write_hosts(client, name, count, dcs=("eu", "us"), ts=DAY0):
    items = [{"name": name, "labels": {"dc": dcs[i % len(dcs)], "host": f"h{i:05d}"}, "timestamps": [ts],
              "values": [float(i)]} for i in range(count)]
    client.post_json("/api/write", items, status=201)


@pytest.fixture
def index_reads(app):
    """The CQL of every index read the app's registry makes (counted, then run on Cassandra as usual)."""
    registry = app.extensions["registry"]
    made = []
    read_each = registry.read_each

    def counting(queries, *args, **kwargs):
        made.extend(cql for cql, _ in queries)
        return read_each(queries, *args, **kwargs)

    registry.read_each = counting
    yield made
    del registry.read_each


def test_an_equality_selector_reads_its_postings_not_every_label_set(client, app, name, index_reads):
    write_hosts(client, name, 300)
    app.extensions["registry"].selections.forget(app.extensions["registry"].get(name).id)
    index_reads.clear()
    body = client.get("/api/query", {"metric": f'{name}{{host="h00007"}}', "start": DAY0, "end": DAY0 + 60_000,
                                     "granularity": "minute"}).json
    assert [line["labels"] for line in body["series"]] == [{"dc": "us", "host": "h00007"}]
    assert index_reads and all("postings" in cql for cql in index_reads) and len(index_reads) == SHARDS // SHARDS_IN


def test_a_selector_with_no_metric_name_reads_every_metrics_postings_together(client, app, name):
    """A nameless PromQL selector visits every metric; their index reads go as one round, not one per metric."""
    names = [f"{name}_{i}" for i in range(3)]
    for each in names:
        write_hosts(client, each, 20)
    registry = app.extensions["registry"]
    for each in names:
        registry.selections.forget(registry.get(each).id)
    rounds = []
    read_each = registry.read_each
    registry.read_each = lambda queries: rounds.append(len(queries)) or read_each(queries)
    try:
        body = client.post("/api/v1/query", {"query": f'{{__name__=~"{name}_.*", host="h00007"}}',
                                             "time": DAY0 / 1000 + 30}).json
    finally:
        del registry.read_each
    assert sorted(found["metric"]["__name__"] for found in body["data"]["result"]) == names
    assert rounds == [3 * SHARDS // SHARDS_IN], rounds


def test_a_selector_of_many_values_reads_their_postings_a_hundred_at_a_time(client, app, name, index_reads):
    write_hosts(client, name, 300)
    index_reads.clear()
    hosts = [f"h{i:05d}" for i in range(0, 300, 2)]
    registry = app.extensions["registry"]
    found = registry.select(registry.get(name), (Matcher("host", "in", tuple(hosts)),), cached=False)
    assert sorted(labels["host"] for _, labels in found) == hosts
    assert len(index_reads) == 2 * SHARDS // SHARDS_IN and all("value IN" in cql for cql in index_reads)


def test_the_check_of_a_cached_selection_of_few_series_reads_every_shard_in_one_request():
    """A selection's index is read SHARDS_IN shards a request (a big metric's rows page one request after another),
    but the check of a cached one of few series, sent beside a query's points, is one request."""
    assert shard_groups() == shard_groups(FEW_ROWS + 1) == [list(range(first, first + SHARDS_IN))
                                                             for first in range(0, SHARDS, SHARDS_IN)]
    assert shard_groups(4) == shard_groups(FEW_ROWS) == [list(range(SHARDS))]


def test_selectors_with_every_operator(app, client, name):
    write_hosts(client, name, 40)
    registry = app.extensions["registry"]
    metric = registry.get(name)

    def hosts(*matchers):
        return [labels["host"] for _, labels in registry.select(metric, matchers, cached=False)]

    assert hosts(Matcher("host", "in", ("h00001", "h00003"))) == ["h00001", "h00003"]
    assert len(hosts(Matcher("dc", "!=", "eu"))) == 20
    assert hosts(Matcher("host", "=~", "h0000[1-3]"), Matcher("dc", "=", "eu")) == ["h00002"]
    assert len(hosts(Matcher("host", "!~", "h0000.*"))) == 30
    assert hosts(Matcher("dc", "=", "mars")) == []
    assert registry.label_values(metric, "dc") == ["eu", "us"]


def test_series_are_listed_in_pages_and_label_values_at_once(client, name):
    write_hosts(client, name, 2_500)
    seen, cursor, pages = [], None, 0
    while True:
        response = client.get(f"/api/metrics/{name}/series", {"limit": 1000, **({"cursor": cursor} if cursor else {})})
        seen += [labels["host"] for labels in response.json]
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert sorted(seen) == [f"h{i:05d}" for i in range(2_500)] and len(seen) == 2_500 and pages in (3, 4)
    assert client.get(f"/api/metrics/{name}/labels/dc/values").json == ["eu", "us"]
    assert client.get(f"/api/metrics/{name}/labels/nope/values", status=404).json["error"].startswith("'nope'")
    small = client.get(f"/api/metrics/{name}/series", {"limit": 5000}).json
    assert small == sorted(small, key=lambda labels: (labels["dc"], labels["host"])) and len(small) == 2_500


def test_a_new_series_is_visible_at_once_where_written_and_within_the_bound_elsewhere(config, db, name):
    def as_admin(app) -> webtest.TestApp:
        client = webtest.TestApp(app)
        client.authorization = ("Bearer", config["admin_token"])
        return client

    writer, other = create_app(config, db=db), create_app(config, db=db)
    write_hosts(as_admin(writer), name, 2)
    reader = as_admin(other)
    assert len(reader.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 60_000}).json["series"]) == 2
    write_hosts(as_admin(writer), name, 3)
    seen_by_writer = as_admin(writer).get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 60_000})
    assert len(seen_by_writer.json["series"]) == 3
    assert len(reader.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 60_000}).json["series"]) == 2
    other.extensions["registry"].selections.seconds = 0  # what CACHE_SECONDS later looks like
    assert len(reader.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 60_000}).json["series"]) == 3


def test_known_series_cost_no_index_work_on_the_write_path(client, app, name, index_reads):
    write_hosts(client, name, 50)
    index_reads.clear()
    write_hosts(client, name, 50)
    assert index_reads == []


def test_delete_removes_points_and_every_index_row(client, app, db, name):
    write_hosts(client, name, 30)
    write_hosts(client, name, 30, ts=DAY0 + 40 * 86_400_000)
    metric = app.extensions["registry"].get(name)
    sids = [sid for sid, _ in app.extensions["registry"].series(metric)]
    assert app.extensions["rollups"].pending(metric, sids)
    deleted = client.delete(f"/api/metrics/{name}").json
    # every chunk partition of both buckets, and their intake rows'
    assert (deleted["deleted_series"], deleted["deleted_partitions"]) == (30, 2 * points.SHARDS + 2)
    assert app.extensions["rollups"].pending(metric, sids) == set()
    for table in ("series_index", "postings", "label_values", "metric_buckets", "sharded_chunks"):
        rows = db.session.execute(f"SELECT * FROM {db.keyspace}.{table} WHERE metric = %s ALLOW FILTERING", (name,))
        assert list(rows) == [], table
    left = db.session.execute(f"SELECT written FROM {db.keyspace}.intake WHERE metric = %s ALLOW FILTERING", (name,))
    assert intake.stored(left) == []  # (each bucket's `changed`, written anew by the drop, stays)
    write_hosts(client, name, 2)
    assert len(client.get(f"/api/metrics/{name}/series").json) == 2


def test_the_index_of_the_layout_before_is_migrated_once(config, db, client, name):
    ks = db.keyspace
    db.session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.series (metric text, series_id text, "
                       f"labels frozen<map<text, text>>, PRIMARY KEY (metric, series_id))")
    db.session.execute(f"CREATE TABLE IF NOT EXISTS {ks}.partitions (metric text, series_id text, bucket timestamp, "
                       f"PRIMARY KEY (metric, series_id, bucket))")
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    labels = {"host": "old-1"}
    db.session.execute(f"INSERT INTO {ks}.series (metric, series_id, labels) VALUES (%s, %s, %s)",
                       (name, series_id(labels), labels))
    db.session.execute(f"INSERT INTO {ks}.partitions (metric, series_id, bucket) VALUES (%s, %s, %s)",
                       (name, series_id(labels), DAY0))
    db.session.execute(f"DELETE FROM {ks}.migrations WHERE name = 'series_index_v2'")
    assert migrate_series_index(db) >= 1
    assert migrate_series_index(db) == 0  # once
    registry = Registry(db)
    metric = registry.get(name)
    assert registry.series(metric) == [(series_id(labels), labels)]
    assert registry.metric_buckets(metric) == [DAY0]
