"""The anomaly scores through the API on a live stack: /api/query's `anomaly` aggregate, and an alert rule on
PromQL's anomaly_score() backtested over written points."""
import time

import numpy as np

MINUTE = 60_000
SAW = [10.0 + minute % 10 for minute in range(240)]  # between 10 and 19, never leaving that range
SPIKE_AT = 200
SPIKED = SAW[:SPIKE_AT] + [28.0] + SAW[SPIKE_AT + 1:]  # one range (9) above the saw's top: scores 0.5


def write(client, name, start, values, kind="gauge"):
    client.post_json("/api/metrics", {"name": name, "type": kind, "label_keys": ["host"]}, status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": value,
                                     "timestamp": start + minute * MINUTE} for minute, value in enumerate(values)],
                     status=201)


def test_the_anomaly_aggregate_is_the_highest_score_of_each_bins_points(client, name):
    start = 1_700_006_400_000
    write(client, name, start, SPIKED)
    body = client.get("/api/query", {"metric": name, "start": start, "end": start + 240 * MINUTE,
                                     "granularity": "minute", "agg": "anomaly"}).json
    scores = np.array([value for _, value in body["series"][0]["points"]])
    assert body["series"][0]["agg"] == "anomaly"
    assert scores[SPIKE_AT] == 0.5
    assert np.count_nonzero(np.delete(scores, SPIKE_AT)) == 0
    hourly = client.get("/api/query", {"metric": name, "start": start, "end": start + 240 * MINUTE,
                                       "granularity": "hour", "agg": "anomaly"}).json["series"][0]["points"]
    assert [value for _, value in hourly] == [0.0, 0.0, 0.0, 0.5]


def test_the_anomaly_aggregate_applies_to_gauges_only(client, name):
    write(client, name, 1_700_006_400_000, [1.0, 2.0, 3.0], kind="counter")
    error = client.get("/api/query", {"metric": name, "agg": "anomaly"}, status=400).json["error"]
    assert "anomaly applies to gauge metrics" in error


def test_a_rule_on_anomaly_score_backtests_to_one_firing_at_the_spike(client, name):
    start = (int(time.time() * 1000) // MINUTE - 240) * MINUTE
    write(client, name, start, SPIKED)
    response = client.post_json("/api/alerts/backtest", {
        "rule": {"alert": "Unusual", "expr": f"anomaly_score({name}[1h]) > 0.3"}, "interval": "1m",
        "start": str(start // 1000), "end": str((start + 239 * MINUTE) // 1000)}).json
    moves = [(t["at"], t["to"], t["value"]) for t in response["transitions"]]
    spike = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((start + SPIKE_AT * MINUTE) / 1000))
    after = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((start + (SPIKE_AT + 1) * MINUTE) / 1000))
    assert [(at[:19], to) for at, to, _ in moves] == [(spike, "firing"), (after, "inactive")]
    assert moves[0][2] == 0.5
