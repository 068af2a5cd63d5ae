"""Loopback simulators of the trackers twinbridge talks to, for integration and end-to-end tests."""
