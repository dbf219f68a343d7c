"""Real operational data (the Numenta Anomaly Benchmark, beside the repository in shared/data/nab): ingested
through the batch API, its hourly averages equal pandas' on the same file, missing hours null, raw and rollups."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"
FILES = ["realKnownCause/machine_temperature_system_failure.csv", "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv"]


@pytest.mark.parametrize("relative", FILES)
def test_real_series_hourly_averages_equal_pandas(client, app, name, relative, drain):
    path = NAB / relative
    if not path.exists():
        pytest.skip(f"{path} is not present (shared/ sits beside the repository in CI)")
    frame = pd.read_csv(path)
    ts = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ms").astype("int64").to_numpy()
    items = [{"name": name, "labels": {"source": path.stem}, "value": float(v), "timestamp": int(t)}
             for t, v in zip(ts, frame["value"])]
    for start in range(0, len(items), 10_000):
        client.post_json("/api/write", items[start:start + 10_000], status=201)
    start_ms, end_ms = int(ts.min()) // 3_600_000 * 3_600_000, int(ts.max()) + 1
    # The file repeats a few timestamps; a point written twice is stored once, the later value winning.
    series = pd.Series(frame["value"].to_numpy(), index=pd.to_datetime(ts, unit="ms", utc=True))
    series = series[~series.index.duplicated(keep="last")]
    want = series.resample("1h").mean()
    hours = pd.date_range(want.index[0], pd.Timestamp(end_ms - 1, unit="ms", tz="UTC").floor("1h"), freq="1h")
    want = want.reindex(hours).to_numpy()
    params = {"metric": name, "start": start_ms, "end": end_ms, "granularity": "hour", "agg": "avg"}

    def hourly():
        (result,) = client.get("/api/query", params).json["series"]
        return result["resolution"], np.array([np.nan if v is None else v for _, v in result["points"]])

    resolution, raw = hourly()
    assert resolution == "raw" and len(raw) == len(want)
    np.testing.assert_allclose(raw, want, rtol=0, atol=1e-9)
    assert np.isnan(want).any() == np.isnan(raw).any()
    drain()
    resolution, rolled = hourly()
    assert resolution == "hour"
    np.testing.assert_allclose(rolled, want, rtol=0, atol=1e-9)
