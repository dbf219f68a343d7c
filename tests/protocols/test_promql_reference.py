"""Our PromQL answers equal a real Prometheus' (Debian's 2.42), asked the same queries by the real promtool.

One data set (counters with resets, gauges with gaps and a series that stops, irregular scrape times, a
classic histogram) goes as one remote-write request to a throw-away Prometheus (its remote-write receiver) and
to us (nginx and 4 instances); then `promtool query instant`,
`query range`, `query series` and `query labels` ask both servers a fixed list of queries, and every answer
must be equal: the same series with the same label sets, the same timestamps, values equal to 1e-9. A
second Prometheus with no data of its own, reading ours by remote_read, must answer as the first.
"""
import json
import math
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from metrics_server.protocols import remote_write
from metrics_server.protocols.prometheus import STALE_NAN_BITS
from tests.protocols.conftest import AUTH, PROMETHEUS_PORT, TOKEN, receiving_prometheus, running, wait_for

pytestmark = pytest.mark.peers

STALE = np.uint64(STALE_NAN_BITS).view(np.float64)
READER_PORT = PROMETHEUS_PORT + 2  # the second Prometheus, reading us by remote_read
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0", **AUTH}  # Prometheus' receiver ignores the token
T0 = 1_700_000_000  # seconds; the data spans T0 .. T0 + 1 h (Prometheus' head takes an hour's span at once)
INSTANTS = [T0 + 12, T0 + 1807.5, T0 + 3570, T0 + 3840]  # 3840: lookback reaching past the end of the data
RANGES = [(T0, T0 + 4200, "60s"), (T0 + 5, T0 + 3900, "37s")]
QUERIES = [
    "1+1", "2 * 3 - 1 / 4", "vector(1)", "time()",
    "ref_requests_total", 'ref_requests_total{code="500"}', 'ref_requests_total{instance!="a"}',
    'ref_requests_total{code=~"5.."}', 'ref_requests_total{code!~"2.*|3.*"}', '{__name__=~"ref_cpu.*",mode="user"}',
    "rate(ref_requests_total[5m])", "irate(ref_requests_total[2m])", "increase(ref_requests_total[10m])",
    "rate(ref_cpu_seconds_total[1m])", "delta(ref_temperature_celsius[10m])", "idelta(ref_queue_depth[5m])",
    "sum by (job) (rate(ref_requests_total[5m]))", "sum without (instance) (rate(ref_requests_total[5m]))",
    "avg by (instance) (rate(ref_cpu_seconds_total[5m]))", "max(ref_temperature_celsius)",
    "min by (room) (ref_temperature_celsius)", "count(ref_temperature_celsius)", "count by (instance) (ref_requests_total)",
    "avg_over_time(ref_temperature_celsius[10m])", "min_over_time(ref_temperature_celsius[7m])",
    "max_over_time(ref_temperature_celsius[3m])", "sum_over_time(ref_queue_depth[5m])",
    "count_over_time(ref_temperature_celsius[15m])", "last_over_time(ref_temperature_celsius[20m])",
    "ref_temperature_celsius * 9 / 5 + 32", "abs(ref_temperature_celsius - 20)", "-ref_queue_depth",
    "sum by (job) (rate(ref_requests_total[5m])) / on(job) ref_limit",
    "ref_requests_total / on(job) group_left ref_limit",
    'rate(ref_requests_total{code="500"}[5m]) / ignoring(code) rate(ref_requests_total{code="200"}[5m])',
    "ref_queue_depth > 5", "ref_queue_depth > bool 5", "5 < ref_queue_depth", "ref_temperature_celsius offset 10m",
    "sum(ref_queue_depth) + sum(ref_temperature_celsius)", "scalar(sum(ref_queue_depth)) * ref_limit",
    "histogram_quantile(0.9, sum by (le) (rate(ref_latency_seconds_bucket[5m])))",
    "histogram_quantile(0.5, rate(ref_latency_seconds_bucket[10m]))", "histogram_quantile(0.99, ref_latency_seconds_bucket)",
    # aggregations, functions, subqueries, @, set operators (issue 22)
    "topk(2, ref_queue_depth)", "bottomk by (instance) (1, ref_cpu_seconds_total)", "topk(1, rate(ref_requests_total[5m]))",
    "quantile(0.3, ref_temperature_celsius)", "quantile by (instance) (0.9, rate(ref_cpu_seconds_total[5m]))",
    "stddev(ref_temperature_celsius)", "stdvar by (instance) (rate(ref_cpu_seconds_total[5m]))",
    'count_values("v", ref_queue_depth)', 'count_values without (instance) ("job", ref_queue_depth)',
    "quantile_over_time(0.7, ref_temperature_celsius[10m])", "stddev_over_time(ref_temperature_celsius[10m])",
    "stdvar_over_time(ref_queue_depth[5m])", 'absent_over_time(ref_temperature_celsius{room="lab"}[5m])',
    "present_over_time(ref_temperature_celsius[2m])", 'absent(ref_temperature_celsius{room="lab"})',
    'absent(nonexistent{job="x",job="y",a="b"})', "changes(ref_queue_depth[5m])", "resets(ref_requests_total[10m])",
    "deriv(ref_temperature_celsius[10m])", "predict_linear(ref_temperature_celsius[10m] offset 3m, 600)",
    "clamp(ref_queue_depth, 2, 8)", "clamp_min(ref_queue_depth, 4)", "clamp_max(ref_queue_depth, 4)",
    "round(ref_temperature_celsius, 0.5)", "timestamp(ref_queue_depth)", "timestamp(-ref_queue_depth)",
    'label_replace(ref_queue_depth, "dst", "x-$1-${1}y", "instance", "(.*)")', 'label_join(ref_queue_depth, "new", "-", "instance", "job")',
    "day_of_month()", "hour(ref_limit * 1e7)", "minute()", "month(ref_limit * 1e6)", "year()", "day_of_week(ref_limit * 1e5)",
    "day_of_year(ref_limit * 1e6)", "days_in_month(ref_limit * 3e5)", "sort_desc(ref_queue_depth)", "sgn(ref_temperature_celsius - 20)",
    "max_over_time(rate(ref_requests_total[1m])[5m:30s])", "avg_over_time(ref_queue_depth[10m:1m] offset 5m)",
    "min_over_time(ref_queue_depth[7m:])", f"ref_queue_depth @ {T0 + 1800}", "rate(ref_requests_total[5m] @ end())",
    "ref_queue_depth offset -5m", "ref_queue_depth and ref_queue_depth > 5", "ref_temperature_celsius or ref_queue_depth",
    "ref_requests_total unless on(instance) ref_queue_depth > 6", "ref_queue_depth > bool on(instance) group_left ref_queue_depth",
    "ref_odd_values", "sum_over_time(ref_odd_values[2m])", "count_over_time(ref_odd_values[5m])", "ref_odd_values > 0",
    'count_over_time(ref_temperature_celsius{room="lab"}[10m])', 'last_over_time(ref_temperature_celsius{room="lab"}[10m])',
]
SERIES_MATCHES = ['ref_requests_total{code="500"}', '{__name__=~"ref_(cpu|queue).*"}', 'ref_temperature_celsius{room!="lab"}']
LABELS = ["__name__", "instance", "room", "code"]


