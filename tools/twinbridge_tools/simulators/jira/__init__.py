"""A loopback Jira (Cloud REST v3 or Data Center REST v2), split by concern: ``simulator`` (state, routes),
``adf`` (Cloud's ADF schema check), ``pages`` (the demo's read-only browse page)."""

from twinbridge_tools.simulators.jira.simulator import ALL_PERMISSIONS, Flavour, JiraSimulator, SimUser

__all__ = ["ALL_PERMISSIONS", "Flavour", "JiraSimulator", "SimUser"]
