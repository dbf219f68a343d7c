"""From a validated batch to stored points: per-type rules, label checks, auto-created metrics."""
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from metrics_server.errors import ApiError, Conflict
from metrics_server.ingest.columns import Batch, absent
from metrics_server.model import POINT_END_MS, POINT_MIN_MS, REQUIRED_FIELD, Metric, iso
from metrics_server.storage.points import Points, PointStore
from metrics_server.storage.registry import Registry
from metrics_server.storage.rollups import Rollups
from metrics_server.storage.usage import Made, Usage


def item_error(index: int | None, field: str, message: str) -> ApiError:
    """A 400 naming the item's index (in a batch) and field."""
    where = f"{index}.{field}" if index is not None else field
    return ApiError(f"{where}: {message}" if index is not None else message, 400, index=index, field=field)


def given(batch: Batch, field: str, positions: np.ndarray) -> np.ndarray:
    """Which of the points at `positions` have `field` (value, state or buckets)."""
    if field == "value":
        return ~absent(batch.value[positions])
    column = getattr(batch, field)
    if column is None:
        return np.zeros(len(positions), dtype=bool)
    return np.array([column[i] is not None for i in positions.tolist()], dtype=bool)


def made_by(metric: Metric) -> str:
    """Who made the metric a write clashes with, and the ways out (issue 25: two programs both called their metric
    http_requests, and the second one's 400 did not say why)."""
    origin = f'described as "{metric.description}"' if metric.description else "made by a write of its first point"
    return (f" ('{metric.name}': a {metric.type} created {iso(metric.created_at)}, {origin}; send what it takes, "
            f"write under another name, or delete it first: DELETE /api/metrics/{metric.name})")


def check(metric: Metric, batch: Batch, positions: np.ndarray, indexed: bool, codes: np.ndarray,
          used: np.ndarray) -> None:
    """Refuse the first point (in request order) that breaks its metric's rules, with the first rule it breaks:
    exactly its label keys (any, when its labels are open), the field its type requires, no field of another type,
    a time reads cover. `codes`: the points' label sets (batch.labels[positions]); `used`: those, each once, in
    order."""
    if metric.open_labels:
        wrong_labels = np.zeros(len(positions), dtype=bool)
    else:
        keys = set(metric.label_keys)
        wrong = np.array([set(batch.label_sets[code]) != keys for code in used.tolist()], dtype=bool)
        wrong_labels = wrong[np.searchsorted(used, codes)]
    required = REQUIRED_FIELD[metric.type]
    # (where the rule is broken, field, message, whether it names who made the metric): made_by formats a time,
    # so it is worded only for the rule broken (this runs per metric of every write)
    problems = [(wrong_labels, "labels", f"Labels must contain exactly these keys: {list(metric.label_keys)}", True),
                (~given(batch, required, positions), required, f"required for {metric.type} metrics", True)]
    problems += [(given(batch, other, positions), other, f"not allowed for {metric.type} metrics", True)
                 for other in ("state", "buckets") if other != required]
    ts = batch.ts[positions]
    problems.append(((ts < POINT_MIN_MS) | (ts >= POINT_END_MS), "timestamp",
                     "expected a time from 1970-01-01T00:00:00Z up to 2200-01-01T00:00:00Z (what reads cover)", False))
    found = [(int(np.argmax(bad)), rule) for rule, (bad, _, _, _) in enumerate(problems) if bad.any()]
    if found:
        first, rule = min(found)
        _, field, message, blame = problems[rule]
        raise item_error(batch.item(int(positions[first])) if indexed else None, field,
                         message + made_by(metric) if blame else message)


