"""Keyspace and tables, created or migrated idempotently: `python -m metrics_server.storage.cql_schema [config.json]`.

Run once per deployment (make up, the compose schema job), not by every instance: concurrent DDL from
several processes can leave Cassandra's nodes disagreeing about the schema.
"""
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from cassandra import InvalidRequest
from cassandra.query import UNSET_VALUE

from metrics_server.config import ConfigError, load_config
from metrics_server.errors import StorageUnavailable
from metrics_server.model import ROLLUP_COLUMNS
from metrics_server.storage import rollups
from metrics_server.storage.db import RAW_PROFILE, Database
from metrics_server.storage.points import HOUR_MS, INSERT, shard_of
from metrics_server.storage.registry import Registry

MIGRATION_PAGE = 1000  # chunks copied at once by migrate_chunks
# How long a schema change may take to reach every node: the driver waits 10 s, and a cluster that has just
# started on a busy machine can take longer, when the next statement would meet a node without the keyspace.
SCHEMA_AGREEMENT_S = 120

TABLES = (
    # One row per metric; the registry every request starts from.
    """CREATE TABLE IF NOT EXISTS {ks}.metrics (
        name text PRIMARY KEY, id uuid, type text, label_keys list<text>, unit text, description text,
        created_at timestamp, retention_days int, partition_hours int, open_labels boolean)""",
    # The series index (storage/series_index.py): every partition per metric and shard (16), so none holds more
    # than a metric's series / 16 rows. The label sets of a metric, for listing and for selectors that name no
    # value:
    """CREATE TABLE IF NOT EXISTS {ks}.series_index (
        metric text, shard int, series_id text, labels frozen<map<text, text>>,
        PRIMARY KEY ((metric, shard), series_id))""",
    # Postings: the series (with their labels) that have a label value, so `host="a"` reads only its own.
    """CREATE TABLE IF NOT EXISTS {ks}.postings (
        metric text, key text, value text, shard int, series_id text, labels frozen<map<text, text>>,
        PRIMARY KEY ((metric, key, value, shard), series_id))""",
    # The values of each label key, for drop-downs and for regex selectors.
    """CREATE TABLE IF NOT EXISTS {ks}.label_values (
        metric text, key text, shard int, value text,
        PRIMARY KEY ((metric, key, shard), value))""",
    # The time buckets in which a metric has points (a row per bucket): what a long range read visits.
    """CREATE TABLE IF NOT EXISTS {ks}.metric_buckets (
        metric text, bucket timestamp,
        PRIMARY KEY (metric, bucket))""",
    # Metrics deleted in the last minute (storage/registry.py): a write that an instance's cache let into one is
    # refused. Rows expire by TTL only, so no tombstone needs to reach every replica (gc_grace 0).
    """CREATE TABLE IF NOT EXISTS {ks}.deleted_metrics (scope text, name text, id uuid, PRIMARY KEY (scope, name))
        WITH gc_grace_seconds = 0""",
    # Data migrations done (by name), so that each runs once per keyspace.
    """CREATE TABLE IF NOT EXISTS {ks}.migrations (name text PRIMARY KEY, done_at timestamp)""",
    # Raw points (storage/points.py): a partition per metric, time bucket and shard of its series (64); a row per
    # hour, series and write holds that write's points of the hour as blobs (storage/codec.py). A series is a
    # slice, every series of an hour is one slice per shard. Retention by TTL; Zstd finds the shuffled blobs' runs.
    """CREATE TABLE IF NOT EXISTS {ks}.sharded_chunks (
        metric text, shard int, bucket timestamp, hour timestamp, series_id text, written timeuuid,
        ts blob, value blob, state blob, buckets blob,
        PRIMARY KEY ((metric, shard, bucket), hour, series_id, written))
        WITH compression = {{'class': 'ZstdCompressor'}}
        AND compaction = {{'class': 'TimeWindowCompactionStrategy',
                           'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}}""",
    # A write's points of a metric and bucket as one row, whatever its series (storage/intake.py), until the rollup
    # worker merges them into chunks and deletes them as one range: tombstones purged soon, as the dirty table's.
    # `changed`: when the bucket's chunks last changed (a merge, a drop, a rollup recomputation), what a read
    # checks before it uses the points it cached (storage/chunk_cache.py), read with the intake rows. Not
    # compressed: its rows live seconds, and compressing them at each flush and compaction, then decompressing
    # them for the merge's read, cost Cassandra about a quarter of its CPU for merging (bench/PROFILE.md, fifth
    # round).
    """CREATE TABLE IF NOT EXISTS {ks}.intake (
        metric text, bucket timestamp, written timeuuid, series text, sizes blob, ts blob, value blob, state blob,
        buckets blob, changed timeuuid static,
        PRIMARY KEY ((metric, bucket), written))
        WITH compression = {{'enabled': 'false'}} AND gc_grace_seconds = 10800
        AND compaction = {{'class': 'SizeTieredCompactionStrategy', 'tombstone_compaction_interval': '60',
                           'unchecked_tombstone_compaction': 'true'}}""",
    # Hourly pre-aggregates of gauges and counters (storage/rollups.py): a row per series and raw partition, its
    # columns by hour as one float64 table, in the chunks' partitions (metric, bucket, shard).
    """CREATE TABLE IF NOT EXISTS {ks}.partition_rollups (
        metric text, shard int, bucket timestamp, series_id text, hours blob,
        PRIMARY KEY ((metric, shard, bucket), series_id))
        WITH compression = {{'class': 'ZstdCompressor'}}""",
    # Raw partitions written since their rollups were last recomputed, a few shard partitions in all.
    """CREATE TABLE IF NOT EXISTS {ks}.dirty (
        shard int, metric text, series_id text, bucket timestamp, marked_at timestamp,
        PRIMARY KEY (shard, metric, series_id, bucket))
        WITH gc_grace_seconds = 600""",
    # The rule groups the API manages (and the rule file loads), in one partition: a few KB each.
    """CREATE TABLE IF NOT EXISTS {ks}.alert_groups (
        scope text, name text, body text, source text, updated_at timestamp,
        PRIMARY KEY (scope, name))""",
    # Every change of a rule group (what it became, null once deleted; who; when), newest first, a partition per
    # group: kept as long as alert_history_days.
    """CREATE TABLE IF NOT EXISTS {ks}.alert_group_changes (
        name text, at timeuuid, action text, body text, actor text,
        PRIMARY KEY (name, at)) WITH CLUSTERING ORDER BY (at DESC)""",
    # Each rule's state (alerts, ActiveAt, last send, no-data memory, health) as JSON, a partition per group.
    """CREATE TABLE IF NOT EXISTS {ks}.alert_state (
        group_name text, rule_key text, state text, updated_at timestamp,
        PRIMARY KEY (group_name, rule_key))""",
    # One evaluator at a time: the row exists while its holder renews it (lightweight transactions + TTL).
    """CREATE TABLE IF NOT EXISTS {ks}.alert_lease (
        name text PRIMARY KEY, holder text, renewed_at timestamp)""",
    # Every transition, a partition per UTC day, newest first; TTL-bounded (alert_history_days).
    """CREATE TABLE IF NOT EXISTS {ks}.alert_history (
        day text, at timestamp, id timeuuid, group_name text, rule_key text, alertname text,
        fingerprint text, labels frozen<map<text, text>>, from_state text, to_state text, value double,
        PRIMARY KEY (day, at, id)) WITH CLUSTERING ORDER BY (at DESC, id ASC)""",
    # Every delivery attempt to Alertmanager or a webhook, a partition per UTC day, kept 7 days.
    """CREATE TABLE IF NOT EXISTS {ks}.alert_deliveries (
        day text, at timestamp, id timeuuid, receiver text, url text, attempt int, ok boolean,
        status int, error text, alerts int, duration_ms double,
        PRIMARY KEY (day, at, id)) WITH CLUSTERING ORDER BY (at DESC, id ASC)""",
    # Saved dashboards, a row each: the definition as JSON, and the version a save must name (compare-and-set).
    """CREATE TABLE IF NOT EXISTS {ks}.dashboards (
        id text PRIMARY KEY, title text, version int, body text, updated_at timestamp)""",
    # Each dashboard's last saves (storage/dashboards.py VERSIONS_KEPT), newest first: its history, to restore from.
    """CREATE TABLE IF NOT EXISTS {ks}.dashboard_versions (
        id text, version int, title text, body text, saved_at timestamp, saved_by text,
        PRIMARY KEY (id, version)) WITH CLUSTERING ORDER BY (version DESC)""",
    # Access control (metrics_server/auth/): only hashes of tokens, passwords, session ids and setup codes.
    """CREATE TABLE IF NOT EXISTS {ks}.api_tokens (
        id text PRIMARY KEY, hash blob, name text, owner text, scopes set<text>, metric_prefixes set<text>,
        created_at timestamp, expires_at timestamp, revoked_at timestamp, last_used_at timestamp)""",
    """CREATE TABLE IF NOT EXISTS {ks}.users (
        name text PRIMARY KEY, password_hash text, scopes set<text>, created_at timestamp)""",
    # Rows written USING TTL: a session or setup code ends by itself.
    """CREATE TABLE IF NOT EXISTS {ks}.sessions (
        id text PRIMARY KEY, hash blob, username text, created_at timestamp)""",
    """CREATE TABLE IF NOT EXISTS {ks}.setup_codes (id text PRIMARY KEY, hash blob, created_at timestamp)""",
    # What each API token made (storage/usage.py), for max_metrics_per_token and max_series_per_token: its totals,
    # and its part of each metric, given back when the metric is deleted.
    """CREATE TABLE IF NOT EXISTS {ks}.token_usage (owner text PRIMARY KEY, metrics counter, series counter)""",
    """CREATE TABLE IF NOT EXISTS {ks}.token_usage_by_metric (
        metric_id uuid, owner text, metrics counter, series counter, PRIMARY KEY (metric_id, owner))""",
)
# Cleared marks are tombstones in a few hot partitions: purge them soon (a mark revived by a lost delete
# only causes one more recomputation, so a short grace period is safe).
MIGRATIONS = (
    """ALTER TABLE {ks}.dirty WITH gc_grace_seconds = 600 AND compaction = {{'class': 'SizeTieredCompactionStrategy',
        'tombstone_compaction_interval': '60', 'unchecked_tombstone_compaction': 'true'}}""",
    # Metrics that wire protocols create accept any label set (model.Metric.open_labels).
    "ALTER TABLE {ks}.metrics ADD IF NOT EXISTS open_labels boolean",
    # A compaction's range tombstone only hides chunks the merged chunk repeats, so one revived by a replica that
    # missed it is harmless: purge them within hours, not the default 10 days (issue 23).
    """ALTER TABLE {ks}.sharded_chunks WITH gc_grace_seconds = 10800 AND compaction = {{
        'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1,
        'unchecked_tombstone_compaction': 'true'}}""",
    # A password change ends the user's sessions begun before it (auth/store.py).
    "ALTER TABLE {ks}.users ADD IF NOT EXISTS password_changed_at timestamp",
    # Who saved a dashboard and the metric prefixes it is limited to (auth: only they or an admin change it).
    "ALTER TABLE {ks}.dashboards ADD IF NOT EXISTS owner text",
    "ALTER TABLE {ks}.dashboards ADD IF NOT EXISTS metric_prefixes set<text>",
    # A bucket's `changed` beside its intake rows (one read for both, issue 22); the chunk_changes table that held
    # it before is no longer read (a cached entry is per process: none outlives the upgrade).
    "ALTER TABLE {ks}.intake ADD IF NOT EXISTS changed timeuuid static",
    # Intake rows uncompressed (see the table above; issue 23).
    "ALTER TABLE {ks}.intake WITH compression = {{'enabled': 'false'}}",
)


