"""Benchmarks that ship with the package (`spyops bench ...`); each prints one JSON document."""
