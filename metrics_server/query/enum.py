"""Enum metrics: how long each state was in effect over a time range."""
import numpy as np
import pandas as pd


def state_shares(ts_ms, states, start_ms: int, end_ms: int) -> list[dict]:
    """Per state the points seen in [start, end), the seconds in effect and their share, longest first (ties by name).

    A state lasts from its point until the next point (the last one until end_ms), clipped to [start_ms, end_ms);
    pass the last point before start_ms too so the state already in effect at start_ms is counted.
    """
    if start_ms >= end_ms:
        raise ValueError(f"start must be before end; got start={start_ms} end={end_ms}")
    ts = np.asarray(ts_ms, dtype=np.int64)
    states = np.asarray(states, dtype=object)
    if ts.shape != states.shape or ts.ndim != 1:
        raise ValueError(f"timestamps and states must be 1-d of one length; got {ts.shape} and {states.shape}")
    in_time = np.argsort(ts, kind="stable")
    ts, states = ts[in_time], states[in_time]
    since = np.clip(ts, start_ms, end_ms)
    until = np.clip(np.append(ts[1:], end_ms), start_ms, end_ms)
    codes, names = pd.factorize(states)
    if np.any(codes < 0):
        raise ValueError("every enum point needs a state string; got a missing state")
    milliseconds = np.bincount(codes, weights=np.maximum(until - since, 0), minlength=len(names))
    seen = np.bincount(codes, weights=(ts >= start_ms) & (ts < end_ms), minlength=len(names))
    total = milliseconds.sum()
    shares = [
        {"state": str(name), "count": int(count), "seconds": float(ms) / 1000,
         "share": float(ms / total) if total else 0.0}
        for name, count, ms in zip(names, seen, milliseconds) if count or ms
    ]
    return sorted(shares, key=lambda share: (-share["seconds"], share["state"]))