def replication_cql(replication: dict[str, Any]) -> str:
    """The replication map as CQL, e.g. {'class': 'SimpleStrategy', 'replication_factor': 3}."""
    return "{" + ", ".join(f"'{key}': {value!r}" if isinstance(value, str) else f"'{key}': {value}"
                           for key, value in replication.items()) + "}"


def run_agreed(session, statement: str) -> None:
    """Run a schema statement and wait until every node agrees on the schema. A node the driver had not yet
    counted in the agreement can still miss what the statement before made: a 3-node test cluster at a load of 15
    answered "Keyspace ... doesn't exist" to the first CREATE TABLE after its CREATE KEYSPACE. Such a statement is
    sent again, a second apart, for up to SCHEMA_AGREEMENT_S; any other refusal stops at once."""
    deadline = time.monotonic() + SCHEMA_AGREEMENT_S
    while True:
        try:
            result = session.execute(statement, timeout=60)
            break
        except InvalidRequest as error:
            if "doesn't exist" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)
    if not result.response_future.is_schema_agreed and not session.cluster.control_connection \
            .wait_for_schema_agreement(wait_time=SCHEMA_AGREEMENT_S):
        raise RuntimeError(f"the nodes did not agree on the schema within {SCHEMA_AGREEMENT_S} s of: {statement}")


