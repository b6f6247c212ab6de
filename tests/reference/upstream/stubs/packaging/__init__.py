"""Stand-in for the `packaging` distribution: only `packaging.version`."""
