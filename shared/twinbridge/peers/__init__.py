"""Node-to-node protocol: key agreement, request signing and the HTTP client for partner nodes."""
