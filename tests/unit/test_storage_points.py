"""What a write stores and a read gives back, decided outside Cassandra: chunks per series and hour, blobs that
round-trip exactly, and a merge where the later write wins a repeated time."""
import math
import uuid
import zlib

import numpy as np
import pytest
from cassandra.query import UNSET_VALUE
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.storage import codec, intake
from metrics_server.storage import points as store
from metrics_server.storage.points import Points, chunk_rows, merged, stored_order
from metrics_server.storage.registry import Metric

HOUR = 3_600_000
METRIC = Metric(name="m", type="gauge", label_keys=("host",), partition_hours=24, retention_days=30)


def test_a_repeated_time_keeps_its_last_point_and_rows_go_by_series_then_time():
    points = Points(series=["a", "b"], series_index=np.array([1, 0, 1, 0, 1, 0]),
                    ts=np.array([5, 7, 3, 7, 5, 1]), value=np.array([0.0, 1, 2, 3, 4, 5]))
    order = stored_order(points)
    assert order.tolist() == [5, 3, 2, 4]
    assert points.value[order].tolist() == [5, 3, 2, 4]


@pytest.mark.parametrize(("series", "ts", "kept"), [
    ([0, 0, 0, 1, 1], [1, 2, 2, 1, 3], [0, 2, 3, 4]),  # in order already (series items): a repeat keeps its last
    ([1, 1, 0], [1, 2, 1], [2, 0, 1]),  # series out of order
    ([0, 0, 1], [2, 1, 1], [1, 0, 2]),  # times out of order within a series
])
def test_points_in_order_already_are_kept_as_sorting_would(series, ts, kept):
    points = Points(series=["a", "b"], series_index=np.array(series), ts=np.array(ts), value=np.zeros(len(ts)))
    assert stored_order(points).tolist() == kept


@pytest.mark.parametrize("ts", [[0], [1_704_067_200_000 + 60_000 * i for i in range(500)],
                                [-5, 3, 4, 2**53, 2**62], [7, 7, 7]])
def test_times_and_values_round_trip_exactly(ts):
    times = np.array(ts, dtype=np.int64)
    values = np.array([math.pi * i if i % 3 else np.nan for i in range(len(ts))])
    one = np.array([len(times)])
    assert codec.decode_ts(codec.encode_ts(times, one)).tolist() == times.tolist()
    assert np.array_equal(codec.decode_values(codec.encode_values(values, one)), values, equal_nan=True)


def test_several_chunks_encode_and_decode_at_once_like_one_at_a_time():
    rng = np.random.default_rng(7)
    chunks = [np.sort(rng.integers(-2**62, 2**62, size)) for size in (1, 5, 3, 200, 1)]
    values = [rng.normal(size=len(chunk)) for chunk in chunks]
    sizes = np.array([len(chunk) for chunk in chunks])
    ts_blobs = codec.encode_ts(np.concatenate(chunks), sizes)
    value_blobs = codec.encode_values(np.concatenate(values), sizes)
    assert ts_blobs == [codec.encode_ts(chunk, np.array([len(chunk)]))[0] for chunk in chunks]
    assert value_blobs == [codec.encode_values(v, np.array([len(v)]))[0] for v in values]
    assert codec.decode_ts(ts_blobs).tolist() == np.concatenate(chunks).tolist()
    assert codec.decode_values(value_blobs).tolist() == np.concatenate(values).tolist()
    assert codec.sizes_of(ts_blobs).tolist() == [1, 5, 3, 200, 1]
    assert codec.decode_ts(ts_blobs[1:2]).tolist() == chunks[1].tolist()
    assert len(codec.decode_ts([])) == 0 and len(codec.decode_values([])) == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
                                   st.builds(lambda n, digits: n / 10 ** digits, st.integers(-2**54, 2**54),
                                             st.integers(0, 10)),
                                   st.integers(-2**60, 2**60).map(float)), min_size=1, max_size=40),
                min_size=1, max_size=6))
def test_values_decode_to_the_bits_they_were_written_with_as_decimals_or_floats(chunks):
    values = np.array([value for chunk in chunks for value in chunk], dtype="<f8")
    sizes = np.array([len(chunk) for chunk in chunks])
    blobs = codec.encode_values(values, sizes)
    assert blobs == [codec.encode_values(np.array(chunk, dtype="<f8"), np.array([len(chunk)]))[0] for chunk in chunks]
    assert codec.decode_values(blobs).view("<i8").tolist() == values.view("<i8").tolist()


