"""metrics_server: a self-hosted metrics server on Apache Cassandra."""
from metrics_server.app import create_app

__all__ = ["create_app"]
