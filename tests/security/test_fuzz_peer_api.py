"""Fuzz every peer route from docs/openapi/peer-api.json: unauthenticated requests (anyone on the internet) and
requests correctly signed by a partner with hostile bodies. No 5xx, no trace, on time, JSON errors, documented
statuses; an unauthenticated request changes nothing, a refused signed one nothing but its nonce."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzz_support import (
    ENCODINGS,
    FUZZ,
    MAX_BODY,
    Operation,
    bodies,
    check,
    event,
    header_mixes,
    invoke,
    operations,
    path_for,
    path_values,
    without_nonces,
)

PEER = operations("peer-api.json")
SIGNED = [op for op in PEER if "{" not in op.path]  # routes a connection's key signs


def test_the_document_lists_every_peer_route():
    from functions.peer_api.app import app

    routes = {f"{r.method} {r.openapi_path}" for r in app._static_routes + app._dynamic_routes}
    assert routes == {op.id for op in PEER}


@pytest.mark.parametrize("operation", PEER, ids=lambda op: op.id)
def test_unauthenticated_requests_are_refused_cleanly_and_change_nothing(
    node, lambda_context, table_snapshot, operation: Operation
):
    from functions.peer_api.app import lambda_handler

    @FUZZ
    @given(
        body=bodies(operation),
        headers=header_mixes(),
        target=st.one_of(st.sampled_from(node.ids), path_values),
        encoding=st.sampled_from(ENCODINGS),
        query=st.sampled_from(["", "a=1", "debug=true&x=%ff", "q=" + "z" * 5000]),
    )
    def attempt(body: bytes, headers: dict, target: str, encoding: str, query: str) -> None:
        before = table_snapshot()
        built = event(operation.method, path_for(operation.path, target), body, headers, query=query, encoding=encoding)
        reply = invoke(lambda_handler, built, lambda_context)
        check(reply, operation, f"{operation.id} {encoding} {body[:60]!r}")
        assert reply.status in (400, 401, 404, 413), reply.text  # never a success without a key
        assert table_snapshot() == before

    attempt()


@pytest.mark.parametrize("operation", SIGNED, ids=lambda op: op.id)
def test_signed_requests_with_hostile_bodies_never_fail_the_node(
    node, lambda_context, table_snapshot, operation: Operation
):
    from functions.peer_api.app import lambda_handler
    from twinbridge.peers.signing import sign

    @FUZZ
    @given(body=bodies(operation), base64=st.booleans(), content_type=st.sampled_from(["application/json", "text/plain"]))
    def attempt(body: bytes, base64: bool, content_type: str) -> None:
        before = without_nonces(table_snapshot())
        headers = {"content-type": content_type, **sign(node.signing_key, operation.method, operation.path, "", body)}
        built = event(operation.method, operation.path, body, headers, encoding="base64" if base64 else "as-built")
        reply = invoke(lambda_handler, built, lambda_context)
        check(reply, operation, f"signed {operation.id} {body[:60]!r}")
        if reply.status >= 400:
            assert without_nonces(table_snapshot()) == before, reply.text

    attempt()


SIZES = {"just-under-1MiB": MAX_BODY - 64, "just-over-1MiB": MAX_BODY + 1, "6MiB": 6 * MAX_BODY}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_huge_bodies_are_refused_quickly_and_change_nothing(node, lambda_context, table_snapshot, size, signed):
    from functions.peer_api.app import lambda_handler
    from twinbridge.peers.signing import sign

    body = b'{"connection_id": "' + b"a" * (size - 21) + b'"}'
    assert len(body) == size
    for encoding in ("as-built", "base64"):
        headers = sign(node.signing_key, "POST", "/peer/v1/ping", "", body) if signed else {}  # a fresh nonce each
        before = without_nonces(table_snapshot())
        reply = invoke(lambda_handler, event("POST", "/peer/v1/ping", body, headers, encoding=encoding), lambda_context)
        check(reply, None, f"{size} bytes {encoding}")
        assert reply.status in ((400, 413) if signed else (401, 413)), reply.text
        assert (reply.status == 413) == (size > MAX_BODY)
        assert without_nonces(table_snapshot()) == before
