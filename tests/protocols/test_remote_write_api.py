"""POST /api/v1/write against the real app and Cassandra: stored, typed, open labels, all or nothing."""
import struct

from metrics_server.protocols import remote_write

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}
T0 = 1_700_000_000_000


def snappy_request(*series, metadata=()) -> bytes:
    return remote_write.encode(series, metadata)


def post(client, body: bytes, status: int = 204, headers=HEADERS):
    return client.post("/api/v1/write", body, headers=headers, status=status)


def test_samples_are_stored_under_their_name_with_labels_that_vary(client, name):
    post(client, snappy_request(({"__name__": name, "job": "a", "instance": "x:1"}, [(T0, 1.0), (T0 + 1000, 2.0)]),
                               ({"__name__": name, "job": "b"}, [(T0, 3.0)])))
    metric = client.get(f"/api/metrics/{name}").json
    assert metric["type"] == "gauge" and metric["open_labels"] is True and metric["label_keys"] == []
    points = client.get(f"/api/metrics/{name}/data").json
    assert sorted((p["labels"].get("job"), p["value"]) for p in points) == [("a", 1.0), ("a", 2.0), ("b", 3.0)]
    assert [p["value"] for p in client.get(f"/api/metrics/{name}/data", {"job": "b"}).json] == [3.0]
    csv = client.get(f"/api/metrics/{name}/data", {"format": "csv"}).text.splitlines()
    assert csv[0] == '"timestamp","instance","job","value"'
    assert sorted(line.split(",", 1)[1] for line in csv[1:]) == ['"","b","3.0"', '"x:1","a","1.0"', '"x:1","a","2.0"']


def test_a_total_is_a_counter_and_metadata_gives_type_and_help(client, name):
    post(client, snappy_request(({"__name__": f"{name}_total"}, [(T0, 5.0)])))
    assert client.get(f"/api/metrics/{name}_total").json["type"] == "counter"
    post(client, snappy_request(metadata=[(1, f"{name}_reqs", "Requests served.")]))
    post(client, snappy_request(({"__name__": f"{name}_reqs"}, [(T0, 5.0)])))
    metric = client.get(f"/api/metrics/{name}_reqs").json
    assert metric["type"] == "counter" and metric["description"] == "Requests served."


def test_metadata_sent_after_the_samples_still_decides_the_type(client, name):
    """Issue 23: Prometheus sends metadata apart, once a minute; metrics its samples created before are gauges
    by their names until then, and become the counters the metadata says they are."""
    post(client, snappy_request(*(({"__name__": f"{name}_lat{suffix}", **extra}, [(T0, 1.0)])
                                  for suffix, extra in (("_count", {}), ("_sum", {}), ("_bucket", {"le": "1"}))),
                                ({"__name__": f"{name}_reqs"}, [(T0, 5.0)]), ({"__name__": f"{name}_temp"}, [(T0, 5.0)])))
    client.post_json("/api/metrics", {"name": f"{name}_defined", "label_keys": []}, status=201)
    assert [client.get(f"/api/metrics/{name}_{each}").json["type"] for each in ("lat_count", "lat_sum", "reqs")] == \
        ["gauge"] * 3
    post(client, snappy_request(metadata=[(3, f"{name}_lat", "Latency."), (1, f"{name}_reqs", "Requests."),
                                          (2, f"{name}_temp", "Temperature."), (1, f"{name}_defined", "Mine.")]))
    types = {each: client.get(f"/api/metrics/{name}_{each}").json["type"]
             for each in ("lat_count", "lat_sum", "lat_bucket", "reqs", "temp", "defined")}
    assert types == {"lat_count": "counter", "lat_sum": "counter", "lat_bucket": "counter", "reqs": "counter",
                     "temp": "gauge", "defined": "gauge"}  # a metric defined through the API keeps its type


def test_stale_markers_nans_and_infinities_are_stored_to_the_bit_and_promql_honours_them(client, name):
    post(client, snappy_request(({"__name__": name}, [(T0, 1.0), (T0 + 1000, STALE), (T0 + 2000, float("nan")),
                                                      (T0 + 3000, float("inf")), (T0 + 4000, -float("inf"))])))

    def at(ms: int) -> list:
        return client.get("/api/v1/query", {"query": name, "time": ms / 1000}).json["data"]["result"]

    assert [item["value"][1] for item in at(T0 + 500)] == ["1"]
    assert at(T0 + 1500) == []  # the stale marker ends the series at once, not after the 5-minute lookback
    assert [at(T0 + t)[0]["value"][1] for t in (2500, 3500, 60_000)] == ["NaN", "+Inf", "-Inf"]
    body = client.get("/api/v1/query", {"query": f"count_over_time({name}[10s])", "time": (T0 + 5000) / 1000}).json
    assert body["data"]["result"][0]["value"][1] == "4"  # a window holds the values, not the stale marker


def test_a_bad_sample_refuses_the_whole_request_naming_it(client, name):
    response = post(client, snappy_request(({"__name__": name}, [(T0, 1.0)]),
                                          ({"__name__": f"{name}_x", "bad-label": "v"}, [(T0, 1.0)])), status=400)
    assert response.json["error"].startswith(f"timeseries 1 ({name}_x): labels.bad-label: not a valid label name")
    client.get(f"/api/metrics/{name}", status=404)


def test_a_metric_defined_with_label_keys_refuses_other_label_sets(client, name):
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    post(client, snappy_request(({"__name__": name, "host": "a"}, [(T0, 1.0)])))
    response = post(client, snappy_request(({"__name__": name, "host": "a", "job": "j"}, [(T0, 1.0)])), status=400)
    assert response.json["error"].startswith(
        f"timeseries 0 ({name}): labels: Labels must contain exactly these keys: ['host'] ('{name}': a gauge created ")


def test_a_metadata_only_request_is_a_success(client):
    post(client, snappy_request(metadata=[(2, "some_gauge", "help")]))


def test_bodies_that_are_not_snappy_write_requests_are_a_4xx(client):
    assert "snappy" in post(client, b"\x05garbage", status=400).json["error"]
    post(client, snappy_request(), status=415, headers={**HEADERS, "Content-Encoding": "zstd"})


def test_open_label_metrics_group_by_any_label(client, name):
    post(client, snappy_request(({"__name__": name, "job": "a"}, [(T0, 1.0)]),
                               ({"__name__": name, "job": "b"}, [(T0, 3.0)])))
    answer = client.get("/api/query", {"metric": name, "start": T0 - 60_000, "end": T0 + 60_000,
                                       "granularity": "minute", "group_by": "job"}).json
    assert sorted(series["labels"]["job"] for series in answer["series"]) == ["a", "b"]
