"""Raw points of one metric: pages ordered by time then series, cursors across series, CSV = JSON, every type."""
import csv
import io

DAY0 = 1_700_006_400_000  # 2023-11-15T00:00:00Z


def pages(client, url, params):
    """Every page of a raw read, following X-Next-Cursor."""
    seen = []
    while True:
        response = client.get(url, params)
        seen.append(response.json)
        if "X-Next-Cursor" not in response.headers:
            return seen
        assert response.headers["Link"].endswith('>; rel="next"')
        params = {**params, "cursor": response.headers["X-Next-Cursor"]}


def test_series_sharing_times_page_by_time_then_series(client, name):
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    hosts = ["a", "b", "c"]
    client.post_json(f"/api/metrics/{name}/data", [
        {"labels": {"host": host}, "value": i, "timestamp": DAY0 + i * 1000} for i in range(10) for host in hosts
    ], status=201)
    got = pages(client, f"/api/metrics/{name}/data", {"limit": 4})
    assert [len(page) for page in got] == [4] * 7 + [2]
    points = [point for page in got for point in page]
    assert [p["value"] for p in points] == [float(i) for i in range(10) for _ in hosts]
    sids = {host: client.post_json(f"/api/metrics/{name}/data", {"labels": {"host": host}, "value": 0,
                                                                 "timestamp": DAY0 - 1000}).json["id"].split("@")[0]
            for host in hosts}
    order = sorted(hosts, key=sids.get)
    assert [p["labels"]["host"] for p in points] == order * 10
    assert len(client.get(f"/api/metrics/{name}/data", {"host": ["a", "c"]}).json) == 22


def test_csv_quotes_every_field_and_leaves_missing_values_empty(client, name):
    client.post_json("/api/metrics", {"name": name, "type": "histogram", "label_keys": ["site", "env"]}, status=201)
    labels = {"site": 'Paris, "north"', "env": ""}
    client.post_json(f"/api/metrics/{name}/data", [
        {"labels": labels, "buckets": {"0.5": 1, "+Inf": 2.5, "10": 0}, "timestamp": DAY0},
        {"labels": labels, "buckets": {"1": 3}, "value": 7.25, "timestamp": DAY0 + 1500}], status=201)
    assert client.get(f"/api/metrics/{name}/data").json == [
        {"labels": labels, "value": None, "buckets": {"0.5": 1, "10": 0, "+inf": 2.5}, "timestamp": "2023-11-15T00:00:00Z"},
        {"labels": labels, "value": 7.25, "buckets": {"1": 3}, "timestamp": "2023-11-15T00:00:01.500Z"}]
    text = client.get(f"/api/metrics/{name}/data", {"format": "csv"}).text
    assert text == ('"timestamp","site","env","value","buckets"\n'
                    '"2023-11-15T00:00:00Z","Paris, ""north""","","","0.5=1;10=0;+inf=2.5"\n'
                    '"2023-11-15T00:00:01.500Z","Paris, ""north""","","7.25","1=3"\n')
    assert list(csv.DictReader(io.StringIO(text)))[0]["site"] == labels["site"]


def test_enum_points_carry_their_state(client, name):
    client.post_json("/api/metrics", {"name": name, "type": "enum"}, status=201)
    client.post_json(f"/api/metrics/{name}/data", [
        {"state": "up", "timestamp": DAY0}, {"state": "down, hard", "timestamp": DAY0 + 60_000}], status=201)
    assert client.get(f"/api/metrics/{name}/data").json == [
        {"labels": {}, "value": None, "state": "up", "timestamp": "2023-11-15T00:00:00Z"},
        {"labels": {}, "value": None, "state": "down, hard", "timestamp": "2023-11-15T00:01:00Z"}]
    assert client.get(f"/api/metrics/{name}/data", {"format": "csv"}).text == (
        '"timestamp","value","state"\n"2023-11-15T00:00:00Z","","up"\n"2023-11-15T00:01:00Z","","down, hard"\n')


def test_a_range_and_an_empty_answer(client, name):
    client.post_json("/api/write", [{"name": name, "value": i, "timestamp": DAY0 + i * 60_000} for i in range(5)],
                     status=201)
    inside = client.get(f"/api/metrics/{name}/data", {"start_time": DAY0 + 60_000, "end_time": DAY0 + 180_000}).json
    assert [p["value"] for p in inside] == [1.0, 2.0]
    assert client.get(f"/api/metrics/{name}/data", {"start_time": DAY0 + 3_600_000}).json == []
    assert client.get(f"/api/metrics/{name}/data", {"format": "csv", "start_time": DAY0 + 3_600_000}).text == \
        '"timestamp","value"\n'
    assert client.get(f"/api/metrics/{name}/data", {"cursor": "bm90IGEgY3Vyc29y"}, status=400).json["error"] == \
        "cursor: not a cursor this API returned"
