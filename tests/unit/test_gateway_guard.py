"""The local gateway's stand-in for AWS_IAM on admin routes, and its request framing rules."""

from __future__ import annotations

import pytest

from twinbridge_tools.local.gateway_guard import MAX_PAYLOAD_BYTES, Refusal, admin_refusal, body_length

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST:8080"])
def test_admin_requests_from_this_machine_go_through(host):
    assert admin_refusal(8080, {"host": host, **JSON}, b"{}") is None
    assert admin_refusal(8080, {"host": host, "origin": f"http://{host.lower()}"}, b"") is None
    assert admin_refusal(8080, {"host": host, "sec-fetch-site": "same-origin"}, b"") is None


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"host": "127.0.0.1:8081"}, 403),  # another port: another node, or a forwarded one
        ({"host": "evil.example:8080"}, 403),  # a DNS name rebound to 127.0.0.1
        ({}, 403),
        ({"host": "127.0.0.1:8080", "origin": "http://evil.example"}, 403),
        ({"host": "127.0.0.1:8080", "origin": "null"}, 403),
        ({"host": "127.0.0.1:8080", "origin": "https://127.0.0.1:8080"}, 403),
        ({"host": "127.0.0.1:8080", "sec-fetch-site": "same-site"}, 403),
        ({"host": "127.0.0.1:8080", "content-type": "text/plain"}, 415),
        ({"host": "127.0.0.1:8080", "content-type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_admin_requests_from_elsewhere_are_refused_with_a_reason(headers, status):
    refusal = admin_refusal(8080, headers, b'{"name": "x"}')
    assert isinstance(refusal, Refusal) and refusal.status == status and refusal.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 0),
        ({"content-length": "0"}, 0),
        ({"content-length": " 12 "}, 12),
        ({"content-length": str(MAX_PAYLOAD_BYTES)}, MAX_PAYLOAD_BYTES),
    ],
)
def test_body_length_reads_a_sound_content_length(headers, expected):
    assert body_length(headers) == expected


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"content-length": "-1"}, 400),
        ({"content-length": "12abc"}, 400),
        ({"content-length": "١٢"}, 400),  # Arabic-Indic digits: int() would take them
        ({"content-length": str(MAX_PAYLOAD_BYTES + 1)}, 413),
        ({"transfer-encoding": "chunked"}, 411),
    ],
)
def test_body_length_refuses_unreadable_framing(headers, status):
    refusal = body_length(headers)
    assert isinstance(refusal, Refusal) and refusal.status == status
