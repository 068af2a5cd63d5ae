"""What a dry-run tracker client hands back instead of sending a write (``trackers.dry_run`` makes the client; this
module imports no HTTP library, so the admin API can catch these without loading one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapturedRequest:
    """A write the client built and did not send: method, URL and body (JSON decoded; other bodies described)."""

    method: str
    url: str
    content_type: str
    body: Any

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "content_type": self.content_type, "body": self.body}


class WriteCaptured(BaseException):  # not an error: the end of a dry-run client call
    def __init__(self, request: CapturedRequest) -> None:
        super().__init__(f"{request.method} {request.url} captured")
        self.request = request
