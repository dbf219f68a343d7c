"""Chunks' columns as blobs: times as deltas, values as decimal steps where they are decimals (else float64),
both byte-shuffled (every value's first byte, then every second byte, ...) so that Cassandra's Zstd compression
finds the long runs that regular timestamps and slowly moving values have; state and histogram buckets as JSON.
Times and values of many chunks are encoded and decoded together, with one transpose per distinct blob length
however many chunks there are.

A value blob of 8n bytes is n shuffled float64 (every chunk before decimal steps, and any chunk that is not all
decimals). One of 8n + 1 bytes starts with the chunk's decimal digits d: the rest is n shuffled int64, the first
value × 10^d and then the steps between them. Agents report decimals (12.5 %, 0.034 s, 4096 bytes), whose
steps take two or three bytes where a float64's mantissa takes six (VictoriaMetrics stores values the same way);
a value decodes to the very bits it was written with, or its chunk stays float64."""
import numpy as np
import orjson

WIDTH = 8


def spans(starts: np.ndarray, size: int) -> np.ndarray:
    """The positions of chunks of one length, one after the other."""
    return (starts[:, None] + np.arange(size)).ravel()


def shuffle(values: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """8-byte values of consecutive chunks of `sizes` as one shuffled blob per chunk: the chunks of each length
    as one transpose."""
    as_bytes = np.ascontiguousarray(values).view(np.uint8).reshape(-1, WIDTH)
    if len(sizes) == 1:  # one chunk (a write's intake row): its transpose alone, a fifth of the general way's time
        return [as_bytes.T.tobytes()]
    blobs = [b""] * len(sizes)
    starts = np.cumsum(sizes) - sizes
    for size in np.unique(sizes[sizes > 0]).tolist():
        chosen = np.flatnonzero(sizes == size)
        picked = as_bytes if len(chosen) == len(sizes) else as_bytes[spans(starts[chosen], size)]
        raw = picked.reshape(-1, size, WIDTH).transpose(0, 2, 1).tobytes()
        step = size * WIDTH
        for n, i in enumerate(chosen.tolist()):
            blobs[i] = raw[n * step:(n + 1) * step]
    return blobs


def unshuffle(blobs: list[bytes], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled blobs back to one array of their values, one chunk after the other, and each blob's header byte
    (-1 for none): the blobs of each length as one transpose (a read of thousands of series' hours has few
    distinct lengths, often one)."""
    if not blobs:  # (a read answered from the chunk cache alone decodes no chunk)
        return np.empty(0, dtype=dtype), np.empty(0, dtype=np.int64)
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    sizes = lengths // WIDTH
    out = np.empty(int(sizes.sum()), dtype=dtype)
    heads = np.full(len(blobs), -1, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    for length in np.unique(lengths[sizes > 0]).tolist():
        size, head = divmod(length, WIDTH)
        chosen = np.flatnonzero(lengths == length)
        raw = np.frombuffer(b"".join([blobs[i] for i in chosen.tolist()]), dtype=np.uint8).reshape(-1, length)
        if head:
            heads[chosen] = raw[:, 0]
        values = raw[:, head:].reshape(-1, WIDTH, size).transpose(0, 2, 1).copy().view(dtype).ravel()
        if len(chosen) == len(blobs):
            return values, heads
        out[spans(starts[chosen], size)] = values
    return out, heads


def sizes_of(blobs: list[bytes]) -> np.ndarray:
    """How many values each blob holds."""
    return np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // WIDTH


def encode_ts(ts: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """Epoch ms of consecutive chunks, each sorted, as each chunk's first value and the steps between them."""
    return shuffle(steps_of(ts.astype("<i8"), sizes), sizes)


def decode_ts(blobs: list[bytes]) -> np.ndarray:
    """The times of several chunks, one after the other."""
    return running_sums(unshuffle(blobs, "<i8")[0], sizes_of(blobs))


def steps_of(integers: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Each chunk's first integer, then the steps between them (what running_sums undoes)."""
    steps = np.diff(integers, prepend=np.int64(0))
    starts = np.cumsum(sizes) - sizes
    steps[starts] = integers[starts]
    return steps


def running_sums(steps: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """A running sum of the steps, restarted at each chunk (wrapping int64 arithmetic cancels out, so the
    subtraction is exact)."""
    total = np.cumsum(steps)
    ends = np.cumsum(sizes)
    before = np.concatenate(([0], total[ends[:-1] - 1])) if len(sizes) else np.empty(0, dtype=np.int64)
    return total - np.repeat(before, sizes)


MAX_DIGITS = 9  # decimals past nanos are rare, and scaled values must stay below 2^53 to be exact
POWERS = np.array([10.0 ** digits for digits in range(MAX_DIGITS + 1)])  # what encoding checks, decoding uses


def encode_values(values: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """Each chunk's values (sizes > 0) as decimal steps when all of them are decimals of at most MAX_DIGITS
    digits, else as float64."""
    values = values.astype("<f8")
    digits = chunk_digits(values, sizes)
    if (digits < 0).all():
        return shuffle(values, sizes)
    _, scaled = as_decimals(values, POWERS[np.repeat(np.maximum(digits, 0), sizes)])
    stored = np.where(np.repeat(digits >= 0, sizes), steps_of(scaled, sizes), values.view("<i8"))
    blobs = shuffle(stored, sizes)
    return [bytes((d,)) + blob if d >= 0 else blob for blob, d in zip(blobs, digits.tolist())]


def chunk_digits(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """For each chunk, the fewest decimal digits d (0..MAX_DIGITS) with which every value is an integer ÷ 10^d
    to the bit (so -0.0, NaN and infinities keep a chunk float64), or -1."""
    if not len(values):
        return np.full(len(sizes), -1)
    fewest = np.full(len(values), MAX_DIGITS + 1)
    for digits in range(MAX_DIGITS, -1, -1):
        fewest[as_decimals(values, POWERS[digits])[0]] = digits
    starts = np.cumsum(sizes) - sizes
    most = np.maximum.reduceat(fewest, starts)
    most[most > MAX_DIGITS] = -1
    # a chunk takes its values' most digits; checked again, since near 2^53 a value exact with fewer digits
    # may not be exact with more
    exact, _ = as_decimals(values, POWERS[np.repeat(np.maximum(most, 0), sizes)])
    most[np.minimum.reduceat(exact, starts) == 0] = -1
    return most


def as_decimals(values: np.ndarray, powers: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Which values are an integer ÷ their power of ten, to the bit, and those integers (0 where not)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = np.rint(values * powers)
        exact = np.abs(scaled) < 2.0 ** 53  # also False for NaN
        integers = np.where(exact, scaled, 0).astype("<i8")
    exact &= (integers / powers).view("<i8") == values.view("<i8")
    integers[~exact] = 0
    return exact, integers


def decode_values(blobs: list[bytes]) -> np.ndarray:
    """The values of several chunks, one after the other, from decimal steps and float64 alike."""
    values, digits = unshuffle(blobs, "<f8")
    decimal = digits >= 0
    if decimal.any():
        sizes = sizes_of(blobs)
        at, chunks = np.repeat(decimal, sizes), sizes[decimal]
        values[at] = running_sums(values[at].view("<i8"), chunks) / POWERS[np.repeat(digits[decimal], chunks)]
    return values


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