def apply_schema(db: Database) -> list[str]:
    """Create what is missing and adjust replication; returns the statements run, in order."""
    ks = db.keyspace
    replication = replication_cql(db.config["replication"])
    statements = [
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {replication}",
        f"ALTER KEYSPACE {ks} WITH replication = {replication}",
        *(table.format(ks=ks) for table in TABLES),
        *(migration.format(ks=ks) for migration in MIGRATIONS),
    ]
    for statement in statements:
        run_agreed(db.session, statement)
    migrate_series_index(db)
    migrate_chunks(db)
    migrate_rollups(db)
    migrate_marks(db)
    return statements


def migrate_series_index(db: Database) -> int:
    """Copy a keyspace's series index of the layout before issue 14 (`series` and `partitions`, one partition
    per metric each) into the sharded tables, once; returns the series copied. The old tables are left as they
    were (nothing reads them any more; drop them when you like)."""
    return once(db, "series_index_v2", {"series", "partitions"}, copy_series_index)


def copy_series_index(db: Database) -> int:
    session, registry = db.session, Registry(db)
    series: dict[str, dict] = defaultdict(dict)
    for row in session.execute(f"SELECT metric, series_id, labels FROM {db.keyspace}.series"):
        series[row.metric][row.series_id] = dict(row.labels or {})
    partitions: dict[str, set] = defaultdict(set)
    for row in session.execute(f"SELECT metric, series_id, toUnixTimestamp(bucket) AS bucket"
                               f" FROM {db.keyspace}.partitions"):
        partitions[row.metric].add((row.series_id, row.bucket))
    copied = 0
    for name in sorted(set(series) | set(partitions)):
        metric = registry.get(name)
        if metric is not None:
            registry.index(metric, series[name], {bucket for _, bucket in partitions[name]})
            copied += len(series[name])
    return copied


