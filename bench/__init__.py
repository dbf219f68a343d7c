"""Benchmarks of metrics_server against InfluxDB 1.x and VictoriaMetrics: `python -m bench.run [--quick]`.

One shared harness (`base`: timing, percentiles, daemons, results), one data set (`dataset`), one module per
system (`ours`, `influx`, `victoria`), and `run`, which starts them, loads the same points into each, queries
them in alternating rounds, measures their disks and writes the table.
"""
