"""One Logger and one Metrics object for every function; the Tracer is created lazily (it pulls the X-Ray SDK)."""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="twinbridge")
metrics = Metrics(namespace="Twinbridge", service="twinbridge")


@functools.cache
def tracer():
    """The shared Tracer; imported on first use so handlers that never trace do not pay for aws_xray_sdk."""
    from aws_lambda_powertools import Tracer

    return Tracer(service="twinbridge")
