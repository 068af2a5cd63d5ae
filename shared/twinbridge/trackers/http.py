"""The one way tracker clients speak HTTP: timeouts on every call, throttling hints honoured, bounded jittered
retries, then a typed error naming the tracker, the operation and the status.

Retried: 429 and 5xx and connection failures for idempotent calls; for non-idempotent ones (POST/PATCH that
create or change) only 429, 503 with ``Retry-After`` and failures to connect, where the tracker cannot have acted.
Hints: ``Retry-After`` (seconds or an HTTP date), Jira's ``X-RateLimit-Reset`` (an ISO timestamp), Azure
DevOps' ``X-RateLimit-Reset`` (epoch seconds) and ``X-RateLimit-Remaining: 0`` / ``TF400733`` messages.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from twinbridge.errors import (
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    TrackerPermissionError,
    TrackerRejectedError,
    TrackerThrottledError,
    TrackerUnavailableError,
)
from twinbridge.observability import logger

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` includes the first try; a hint longer than ``max_wait`` is not waited for (typed error at once)."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_wait: float = 60.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass
class TrackerHttp:
    """A ``requests.Session`` bound to a tracker's base URL and auth, with the retry policy above.

    ``sleep`` and ``rng`` are injectable so tests see the exact waits without waiting.
    """

    tracker: str
    base_url: str
    session: requests.Session
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        expected: Iterable[int] = (200,),
        idempotent: bool | None = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send, retrying per policy; returns a response whose status is in ``expected`` or raises a TrackerError.

        A body that is a file object cannot be replayed: pass ``rewind`` (a callable) in kwargs to allow retries.
        """
        method = method.upper()
        expected = tuple(expected)
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        rewind: Callable[[], None] | None = kwargs.pop("rewind", None)
        replayable = rewind is not None or not _is_stream(kwargs.get("data"))
        waited = 0.0
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts or not replayable
            if attempt > 1 and rewind is not None:
                rewind()
            try:
                response = self.session.request(
                    method, self.url(path), timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                    stream=stream, **kwargs,
                )
            except requests.RequestException as exc:
                retryable = idempotent or _not_sent(exc)
                if last or not retryable:
                    raise TrackerUnavailableError(self.tracker, operation, None, _describe_exception(exc)) from exc
                delay = self._backoff(attempt)
                logger.warning("tracker call failed, retrying", extra=self._log(operation, attempt, None, delay))
            else:
                if response.status_code in expected:
                    return response
                hint = self.retry_hint(response)
                retryable = self._retryable(response, idempotent, hint)
                if last or not retryable:
                    raise self.error_for(operation, response, hint)
                delay = hint if hint is not None else self._backoff(attempt)
                if delay > self.policy.max_wait - waited:
                    raise self.error_for(operation, response, hint)
                response.close()
                logger.warning(
                    "tracker call refused, retrying", extra=self._log(operation, attempt, response.status_code, delay)
                )
            waited += delay
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        return decode_json(self.tracker, operation, self.request(operation, method, path, **kwargs))

    # ------------------------------------------------------------------------------------------- internals

    def _retryable(self, response: requests.Response, idempotent: bool, hint: float | None) -> bool:
        status = response.status_code
        if status == 429:
            return True
        if status == 503 and hint is not None:
            return True  # "come back later": the request was not processed
        return idempotent and status >= 500

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(attempt-1))], never below 10% of the cap."""
        cap = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        return max(cap * 0.1, self.rng.uniform(0, cap))

    def retry_hint(self, response: requests.Response) -> float | None:
        """Seconds the tracker asked us to wait, from Retry-After or X-RateLimit-Reset; None when it gave no hint."""
        headers = response.headers
        retry_after = headers.get("Retry-After")
        if retry_after:
            value = _parse_retry_after(retry_after, self.clock())
            if value is not None:
                return value
        reset = headers.get("X-RateLimit-Reset")
        if reset and (response.status_code == 429 or headers.get("X-RateLimit-Remaining") == "0"):
            return _parse_reset(reset, self.clock())
        return None

    def error_for(self, operation: str, response: requests.Response, hint: float | None = None) -> TrackerError:
        status = response.status_code
        detail = error_detail(response)
        if status == 401:
            return TrackerAuthError(self.tracker, operation, status, detail or "the credentials were not accepted")
        if status == 403:
            return TrackerPermissionError(self.tracker, operation, status, detail or "permission denied")
        if status == 404:
            return TrackerNotFoundError(self.tracker, operation, status, detail or "not found")
        if status == 429:
            return TrackerThrottledError(self.tracker, operation, status, detail or "rate limited", hint)
        if status >= 500:
            return TrackerUnavailableError(self.tracker, operation, status, detail or "server error")
        return TrackerRejectedError(self.tracker, operation, status, detail or "request refused")

    def _log(self, operation: str, attempt: int, status: int | None, delay: float) -> dict[str, Any]:
        return {"tracker": self.tracker, "operation": operation, "attempt": attempt, "status": status,
                "retry_in_seconds": round(delay, 3)}


def decode_json(tracker: str, operation: str, response: requests.Response) -> Any:
    """The answer's JSON (None for an empty answer); a typed error when the tracker sent something else."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise TrackerError(tracker, operation, response.status_code, "the answer is not JSON") from exc


def error_detail(response: requests.Response, limit: int = 300) -> str:
    """The tracker's own error text (Jira errorMessages/errors, ADO message), never the request or its auth."""
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return text[:limit] if text and not text.lstrip().startswith("<") else ""
    parts: list[str] = []
    if isinstance(body, dict):
        parts += [str(m) for m in body.get("errorMessages") or []]
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{name}: {message}" for name, message in errors.items()]
        for key in ("message", "errorMessage"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
    return "; ".join(parts)[:limit]


def _parse_retry_after(value: str, now: datetime) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _parse_reset(value: str, now: datetime) -> float | None:
    """Jira sends an ISO-8601 timestamp; Azure DevOps sends epoch seconds."""
    value = value.strip()
    try:
        return max(0.0, float(value) - now.timestamp())
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the tracker (so even a create may be retried)."""
    return isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc.args)
    )


def _is_stream(data: Any) -> bool:
    return data is not None and hasattr(data, "read")


def _describe_exception(exc: requests.RequestException) -> str:
    """The exception's kind, without the URL (which may hold an organization name) or any header."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return type(exc).__name__
