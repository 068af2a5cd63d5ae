"""Operator and developer tools: the admin CLI, the local runtime, the tracker simulators (not in the Lambda layer)."""
