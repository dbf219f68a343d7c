"""PromQL's aggregation operators, in one table: AGGREGATIONS maps each operator to `fn(members, param, steps)`,
giving (value, present) per step of one group from its members (Series stacked as rows). topk, bottomk and
count_values, which answer series rather than one value per group, are `SELECTIONS`.

Semantics are Prometheus 2.42's (promql/engine.go aggregation): `by` keeps the listed labels, `without` drops
them and the name; sum and avg add members in order, avg as an incremental mean.
"""
import numpy as np

from metrics_server.promql.values import NAME, Series, Vector, go_float, key
from metrics_server.promql.windows import quantile_rows


def grouping(labels: dict, names: tuple[str, ...], without: bool) -> dict:
    """The labels a series' group is known by."""
    if without:
        return {k: v for k, v in labels.items() if k not in names and k != NAME}
    return {k: labels[k] for k in names if labels.get(k, "")}


def stacked(members: list[Series]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([m.values for m in members]), np.array([m.present for m in members])


def total(members, _, steps):
    value = np.zeros(len(steps))
    for m in members:
        value = np.where(m.present, value + m.values, value)
    return value


def average(members, _, steps):
    """Prometheus 2.42's running mean: mean += v/n - mean/n (no overflow of a running sum); an infinite mean
    stays unless a NaN or an infinity of the other sign comes."""
    mean, seen = np.zeros(len(steps)), np.zeros(len(steps))
    with np.errstate(all="ignore"):
        for m in members:
            seen = seen + m.present
            v = m.values
            stays = np.isinf(mean) & ((np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v)))
            step = np.where(seen == 1, v, mean + (v / seen - mean / seen))
            mean = np.where(m.present & ~stays, step, mean)
    return mean


def extreme(ufunc):
    """min/max: NaN only when every member is NaN (Prometheus replaces a NaN by any number)."""
    def run(members, _, steps):
        value = np.full(len(steps), np.nan)
        for m in members:
            value = np.where(m.present, ufunc(value, m.values), value)
        return value
    return run


def count(members, _, steps):
    return sum((m.present.astype(float) for m in members), np.zeros(len(steps)))


def variance(root: bool):
    """stdvar/stddev: Welford's running variance over the members in order, as Prometheus 2.42 adds them."""
    def run(members, _, steps):
        count, mean, total = np.zeros(len(steps)), np.zeros(len(steps)), np.zeros(len(steps))
        with np.errstate(all="ignore"):
            for m in members:
                seen = count + m.present
                delta = m.values - mean
                moved = mean + delta / seen
                total = np.where(m.present, total + delta * (m.values - moved), total)
                mean, count = np.where(m.present, moved, mean), seen
            result = total / count
        return np.sqrt(result) if root else result
    return run


def quantile(members, q, steps):
    values, present = stacked(members)
    return quantile_rows(values.T, present.T, q)


AGGREGATIONS = {
    "sum": total,
    "avg": average,
    "min": extreme(np.fmin),
    "max": extreme(np.fmax),
    "count": count,
    "group": lambda members, _, steps: np.ones(len(steps)),
    "stddev": variance(root=True),
    "stdvar": variance(root=False),
    "quantile": quantile,
}


def ranked(largest: bool):
    """topk/bottomk: per step, the k members of largest (smallest) value, NaN ranked last; labels kept."""
    def run(members, k, steps):
        values, present = stacked(members)
        number = ~np.isnan(values)
        category = np.where(present, np.where(number, 2, 1), 0)  # numbers, then NaN, then absent
        by_value = np.where(number, -values if largest else values, 0.0)
        order = np.lexsort((by_value.T, -category.T), axis=-1)  # per step: members best first
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(members))[None, :].repeat(len(steps), 0), axis=-1)
        limit = np.where(np.isnan(k), 0, np.trunc(np.nan_to_num(k)))
        chosen = present & (rank.T < limit)
        return [Series(m.labels, m.values, chosen[i]) for i, m in enumerate(members)]
    return run


def count_values(members, label, steps):
    """count_values("label", v): per distinct value, a series labelled with it (written as Go writes floats)."""
    out = []
    for m in members:
        for value in np.unique(m.values[m.present]):
            same = m.present & ((m.values == value) | (np.isnan(value) & np.isnan(m.values)))
            labels = {**{k: v for k, v in m.labels.items() if k != label}, label: go_float(float(value))}
            out.append(Series(labels, np.ones(len(steps)), same))
    return out


SELECTIONS = {"topk": ranked(largest=True), "bottomk": ranked(largest=False)}


def aggregate(op: str, series: list[Series], names: tuple[str, ...], without: bool, param, steps) -> Vector:
    """`op by/without (names) (series)` at every step; `param` is k, φ or count_values' label."""
    if op == "count_values":
        series = count_values(series, param, steps)
        names = tuple(n for n in names if n != param) if without else (*names, param)
        op = "count"
    groups: dict[tuple, tuple[dict, list]] = {}
    for s in series:
        labels = grouping(s.labels, names, without)
        groups.setdefault(key(labels), (labels, []))[1].append(s)
    if op in SELECTIONS:
        return Vector([chosen for _, members in groups.values() for chosen in SELECTIONS[op](members, param, steps)
                       if chosen.present.any()], "desc" if op == "topk" else "asc")
    out = []
    for labels, members in groups.values():
        present = np.logical_or.reduce([m.present for m in members])
        out.append(Series(labels, AGGREGATIONS[op](members, param, steps), present))
    return Vector(out)
