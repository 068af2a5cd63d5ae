"""Primary-key builders for the single table: PK/SK, GSI1PK/GSI1SK, TTL in ``expires_at``."""

from __future__ import annotations

CONNECTIONS_INDEX = "GSI1"
TTL_ATTRIBUTE = "expires_at"
WEBHOOK_DELIVERY_PK = "WEBHOOK#DELIVERY"  # Powertools idempotency records of webhook deliveries


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


CONNECTION_SK = "META"
CONNECTIONS_GSI_PK = "CONNS"


def outbox_sk(seq: int) -> str:
    return f"OUT#{seq:016d}"


OUTBOX_PREFIX = "OUT#"
EVENT_PREFIX = "EVT#"


def event_sk(at_iso: str, event_id: str) -> str:
    return f"EVT#{at_iso}#{event_id}"


def key_pk(key_id: str) -> str:
    return f"KEY#{key_id}"


KEY_SK = "KEY"


def nonce_pk(nonce: str) -> str:
    return f"NONCE#{nonce}"


NONCE_SK = "NONCE"


def watermark_pk(tracker: str) -> str:
    return f"SCAN#{tracker}"


def watermark_sk(project: str) -> str:
    return f"PROJECT#{project}"


def twin_sk(twin_id: str) -> str:
    return f"TWIN#{twin_id}"


TWIN_PREFIX = "TWIN#"


def twin_local_sk(local_item_id: str) -> str:
    return f"TWINL#{local_item_id}"


TWIN_ERRORS_GSI_PK = "TWINERR"


def inbox_sk(twin_id: str) -> str:
    return f"{INBOX_PREFIX}{twin_id}"


INBOX_PREFIX = "INBOX#"


# Script-mode rules: versions, the active pointer and the history of one direction share the prefix RULES#<in|out>#.
_RULES_SIDE = {"outgoing": "out", "incoming": "in"}


def rules_prefix(direction: str) -> str:
    return f"RULES#{_RULES_SIDE[direction]}#"


def rules_version_sk(direction: str, version: int) -> str:
    return f"{rules_prefix(direction)}v{version:06d}"


def rules_active_sk(direction: str) -> str:
    return f"{rules_prefix(direction)}ACTIVE"


def rules_log_prefix(direction: str) -> str:
    return f"{rules_prefix(direction)}LOG#"


def rules_log_sk(direction: str, at_iso: str, entry_id: str) -> str:
    return f"{rules_log_prefix(direction)}{at_iso}#{entry_id}"