def points_of(metric: Metric, batch: Batch, positions: np.ndarray,
              indexed: bool = True) -> tuple[dict[str, dict], Points]:
    """The batch's points at `positions` as points of `metric`, with the label sets they use; raises a 400 that
    names the first bad item (by its index in the request when `indexed`)."""
    codes = batch.labels[positions]
    used = np.unique(codes)
    check(metric, batch, positions, indexed, codes, used)
    labels_by_series = {batch.series_ids[code]: batch.label_sets[code] for code in used.tolist()}
    series = {sid: position for position, sid in enumerate(labels_by_series)}
    series_of_used = np.array([series[batch.series_ids[code]] for code in used.tolist()], dtype=np.int64)

    def column(values: list | None) -> list | None:
        return None if values is None else [values[i] for i in positions.tolist()]

    return labels_by_series, Points(
        series=list(series), series_index=series_of_used[np.searchsorted(used, codes)], ts=batch.ts[positions],
        value=batch.value[positions], state=column(batch.state), buckets=column(batch.buckets))


def new_gauge(name: str, labels: dict[str, str], config: dict, index: int | None = None) -> Metric:
    """The gauge /api/write creates for an unknown name, its label keys taken from its first item (at most
    max_label_names_per_series of them: a write once created a metric with 100,000 label keys)."""
    most = config["max_label_names_per_series"]
    if len(labels) > most:
        raise item_error(index, "labels", f"{len(labels)} label names (at most {most}, max_label_names_per_series)")
    return Metric(name=name, type="gauge", label_keys=tuple(sorted(labels)),
                  partition_hours=config["partition_hours"], retention_days=config["default_retention_days"])


def check_buckets(batch: Batch, config: dict, indexed: bool = True) -> None:
    """Refuse a histogram point with more buckets than max_buckets_per_point (one with 100,000 was accepted, and
    its heatmap built a 1.15 GB grid)."""
    most = config["max_buckets_per_point"]
    for position, buckets in enumerate(batch.buckets or ()):
        if buckets is not None and len(buckets) > most:
            message = f"{len(buckets)} buckets (at most {most}, max_buckets_per_point)"
            if not indexed:
                raise ApiError(f"buckets: {message}", 400, field="buckets")
            raise item_error(batch.item(position), "buckets", message)


@dataclass(frozen=True)
class Quota:
    """The API token a write is charged to, for max_metrics_per_token and max_series_per_token (a signed-in user,
    the configured admin token and the local Graphite listener make what they make uncounted)."""

    usage: Usage
    owner: str

    @classmethod
    def of(cls, usage: Usage, owner: str) -> "Quota | None":
        """The quota of whoever made something ('token:<id>', 'session:<user>', ...): only API tokens have one."""
        return cls(usage, owner) if owner.startswith("token:") else None

    def check(self, made: Made, config: dict) -> None:
        """A 400 naming the cap when what the token has made plus `made` passes it; no read when `made` is
        nothing (known series cost nothing)."""
        if not made.metrics and not made.series:
            return
        has = self.usage.totals(self.owner)
        for kind, field, adds, held in (("metrics", "name", made.metrics, has.metrics),
                                        ("series", "labels", made.series, has.series)):
            most = config[f"max_{kind}_per_token"]
            if most and adds and held + adds > most:
                raise ApiError(f"{field}: {self.owner} has made {held} {kind} and the request adds {adds} (at most "
                               f"{most}, max_{kind}_per_token); delete what is no longer needed, or raise the "
                               f"limit", 400, field=field, **{kind: held})


