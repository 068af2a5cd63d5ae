"""A loopback Azure DevOps work item tracking simulator (REST 7.1 subset, service hooks, permissions, faults)."""

from twinbridge_tools.simulators.azure_devops.model import AdoError, SimUser, ado_date, parse_date
from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator

__all__ = ["AdoError", "AzureDevOpsSimulator", "SimUser", "ado_date", "parse_date"]