def test_decimals_are_stored_as_steps_with_the_fewest_digits_and_compress_to_half():
    rng = np.random.default_rng(3)
    cpu = np.round(np.clip(35 + np.cumsum(rng.normal(0, 1.5, 1000)), 0, 100), 2)
    stored = codec.encode_values(cpu, np.array([1000]))[0]
    assert len(stored) == 8 * 1000 + 1 and stored[0] == 2
    as_float = codec.shuffle(cpu, np.array([1000]))[0]  # how every value was stored before, and still decodes
    assert len(zlib.compress(stored)) < len(zlib.compress(as_float)) / 2
    assert codec.decode_values([as_float, stored]).tolist() == cpu.tolist() * 2
    blobs = [codec.encode_values(np.array(chunk), np.array([len(chunk)]))[0]
             for chunk in ([4096.0, 8192.0], [0.034, 12.5], [1e-9, 2.0], [-0.0, 1.0], [math.pi], [0.1 + 0.2])]
    digits = [blob[0] if len(blob) % 8 else "float64" for blob in blobs]
    assert digits == [0, 3, 9, "float64", "float64", "float64"]


def test_regular_times_shuffle_into_long_runs():
    blob = codec.encode_ts(np.arange(1_704_067_200_000, 1_704_067_200_000 + 60_000 * 1000, 60_000), np.array([1000]))[0]
    assert len(zlib.compress(blob)) < len(blob) / 50


def test_states_and_buckets_round_trip_with_infinite_bounds():
    cells = [None, {0.5: 3.0, 10.0: 7.0, math.inf: 9.0}, {}]
    assert codec.decode_cells(codec.encode_cells(cells), 3) == cells
    assert codec.decode_cells(codec.encode_cells(["up", None]), 2) == ["up", None]
    assert codec.decode_cells(None, 2) == [None, None]


def test_a_merge_stores_a_chunk_per_series_and_hour_keyed_by_the_newest_row_merged():
    ts = np.array([HOUR * 24 + 5, HOUR * 24 + 10, HOUR * 25, HOUR * 24 + 7, HOUR * 48])
    points = Points(series=["a", "b"], series_index=np.array([0, 0, 0, 1, 1]), ts=ts, value=np.arange(5.0))
    newest = uuid.uuid1()
    partitions, rows = chunk_rows(METRIC, points, newest)
    assert partitions == {("a", HOUR * 24), ("b", HOUR * 24), ("b", HOUR * 48)}
    assert [(row[4], row[2], row[3], codec.decode_ts([row[6]]).tolist(), codec.decode_values([row[7]]).tolist())
            for row in rows] == [("a", HOUR * 24, HOUR * 24, [HOUR * 24 + 5, HOUR * 24 + 10], [0.0, 1.0]),
                                 ("a", HOUR * 24, HOUR * 25, [HOUR * 25], [2.0]),
                                 ("b", HOUR * 24, HOUR * 24, [HOUR * 24 + 7], [3.0]),
                                 ("b", HOUR * 48, HOUR * 48, [HOUR * 48], [4.0])]
    assert all(row[1] == store.shard_of(row[4]) for row in rows)
    assert all(row[8] is UNSET_VALUE and row[9] is UNSET_VALUE and row[10] == METRIC.ttl_seconds for row in rows)
    assert {row[5] for row in rows} == {newest}


def test_a_big_hour_is_split_into_several_chunks_with_distinct_keys_of_the_same_time(monkeypatch):
    monkeypatch.setattr(store, "MAX_CHUNK_POINTS", 4)
    points = Points(series=["a"], series_index=np.zeros(10, dtype=np.int64), ts=np.arange(10), value=np.arange(10.0))
    newest = uuid.uuid1()
    _, rows = chunk_rows(METRIC, points, newest)
    assert [codec.decode_ts([row[6]]).tolist() for row in rows] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert rows[0][5] == newest and len({row[5] for row in rows}) == 3 and {row[5].time for row in rows} == {newest.time}


def test_intake_rows_round_trip_and_a_later_row_wins_a_repeated_time_in_a_read():
    first, second = uuid.uuid1(), uuid.uuid1()
    earlier = intake.encoded(["a", "b"], np.array([0, 0, 1]), np.array([10, 20, 10]), np.array([1.0, 2.0, 3.0]),
                             None, None)
    later = intake.encoded(["a"], np.array([0]), np.array([20]), np.array([9.5]), None, None)
    rows = [(first, *earlier[0]), (second, *later[0])]
    assert [len(rows[0][1].split(",")), rows[0][1]] == [2, "a,b"]
    found = intake.pieces(rows, {"a"}, ())
    assert [piece.ts.tolist() for piece in found["a"]] == [[10, 20], [20]] and "b" not in found
    chunk = row(uuid.UUID(int=0x0001), [10, 30], [0.5, 0.5])  # merged long ago
    points = merged([chunk], (), 0, 100, found["a"])
    assert points.ts.tolist() == [10, 20, 30] and points.value.tolist() == [1.0, 9.5, 0.5]


def row(written: uuid.UUID, ts: list[int], values: list[float], states: list | None = None) -> tuple:
    times, numbers, one = np.array(ts, dtype=np.int64), np.array(values), np.array([len(ts)])
    extra = () if states is None else (codec.encode_cells(states),)
    return (written, codec.encode_ts(times, one)[0], codec.encode_values(numbers, one)[0], *extra)