def admit(registry: Registry, plan: list[tuple[Metric, dict, Points]], config: dict,
          quota: Quota | None = None) -> dict[str, Made]:
    """Refuse a write that would create more new metrics than max_new_metrics_per_request (2,000 in one write took
    19 s, and every selector across names pays for each), more new series than max_new_series_per_request, or
    take a metric past max_series_per_metric (a 400 naming the limit: nothing of the request is stored, nothing
    dropped silently), or take the request's token past its caps (`quota`). Known series cost nothing here; new
    ones one index look-up per 100. Returns what the request makes, by metric name, for `record`."""
    created = [metric.name for metric, _, _ in plan if registry.get(metric.name) is None]
    if len(created) > config["max_new_metrics_per_request"]:
        raise ApiError(f"name: the request would create {len(created)} new metrics (at most "
                       f"{config['max_new_metrics_per_request']}, max_new_metrics_per_request); define them first, "
                       f"or check for a name that takes a new value per point", 400, field="name",
                       new_metrics=len(created))
    new = {metric.name: registry.unknown_series(metric, list(labels)) if metric.name not in created
           else list(labels) for metric, labels, _ in plan}  # a metric this request creates has only new series
    total = sum(len(sids) for sids in new.values())
    if total > config["max_new_series_per_request"]:
        raise ApiError(f"labels: the request would create {total} new series (at most "
                       f"{config['max_new_series_per_request']}, max_new_series_per_request); send them in "
                       f"smaller requests, or check for a label that takes a new value per point", 400,
                       field="labels", new_series=total)
    exact_from = config["max_series_per_metric"] - config["max_new_series_per_request"]  # one request's worth
    for metric, _, _ in plan:
        if new[metric.name]:
            count = registry.series_count(metric, exact_from)
            if count + len(new[metric.name]) > config["max_series_per_metric"]:
                raise ApiError(f"labels: metric '{metric.name}' has {count} series and the request adds "
                               f"{len(new[metric.name])} (at most {config['max_series_per_metric']}, "
                               f"max_series_per_metric); drop a label that takes a new value per series, or raise "
                               f"the limit", 400, field="labels", series=count)
    made = {name: Made(int(name in created), len(sids)) for name, sids in new.items()}
    if quota is not None:
        quota.check(Made(len(created), total), config)
    return made


def record(quota: Quota | None, plan: list[tuple[Metric, dict, Points]], made: dict[str, Made]) -> None:
    """Charge what a stored write made to its token (by the ids of the metrics as stored)."""
    if quota is not None:
        quota.usage.add(quota.owner, {metric.id: made[metric.name] for metric, _, _ in plan})


def save(store: PointStore, rollups: Rollups, plan: list[tuple[Metric, dict, Points]]) -> int:
    """Store points, then mark their partitions for rollup recomputation; returns the points stored. A metric
    deleted while this process still had it cached refuses the write (409), and the points it took are dropped
    again, so they never reappear in a metric of that name created later."""
    touched = store.write(plan)
    deleted = store.registry.deleted([metric for metric, _, _ in plan])
    if deleted:
        for metric in deleted:
            if store.registry.get(metric.name, fresh=True) is None:  # (not created anew meanwhile)
                store.drop_partitions(metric, {(sid, bucket) for of, sid, bucket in touched if of is metric})
        raise Conflict(f"name: metric '{deleted[0].name}' was deleted while this request was written; its points "
                       f"were not kept (send them again to create it anew)", field="name")
    rollups.mark(touched)
    return sum(len(points) for _, _, points in plan)


def write_batch(registry: Registry, store: PointStore, rollups: Rollups, batch: Batch, config: dict,
                new_metric: Callable[[str, dict[str, str], dict, int | None], Metric] = new_gauge,
                quota: Quota | None = None) -> int:
    """Check a whole batch across metrics, then store it: nothing is written when any item is bad. An unknown
    name becomes `new_metric(name, its first item's labels, config, that item's index)`: a gauge for /api/write.
    What it makes is charged to `quota`'s token."""
    groups = batch.by_name()
    plan = []
    for name, positions in groups:
        metric = registry.get(name)
        if metric is None:
            if not config["auto_create_metrics"]:
                raise item_error(batch.item(int(positions[0])), "name",
                                 f"unknown metric '{name}' (auto_create_metrics is off)")
            metric = new_metric(name, batch.label_sets[batch.labels[positions[0]]], config,
                                batch.item(int(positions[0])))
        plan.append((metric, *points_of(metric, batch, positions)))
    check_buckets(batch, config)
    made = admit(registry, plan, config, quota)
    for position, ((metric, labels, points), (_, positions)) in enumerate(zip(plan, groups)):
        if registry.get(metric.name) is None:
            _, stored = registry.create(metric)
            if stored.id != metric.id:  # another write created it first: it made the metric, not this one
                points_of(stored, batch, positions)
                made[metric.name] = Made(0, made[metric.name].series)
            plan[position] = (stored, labels, points)
    stored = save(store, rollups, plan)
    record(quota, plan, made)
    return stored
