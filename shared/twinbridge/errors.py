"""Domain errors: each says what is wrong; HTTP statuses are assigned in twinbridge.http.errors only."""

from __future__ import annotations


class TwinbridgeError(Exception):
    """Base class: ``code`` is a stable machine-readable slug, ``message`` a sentence for people."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(TwinbridgeError):
    code = "invalid_request"


class BothSidesPrivateError(InvalidRequestError):
    code = "both_sides_private"


class MalformedInvitationError(InvalidRequestError):
    code = "malformed_invitation"


class PayloadTooLargeError(InvalidRequestError):
    """A request body larger than its endpoint accepts."""

    code = "payload_too_large"


class RefusedMessageError(InvalidRequestError):
    """A partner message this node will never act on (it claims what the partner may not claim); it is acknowledged,
    recorded on the connection's activity log, and skipped, so it neither blocks the channel nor is retried."""

    code = "message_refused"


class NotATrackerEventError(InvalidRequestError):
    """The body is JSON but not a webhook event of the tracker the endpoint serves (a REST response, a stray POST)."""

    code = "not_a_tracker_event"


class UnsupportedEventError(InvalidRequestError):
    """A genuine tracker event of a type twinbridge does not sync (worklogs, sprints, an unknown ADO event type)."""

    code = "unsupported_event"


class AuthenticationError(TwinbridgeError):
    """Peer authentication failed. The message sent to the caller is always generic; ``reason`` is for our logs."""

    code = "unauthorized"
    PUBLIC_MESSAGE = "request authentication failed"

    def __init__(self, reason: str) -> None:
        super().__init__(self.PUBLIC_MESSAGE)
        self.reason = reason


class WebhookAuthenticationError(AuthenticationError):
    """A tracker delivery without valid proof of origin. ``reason`` is logged, never sent."""

    PUBLIC_MESSAGE = "webhook authentication failed: the signature, token or credentials are missing or wrong"


class NotFoundError(TwinbridgeError):
    code = "not_found"


class ConflictError(TwinbridgeError):
    code = "conflict"


class InvitationUsedError(ConflictError):
    code = "invitation_used"


class ConcurrentModificationError(ConflictError):
    code = "concurrent_modification"


class DuplicateKeyError(ConflictError):
    code = "duplicate_key"


class ConnectionInactiveError(ConflictError):
    code = "connection_inactive"


class DeliveryInProgressError(ConflictError):
    """The same webhook delivery is being processed right now (a concurrent retry); the tracker should retry later."""

    code = "delivery_in_progress"


class InvitationExpiredError(TwinbridgeError):
    code = "invitation_expired"


class ThrottledError(TwinbridgeError):
    """A partner went over one of its connection's quotas; it may try again after ``retry_after`` seconds."""

    code = "throttled"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, round(retry_after))


class RemoteError(TwinbridgeError):
    """The partner node could not be reached or answered with an error."""

    code = "remote_error"

    def __init__(self, message: str, status: int | None = None, remote_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.remote_code = remote_code


class StoreBusyError(TwinbridgeError):
    """DynamoDB kept refusing part of a request (throttled); the work is retried later, nothing was decided."""

    code = "store_busy"


# --- sync ------------------------------------------------------------------------------------------
class AttachmentTransferError(TwinbridgeError):
    """An attachment could not be fetched from the partner's presigned URL, or did not match its hash."""

    code = "attachment_transfer_failed"


class ApplyFailedError(TwinbridgeError):
    """An incoming replica could not be applied; the reason is recorded on the twin and the queue retries it."""

    code = "apply_failed"


# --- tracker calls -----------------------------------------------------------------------------
class TrackerError(TwinbridgeError):
    """A tracker call failed; names the tracker, the operation and the HTTP status (None: no answer)."""

    code = "tracker_error"

    def __init__(self, tracker: str, operation: str, status: int | None, detail: str) -> None:
        where = f"{tracker} {operation}"
        super().__init__(f"{where} failed ({status if status is not None else 'no response'}): {detail}")
        self.tracker = tracker
        self.operation = operation
        self.status = status
        self.detail = detail


class TrackerAuthError(TrackerError):
    """401: the credentials are wrong or expired."""

    code = "tracker_unauthorized"


class TrackerPermissionError(TrackerError):
    """403: the technical user lacks a permission."""

    code = "tracker_forbidden"


class TrackerNotFoundError(TrackerError):
    code = "tracker_not_found"


class TrackerRejectedError(TrackerError):
    """400/409/412/422: the tracker refused the content (a field, a transition, a stale revision)."""

    code = "tracker_rejected"


class TrackerThrottledError(TrackerError):
    """429 after the retry budget; ``retry_after`` is the tracker's last hint in seconds."""

    code = "tracker_throttled"

    def __init__(self, tracker: str, operation: str, status: int | None, detail: str,
                 retry_after: float | None) -> None:
        super().__init__(tracker, operation, status, detail)
        self.retry_after = retry_after


class TrackerUnavailableError(TrackerError):
    """5xx, timeouts or connection failures after the retry budget."""

    code = "tracker_unavailable"
