"""Peer request signatures: what a partner must send for a request to be accepted, and what is refused."""

from __future__ import annotations

import pytest

from twinbridge.errors import AuthenticationError
from twinbridge.peers import keys, signing
from twinbridge.peers.signing import (
    HEADER_KEY_ID,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SignedRequest,
    sign,
    verify,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
T0 = 1_700_000_000.0
BODY = b'{"seq": 7, "changes": []}'


def signed(
    *,
    key: bytes = KEY,
    method: str = "POST",
    path: str = "/peer/v1/changes",
    query: str = "after=3&limit=50",
    body: bytes = BODY,
    at: float = T0,
) -> dict[str, str]:
    return sign(key, method, path, query, body, now=at)


def received(
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = "/peer/v1/changes",
    query: str = "after=3&limit=50",
    body: bytes = BODY,
) -> SignedRequest:
    return SignedRequest(method=method, path=path, query=query, headers=headers, body=body)


def refusal(key: bytes, request: SignedRequest, *, now: float = T0) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        verify(key, request, now=now)
    return caught.value


def test_request_signed_with_the_shared_key_verifies():
    verify(KEY, received(signed()), now=T0)


def test_request_without_body_or_query_verifies():
    headers = sign(KEY, "GET", "/peer/v1/status", "", b"", now=T0)
    verify(KEY, SignedRequest("GET", "/peer/v1/status", "", headers, b""), now=T0)


def test_method_case_does_not_change_the_signature():
    verify(KEY, received(signed(method="post"), method="POST"), now=T0)


def test_headers_name_the_key_by_its_public_id_and_carry_the_signing_time():
    headers = signed()
    assert headers[HEADER_KEY_ID] == keys.key_id(KEY)
    assert headers[HEADER_TIMESTAMP] == str(int(T0))
    assert received(headers).key_id == keys.key_id(KEY)


def test_every_signature_gets_a_fresh_nonce():
    first, second = signed(), signed()
    assert first[HEADER_NONCE] != second[HEADER_NONCE]
    assert first[HEADER_SIGNATURE] != second[HEADER_SIGNATURE]


def test_tampered_body_is_refused():
    error = refusal(KEY, received(signed(), body=BODY.replace(b"7", b"8")))
    assert error.reason == "signature mismatch"


def test_appended_body_byte_is_refused():
    assert refusal(KEY, received(signed(), body=BODY + b" ")).reason == "signature mismatch"


def test_tampered_method_is_refused():
    assert refusal(KEY, received(signed(method="POST"), method="DELETE")).reason == "signature mismatch"


def test_tampered_path_is_refused():
    request = received(signed(path="/peer/v1/changes"), path="/peer/v1/connections/c-1/deactivate")
    assert refusal(KEY, request).reason == "signature mismatch"


def test_query_parameter_order_does_not_matter():
    verify(KEY, received(signed(query="after=3&limit=50"), query="limit=50&after=3"), now=T0)


def test_changed_query_value_is_refused():
    request = received(signed(query="after=3&limit=50"), query="after=0&limit=50")
    assert refusal(KEY, request).reason == "signature mismatch"


def test_added_query_parameter_is_refused():
    request = received(signed(query="after=3&limit=50"), query="after=3&limit=50&all=1")
    assert refusal(KEY, request).reason == "signature mismatch"


def test_dropped_query_parameter_is_refused():
    assert refusal(KEY, received(signed(query="after=3&limit=50"), query="after=3")).reason == "signature mismatch"


def test_swapped_query_values_are_refused():
    assert refusal(KEY, received(signed(query="a=1&b=2"), query="a=2&b=1")).reason == "signature mismatch"


def test_request_signed_with_another_key_is_refused():
    assert refusal(KEY, received(signed(key=OTHER_KEY))).reason == "signature mismatch"


@pytest.mark.parametrize("offset", [299, 300, -299, -300])
def test_clock_skew_within_five_minutes_is_accepted(offset):
    verify(KEY, received(signed(at=T0)), now=T0 + offset)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_clock_skew_beyond_five_minutes_is_refused(offset):
    # offset > 0: the request is old (or replayed later); offset < 0: it claims to come from the future
    error = refusal(KEY, received(signed(at=T0)), now=T0 + offset)
    assert error.reason == "timestamp outside the allowed clock skew"


def test_rewritten_timestamp_is_refused_even_when_fresh():
    headers = signed(at=T0 - 3600)
    headers[HEADER_TIMESTAMP] = str(int(T0))
    assert refusal(KEY, received(headers)).reason == "signature mismatch"


def test_rewritten_nonce_is_refused():
    headers = signed()
    headers[HEADER_NONCE] = "0" * 32
    assert refusal(KEY, received(headers)).reason == "signature mismatch"


@pytest.mark.parametrize("header", [HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE])
def test_missing_signature_header_is_refused(header):
    headers = signed()
    del headers[header]
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


@pytest.mark.parametrize("header", [HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE])
def test_empty_signature_header_is_refused(header):
    headers = signed()
    headers[header] = ""
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


@pytest.mark.parametrize("timestamp", ["1700000000.0", "-1700000000", " 1700000000", "now", "1e9"])
def test_non_integer_timestamp_is_refused(timestamp):
    headers = signed()
    headers[HEADER_TIMESTAMP] = timestamp
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


def test_oversized_nonce_is_refused():
    headers = signed()
    headers[HEADER_NONCE] = "n" * 65
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


def test_signature_of_wrong_length_is_refused():
    headers = signed()
    headers[HEADER_SIGNATURE] = headers[HEADER_SIGNATURE][:-2]
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


def test_missing_key_id_is_refused():
    headers = signed()
    del headers[HEADER_KEY_ID]
    with pytest.raises(AuthenticationError) as caught:
        _ = received(headers).key_id
    assert caught.value.reason == "missing or malformed key id header"


def test_oversized_key_id_is_refused():
    headers = signed()
    headers[HEADER_KEY_ID] = "k_" + "a" * 63
    with pytest.raises(AuthenticationError) as caught:
        _ = received(headers).key_id
    assert caught.value.reason == "missing or malformed key id header"


def test_caller_only_ever_sees_the_generic_message_while_logs_get_the_reason():
    failures = []
    for request, now in [
        (received(signed(), body=b"tampered"), T0),
        (received(signed(key=OTHER_KEY)), T0),
        (received(signed()), T0 + 3600),
        (received({}), T0),
    ]:
        failures.append(refusal(KEY, request, now=now))
    assert {f.message for f in failures} == {"request authentication failed"}
    assert {str(f) for f in failures} == {"request authentication failed"}
    assert len({f.reason for f in failures}) == 3  # mismatch twice, skew, malformed headers
    assert all(f.reason not in f.message for f in failures)


def test_signature_is_compared_in_constant_time(monkeypatch):
    calls = []
    constant_time_compare = signing.hmac.compare_digest

    def recording_compare(a, b):
        calls.append((a, b))
        return constant_time_compare(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", recording_compare)
    good = signed()
    verify(KEY, received(good), now=T0)
    forged = dict(good, **{HEADER_SIGNATURE: "0" * 64})
    refusal(KEY, received(forged))
    assert [provided for _, provided in calls] == [good[HEADER_SIGNATURE], "0" * 64]


def test_constant_time_comparison_decides_the_outcome(monkeypatch):
    # if verification used `==` instead, a valid request would still pass here
    monkeypatch.setattr(signing.hmac, "compare_digest", lambda a, b: False)
    assert refusal(KEY, received(signed())).reason == "signature mismatch"


# --- Hostile headers ----------------------------------------------------------------------------
# A malformed header must be refused with AuthenticationError (401), never a ValueError/TypeError
# that would surface as a 500 and an "unexpected failure" stack trace for what is just a bad request.


def test_non_ascii_signature_header_is_refused():
    headers = signed()
    headers[HEADER_SIGNATURE] = "é" * 64  # a latin-1 header byte decodes to this
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


def test_unicode_digit_timestamp_is_refused():
    headers = signed()
    headers[HEADER_TIMESTAMP] = "\u00b2"  # '²': isdigit() is True, int() raises ValueError
    assert refusal(KEY, received(headers)).reason == "missing or malformed signature headers"


def test_absurdly_long_timestamp_is_refused():
    headers = signed()
    headers[HEADER_TIMESTAMP] = "9" * 5000
    refusal(KEY, received(headers))
