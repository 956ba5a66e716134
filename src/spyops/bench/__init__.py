"""Benchmarks (`spyops bench ...`): each prints one JSON document with its numbers and baselines."""
