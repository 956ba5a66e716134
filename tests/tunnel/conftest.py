from __future__ import annotations

from tests.operator.conftest import operator_factory, operator_sa_kubeconfig, spyops_crds
from tests.vpnlink.conftest import azure_sim_process

__all__ = ["azure_sim_process", "operator_factory", "operator_sa_kubeconfig", "spyops_crds"]
