"""metrics_server: a self-hosted metrics server on Apache Cassandra, and its agents.

The package itself imports nothing, so `metrics-server tail` and `simulate` start without loading Flask, pandas
or the Cassandra driver; the app is `metrics_server.app.create_app`.
"""
