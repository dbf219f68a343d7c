"""What each API token has made, for the per-token creation caps (issue 21: with no cap, one token created
2,000 metrics in a write, and every selector across names paid for each of them from then on).

Two Cassandra counter tables: a token's totals (read when a write would create something), and what it made in
each metric, so that deleting a metric gives each token back what it made there. Counters are not
compare-and-set: concurrent writes of one token may pass a cap by what they create between them, which the
per-request limits bound (max_new_metrics_per_request, max_new_series_per_request)."""
import uuid
from dataclasses import dataclass

from metrics_server.storage.db import Database


@dataclass(frozen=True)
class Made:
    """Metrics and series a token made (or would make)."""

    metrics: int = 0
    series: int = 0


class Usage:
    def __init__(self, db: Database):
        self.db = db

    def totals(self, owner: str) -> Made:
        """What `owner` ('token:<id>') has made and not seen deleted: one single-row read."""
        row = self.db.session.execute(self.db.prepare(
            "SELECT metrics, series FROM {ks}.token_usage WHERE owner = ?"), (owner,)).one()
        return Made(row.metrics or 0, row.series or 0) if row else Made()

    def add(self, owner: str, made: dict[uuid.UUID, Made]) -> None:
        """Count what `owner` made, per metric id, into its totals."""
        per_metric = self.db.prepare("UPDATE {ks}.token_usage_by_metric SET metrics = metrics + ?, "
                                     "series = series + ? WHERE metric_id = ? AND owner = ?")
        statements = [(per_metric, (part.metrics, part.series, metric_id, owner))
                      for metric_id, part in made.items() if part.metrics or part.series]
        total = Made(sum(part.metrics for part in made.values()), sum(part.series for part in made.values()))
        if total.metrics or total.series:
            statements.append((self.db.prepare("UPDATE {ks}.token_usage SET metrics = metrics + ?, "
                                               "series = series + ? WHERE owner = ?"),
                               (total.metrics, total.series, owner)))
        self.db.execute_all(statements, f"counting what {owner} made")

    def forget(self, metric_id: uuid.UUID) -> None:
        """A metric is deleted: each token that made something in it gets that back."""
        rows = list(self.db.session.execute(self.db.prepare(
            "SELECT owner, metrics, series FROM {ks}.token_usage_by_metric WHERE metric_id = ?"), (metric_id,)))
        back = self.db.prepare("UPDATE {ks}.token_usage SET metrics = metrics - ?, series = series - ? "
                               "WHERE owner = ?")
        self.db.execute_all([(back, (row.metrics or 0, row.series or 0, row.owner)) for row in rows],
                            "giving back a deleted metric's counts")
        self.db.session.execute(self.db.prepare(
            "DELETE FROM {ks}.token_usage_by_metric WHERE metric_id = ?"), (metric_id,))
