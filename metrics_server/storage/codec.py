"""A chunk's columns as blobs: times as deltas and values as float64, both byte-shuffled (every value's first
byte, then every second byte, ...) so that Cassandra's Zstd compression finds the long runs that regular
timestamps and slowly moving values have; state and histogram buckets as JSON."""
import numpy as np
import orjson

WIDTH = 8


def shuffle(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values.view(np.uint8).reshape(-1, WIDTH).T).tobytes()


def unshuffle(blobs: list[bytes], dtype: str) -> np.ndarray:
    """Several shuffled blobs back to one array, with one gather however many blobs there are: byte j of a
    blob's value i sits at the blob's offset + j × its length + i."""
    sizes = sizes_of(blobs)
    starts = np.cumsum(sizes) - sizes
    blob_of = np.repeat(np.arange(len(blobs)), sizes)
    first_byte = WIDTH * starts[blob_of] + np.arange(len(blob_of)) - starts[blob_of]
    index = first_byte[:, None] + np.arange(WIDTH) * sizes[blob_of][:, None]
    return np.frombuffer(b"".join(blobs), dtype=np.uint8)[index].view(dtype).ravel()


def sizes_of(blobs: list[bytes]) -> np.ndarray:
    """How many values each blob holds."""
    return np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // WIDTH


def encode_ts(ts: np.ndarray) -> bytes:
    """Epoch ms, sorted, as their first value and the steps between them."""
    return shuffle(np.diff(ts.astype("<i8"), prepend=np.int64(0)))


def decode_ts(blobs: list[bytes]) -> np.ndarray:
    """The times of several chunks, one after the other: a running sum of the steps, restarted at each chunk
    (wrapping int64 arithmetic cancels out, so the subtraction is exact)."""
    total = np.cumsum(unshuffle(blobs, "<i8"))
    sizes = sizes_of(blobs)
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], total[ends[:-1] - 1])) if len(blobs) else np.empty(0, dtype=np.int64)
    return total - np.repeat(before, sizes)


def encode_values(values: np.ndarray) -> bytes:
    return shuffle(values.astype("<f8"))


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
