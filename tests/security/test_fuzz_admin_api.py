"""Fuzz every admin route from docs/openapi/admin-api.json. API Gateway's AWS_IAM authorizer stands in front of these
in a stack, so the requests here count as an admin's: valid ones may change state, but no request may fail the
node (5xx, a trace, a hang), every error is a JSON {"error", "message"}, every status is documented, and a refused
request changes nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzz_support import (
    ENCODINGS,
    FUZZ,
    Operation,
    bodies,
    check,
    directions,
    event,
    invoke,
    operations,
    path_for,
    path_values,
)

ADMIN = operations("admin-api.json")


def test_the_document_lists_every_admin_route():
    from functions.admin_api.app import app

    routes = {f"{r.method} {r.openapi_path}" for r in app._static_routes + app._dynamic_routes}
    assert routes == {op.id for op in ADMIN}


def queries(operation: Operation) -> st.SearchStrategy[str]:
    if not operation.query:
        return st.sampled_from(["", "x=1"])
    value = st.one_of(st.text(max_size=30), st.just("c-" + "0" * 32), st.just("ACME-1"), st.just("z" * 3000),
                      st.sampled_from(["draft", "active", "0", "1", "20", "-1", "1e3", "\uff11"]))
    return st.dictionaries(st.sampled_from(operation.query), value, max_size=len(operation.query)).map(urlencode)


@pytest.mark.parametrize("operation", ADMIN, ids=lambda op: op.id)
def test_admin_requests_never_fail_the_node_and_refusals_change_nothing(
    node, lambda_context, table_snapshot, operation: Operation
):
    from functions.admin_api.app import lambda_handler

    @FUZZ
    @given(
        body=bodies(operation),
        target=st.one_of(st.sampled_from(node.ids), path_values),
        query=queries(operation),
        encoding=st.sampled_from(ENCODINGS),
        content_type=st.sampled_from(["application/json", "text/plain", ""]),
        direction=directions,
    )
    def attempt(body: bytes, target: str, query: str, encoding: str, content_type: str, direction: str) -> None:
        before = table_snapshot()
        built = event(operation.method, path_for(operation.path, target, direction), body,
                      {"content-type": content_type},
                      query=query, encoding=encoding)
        reply = invoke(lambda_handler, built, lambda_context)
        check(reply, operation, f"{operation.id} {query[:40]} {encoding} {body[:60]!r}")
        if 400 <= reply.status < 500:  # a 502 (partner unreachable) may leave a rotation offer pending, by design
            assert table_snapshot() == before, reply.text

    attempt()