def migrate_chunks(db: Database) -> int:
    """Copy the points of the layout before (`chunks`, a partition per series and bucket) into `sharded_chunks`
    once, with their remaining TTLs; returns the chunks copied. The old table is left as it was (unread)."""
    return once(db, "sharded_chunks_v1", {"chunks"}, copy_chunks)


def copy_chunks(db: Database) -> int:
    insert = db.prepare(INSERT)
    rows = db.session.execute(f"SELECT metric, series_id, toUnixTimestamp(bucket), toUnixTimestamp(hour), written,"
                              f" ts, value, state, buckets, TTL(value) FROM {db.keyspace}.chunks")
    copied, page = 0, []
    for metric, sid, bucket, hour, written, ts, value, state, buckets, ttl in rows:
        page.append((insert, (metric, shard_of(sid), bucket, hour, sid, written, ts, value,
                              UNSET_VALUE if state is None else state,
                              UNSET_VALUE if buckets is None else buckets, ttl or 0)))
        if len(page) == MIGRATION_PAGE:
            copied += len(db.execute_all(page, "copying chunks"))
            page = []
    return copied + len(db.execute_all(page, "copying chunks"))


def migrate_rollups(db: Database) -> int:
    """Copy the hourly rollups of the layout before (`rollups`, a row per series and hour) into
    `partition_rollups` once, a row per series and raw partition with the newest write time and the shortest
    TTL of its hours; returns the rows written. The old table is left as it was (unread)."""
    return once(db, "partition_rollups_v1", {"rollups"}, copy_rollups)


