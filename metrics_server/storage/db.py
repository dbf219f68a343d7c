"""The Cassandra connection: opened lazily, retried when down, shared by one process's threads."""
import logging
import socket
import threading
import time
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.concurrent import execute_concurrent
from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, RetryPolicy, TokenAwarePolicy
from cassandra.query import BatchStatement, BatchType, PreparedStatement, named_tuple_factory, tuple_factory

from metrics_server.errors import StorageUnavailable, one_line
from metrics_server.limits import check_deadline, has_deadline

log = logging.getLogger(__name__)
READ_PROFILE = "read"
RAW_PROFILE = "raw"
ALL_PROFILE = "all"  # every replica: a read that must see every acknowledged write, whatever the consistency levels
RECONNECT_PAUSE = 2.0
CONCURRENCY = 64  # requests in flight per fan-out: enough to keep a node busy, few enough not to time out
DEADLINE_SLICE = 16 * CONCURRENCY  # reads between two deadline checks (~0.1-0.3 s of them on 2 cores)
# The driver leaves Nagle's algorithm on: a request it writes in two pieces then waits for the server's delayed
# ACK (measured: a 24-row rollup batch took 44 ms instead of 2.7 ms).
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class Database:
    """Owns the driver's Cluster and Session; the app starts without Cassandra and connects when it can."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.keyspace = config["keyspace"]
        self._session: Session | None = None
        self._cluster: Cluster | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._lock = threading.Lock()
        self._last_attempt = 0.0
        self._last_error = ""

    def _profile(self, consistency: str, row_factory=named_tuple_factory) -> ExecutionProfile:
        local_dc = self.config["cassandra_local_dc"] or None
        return ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
            consistency_level=ConsistencyLevel.name_to_value[consistency],
            request_timeout=self.config["cassandra_timeout"],
            retry_policy=RetryPolicy(),
            row_factory=row_factory,
        )

    def _connect(self) -> Session:
        config = self.config
        auth = (PlainTextAuthProvider(config["cassandra_username"], config["cassandra_password"])
                if config["cassandra_username"] else None)
        cluster = Cluster(
            contact_points=config["cassandra"], port=config["cassandra_port"], protocol_version=5,
            auth_provider=auth, sockopts=NO_DELAY, connect_timeout=min(5.0, config["cassandra_timeout"]),
            reconnection_policy=ExponentialReconnectionPolicy(0.5, 5.0),
            execution_profiles={
                EXEC_PROFILE_DEFAULT: self._profile(config["write_consistency"]),
                READ_PROFILE: self._profile(config["read_consistency"]),
                RAW_PROFILE: self._profile(config["read_consistency"], tuple_factory),
                ALL_PROFILE: self._profile("ALL", tuple_factory),
            },
        )
        try:
            session = cluster.connect()
            session.execute("SELECT release_version FROM system.local")
        except Exception:
            cluster.shutdown()
            raise
        self._cluster = cluster
        return session

    @property
    def session(self) -> Session:
        """The live session, connecting now if needed; 503 with the reason while Cassandra is unreachable."""
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is None:
                if time.monotonic() - self._last_attempt < RECONNECT_PAUSE and self._last_error:
                    raise StorageUnavailable(f"Cassandra is unreachable: {self._last_error}")
                self._last_attempt = time.monotonic()
                try:
                    self._session = self._connect()
                    self._last_error = ""
                except Exception as error:
                    self._last_error = one_line(error)
                    log.warning("cannot connect to Cassandra: %s", self._last_error)
                    raise StorageUnavailable(f"Cassandra is unreachable: {self._last_error}") from None
        return self._session

    def prepare(self, cql: str) -> PreparedStatement:
        """A prepared statement, prepared once per process (`{ks}` is the keyspace)."""
        statement = self._prepared.get(cql)
        if statement is None:
            statement = self.session.prepare(cql.format(ks=self.keyspace))
            self._prepared[cql] = statement
        return statement

    def execute_all(self, statements: list[tuple], failure: str, profile=EXEC_PROFILE_DEFAULT,
                    retries: int = 0) -> list:
        """Run (statement, values) pairs concurrently and return their results in order; when any fails (after
        `retries` more tries of the failed ones, for idempotent statements), raise StorageUnavailable with
        `failure` (what the caller could not do), how many failed and the first reason, so that a client is never
        told that something was stored or read when it was not."""
        if not statements:
            return []
        check_deadline()
        results = []
        slice_size = DEADLINE_SLICE if has_deadline() else len(statements)
        for start in range(0, len(statements), slice_size):
            if start:
                check_deadline()  # a query past its deadline stops reading (issue 10: the work went on for minutes)
            results += execute_concurrent(self.session, statements[start:start + slice_size], concurrency=CONCURRENCY,
                                          raise_on_first_error=False, results_generator=False,
                                          execution_profile=profile)
        for _ in range(retries):  # statements the caller knows to be idempotent: the failed ones once more
            again = [position for position, (ok, _) in enumerate(results) if not ok]
            if not again:
                break
            redone = execute_concurrent(self.session, [statements[position] for position in again],
                                        concurrency=CONCURRENCY, raise_on_first_error=False, results_generator=False,
                                        execution_profile=profile)
            for position, result in zip(again, redone):
                results[position] = result
        failures = [result for ok, result in results if not ok]
        if failures:
            raise StorageUnavailable(f"{failure} ({len(failures)} of {len(statements)} Cassandra requests failed): "
                                     f"{one_line(failures[0])}")
        return [result for _, result in results]

    def ping(self) -> dict[str, Any]:
        """Cassandra's answer to a trivial query, for the health check; raises StorageUnavailable."""
        try:
            row = self.session.execute("SELECT release_version, cluster_name FROM system.local",
                                       timeout=min(3.0, self.config["cassandra_timeout"])).one()
            hosts = [host for host in self._cluster.metadata.all_hosts()] if self._cluster else []
        except StorageUnavailable:
            raise
        except Exception as error:
            raise StorageUnavailable(f"Cassandra is unreachable: {one_line(error)}") from None
        return {
            "version": row.release_version, "cluster": row.cluster_name,
            "nodes_up": sum(1 for host in hosts if host.is_up), "nodes": len(hosts),
        }

    def close(self) -> None:
        """Shut the driver down (its threads would otherwise keep the process alive)."""
        if self._cluster is not None:
            self._cluster.shutdown()
        self._session = self._cluster = None
        self._prepared.clear()


def unlogged_batches(pairs: list[tuple], per_batch: int) -> list[tuple[BatchStatement, None]]:
    """(statement, values) pairs in unlogged batches of `per_batch`, ready for execute_all: one request for
    many rows of the same partition (or of a few, where one acknowledgement for all of them is what we want)."""
    batches = []
    for start in range(0, len(pairs), per_batch):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for statement, values in pairs[start:start + per_batch]:
            batch.add(statement, values)
        batches.append((batch, None))
    return batches
