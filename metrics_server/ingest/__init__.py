"""The write path: request bodies as columns (columns.py), then per-type rules and storage (rules.py)."""
