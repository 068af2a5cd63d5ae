"""Tracker webhook intake (Jira Cloud/DC, Azure DevOps service hooks): authenticate, normalize, enqueue once, 202."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.http.errors import install_error_handlers
from twinbridge.http.webhook_auth import verified_webhook
from twinbridge.observability import logger, metrics
from twinbridge.services.ingest_webhook import ingest_webhook, track_invocation
from twinbridge.wiring import wiring

app = APIGatewayHttpResolver()
install_error_handlers(app)

METRIC_BY_STATUS = {"queued": "WebhookQueued", "duplicate": "WebhookDuplicate", "ignored": "WebhookIgnored"}


@app.post("/hooks/<tracker>")
def receive_tracker_webhook(tracker: str) -> tuple[dict, int]:
    deps = wiring()
    logger.append_keys(tracker=tracker[:40])
    request = verified_webhook(  # 404 wrong tracker, 413 too large, 401 unauthenticated: before any parsing
        app.current_event, tracker, deps.settings.tracker_type, credentials=lambda: deps.webhook_credentials
    )  # the webhook secret only: this internet-facing function is never granted the tracker credentials
    receipt = ingest_webhook(deps, tracker, request.body, request.headers)
    metrics.add_metric(name=METRIC_BY_STATUS[receipt.status], unit=MetricUnit.Count, value=1)
    if receipt.actor == "unknown":  # the technical-user guard could not fire: only the echo guards stood
        metrics.add_metric(name="WebhookWithoutActor", unit=MetricUnit.Count, value=1)
    return receipt.model_dump(mode="json", exclude_none=True), 202


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    track_invocation(context)
    return app.resolve(event, context)
