from tests.azuresim.fixtures import azure_sim

__all__ = ["azure_sim"]
