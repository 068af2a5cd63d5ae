"""Admin API (AWS_IAM auth on the HTTP API): connections, invitations, keys, test connection, node info, sync state,
script-mode rules.

Each decorator describes its models for the OpenAPI document (docs/openapi/admin-api.json, written by
benchmarks/openapi_documents.py).
"""

from __future__ import annotations

import re

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.errors import InvalidRequestError, NotFoundError
from twinbridge.http.errors import install_error_handlers
from twinbridge.http.inputs import parse_body
from twinbridge.http.openapi import documented
from twinbridge.models import admin
from twinbridge.models.rules import (
    DryRunRequest,
    DryRunResponse,
    PublishRulesRequest,
    RollbackRulesRequest,
    RulesHistoryResponse,
    RulesResponse,
    SaveRulesRequest,
)
from twinbridge.models.sync_admin import (
    SyncErrorsResponse,
    SyncRetryRequest,
    SyncRetryResponse,
    SyncSummaryResponse,
    TwinStatusResponse,
)
from twinbridge.observability import logger, metrics
from twinbridge.services import connections, invitations, rotation, rules, sync_admin
from twinbridge.wiring import wiring

app = APIGatewayHttpResolver()
install_error_handlers(app)

CONNECTION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
MAX_QUERY_CHARS = 256
CONNECTION_QUERY = ("connection", "only this connection (its id)")


def _connection_id(value: str) -> str:
    """A connection id from the path; anything that cannot be one is simply not found (never a storage error)."""
    if not CONNECTION_ID.fullmatch(value):
        raise NotFoundError("no such connection on this node")
    return value


def _seen_as() -> str | None:
    """The URL this request arrived on: a stack without PublicBaseUrl is known to partners by it."""
    domain = app.current_event.request_context.domain_name
    if not domain:
        return None
    scheme = "http" if domain.split(":")[0] in ("127.0.0.1", "localhost") else "https"
    return f"{scheme}://{domain}"


@app.get("/admin/v1/node", **documented(summary="This node: name, public or private, tracker, technical user",
                                        response=admin.NodeInfoResponse))
def node_info() -> dict:
    return connections.node_info(wiring())


@app.get("/admin/v1/connections", **documented(summary="Every connection", response=admin.ConnectionListResponse))
def list_connections() -> dict:
    return {"connections": [conn.public_view() for conn in wiring().connections.list()]}


@app.post(
    "/admin/v1/connections/invitations",
    **documented(summary="Create a pending connection and its single-use invitation code", status=201,
                 request=admin.InitiateRequest, response=admin.InitiateResponse),
)
def initiate() -> tuple[dict, int]:
    conn, code = invitations.initiate(wiring(), parse_body(app.current_event, admin.InitiateRequest), _seen_as())
    metrics.add_metric(name="InvitationCreated", unit="Count", value=1)
    return {"connection": conn.public_view(), "invitation_code": code}, 201


@app.post(
    "/admin/v1/connections/accept",
    **documented(summary="Accept a partner's invitation code", status=201, request=admin.AcceptInvitationRequest,
                 response=admin.ConnectionResponse, errors=(409, 410, 502)),
)
def accept() -> tuple[dict, int]:
    conn = invitations.accept(wiring(), parse_body(app.current_event, admin.AcceptInvitationRequest), _seen_as())
    return {"connection": conn.public_view()}, 201


@app.post(
    "/admin/v1/connections/manual",
    **documented(summary="Add a connection with keys both admins type (IssueSYNC style)", status=201,
                 request=admin.ManualConnectionRequest, response=admin.ConnectionResponse, errors=(409,)),
)
def add_manual() -> tuple[dict, int]:
    conn = connections.add_manual(wiring(), parse_body(app.current_event, admin.ManualConnectionRequest))
    return {"connection": conn.public_view()}, 201


@app.get(
    "/admin/v1/connections/<connection_id>",
    **documented(summary="One connection with its backlog and recent events", response=admin.ConnectionDetailResponse),
)
def show(connection_id: str) -> dict:
    return {"connection": connections.get_with_events(wiring(), _connection_id(connection_id))}


