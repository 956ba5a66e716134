"""A local Azure Resource Manager endpoint for the VpnLink controller's tests and the demo.

`spyops azure-sim` serves, over HTTPS with a CA it generates at start, the ARM paths
the controller uses (connection, gateway, reset LROs, shared key) in the documented
JSON shapes, an App Service style managed-identity token endpoint and the
client-credentials token flow, and a plain-HTTP control API on loopback that scripts
the link's life (status changes, tunnel flaps, injected errors, throttling, slow or
failing resets, timelines).
"""

from spyops.azuresim.server import AzureSim, SimEndpoints
from spyops.azuresim.state import LinkSimulation, SimConfig

__all__ = [
    "AzureSim",
    "LinkSimulation",
    "SimConfig",
    "SimEndpoints",
]