def data_set() -> list[tuple[dict, list[tuple[int, float]]]]:
    """(labels, [(ms, value)]) per series: seeded, so every run asks about the same samples."""
    rng = np.random.default_rng(11)
    times = T0 * 1000 + np.cumsum(rng.integers(13_000, 17_000, 240))  # ~15 s apart, jittered, 1 h
    times = times[times < (T0 + 3600) * 1000]
    out = []
    for instance in ("a", "b"):
        for code in ("200", "500"):
            steps = rng.exponential(4.0 if code == "200" else 0.5, len(times)).round(3)
            values = np.cumsum(steps)
            for reset in ([60, 170] if (instance, code) == ("b", "500") else [120] if instance == "a" else []):
                values[reset:] -= values[reset] - rng.uniform(0, 2)  # restarts near zero
            out.append(({"__name__": "ref_requests_total", "job": "api", "instance": instance, "code": code},
                        list(zip(times.tolist(), values.tolist()))))
        for mode in ("idle", "user"):
            values = np.cumsum(rng.uniform(0, 15, len(times)))
            out.append(({"__name__": "ref_cpu_seconds_total", "instance": instance, "mode": mode},
                        list(zip(times.tolist(), values.tolist()))))
        depth = rng.integers(0, 12, len(times)).astype(float)
        out.append(({"__name__": "ref_queue_depth", "instance": instance, "job": "api"},
                    list(zip(times.tolist(), depth.tolist()))))
    for room in ("hall", "lab", "roof"):
        keep = np.ones(len(times), dtype=bool)
        if room == "roof":
            keep &= (times < (T0 + 1200) * 1000) | (times > (T0 + 1800) * 1000)  # a 10-minute gap
        if room == "lab":
            keep &= times < (T0 + 2400) * 1000  # stops after 40 minutes
        values = 20 + 5 * np.sin(times / 600_000) + rng.normal(0, 0.3, len(times))
        samples = list(zip(times[keep].tolist(), values[keep].round(2).tolist()))
        if room == "lab":  # the scrape that found it gone: a stale marker ends it at once, not 5 minutes later
            samples.append(((T0 + 2415) * 1000, STALE))
        out.append(({"__name__": "ref_temperature_celsius", "room": room}, samples))
    out.append(({"__name__": "ref_limit", "job": "api"}, [(int(t), 250.0) for t in times[::4]]))
    odd = [math.nan, math.inf, -math.inf, 1.5]  # NaN and ±Inf are samples too
    out.append(({"__name__": "ref_odd_values"}, [(int(t), odd[i % 4]) for i, t in enumerate(times[::3])]))
    for instance in ("a", "b"):  # a classic histogram: cumulative bucket counters
        observed = np.cumsum(rng.poisson([3, 5, 8, 2, 1], (len(times), 5)), axis=0).cumsum(axis=1)
        for column, le in enumerate(("0.05", "0.1", "0.5", "1", "+Inf")):
            out.append(({"__name__": "ref_latency_seconds_bucket", "instance": instance, "le": le},
                        list(zip(times.tolist(), observed[:, column].astype(float).tolist()))))
    return out


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Debian's Prometheus with the remote-write receiver and no scrape jobs, in a temporary folder."""
    with receiving_prometheus(tmp_path_factory.mktemp("reference"), PROMETHEUS_PORT) as url:
        yield url


