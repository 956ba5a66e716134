"""The chart's fixtures (the embedded cluster with the CRDs installed) for the deploy target's test."""

from tests.operator.conftest import spyops_crds

__all__ = ["spyops_crds"]
