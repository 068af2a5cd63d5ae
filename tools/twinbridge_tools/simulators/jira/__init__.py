"""A loopback Jira (Cloud REST v3 or Data Center REST v2), split by concern: ``model`` (data), ``base`` (state,
dispatch, auth, renderings, webhooks), route mixins ``issues``, ``content`` and ``meta``, ``simulator`` (the route
table), ``jql``, ``adf`` (Cloud's ADF schema check), ``render`` and ``pages`` (the demo's read-only browse page)."""

from twinbridge_tools.simulators.jira.model import ALL_PERMISSIONS, Flavour, SimUser
from twinbridge_tools.simulators.jira.simulator import JiraSimulator

__all__ = ["ALL_PERMISSIONS", "Flavour", "JiraSimulator", "SimUser"]
