"""Helpers shared by the webhook parsers: refusal errors, JSON loading, delivery ids, timestamps (no I/O)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from twinbridge.errors import InvalidRequestError, NotATrackerEventError
from twinbridge.models.messages import json_depth

# The deepest delivery of the reference corpora nests 10 levels; 64 leaves room for rich-text fields (an ADF
# document nests up to ~26) and keeps every later walk over the payload (clip's json.dumps, the job's
# serialization) far below Python's recursion limit.
MAX_JSON_DEPTH = 64


def load_object(body: bytes, expected: str) -> dict[str, Any]:
    """The JSON object in ``body``; 400s say what was expected instead."""
    if not body.strip():
        raise InvalidRequestError(f"request body is empty; expected {expected}")
    too_deep = InvalidRequestError(f"request body nests deeper than {MAX_JSON_DEPTH} levels; expected {expected}")
    try:
        data = json.loads(body)
    except RecursionError as exc:  # the C parser stops at the interpreter's recursion limit, cleanly
        raise too_deep from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer over Python's 4300-digit limit
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InvalidRequestError(f"request body is not valid JSON{where}; expected {expected}") from exc
    if json_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise too_deep
    if not isinstance(data, dict):
        raise NotATrackerEventError(
            f"not a tracker event: the body is a JSON {type(data).__name__}; expected {expected}"
        )
    return data


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (HTTP APIs lower-case names; local callers may not)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def body_delivery_id(prefix: str, event_name: str, body: bytes) -> str:
    """A stable delivery id when the tracker sends none: the same raw bytes and event give the same id."""
    digest = hashlib.sha256(event_name.encode() + b"\n" + body).hexdigest()
    return f"{prefix}:sha256:{digest}"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A non-empty string form of an id-like value (ints included), else None."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    result = str(value).strip()
    return result or None


_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_instant(value: Any) -> dt.datetime | None:
    """Epoch milliseconds or an ISO-8601 string (ADO sends 7 fractional digits) as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        raw = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
        raw = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", raw)  # Jira's +0000
        try:
            parsed = dt.datetime.fromisoformat(raw)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def base_url_before(url: Any, marker: str) -> str | None:
    """``https://host/ctx`` from ``https://host/ctx<marker>...``; None when the marker is absent."""
    if not isinstance(url, str):
        return None
    index = url.find(marker)
    if index <= 0:
        return None
    base = url[:index].rstrip("/")
    return base if base.startswith(("http://", "https://")) else None
