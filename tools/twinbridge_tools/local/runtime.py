"""One local node: the template's functions behind a loopback HTTP server (API Gateway v2 events), an SQS
consumer for queue-triggered functions and a scheduler for scheduled ones, on moto's server-mode AWS."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from twinbridge_tools.local.aws import CREDENTIALS, EmbeddedAws, LocalResources
from twinbridge_tools.local.events import http_api_event, scheduled_event, sqs_event
from twinbridge_tools.local.gateway_guard import Refusal, admin_refusal, body_length
from twinbridge_tools.local.lambda_emulator import LambdaEmulator
from twinbridge_tools.local.template import HttpRoute, functions, schedule_seconds, withheld_variables
from twinbridge_tools.local.trackers import LocalTracker, start_tracker

LOCAL_RETRY_VISIBILITY_SECONDS = 5


@dataclass
class NodeOptions:
    name: str
    public: bool
    port: int
    tracker_type: str = "jira-cloud"
    tracker_base_url: str = ""
    technical_user: str = "twinbridge-bot"
    log_level: str = "INFO"
    long_poll_seconds: float = 20.0
    aws_port: int | None = None
    simulated_project: str | None = None  # start a simulated tracker of tracker_type with this project
    technical_user_guard: bool = True  # False only for the loop test


class LocalNode:
    def __init__(self, options: NodeOptions) -> None:
        self.options = options
        self.url = f"http://127.0.0.1:{options.port}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._aws: EmbeddedAws | None = None
        self._server: ThreadingHTTPServer | None = None
        self.resources: LocalResources | None = None
        self.emulators: dict[str, LambdaEmulator] = {}
        self.routes: list[tuple[HttpRoute, LambdaEmulator]] = []
        self.tracker: LocalTracker | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        tracker_secret: dict[str, str] = {}
        webhook_secret: dict[str, str] = {}
        if self.options.simulated_project:
            self.tracker = start_tracker(
                self.options.tracker_type, self.options.name, self.url, self.options.simulated_project
            )
            self.options.tracker_base_url = self.tracker.base_url
            self.options.technical_user = self.tracker.technical_user
            tracker_secret = self.tracker.credentials
            webhook_secret = self.tracker.webhook_credentials
        self._aws = EmbeddedAws(self.options.aws_port)
        self._aws.start()
        self.resources = self._aws.provision(self.options.name, tracker_secret, webhook_secret)
        os.environ.update(self._environment(self.resources))
        conditions = {"IsPublic": self.options.public}
        warming = []
        specs = functions()
        for spec in specs:
            if spec.condition is not None and not conditions.get(spec.condition, False):
                continue  # e.g. a private node deploys no peer API at all
            # As deployed: a function only sees the template's variables it is given (the webhook function gets
            # WEBHOOK_SECRET_ARN and not TRACKER_SECRET_ARN), although the node's process holds them all.
            emulator = LambdaEmulator(spec, self.options.name, withheld_variables(spec, specs))
            warming.append(emulator.prewarm())
            self.emulators[spec.logical_id] = emulator
            self.routes += [(route, emulator) for route in spec.routes]
            for _ in spec.queues:
                self._spawn(f"sqs-{spec.logical_id}", self._consume_queue, emulator)
            for expression in spec.schedules:
                self._spawn(f"schedule-{spec.logical_id}", self._run_schedule, emulator, schedule_seconds(expression))
        for container in warming:
            container.wait_ready()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.options.port), _handler_for(self))
        self._server.daemon_threads = True
        self._spawn("http", self._server.serve_forever, 0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        for emulator in self.emulators.values():
            emulator.stop()
        if self._aws is not None:
            self._aws.stop()
        if self.tracker is not None:
            self.tracker.stop()

    def wait(self) -> None:
        while not self._stop.wait(1.0):
            pass

    def _spawn(self, name: str, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=f"{self.options.name}-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _environment(self, res: LocalResources) -> dict[str, str]:
        o = self.options
        env = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": res.endpoint,
            "NODE_NAME": o.name,
            "TRACKER_TYPE": o.tracker_type,
            "TRACKER_BASE_URL": o.tracker_base_url,
            "TRACKER_SECRET_ARN": res.secret_arn,
            "WEBHOOK_SECRET_ARN": res.webhook_secret_arn,
            "TECHNICAL_USER": o.technical_user,
            "TECHNICAL_USER_GUARD": "true" if o.technical_user_guard else "false",
            "NODE_PUBLIC": "true" if o.public else "false",
            "TABLE_NAME": res.table_name,
            "SYNC_QUEUE_URL": res.sync_queue_url,
            "ATTACHMENTS_BUCKET": res.bucket,
            "LOCAL_RUNTIME": "true",  # partners and buckets live on loopback here (plain http, 127.0.0.1)
            "LONG_POLL_SECONDS": str(o.long_poll_seconds),
            "POWERTOOLS_SERVICE_NAME": "twinbridge",
            "POWERTOOLS_METRICS_NAMESPACE": "Twinbridge",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": o.log_level,
        }
        if o.public:
            env["PUBLIC_URL"] = self.url
        return env

    # --- API Gateway ---------------------------------------------------------------------------
    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        for route, emulator in self.routes:
            params = route.match(method, parts.path)
            if params is None:
                continue
            refusal = admin_refusal(self.options.port, headers, body) if route.iam_auth else None
            if refusal is not None:
                return _refused(refusal)
            event = http_api_event(
                method,
                parts.path,
                parts.query,
                headers,
                body,
                route_key=route.route_key,
                path_parameters=params,
                domain=headers.get("host", "127.0.0.1"),
                iam_caller="arn:aws:iam::000000000000:user/local-admin" if route.iam_auth else None,
            )
            return _http_response(emulator.invoke(event))
        return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'

    # --- SQS event source mapping ---------------------------------------------------------------
    def _consume_queue(self, emulator: LambdaEmulator) -> None:
        import boto3

        sqs = boto3.client("sqs")
        if self.resources is None:
            raise RuntimeError("the node's AWS resources are not provisioned yet")
        url = self.resources.sync_queue_url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        while not self._stop.is_set():
            try:
                received = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if not received:
                    continue
                result = emulator.invoke(sqs_event(received, arn)) or {}
                failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
                for message in received:
                    if message["MessageId"] in failed:
                        sqs.change_message_visibility(
                            QueueUrl=url,
                            ReceiptHandle=message["ReceiptHandle"],
                            VisibilityTimeout=LOCAL_RETRY_VISIBILITY_SECONDS,
                        )
                    else:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as exc:  # keep consuming; Lambda's event source mapping would retry too
                print(
                    json.dumps({"level": "ERROR", "message": "local SQS consumer error", "error": repr(exc)}),
                    flush=True,
                )
                self._stop.wait(1.0)

    # --- EventBridge schedule -------------------------------------------------------------------
    def _run_schedule(self, emulator: LambdaEmulator, every_seconds: float) -> None:
        """Fire on every tick, like EventBridge Scheduler: a run still going does not delay the next one
        (the poller's runs overlap by design, so long-polls never pause while one run winds down)."""
        arn = (
            f"arn:aws:scheduler:eu-west-1:000000000000:schedule/default/{self.options.name}-{emulator.spec.logical_id}"
        )
        while not self._stop.is_set():
            started = time.monotonic()
            threading.Thread(
                target=self._scheduled_invoke,
                args=(emulator, arn),
                daemon=True,
                name=f"{self.options.name}-tick-{emulator.spec.logical_id}",
            ).start()
            self._stop.wait(max(0.0, started + every_seconds - time.monotonic()))

    def _scheduled_invoke(self, emulator: LambdaEmulator, arn: str) -> None:
        try:
            emulator.invoke(scheduled_event(arn))
        except Exception as exc:
            if self._stop.is_set():
                return  # the node is shutting down and took the container with it
            print(
                json.dumps({"level": "ERROR", "message": "scheduled invocation failed", "error": repr(exc)}), flush=True
            )


def _refused(refusal: Refusal) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"error": refusal.error, "message": refusal.message}).encode()
    return refusal.status, {"content-type": "application/json"}, body


