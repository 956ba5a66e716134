"""Benchmarks that print JSON, each number next to its baseline (``spyops bench ...``)."""
