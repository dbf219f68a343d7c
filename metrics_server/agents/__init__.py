"""Agents shipped with metrics_server: `metrics-server tail` (an access-log monitor) and `metrics-server simulate`."""
