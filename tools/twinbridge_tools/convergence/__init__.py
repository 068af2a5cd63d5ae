"""Convergence testing: two in-process nodes, what people did, and the invariants a settled pair satisfies."""
