"""A chunk's columns as blobs: times as deltas and values as float64, both byte-shuffled (every value's first
byte, then every second byte, ...) so that Cassandra's Zstd compression finds the long runs that regular
timestamps and slowly moving values have; state and histogram buckets as JSON."""
import numpy as np
import orjson

WIDTH = 8


def shuffle(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values.view(np.uint8).reshape(-1, WIDTH).T).tobytes()


def unshuffle(blob: bytes, dtype: str) -> np.ndarray:
    return np.ascontiguousarray(np.frombuffer(blob, dtype=np.uint8).reshape(WIDTH, -1).T).view(dtype).ravel()


def encode_ts(ts: np.ndarray) -> bytes:
    """Epoch ms, sorted, as their first value and the steps between them."""
    return shuffle(np.diff(ts.astype("<i8"), prepend=np.int64(0)))


def decode_ts(blob: bytes) -> np.ndarray:
    return np.cumsum(unshuffle(blob, "<i8"))


def encode_values(values: np.ndarray) -> bytes:
    return shuffle(values.astype("<f8"))


def decode_values(blob: bytes) -> np.ndarray:
    return unshuffle(blob, "<f8")


def encode_cells(cells: list) -> bytes:
    """States (text or null) or buckets ({bound: count} or null) as one JSON array; a bound is kept as its
    repr, since JSON has no infinity."""
    return orjson.dumps([[(repr(bound), count) for bound, count in cell.items()] if isinstance(cell, dict) else cell
                         for cell in cells])


def decode_cells(blob: bytes | None, count: int) -> list:
    """Cells as written: buckets back to {bound: count} dicts; no blob is `count` nulls."""
    if blob is None:
        return [None] * count
    return [{float(bound): value for bound, value in cell} if isinstance(cell, list) else cell
            for cell in orjson.loads(blob)]