@pytest.fixture(scope="module")
def both(prometheus, live_stack):
    """The same remote-write request, byte for byte, to Prometheus and to us (nginx, 4 instances)."""
    body = remote_write.encode(data_set())
    for url in (prometheus, live_stack.url):
        response = requests.post(f"{url}/api/v1/write", data=body, timeout=120, headers=HEADERS)
        assert response.status_code == 204, f"{url}: {response.status_code} {response.text}"
    return prometheus, live_stack.url


def with_token(url: str) -> str:
    """Our URL with the token as basic auth's password: promtool 2.42 has no option for credentials, but its Go
    HTTP client sends a URL's user information as basic auth (which our server takes; Prometheus ignores it)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://promtool:{TOKEN}@{rest}"


def promtool(*args: str):
    done = subprocess.run(["promtool", "query", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"promtool {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def normal(answer):
    """An answer with series in a fixed order, values as floats."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict) and "metric" in answer[0]:
        return sorted(((tuple(sorted(item["metric"].items())),
                        [(t, float(v)) for t, v in item.get("values", [item.get("value")])]) for item in answer),
                      key=lambda pair: pair[0])
    if isinstance(answer, list) and len(answer) == 2 and isinstance(answer[1], str):
        return [((), [(answer[0], float(answer[1]))])]
    return answer


