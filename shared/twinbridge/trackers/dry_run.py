"""A tracker client that reads for real and writes nothing: for rule dry runs, which must show the exact requests a
sync would send (the real client's own request building, byte for byte) without sending them.

Its session's transport lets reads (GET, HEAD, OPTIONS) through and stops at the first write: the request is kept,
unsent, and ``WriteCaptured`` ends the client call there. It derives from BaseException so that no ``except
Exception`` on the client's retry path can take a captured write for a failure and try again."""

from __future__ import annotations

import json
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.captured import CapturedRequest, WriteCaptured
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.factory import build_client

READS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_LIMIT = 256_000


class _CaptureWrites(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if (request.method or "GET").upper() in READS:
            return super().send(request, *args, **kwargs)
        raise WriteCaptured(_captured(request))


def _captured(request: requests.PreparedRequest) -> CapturedRequest:
    content_type = str(request.headers.get("Content-Type", ""))
    raw = request.body
    body: Any
    if raw is None:
        body = None
    elif isinstance(raw, (bytes, str)) and "json" in content_type:
        text = raw.decode() if isinstance(raw, bytes) else raw
        body = json.loads(text) if len(text) <= BODY_LIMIT else f"({len(text)} characters of JSON)"
    else:  # a file upload: streamed, not read here
        body = f"({content_type or 'binary'} body)"
    return CapturedRequest(method=(request.method or "").upper(), url=str(request.url), content_type=content_type,
                           body=body)


def dry_run_client(kind: str, base_url: str, credentials: TrackerCredentials, **options: Any) -> TrackerClient:
    """The node's client, built the same way, on a session that sends reads and captures writes."""
    session = requests.Session()
    adapter = _CaptureWrites()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return build_client(kind, base_url, credentials, session=session, **options)
