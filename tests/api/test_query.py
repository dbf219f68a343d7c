"""/api/query against pandas on the same raw points: aggregates, gaps as null, M4 in chart mode, CSV = JSON."""
import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DAY0 = 1_700_006_400_000  # 2023-11-15T00:00:00Z
HOUR = 3_600_000


def write(client, name, ts_ms, values, labels=None):
    items = [{"name": name, "labels": labels or {}, "value": float(v), "timestamp": int(t)}
             for t, v in zip(ts_ms, values)]
    for start in range(0, len(items), 10_000):
        client.post_json("/api/write", items[start:start + 10_000], status=201)


def expected(ts_ms, values, rule, how, start, end):
    series = pd.Series(values, index=pd.to_datetime(ts_ms, unit="ms", utc=True))
    resampled = series.resample(rule, origin="epoch")
    full = pd.date_range(pd.Timestamp(start, unit="ms", tz="UTC"), pd.Timestamp(end - 1, unit="ms", tz="UTC")
                         .floor(rule), freq=rule)
    counts = resampled.count().reindex(full, fill_value=0)
    return getattr(resampled, how)().reindex(full).where(counts > 0)


def test_hourly_averages_equal_pandas_with_missing_hours_as_null(client, name):
    rng = np.random.default_rng(7)
    ts = np.arange(DAY0, DAY0 + 2 * 24 * HOUR, 60_000)
    outage = (ts >= DAY0 + 5 * HOUR) & (ts < DAY0 + 8 * HOUR)
    ts = ts[~outage]
    values = 50 + 20 * np.sin(ts / 86_400_000 * 2 * np.pi) + rng.normal(0, 3, len(ts))
    write(client, name, ts, values)
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 2 * 24 * HOUR,
                                     "granularity": "hour", "agg": "avg"}).json
    (series,) = body["series"]
    got = [value for _, value in series["points"]]
    want = expected(ts, values, "1h", "mean", DAY0, DAY0 + 2 * 24 * HOUR)
    assert len(got) == 48 and [t for t, _ in series["points"]] == [DAY0 + i * HOUR for i in range(48)]
    assert got[5:8] == [None, None, None]
    np.testing.assert_allclose([np.nan if v is None else v for v in got], want.to_numpy(), rtol=0, atol=1e-9)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(points=st.lists(st.tuples(st.integers(0, 6 * HOUR - 1), st.floats(-1e6, 1e6, allow_nan=False)),
                       min_size=1, max_size=300, unique_by=lambda point: point[0]),
       agg=st.sampled_from(["avg", "min", "max", "sum", "count", "first", "last"]))
def test_aggregates_equal_pandas_on_random_points(client, points, agg):
    name = f"prop_{abs(hash((tuple(points), agg))) % 10**12}"
    client.delete(f"/api/metrics/{name}", status="*")
    ts = np.array([DAY0 + offset for offset, _ in points])
    values = np.array([value for _, value in points])
    write(client, name, ts, values)
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 6 * HOUR,
                                     "granularity": "minute", "agg": agg}).json
    got = np.array([np.nan if v is None else v for _, v in body["series"][0]["points"]])
    how = {"avg": "mean"}.get(agg, agg)
    want = expected(ts, values, "1min", how, DAY0, DAY0 + 6 * HOUR).to_numpy(dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_chart_mode_ships_m4_within_four_values_per_pixel(client, name):
    ts = np.arange(DAY0, DAY0 + 24 * HOUR, 10_000)
    values = np.sin(ts / 1e7) * 100
    values[5000] = 10_000  # a spike that must survive binning
    write(client, name, ts, values)
    width = 200
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 24 * HOUR, "width": width}).json
    (series,) = body["series"]
    shipped = sum(len(series[key]) for key in ("points", "min", "max", "first", "last"))
    assert shipped <= 4 * width
    assert max(series["max"]) == 10_000
    starts = np.array([t for t, _ in series["points"]])
    index = np.searchsorted(starts, ts, side="right") - 1
    frame = pd.DataFrame({"bin": index, "value": values}).groupby("bin")["value"]
    assert series["min"] == frame.min().tolist() and series["max"] == frame.max().tolist()
    assert series["first"] == frame.first().tolist() and series["last"] == frame.last().tolist()


def test_csv_equals_json_and_group_by_merges_series(client, name):
    ts = np.arange(DAY0, DAY0 + 3 * HOUR, 60_000)
    for host, dc, offset in (("a", "eu", 0), ("b", "eu", 10), ("c", "us", 100)):
        write(client, name, ts, np.full(len(ts), offset, dtype=float), {"host": host, "dc": dc})
    params = {"metric": f'{name}{{dc="eu"}}', "start": DAY0, "end": DAY0 + 3 * HOUR, "granularity": "hour"}
    per_host = client.get("/api/query", params).json["series"]
    assert sorted(s["labels"]["host"] for s in per_host) == ["a", "b"]
    grouped = client.get("/api/query", {**params, "group_by": "dc"}).json["series"]
    assert [(s["labels"], [v for _, v in s["points"]]) for s in grouped] == [({"dc": "eu"}, [5.0, 5.0, 5.0])]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/query", {**params, "format": "csv"}).text)))
    from_json = [(s["labels"]["host"], t, v) for s in per_host for t, v in s["points"]]
    from_csv = [(row["host"], int(pd.Timestamp(row["timestamp"]).value // 10**6), float(row["value"]))
                for row in rows]
    assert sorted(from_csv) == sorted(from_json)


def test_counter_rate_handles_resets(client, name):
    client.post_json("/api/metrics", {"name": name, "type": "counter", "unit": "requests"}, status=201)
    ts = np.arange(DAY0, DAY0 + 2 * HOUR, 60_000)
    counts = np.concatenate([np.arange(60) * 120.0, np.arange(60) * 120.0])  # reset at the second hour
    write(client, name, ts, counts)
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 2 * HOUR,
                                     "granularity": "hour"}).json
    (series,) = body["series"]
    assert series["agg"] == "rate"
    assert [v for _, v in series["points"]] == pytest.approx([59 * 120 / 3600] * 2, rel=1e-12)


