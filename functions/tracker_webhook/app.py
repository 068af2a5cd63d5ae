"""Tracker webhook intake (Jira Cloud/DC, Azure DevOps service hooks).

The route exists from day one so trackers can be pointed at it; parsing, authentication and enqueueing
arrive with the tracker layer. Until then every delivery gets a clear 501 and nothing is stored.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.errors import InvalidRequestError, NotImplementedYetError
from twinbridge.http.errors import install_error_handlers
from twinbridge.observability import logger, metrics

app = APIGatewayHttpResolver()
install_error_handlers(app)

TRACKERS = ("jira-cloud", "jira-dc", "azure-devops")


@app.post("/hooks/<tracker>")
def receive_tracker_webhook(tracker: str) -> dict:
    if tracker not in TRACKERS:
        raise InvalidRequestError(f"unknown tracker '{tracker[:40]}'; expected one of {', '.join(TRACKERS)}")
    raise NotImplementedYetError(f"webhook intake for {tracker} is not available yet on this version of twinbridge")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
