"""What a write stores, decided before Cassandra: by series then time, a repeated time keeping its last point."""
import numpy as np

from metrics_server.storage.points import Points, big_endian, doubles, stored_order
from cassandra.query import UNSET_VALUE


def test_a_repeated_time_keeps_its_last_point_and_rows_go_by_series_then_time():
    points = Points(series=["a", "b"], series_index=np.array([1, 0, 1, 0, 1, 0]),
                    ts=np.array([5, 7, 3, 7, 5, 1]), value=np.array([0.0, 1, 2, 3, 4, 5]))
    order = stored_order(points)
    assert order.tolist() == [5, 3, 2, 4]
    assert points.value[order].tolist() == [5, 3, 2, 4]


def test_cells_are_the_bytes_cassandra_stores():
    assert big_endian(np.array([1, -1]), ">i8") == [(1).to_bytes(8, "big"), (-1).to_bytes(8, "big", signed=True)]
    cells = doubles(np.array([1.5, np.nan]))
    assert cells[0] == b"\x3f\xf8" + bytes(6) and cells[1] is UNSET_VALUE
