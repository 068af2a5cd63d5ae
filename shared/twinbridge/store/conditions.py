"""What the repositories need to know of a failed DynamoDB call: whether it was a write's condition that failed."""

from __future__ import annotations

from botocore.exceptions import ClientError


def condition_failed(exc: ClientError) -> bool:
    """True when ``exc`` is a conditional write refused because its condition did not hold (not an outage)."""
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")
