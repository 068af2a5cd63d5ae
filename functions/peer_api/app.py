"""Peer API: the node-to-node protocol (invitation acceptance, handshake, ping, push, long-poll, key rotation).

Deployed on public nodes only. Every route authenticates in code with HMAC request signatures over the raw body
(so bodies are parsed here, after the bytes are read, never by Powertools); each decorator describes its models for
the OpenAPI document (docs/openapi/peer-api.json, written by benchmarks/openapi_documents.py).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.http.errors import install_error_handlers
from twinbridge.http.inputs import parse_body, signed_request
from twinbridge.http.openapi import documented
from twinbridge.models import messages
from twinbridge.models.connection import Connection
from twinbridge.observability import logger, metrics
from twinbridge.services import invitations, messaging, rotation, routing
from twinbridge.services.deps import Deps
from twinbridge.services.peer_auth import authenticate
from twinbridge.wiring import wiring

app = APIGatewayHttpResolver()
install_error_handlers(app)

SIGNED = (401, 409, 413)  # every signed route: refused signature, inactive connection, oversized body
QUOTA = (*SIGNED, 429)  # routes a connection's quotas limit (services.messaging, services.rotation)


def authenticate_and_promote() -> tuple[Deps, Connection]:
    """The connection the current request is signed for (401 otherwise). A write too: the first request signed with
    a key this node offered in a rotation switches our outbound key to its partner (rotation.promote_if_confirmed)."""
    deps = wiring()
    conn, key_id = authenticate(deps, signed_request(app.current_event))
    logger.append_keys(connection_id=conn.id)
    return deps, rotation.promote_if_confirmed(deps, conn, key_id)


@app.post(
    "/peer/v1/invitations/<connection_id>/accept",
    **documented(
        summary="An acceptor hands its X25519 half to the (public) initiator of an invitation",
        request=messages.AcceptRequest,
        response=messages.AcceptResponse,
        errors=(*SIGNED, 410),
        description="Signed with the key both sides derive from the invitation. Any request that does not prove it "
        "holds that key gets the same 401, whatever the invitation's state; 409 (used) and 410 (expired) only "
        "answer requests that do.",
    ),
)
def accept_invitation(connection_id: str) -> dict:
    answer = invitations.receive_accept(wiring(), connection_id, signed_request(app.current_event))
    metrics.add_metric(name="InvitationAccepted", unit="Count", value=1)
    return answer.model_dump(mode="json")


@app.get(
    "/peer/v1/invitations/<connection_id>/acceptance",
    **documented(
        summary="A private initiator fetches the public acceptor's X25519 half",
        response=messages.AcceptanceResponse,
        errors=(401, 413),
        description="Signed with the invitation's fetch key. Until the code is accepted here (and after the "
        "handshake completed) there is nothing to verify against, so the answer is the same 401 as for a forged "
        "request.",
    ),
)
def fetch_acceptance(connection_id: str) -> dict:
    return invitations.serve_acceptance(wiring(), connection_id, signed_request(app.current_event)).model_dump(
        mode="json")


@app.post(
    "/peer/v1/handshake/confirm",
    **documented(
        summary="A private initiator confirms it derived the keys; the acceptor's connection turns active",
        request=messages.ConfirmRequest,
        response=messages.PingResponse,
        errors=SIGNED,
    ),
)
def confirm_handshake() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.ConfirmRequest)
    return invitations.receive_confirm(deps, conn, body).model_dump(mode="json")


@app.post(
    "/peer/v1/ping",
    **documented(
        summary="Signed round trip (connection test)",
        request=messages.PingRequest,
        response=messages.PingResponse,
        errors=SIGNED,
    ),
)
def ping() -> dict:
    deps, conn = authenticate_and_promote()
    return messaging.receive_ping(deps, conn, parse_body(app.current_event, messages.PingRequest)).model_dump(
        mode="json"
    )


@app.post(
    "/peer/v1/messages",
    **documented(
        summary="Push messages, in sequence order; the answer acknowledges the highest one applied",
        request=messages.PushRequest,
        response=messages.PushResponse,
        errors=QUOTA,
    ),
)
def push_messages() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.PushRequest)
    answer = messaging.receive_push(deps, conn, body, routing.MESSAGE_KINDS)
    return answer.model_dump(mode="json")


@app.post(
    "/peer/v1/poll",
    **documented(
        summary="Long-poll (a private partner): acknowledge what was applied, wait for what is queued",
        request=messages.PollRequest,
        response=messages.PollResponse,
        errors=QUOTA,
    ),
)
def long_poll() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.PollRequest)
    context = app.lambda_context
    answer = messaging.serve_poll(deps, conn, body, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="PollMessagesServed", unit="Count", value=len(answer.messages))
    return answer.model_dump(mode="json")


@app.post(
    "/peer/v1/keys/rotate",
    **documented(
        summary="A key-rotation offer: the partner's X25519 half; the answer is ours and a proof",
        request=messages.RotateRequest,
        response=messages.RotateResponse,
        errors=QUOTA,
    ),
)
def rotate_keys() -> dict:
    deps, conn = authenticate_and_promote()
    return rotation.answer_rotation(deps, conn, parse_body(app.current_event, messages.RotateRequest)).model_dump(
        mode="json"
    )


@app.post(
    "/peer/v1/keys/rotate-answer",
    **documented(
        summary="A private partner's answer to a rotation offer it polled",
        request=messages.RotateAnswerRequest,
        response=messages.PingResponse,
        errors=SIGNED,
    ),
)
def rotate_answer() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.RotateAnswerRequest)
    return rotation.receive_rotate_answer(deps, conn, body).model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
