"""One Logger and one Metrics object for every function (no Tracer: see docs/decisions.md #6)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="twinbridge")
metrics = Metrics(namespace="Twinbridge", service="twinbridge")
