"""Strict base64url text for binary values (keys, invitation halves) in JSON and DynamoDB items."""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64e(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    """Strict base64url: any character outside the alphabet is an error, never silently dropped."""
    text = text.strip()
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url text")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