@pytest.mark.parametrize("params, message", [
    ({}, "metric"), ({"metric": "x", "granularity": "week"}, "granularity"),
    ({"metric": "x", "start": "now", "end": "-1h"}, "start"), ({"metric": "x", "width": 3}, "width"),
    ({"metric": 'x{host=a}'}, "metric.0"), ({"metric": "x", "agg": "median"}, "agg"),
])
def test_bad_queries_name_the_parameter(client, params, message):
    assert client.get("/api/query", params, status=400).json["error"].startswith(message)


def test_enum_states_and_histogram_heatmap(client, name):
    client.post_json("/api/metrics", {"name": f"{name}_e", "type": "enum"}, status=201)
    states = ["up", "up", "down", "up"]
    client.post_json(f"/api/metrics/{name}_e/data", [
        {"state": state, "timestamp": DAY0 + i * HOUR} for i, state in enumerate(states)], status=201)
    body = client.get(f"/api/metrics/{name}_e/states", {"start": DAY0, "end": DAY0 + 4 * HOUR}).json
    assert {row["state"]: (row["count"], row["seconds"]) for row in body["states"]} == {
        "up": (3, 3 * 3600), "down": (1, 3600)}

    client.post_json("/api/metrics", {"name": f"{name}_h", "type": "histogram", "unit": "ms"}, status=201)
    client.post_json(f"/api/metrics/{name}_h/data", [
        {"buckets": {"10": 5, "100": 5, "+inf": 0}, "timestamp": DAY0 + i * 60_000} for i in range(3)], status=201)
    heat = client.get(f"/api/metrics/{name}_h/heatmap", {"start": DAY0, "end": DAY0 + HOUR,
                                                         "granularity": "hour", "q": [0.5]}).json
    assert heat["bounds"] == [10, 100, "+inf"]
    assert heat["points"] == [[DAY0, [15, 15, 0]]]
    assert heat["quantiles"]["0.5"] == [[DAY0, 10.0]]
    assert client.get(f"/api/metrics/{name}_e/heatmap", status=400).json["error"] == \
        f"metric '{name}_e' is an enum, not a histogram"


def test_raw_data_pages_with_a_cursor_and_csv_matches_json(client, name):
    ts = np.arange(DAY0, DAY0 + 250 * 1000, 1000)
    write(client, name, ts, np.arange(250), {"host": "a"})
    seen, params = [], {"limit": 100}
    while True:
        response = client.get(f"/api/metrics/{name}/data", params)
        seen += response.json
        if "X-Next-Cursor" not in response.headers:
            break
        params = {"limit": 100, "cursor": response.headers["X-Next-Cursor"]}
    assert [p["value"] for p in seen] == list(map(float, range(250)))
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/metrics/{name}/data", {"format": "csv"}).text)))
    assert [(r["timestamp"], r["host"], float(r["value"])) for r in rows] == [
        (p["timestamp"], p["labels"]["host"], p["value"]) for p in seen]


def test_hourly_rollups_answer_like_raw_and_follow_late_points(client, name, drain):
    ts = np.arange(DAY0, DAY0 + 3 * 24 * HOUR, 60_000)
    values = np.cos(ts / 5e6) * 10
    write(client, name, ts, values, {"host": "a"})
    params = {"metric": name, "start": DAY0, "end": DAY0 + 3 * 24 * HOUR, "granularity": "hour", "agg": "avg"}
    before = client.get("/api/query", params).json["series"][0]
    assert before["resolution"] == "raw"  # marks pending: the rollups are not trusted yet
    drain()
    after = client.get("/api/query", params).json["series"][0]
    assert after["resolution"] == "hour"
    np.testing.assert_allclose([v for _, v in after["points"]], [v for _, v in before["points"]], atol=1e-9)

    late = np.arange(DAY0 + 30 * 60_000 + 1, DAY0 + HOUR, 60_000)  # between existing minutes of hour one
    write(client, name, late, np.full(len(late), 1000.0), {"host": "a"})
    drain()
    latest = client.get("/api/query", params).json["series"][0]
    all_ts, all_values = np.concatenate([ts, late]), np.concatenate([values, np.full(len(late), 1000.0)])
    want = expected(all_ts, all_values, "1h", "mean", DAY0, DAY0 + 3 * 24 * HOUR).to_numpy()
    assert latest["resolution"] == "hour"
    np.testing.assert_allclose([v for _, v in latest["points"]], want, atol=1e-9)
    chart_params = {key: value for key, value in params.items() if key != "granularity"}
    chart = client.get("/api/query", {**chart_params, "width": 60}).json["series"][0]
    assert chart["resolution"] == "hour" and max(chart["max"]) == 1000.0
