"""Pure query engine: time parsing, bin edges and per-bin aggregation on numpy arrays."""
