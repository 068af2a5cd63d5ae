"""The one table from domain errors to HTTP statuses, and the body every function sends with them."""

from __future__ import annotations

import inspect
import json

import pytest

from twinbridge import errors
from twinbridge.http.errors import error_response, status_for

EXPECTED = [
    (errors.AuthenticationError("signature mismatch"), 401),
    (errors.NotFoundError("no connection c-1"), 404),
    (errors.ConflictError("already active"), 409),
    (errors.InvitationUsedError("c-1"), 409),
    (errors.ConcurrentModificationError("version moved"), 409),
    (errors.DuplicateKeyError("key in use"), 409),
    (errors.ConnectionInactiveError("deactivated"), 409),
    (errors.InvitationExpiredError("expired yesterday"), 410),
    (errors.InvalidRequestError("bad body"), 400),
    (errors.BothSidesPrivateError("neither side has a URL"), 400),
    (errors.MalformedInvitationError("checksum mismatch"), 400),
    (errors.RemoteError("partner answered 500", status=500, remote_code="internal_error"), 502),
    (errors.RemoteError("partner unreachable"), 502),
    (errors.WebhookAuthenticationError("X-Hub-Signature does not match"), 401),
    (errors.PayloadTooLargeError("2 MB; at most 1 MB"), 413),
    (errors.NotATrackerEventError("a REST response"), 400),
    (errors.RefusedMessageError("twin a:1 was never shared"), 400),
    (errors.ThrottledError("over the replica quota", retry_after=3), 429),
    (errors.UnsupportedEventError("a worklog"), 400),
    (errors.DeliveryInProgressError("delivery d-1 is being processed"), 409),
    (errors.AttachmentTransferError("SHA-256 mismatch"), 500),
    (errors.ApplyFailedError("twin t-1: tracker refused the type"), 500),
    (errors.TrackerError("jira-cloud", "get item", 500, "boom"), 502),
    (errors.TrackerAuthError("jira-cloud", "get item", 401, "token expired"), 502),
    (errors.TrackerPermissionError("jira-cloud", "create item", 403, "no create permission"), 502),
    (errors.TrackerNotFoundError("jira-cloud", "get item", 404, "no ACME-9"), 502),
    (errors.TrackerRejectedError("azure-devops", "update item", 400, "bad field"), 502),
    (errors.TrackerThrottledError("jira-cloud", "search", 429, "slow down", retry_after=7.0), 503),
    (errors.StoreBusyError("DynamoDB left keys unprocessed"), 503),
    (errors.TrackerUnavailableError("azure-devops", "get item", None, "connection refused"), 502),
]
# A 401 says the same to every caller, whatever was refused: these share their base class's code on purpose.
SHARED_CODES = {errors.WebhookAuthenticationError}


@pytest.mark.parametrize(("error", "status"), EXPECTED, ids=[type(e).__name__ + f"-{s}" for e, s in EXPECTED])
def test_domain_error_maps_to_its_status(error, status):
    assert status_for(error) == status


def test_every_domain_error_has_a_deliberate_status():
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.TwinbridgeError) and cls is not errors.TwinbridgeError
    }
    assert defined == {type(error) for error, _ in EXPECTED}


def test_a_tracker_status_is_not_passed_through():
    # the tracker refusing our technical user is not the caller's 401 or 404
    assert status_for(errors.TrackerAuthError("jira-cloud", "get item", 401, "expired")) == 502
    assert status_for(errors.TrackerNotFoundError("jira-cloud", "get item", 404, "gone")) == 502


def test_unclassified_error_is_a_server_error():
    assert status_for(errors.TwinbridgeError("something odd")) == 500


def test_remote_partner_status_is_not_passed_through():
    # a 404 or 401 from the partner must not look like our own "not found" or "unauthorized"
    assert status_for(errors.RemoteError("partner said no", status=401)) == 502
    assert status_for(errors.RemoteError("partner said gone", status=404)) == 502


def test_each_error_has_its_own_machine_readable_code():
    own = {type(error) for error, _ in EXPECTED} - SHARED_CODES
    assert len({kind.code for kind in own}) == len(own)


def test_authentication_error_tells_the_caller_nothing_specific():
    error = errors.AuthenticationError("key id is retired or expired")
    assert error.message == "request authentication failed"
    assert "retired" not in str(error)


def test_error_body_carries_code_and_message_only():
    response = error_response(409, "invitation_used", "this invitation was already accepted")
    assert response.status_code == 409
    assert json.loads(response.body) == {"error": "invitation_used", "message": "this invitation was already accepted"}
