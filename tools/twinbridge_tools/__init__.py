"""Operator and developer tools: the admin CLI, the local runtime and the tracker simulators (never in the Lambda layer)."""
