"""Influx's /write, /api/v2/write and /ping against the real app and Cassandra."""
import gzip


def lines(client, body: bytes | str, path: str = "/write?db=mydb&precision=s", status: int = 204, **headers):
    data = body.encode() if isinstance(body, str) else body
    return client.post(path, data, headers={"Content-Type": "text/plain", **headers}, status=status)


def test_ping_answers_204_with_a_version_header(client):
    assert client.get("/ping", status=204).headers["X-Influxdb-Version"]
    assert client.head("/ping", status=204).headers["X-Influxdb-Version"]


def test_each_field_is_stored_as_measurement_field_with_tags_and_db_as_labels(client, name):
    lines(client, f" {name},host=a\\ b usage=1.5,count=4i 1700000000\n\n# comment\n{name},host=c usage=2 1700000060")
    usage = client.get(f"/api/metrics/{name}_usage/data").json
    assert [(p["labels"], p["value"], p["timestamp"]) for p in usage] == [
        ({"db": "mydb", "host": "a b"}, 1.5, "2023-11-14T22:13:20Z"),
        ({"db": "mydb", "host": "c"}, 2.0, "2023-11-14T22:14:20Z")]
    assert client.get(f"/api/metrics/{name}_count/data").json[0]["value"] == 4.0


def test_v2_write_takes_the_bucket_and_gzip(client, name):
    lines(client, gzip.compress(f"{name} v=7 1700000000000".encode()), "/api/v2/write?bucket=b1&precision=ms",
          **{"Content-Encoding": "gzip"})
    assert client.get(f"/api/metrics/{name}_v/data").json[0]["labels"] == {"db": "b1"}


def test_a_bad_line_refuses_every_line_naming_it(client, name):
    response = lines(client, f"{name} v=1 1700000000\n{name} v=\"text\" 1700000000", status=400)
    assert response.json["error"].startswith("line 2: fields.v: string fields are not stored")
    client.get(f"/api/metrics/{name}_v", status=404)


def test_bodies_over_the_limit_are_a_413_also_once_gunzipped(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    lines(client, "m v=1\n" + "#" * limit, status=413)
    bomb = gzip.compress(b"#" * (limit + 10))
    assert "gunzipped" in lines(client, bomb, status=413, **{"Content-Encoding": "gzip"}).json["error"]