@app.delete(
    "/admin/v1/connections/<connection_id>",
    **documented(summary="Remove a connection and its keys on this node", response=admin.DeletedResponse),
)
def delete(connection_id: str) -> dict:
    connections.delete(wiring(), _connection_id(connection_id))
    return {"deleted": connection_id}


@app.post(
    "/admin/v1/connections/<connection_id>/activate",
    **documented(summary="Resume a paused connection", response=admin.ConnectionResponse, errors=(409,)),
)
def activate(connection_id: str) -> dict:
    return {"connection": connections.set_active(wiring(), _connection_id(connection_id), True).public_view()}


@app.post(
    "/admin/v1/connections/<connection_id>/deactivate",
    **documented(summary="Pause a connection (the partner's requests are refused)", response=admin.ConnectionResponse,
                 errors=(409,)),
)
def deactivate(connection_id: str) -> dict:
    return {"connection": connections.set_active(wiring(), _connection_id(connection_id), False).public_view()}


@app.post(
    "/admin/v1/connections/<connection_id>/rotate-keys",
    **documented(summary="New keys by a fresh X25519 exchange over the signed channel",
                 response=admin.ConnectionResponse, errors=(409, 429, 502)),
)
def rotate_keys(connection_id: str) -> dict:
    return {"connection": rotation.rotate_keys(wiring(), _connection_id(connection_id)).public_view()}


@app.post(
    "/admin/v1/connections/<connection_id>/test",
    **documented(summary="Internal tracker checks and a signed ping round trip", response=admin.TestReportResponse),
)
def test(connection_id: str) -> dict:
    report = connections.test_connection(wiring(), _connection_id(connection_id))
    return {**report.model_dump(mode="json"), "ok": report.ok}


@app.post(
    "/admin/v1/connections/<connection_id>/messages",
    **documented(summary="Send a note through the message channel", status=202, request=admin.SendMessageRequest,
                 response=admin.SentMessageResponse, errors=(409,)),
)
def send_message(connection_id: str) -> tuple[dict, int]:
    body = parse_body(app.current_event, admin.SendMessageRequest)
    message = connections.send_message(wiring(), _connection_id(connection_id), body)
    return {"message": message.model_dump(mode="json")}, 202


def _query(name: str) -> str | None:
    value = app.current_event.get_query_string_value(name) or None
    if value is not None and len(value) > MAX_QUERY_CHARS:
        raise InvalidRequestError(f"query parameter '{name}' is longer than {MAX_QUERY_CHARS} characters")
    return value


@app.get(
    "/admin/v1/sync/summary",
    **documented(summary="Twins, errors, pending replicas and backlog per connection", response=SyncSummaryResponse,
                 query=[CONNECTION_QUERY]),
)
def sync_summary() -> dict:
    return sync_admin.summary(wiring(), _query("connection")).model_dump(mode="json")


@app.get(
    "/admin/v1/sync/twins",
    **documented(summary="The twins of one item", response=TwinStatusResponse,
                 query=[("item", "required: a local item key (ACME-12), a local item id or a twin id"),
                        CONNECTION_QUERY]),
)
def sync_twins() -> dict:
    item = _query("item")
    if item is None:
        raise InvalidRequestError(
            "query parameter 'item' is required: a local item key (ACME-12), a local item id or a twin id"
        )
    return sync_admin.twin_status(wiring(), item, _query("connection")).model_dump(mode="json")


@app.get(
    "/admin/v1/sync/errors",
    **documented(summary="Twins whose last sync failed", response=SyncErrorsResponse, query=[CONNECTION_QUERY]),
)
def sync_errors() -> dict:
    return sync_admin.errors(wiring(), _query("connection")).model_dump(mode="json")


@app.post(
    "/admin/v1/sync/retry",
    **documented(summary="Queue failed twins again", status=202, request=SyncRetryRequest, response=SyncRetryResponse),
)
def sync_retry() -> tuple[dict, int]:
    result = sync_admin.retry(wiring(), parse_body(app.current_event, SyncRetryRequest))
    metrics.add_metric(name="SyncRetryQueued", unit="Count", value=len(result.queued))
    return result.model_dump(mode="json"), 202


RULES = "/admin/v1/connections/<connection_id>/rules/<direction>"
MAX_AUTHOR_CHARS = 256


