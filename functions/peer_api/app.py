"""Peer API: the node-to-node protocol (invitation acceptance, handshake, ping, push, long-poll, key rotation).

Deployed on public nodes only. Every route authenticates in code with HMAC request signatures.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.http.errors import install_error_handlers
from twinbridge.http.inputs import parse_body, signed_request
from twinbridge.models import messages
from twinbridge.models.connection import Connection
from twinbridge.observability import logger, metrics
from twinbridge.services import invitations, messaging, rotation, routing
from twinbridge.services.deps import Deps
from twinbridge.services.peer_auth import authenticate
from twinbridge.wiring import wiring

app = APIGatewayHttpResolver()
install_error_handlers(app)


def authenticate_and_promote() -> tuple[Deps, Connection]:
    """The connection the current request is signed for (401 otherwise). A write too: the first request signed with
    a key this node offered in a rotation switches our outbound key to its partner (rotation.promote_if_confirmed)."""
    deps = wiring()
    conn, key_id = authenticate(deps, signed_request(app.current_event))
    logger.append_keys(connection_id=conn.id)
    return deps, rotation.promote_if_confirmed(deps, conn, key_id)


@app.post("/peer/v1/invitations/<connection_id>/accept")
def accept_invitation(connection_id: str) -> dict:
    body = parse_body(app.current_event, messages.AcceptRequest)
    answer = invitations.receive_accept(wiring(), connection_id, signed_request(app.current_event), body)
    metrics.add_metric(name="InvitationAccepted", unit="Count", value=1)
    return answer.model_dump(mode="json")


@app.get("/peer/v1/invitations/<connection_id>/acceptance")
def fetch_acceptance(connection_id: str) -> dict:
    return invitations.serve_acceptance(wiring(), connection_id, signed_request(app.current_event)).model_dump(
        mode="json"
    )


@app.post("/peer/v1/handshake/confirm")
def confirm_handshake() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.ConfirmRequest)
    return invitations.receive_confirm(deps, conn, body).model_dump(mode="json")


@app.post("/peer/v1/ping")
def ping() -> dict:
    deps, conn = authenticate_and_promote()
    return messaging.receive_ping(deps, conn, parse_body(app.current_event, messages.PingRequest)).model_dump(
        mode="json"
    )


@app.post("/peer/v1/messages")
def push_messages() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.PushRequest)
    answer = messaging.receive_push(deps, conn, body, routing.MESSAGE_KINDS)
    return answer.model_dump(mode="json")


@app.post("/peer/v1/poll")
def long_poll() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.PollRequest)
    context = app.lambda_context
    answer = messaging.serve_poll(deps, conn, body, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="PollMessagesServed", unit="Count", value=len(answer.messages))
    return answer.model_dump(mode="json")


@app.post("/peer/v1/keys/rotate")
def rotate_keys() -> dict:
    deps, conn = authenticate_and_promote()
    return rotation.answer_rotation(deps, conn, parse_body(app.current_event, messages.RotateRequest)).model_dump(
        mode="json"
    )


@app.post("/peer/v1/keys/rotate-answer")
def rotate_answer() -> dict:
    deps, conn = authenticate_and_promote()
    body = parse_body(app.current_event, messages.RotateAnswerRequest)
    return rotation.receive_rotate_answer(deps, conn, body).model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