def _http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Shape a handler's return value like API Gateway does for payload v2."""
    import base64

    if not isinstance(result, dict) or "statusCode" not in result:
        body = json.dumps(result).encode()
        return 200, {"content-type": "application/json"}, body
    text = result.get("body") or ""
    raw = base64.b64decode(text) if result.get("isBase64Encoded") else text.encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(v) for v in values)
    return int(result["statusCode"]), headers, raw


def _handler_for(node: LocalNode):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
        server_version = "twinbridge-local"

        def _handle(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = body_length(headers)
            if isinstance(length, Refusal):
                self.close_connection = True  # the body was not read: the stream cannot carry another request
                self._answer(*_refused(length))
                return
            body = self.rfile.read(length) if length else b""
            try:
                status, out_headers, payload = node.dispatch(self.command, self.path, headers, body)
            except Exception as exc:  # the function failed (or the gateway itself): API Gateway answers 500 too
                print(
                    json.dumps(
                        {
                            "level": "ERROR",
                            "message": "invocation failed: answered 500",
                            "route": f"{self.command} {self.path.split('?')[0]}",
                            "error": repr(exc)[-4000:],
                        }
                    ),
                    flush=True,
                )
                status, out_headers = 500, {"content-type": "application/json"}
                payload = json.dumps({"message": "Internal Server Error", "detail": type(exc).__name__}).encode()
            self._answer(status, out_headers, payload)

        def _answer(self, status: int, out_headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in out_headers.items():
                if name not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
