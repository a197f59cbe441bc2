"""Input sources: one module per input kind, each turning inputs into `Resource` objects."""
