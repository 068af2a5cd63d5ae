"""What the repositories need to know of a failed DynamoDB call: whether it was a write's condition that failed."""

from __future__ import annotations

from botocore.exceptions import ClientError


def cancellation_codes(exc: ClientError) -> list[str]:
    """Why a TransactWriteItems was cancelled, one code per item in order (``"None"`` for an item that was fine)."""
    return [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]


def condition_failed(exc: ClientError) -> bool:
    """True when ``exc`` is a conditional write refused because its condition did not hold (not an outage)."""
    return bool(exc.response["Error"]["Code"] == "ConditionalCheckFailedException")