def assert_same(expected, got, what: str):
    expected, got = normal(expected), normal(got)
    assert [labels for labels, _ in got] == [labels for labels, _ in expected], what
    for (labels, want), (_, have) in zip(expected, got):
        assert [t for t, _ in have] == [t for t, _ in want], f"{what} {labels}: timestamps differ"
        for (t, a), (_, b) in zip(want, have):
            same = (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
            assert same, f"{what} {dict(labels)} at {t}: Prometheus {a!r}, ours {b!r}"


def asked(server: str, kind: str, query: str, when):
    if kind == "instant":
        return promtool("instant", "-o", "json", f"--time={when}", "--", server, query)
    start, end, step = when
    return promtool("range", "-o", "json", f"--start={start}", f"--end={end}", f"--step={step}", "--", server, query)


@pytest.mark.parametrize("kind", ["instant", "range"])
def test_promtool_gets_the_same_answers_from_us_as_from_prometheus(both, kind):
    prometheus, ours = both
    cases = [(query, when) for query in QUERIES for when in (INSTANTS if kind == "instant" else RANGES)]
    with ThreadPoolExecutor(2) as pool:
        expected = list(pool.map(lambda case: asked(prometheus, kind, *case), cases))
        got = list(pool.map(lambda case: asked(with_token(ours), kind, *case), cases))
    nonempty = 0
    for (query, when), want, have in zip(cases, expected, got):
        assert_same(want, have, f"{kind} {query} at {when}")
        nonempty += bool(want)
    assert nonempty >= len(cases) * 3 // 4  # the comparison is not of empty answers


def test_promtool_series_and_label_values_are_the_same(both):
    prometheus, ours = both
    window = [f"--start={T0 - 60}", f"--end={T0 + 4000}"]
    for match in SERIES_MATCHES:
        want = promtool("series", "-o", "json", f"--match={match}", *window, prometheus)
        have = promtool("series", "-o", "json", f"--match={match}", *window, with_token(ours))
        assert want and sorted(json.dumps(s, sort_keys=True) for s in want) == sorted(
            json.dumps(s, sort_keys=True) for s in have), match
    for label in LABELS:
        ref = '--match={__name__=~"ref_.*"}'
        want = promtool("labels", "-o", "json", ref, *window, prometheus, label)
        have = promtool("labels", "-o", "json", ref, *window, with_token(ours), label)
        assert want and want == have, label


@pytest.fixture(scope="module")
def reader(tmp_path_factory, both):
    """A second Prometheus with no data of its own, reading ours through remote_read (/api/v1/read)."""
    folder = tmp_path_factory.mktemp("reader")
    (folder / "prometheus.yml").write_text(
        f"scrape_configs: []\nremote_read:\n  - {{url: '{both[1]}/api/v1/read', read_recent: true, "
        f"authorization: {{credentials: {TOKEN}}}}}\n")
    url = f"http://127.0.0.1:{READER_PORT}"
    with running(["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                  f"--web.listen-address=127.0.0.1:{READER_PORT}"], folder, "reader"):
        wait_for("reader ready", lambda: requests.get(f"{url}/-/ready", timeout=5).status_code == 200)
        yield url


def test_prometheus_reading_our_history_by_remote_read_answers_as_with_its_own_data(both, reader):
    prometheus, _ = both
    for query in ("ref_requests_total", 'rate(ref_requests_total{code="500"}[5m])', 'ref_temperature_celsius{room=~"h.*"}',
                  "histogram_quantile(0.9, sum by (le) (rate(ref_latency_seconds_bucket[5m])))"):
        for when in INSTANTS:
            assert_same(asked(prometheus, "instant", query, when), asked(reader, "instant", query, when),
                        f"remote_read instant {query} at {when}")
        assert_same(asked(prometheus, "range", query, RANGES[0]), asked(reader, "range", query, RANGES[0]),
                    f"remote_read range {query}")