def copy_rollups(db: Database) -> int:
    registry = Registry(db)
    hours: dict[tuple, list] = defaultdict(list)
    for row in db.session.execute(f"SELECT metric, series_id, toUnixTimestamp(ts), count, sum, min, max, first,"
                                  f" last, toUnixTimestamp(first_ts), toUnixTimestamp(last_ts), writetime(count),"
                                  f" TTL(count) FROM {db.keyspace}.rollups"):
        metric = registry.get(row[0])
        if metric is not None:
            hours[(metric, row[1], row[2] - row[2] % metric.partition_ms)].append(row[2:])
    store = db.prepare(rollups.STORE)
    statements = []
    for (metric, sid, bucket), rows in hours.items():
        table = np.zeros((len(ROLLUP_COLUMNS), metric.partition_hours))
        for start, *values, _, _ in rows:
            table[:, (start - bucket) // HOUR_MS] = values
        ttls = [ttl for *_, ttl in rows if ttl]
        statements.append((store, (metric.name, shard_of(sid), bucket, sid, table.astype("<f8").tobytes(),
                                   max(row[-2] for row in rows), min(ttls) if ttls else 0)))
    for first in range(0, len(statements), MIGRATION_PAGE):
        db.execute_all(statements[first:first + MIGRATION_PAGE], "copying rollups")
    return len(statements)


def migrate_marks(db: Database) -> int:
    """Move the rollup marks the layout before left in its metric's one shard (of 8) to their series' shard
    once, so that a chart, which reads only its own series' marks, sees them; returns the marks moved."""
    return once(db, "rollup_marks_by_series_v1", set(), move_marks)


def move_marks(db: Database) -> int:
    marks = db.prepare(rollups.MARKS)
    moved = [(shard, metric, sid, bucket, written) for shard in range(rollups.SHARDS)
             for metric, sid, bucket, written in db.session.execute(marks, (shard,), execution_profile=RAW_PROFILE)
             if rollups.shard_of(metric, sid) != shard]
    mark, unmark = db.prepare(rollups.MARK), db.prepare(rollups.UNMARK)
    db.execute_all([(mark, (rollups.shard_of(metric, sid), metric, sid, bucket))
                    for _, metric, sid, bucket, _ in moved], "moving rollup marks")
    db.execute_all([(unmark, (written, shard, metric, sid, bucket))
                    for shard, metric, sid, bucket, written in moved], "moving rollup marks")  # once marked anew
    return len(moved)


def once(db: Database, name: str, old_tables: set[str], copy: Callable[[Database], int]) -> int:
    """A data migration, once per keyspace: `copy` when the layout before left its tables, then the migration
    recorded by name (also where there was nothing to copy); returns what was copied (0 when done before)."""
    session = db.session
    if session.execute(f"SELECT name FROM {db.keyspace}.migrations WHERE name = %s", (name,)).one():
        return 0
    present = {row.table_name for row in session.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (db.keyspace,))}
    copied = copy(db) if old_tables <= present else 0
    session.execute(f"INSERT INTO {db.keyspace}.migrations (name, done_at) VALUES (%s, toTimestamp(now()))",
                    (name,))
    return copied


def apply_when_reachable(db: Database, timeout: float = 300, pause: float = 2) -> None:
    """apply_schema, tried again while Cassandra is unreachable: nodes whose CQL port (or health check) has just
    opened may still time out the first connections on a busy machine (issue 25's first-hour test saw it at a load
    of 36 on 2 cores, the compose test's schema job too). Any other failure stops the job at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return apply_schema(db)
        except StorageUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


def main(argv: list[str]) -> int:
    try:
        config = load_config(argv[0] if argv else None)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    db = Database(config)
    try:
        apply_when_reachable(db)
    except Exception as error:
        print(f"error: cannot apply schema to keyspace {config['keyspace']}: {error}", file=sys.stderr)
        return 1
    finally:
        db.close()
    print(f"schema ready: keyspace {config['keyspace']} with replication {replication_cql(config['replication'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
