"""Chunks' columns as blobs: times as deltas and values as float64, both byte-shuffled (every value's first
byte, then every second byte, ...) so that Cassandra's Zstd compression finds the long runs that regular
timestamps and slowly moving values have; state and histogram buckets as JSON. Times and values of many chunks
are encoded and decoded together, with one transpose per distinct chunk length however many chunks there are."""
import numpy as np
import orjson

WIDTH = 8


def spans(starts: np.ndarray, size: int) -> np.ndarray:
    """The positions of chunks of one length, one after the other."""
    return (starts[:, None] + np.arange(size)).ravel()


def shuffle(values: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """8-byte values of consecutive chunks of `sizes` as one shuffled blob per chunk: the chunks of each length
    as one transpose."""
    blobs = [b""] * len(sizes)
    starts = np.cumsum(sizes) - sizes
    as_bytes = np.ascontiguousarray(values).view(np.uint8).reshape(-1, WIDTH)
    for size in np.unique(sizes[sizes > 0]).tolist():
        chosen = np.flatnonzero(sizes == size)
        picked = as_bytes if len(chosen) == len(sizes) else as_bytes[spans(starts[chosen], size)]
        raw = picked.reshape(-1, size, WIDTH).transpose(0, 2, 1).tobytes()
        step = size * WIDTH
        for n, i in enumerate(chosen.tolist()):
            blobs[i] = raw[n * step:(n + 1) * step]
    return blobs


def unshuffle(blobs: list[bytes], dtype: str) -> np.ndarray:
    """Shuffled blobs back to one array of their values, one chunk after the other: the chunks of each length
    as one transpose (a read of thousands of series' hours has few distinct lengths, often one)."""
    sizes = sizes_of(blobs)
    out = np.empty(int(sizes.sum()), dtype=dtype)
    starts = np.cumsum(sizes) - sizes
    for size in np.unique(sizes[sizes > 0]).tolist():
        chosen = np.flatnonzero(sizes == size)
        raw = np.frombuffer(b"".join([blobs[i] for i in chosen.tolist()]), dtype=np.uint8)
        values = raw.reshape(-1, WIDTH, size).transpose(0, 2, 1).copy().view(dtype).ravel()
        if len(chosen) == len(blobs):
            return values
        out[spans(starts[chosen], size)] = values
    return out


def sizes_of(blobs: list[bytes]) -> np.ndarray:
    """How many values each blob holds."""
    return np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // WIDTH


def encode_ts(ts: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """Epoch ms of consecutive chunks, each sorted, as each chunk's first value and the steps between them."""
    steps = np.diff(ts.astype("<i8"), prepend=np.int64(0))
    starts = np.cumsum(sizes) - sizes
    steps[starts] = ts[starts]
    return shuffle(steps, sizes)


def decode_ts(blobs: list[bytes]) -> np.ndarray:
    """The times of several chunks, one after the other: a running sum of the steps, restarted at each chunk
    (wrapping int64 arithmetic cancels out, so the subtraction is exact)."""
    total = np.cumsum(unshuffle(blobs, "<i8"))
    sizes = sizes_of(blobs)
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], total[ends[:-1] - 1])) if len(blobs) else np.empty(0, dtype=np.int64)
    return total - np.repeat(before, sizes)


def encode_values(values: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    return shuffle(values.astype("<f8"), sizes)


def decode_values(blobs: list[bytes]) -> np.ndarray:
    return unshuffle(blobs, "<f8")


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