def _caller() -> str:
    """Who is asking: the IAM principal API Gateway's AWS_IAM authorizer verified (the local runtime passes one too)."""
    context = app.current_event.raw_event.get("requestContext") or {}
    for holder in (context.get("authorizer"), context.get("authentication")):
        iam = holder.get("iam") if isinstance(holder, dict) else None
        arn = iam.get("userArn") if isinstance(iam, dict) else None
        if isinstance(arn, str) and arn:
            return arn[:MAX_AUTHOR_CHARS]
    return "unknown"


def _int_query(name: str, default: int | None, low: int, high: int) -> int | None:
    value = _query(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise InvalidRequestError(f"query parameter '{name}' must be a whole number from {low} to {high}")
    return int(value)


@app.get(
    RULES,
    **documented(summary="Script-mode rules of one direction: the active ones (the generated defaults while none "
                 "is published), the newest draft, or one version", response=RulesResponse,
                 query=[("version", "'active' (default), 'draft', or a version number (0: the generated defaults)")]),
)
def show_rules(connection_id: str, direction: str) -> dict:
    view = rules.show(wiring(), _connection_id(connection_id), rules.parse_direction(direction),
                      rules.parse_which(_query("version")))
    return {"rules": view.model_dump(mode="json")}


@app.post(
    RULES,
    **documented(summary="Save a new draft version of the rules (checked: errors block publishing)", status=201,
                 request=SaveRulesRequest, response=RulesResponse, errors=(409,)),
)
def save_rules(connection_id: str, direction: str) -> tuple[dict, int]:
    connection_id, side = _connection_id(connection_id), rules.parse_direction(direction)
    body = parse_body(app.current_event, SaveRulesRequest)
    view = rules.save(wiring(), connection_id, side, body, _caller())
    return {"rules": view.model_dump(mode="json")}, 201


@app.post(
    RULES + "/publish",
    **documented(summary="Make a version (default: the newest draft) the active rules", request=PublishRulesRequest,
                 response=RulesResponse, errors=(409,)),
)
def publish_rules(connection_id: str, direction: str) -> dict:
    connection_id, side = _connection_id(connection_id), rules.parse_direction(direction)
    body = parse_body(app.current_event, PublishRulesRequest)
    return {"rules": rules.publish(wiring(), connection_id, side, body.version, _caller()).model_dump(mode="json")}


@app.post(
    RULES + "/rollback",
    **documented(summary="Make a previously published version (0: the generated defaults) active again",
                 request=RollbackRulesRequest, response=RulesResponse, errors=(409,)),
)
def rollback_rules(connection_id: str, direction: str) -> dict:
    connection_id, side = _connection_id(connection_id), rules.parse_direction(direction)
    body = parse_body(app.current_event, RollbackRulesRequest)
    return {"rules": rules.rollback(wiring(), connection_id, side, body.version, _caller()).model_dump(mode="json")}


@app.get(
    RULES + "/history",
    **documented(summary="Versions of the rules (newest first) and who saved, published or rolled back what, when",
                 response=RulesHistoryResponse,
                 query=[("limit", "versions and events per page, 1-100 (default 20)"),
                        ("before", "only versions older than this one (the previous page's next_before)")]),
)
def rules_history(connection_id: str, direction: str) -> dict:
    connection_id, side = _connection_id(connection_id), rules.parse_direction(direction)
    limit = _int_query("limit", 20, 1, rules.MAX_HISTORY) or 20
    before = _int_query("before", None, 1, 1_000_000)
    return rules.history(wiring(), connection_id, side, limit, before).model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


@app.post(
    RULES + "/dry-run",
    **documented(summary="Run a version of the rules (a draft too) on a real item: the replica it would send, or the "
                 "exact tracker requests it would make, with nothing sent anywhere", request=DryRunRequest,
                 response=DryRunResponse, errors=(409,)),
)
def dry_run_rules(connection_id: str, direction: str) -> dict:
    connection_id, side = _connection_id(connection_id), rules.parse_direction(direction)
    body = parse_body(app.current_event, DryRunRequest)
    from twinbridge.services import rules_dry_run  # the sync engine's modules: loaded by the calls that need them

    return rules_dry_run.dry_run(wiring(), connection_id, side, body).model_dump(mode="json")
