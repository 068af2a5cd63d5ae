"""Admin API (AWS_IAM auth on the HTTP API): connections, invitations, keys, test connection, node info, sync state."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.errors import InvalidRequestError
from twinbridge.http.errors import install_error_handlers
from twinbridge.http.inputs import parse_body
from twinbridge.models import admin
from twinbridge.models.sync_admin import SyncRetryRequest
from twinbridge.observability import logger, metrics
from twinbridge.services import connections, invitations, rotation, sync_admin
from twinbridge.wiring import wiring

app = APIGatewayHttpResolver()
install_error_handlers(app)


def _seen_as() -> str | None:
    """The URL this request arrived on: a stack without PublicBaseUrl is known to partners by it."""
    domain = app.current_event.request_context.domain_name
    if not domain:
        return None
    scheme = "http" if domain.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    return f"{scheme}://{domain}"


@app.get("/admin/v1/node")
def node_info() -> dict:
    return connections.node_info(wiring())


@app.get("/admin/v1/connections")
def list_connections() -> dict:
    return {"connections": [conn.public_view() for conn in wiring().connections.list()]}


@app.post("/admin/v1/connections/invitations")
def initiate() -> tuple[dict, int]:
    conn, code = invitations.initiate(wiring(), parse_body(app.current_event, admin.InitiateRequest), _seen_as())
    metrics.add_metric(name="InvitationCreated", unit="Count", value=1)
    return {"connection": conn.public_view(), "invitation_code": code}, 201


@app.post("/admin/v1/connections/accept")
def accept() -> tuple[dict, int]:
    conn = invitations.accept(wiring(), parse_body(app.current_event, admin.AcceptInvitationRequest), _seen_as())
    return {"connection": conn.public_view()}, 201


@app.post("/admin/v1/connections/manual")
def add_manual() -> tuple[dict, int]:
    conn = connections.add_manual(wiring(), parse_body(app.current_event, admin.ManualConnectionRequest))
    return {"connection": conn.public_view()}, 201


@app.get("/admin/v1/connections/<connection_id>")
def show(connection_id: str) -> dict:
    return {"connection": connections.get_with_events(wiring(), connection_id)}


@app.delete("/admin/v1/connections/<connection_id>")
def delete(connection_id: str) -> dict:
    connections.delete(wiring(), connection_id)
    return {"deleted": connection_id}


@app.post("/admin/v1/connections/<connection_id>/activate")
def activate(connection_id: str) -> dict:
    return {"connection": connections.set_active(wiring(), connection_id, True).public_view()}


@app.post("/admin/v1/connections/<connection_id>/deactivate")
def deactivate(connection_id: str) -> dict:
    return {"connection": connections.set_active(wiring(), connection_id, False).public_view()}


@app.post("/admin/v1/connections/<connection_id>/rotate-keys")
def rotate_keys(connection_id: str) -> dict:
    return {"connection": rotation.rotate_keys(wiring(), connection_id).public_view()}


@app.post("/admin/v1/connections/<connection_id>/test")
def test(connection_id: str) -> dict:
    report = connections.test_connection(wiring(), connection_id)
    return {**report.model_dump(mode="json"), "ok": report.ok}


@app.post("/admin/v1/connections/<connection_id>/messages")
def send_message(connection_id: str) -> tuple[dict, int]:
    message = connections.send_message(wiring(), connection_id, parse_body(app.current_event, admin.SendMessageRequest))
    return {"message": message.model_dump(mode="json")}, 202


def _query(name: str) -> str | None:
    return app.current_event.get_query_string_value(name) or None


@app.get("/admin/v1/sync/summary")
def sync_summary() -> dict:
    return sync_admin.summary(wiring(), _query("connection")).model_dump(mode="json")


@app.get("/admin/v1/sync/twins")
def sync_twins() -> dict:
    item = _query("item")
    if item is None:
        raise InvalidRequestError(
            "query parameter 'item' is required: a local item key (ACME-12), a local item id or a twin id"
        )
    return sync_admin.twin_status(wiring(), item, _query("connection")).model_dump(mode="json")


@app.get("/admin/v1/sync/errors")
def sync_errors() -> dict:
    return sync_admin.errors(wiring(), _query("connection")).model_dump(mode="json")


@app.post("/admin/v1/sync/retry")
def sync_retry() -> tuple[dict, int]:
    result = sync_admin.retry(wiring(), parse_body(app.current_event, SyncRetryRequest))
    metrics.add_metric(name="SyncRetryQueued", unit="Count", value=len(result.queued))
    return result.model_dump(mode="json"), 202


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