def test_a_read_merges_chunks_and_the_later_write_wins():
    first, second, third = (uuid.uuid1() for _ in range(3))
    rows = [row(second, [10, 20, 30], [2, 2, 2], ["b", "b", "b"]), row(first, [5, 10, 40], [1, 1, 1], ["a"] * 3),
            row(third, [20], [3], ["c"])]
    points = merged(rows, ("state",), 0, 100)
    assert points.ts.tolist() == [5, 10, 20, 30, 40]
    assert points.value.tolist() == [1, 2, 3, 2, 1]
    assert points.state == ["a", "b", "c", "b", "a"]
    window = merged(rows, ("state",), 10, 40)
    assert window.ts.tolist() == [10, 20, 30] and window.state == ["b", "c", "b"]


def test_a_read_of_nothing_is_empty():
    points = merged([], (), 0, 100)
    assert len(points) == 0 and points.ts.dtype == np.int64


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2 ** 60 - 1), st.integers(0, 2 ** 14 - 1), st.integers(0, 2 ** 48 - 1)),
                min_size=1, max_size=60))
def test_chunks_rank_by_written_time_then_bytes_as_sorting_the_uuids_does(fields):
    written = [uuid.UUID(fields=(t & 0xFFFFFFFF, (t >> 32) & 0xFFFF, 0x1000 | (t >> 48), seq >> 8, seq & 0xFF, node))
               for t, seq, node in fields]
    order = sorted(range(len(written)), key=lambda i: (written[i].time, written[i].bytes))
    ranked = store.written_order(written)
    assert [written[i] for i in np.argsort(ranked, kind="stable")] == [written[i] for i in order]


@pytest.mark.parametrize("late", [False, True])
def test_many_series_read_as_columns_equal_each_series_merged_on_its_own(late):
    """The columnar read (all series' chunks decoded at once) keeps what the per-series merge keeps: by series and
    time, the later write winning a repeated time, a late chunk sorted into place."""
    def chunk(sid, ts, value):
        sizes = np.array([len(ts)])
        return (sid, uuid.uuid1(), codec.encode_ts(np.array(ts), sizes)[0],
                codec.encode_values(np.array(value, dtype=float), sizes)[0], 0)
    rows = [chunk("a", [1, 2, 3], [1, 2, 3]), chunk("b", [1, 5], [10, 50]), chunk("a", [4, 6], [4, 6])]
    if late:
        rows += [chunk("a", [2, 5], [20, 5]), chunk("b", [0], [0])]
    series, ts, value = store.flattened(rows, {"a": 0, "b": 1}, 0, 100)
    columns = store.split(series, ts, value, ["a", "b"])
    for sid in ("a", "b"):
        alone = merged([row[1:] for row in rows if row[0] == sid], (), 0, 100)
        assert columns[sid].ts.tolist() == alone.ts.tolist() and columns[sid].value.tolist() == alone.value.tolist()
    assert columns["a"].value.tolist() == ([1, 20, 3, 4, 5, 6] if late else [1, 2, 3, 4, 6])


@pytest.mark.parametrize("by_series", [True, False])
def test_pieces_wider_than_the_range_are_cut_to_it_and_the_later_write_still_wins(by_series):
    """Cached pieces hold whole hours: a read keeps their points in [start, end) only, whether they come by series
    (as from the cache: nothing moved) or not, a later piece winning a repeated time inside the range."""
    first, later = uuid.uuid1(), uuid.uuid1()

    def piece(written, ts):
        return intake.Piece(written, np.array(ts, dtype=np.int64), np.array(ts, dtype=float) + (0.5 if written == later
                                                                                                else 0), [])
    pieces = [("a", piece(first, [0, 10, 20, 30])), ("a", piece(later, [20, 40])), ("b", piece(first, [5, 25, 35]))]
    if not by_series:
        pieces = pieces[2:] + pieces[:2]
    series, ts, value = store.flattened([], {"a": 0, "b": 1}, 10, 35, pieces)
    assert series.tolist() == [0, 0, 0, 1] and ts.tolist() == [10, 20, 30, 25]
    assert value.tolist() == [10, 20.5, 30, 25]


def test_a_writes_small_intake_rows_go_as_one_batch_and_a_big_one_alone():
    insert = "INSERT INTO intake (metric, bucket, series, ts, value) VALUES (%s, %s, %s, %s, %s)"
    small = [(insert, ("m", 0, "a,b", b"t" * 100, b"v" * 100))] * 4
    big = (insert, ("m", 0, "a", b"t" * store.BATCH_BYTES, b"v"))
    sent = store.together([*small[:2], big, *small[2:]])
    assert [values for _, values in sent if values is not None] == [big[1]]
    batches = [statement for statement, values in sent if values is None]
    assert len(batches) == 1 and len(batches[0]) == 4
