"""Pydantic models shared by handlers, services and storage (no AWS or HTTP imports)."""
