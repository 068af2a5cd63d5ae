"""Helpers shared by the webhook parsers: refusal errors, JSON loading, delivery ids, timestamps (no I/O)."""

from __future__ import annotations

import datetime as dt
import email.utils
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
_DOTNET_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")  # old TFS JSON: /Date(1480556400000)/
_EPOCH_DIGITS = re.compile(r"^-?\d{9,16}(\.\d+)?$")
_MILLIS_FROM = 100_000_000_000  # 1973 in milliseconds, 5138 in seconds: anything larger is milliseconds


def parse_instant(value: Any) -> dt.datetime | None:
    """When a delivery says it happened, as an aware UTC datetime; None when it says nothing usable.

    Understands epoch seconds or milliseconds (numbers or digit strings), ISO 8601 (ADO's 7 fractional digits,
    Jira's ``+0000``, a space for ``T``, no zone = UTC), .NET ``/Date(ms)/`` and RFC 2822 dates.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and _EPOCH_DIGITS.match(value.strip()):
        value = float(value.strip())
    if isinstance(value, (int, float)):
        return _from_epoch(value / 1000 if abs(value) >= _MILLIS_FROM else value)
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    dotnet = _DOTNET_DATE.match(raw)
    if dotnet:
        return _from_epoch(int(dotnet.group(1)) / 1000)
    iso = _FRACTION.sub(r"\1", raw).replace("Z", "+00:00").replace("z", "+00:00")
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # Jira's +0000
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _from_epoch(seconds: float) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
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
