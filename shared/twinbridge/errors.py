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


class AuthenticationError(TwinbridgeError):
    """Peer authentication failed. The message sent to the caller is always generic; ``reason`` is for our logs."""

    code = "unauthorized"
    PUBLIC_MESSAGE = "request authentication failed"

    def __init__(self, reason: str) -> None:
        super().__init__(self.PUBLIC_MESSAGE)
        self.reason = reason


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


class InvitationExpiredError(TwinbridgeError):
    code = "invitation_expired"


class RemoteError(TwinbridgeError):
    """The partner node could not be reached or answered with an error."""

    code = "remote_error"

    def __init__(self, message: str, status: int | None = None, remote_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.remote_code = remote_code


class NotImplementedYetError(TwinbridgeError):
    code = "not_implemented"
