"""Read template.yaml (CloudFormation short-form tags included) into functions, routes and triggers."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


def _loader():
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def construct(loader, tag_suffix, node):
        name = tag_suffix if tag_suffix in ("Ref", "Condition") else f"Fn::{tag_suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag_suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    CfnLoader.add_multi_constructor("!", construct)
    return CfnLoader


@functools.cache
def load_template(path: str | None = None) -> dict[str, Any]:
    import yaml

    with open(path or TEMPLATE_PATH, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_loader())


def resource(logical_id: str, path: str | None = None) -> dict[str, Any]:
    return load_template(path)["Resources"][logical_id]


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    iam_auth: bool

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method.upper()):
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    condition: str | None
    routes: tuple[HttpRoute, ...] = ()
    queues: tuple[str, ...] = ()
    schedules: tuple[str, ...] = ()
    environment: dict[str, Any] = field(default_factory=dict)  # Globals' variables and the function's own

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return REPO_ROOT / self.code_uri / f"{module.replace('.', '/')}.py"

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def import_name(self) -> str:
        """Dotted import path used by tests (``functions.peer_api.app``)."""
        module = self.handler.rpartition(".")[0]
        return ".".join([*Path(self.code_uri).parts, module])


def functions(path: str | None = None) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function with its HTTP routes, SQS queues and schedules."""
    template = load_template(path)
    globals_ = template.get("Globals", {}).get("Function", {})
    specs = []
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        routes, queues, schedules = [], [], []
        for event in props.get("Events", {}).values():
            eprops = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                auth = eprops.get("Auth", {}).get("Authorizer")
                routes.append(HttpRoute(eprops["Method"].upper(), eprops["Path"], auth == "AWS_IAM"))
            elif event["Type"] == "SQS":
                queues.append(eprops["Queue"]["Fn::GetAtt"][0])
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                expression = eprops["ScheduleExpression"]
                if isinstance(expression, dict) and "Ref" in expression:
                    expression = template["Parameters"][expression["Ref"]]["Default"]
                schedules.append(expression)
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                code_uri=props["CodeUri"].rstrip("/"),
                handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                condition=res.get("Condition"),
                routes=tuple(routes),
                queues=tuple(queues),
                schedules=tuple(schedules),
                environment={
                    **globals_.get("Environment", {}).get("Variables", {}),
                    **props.get("Environment", {}).get("Variables", {}),
                },
            )
        )
    return specs


def withheld_variables(spec: FunctionSpec, specs: list[FunctionSpec]) -> tuple[str, ...]:
    """Variables the template gives some other function but not ``spec`` (the webhook function gets the webhook
    secret's ARN, never the tracker secret's): the local runtime removes them from that function's containers."""
    declared = {name for other in specs for name in other.environment}
    return tuple(sorted(declared - set(spec.environment)))


def schedule_seconds(expression: str) -> float:
    """``rate(1 minute)`` -> 60.0 (cron expressions are not supported locally)."""
    found = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if not found:
        raise ValueError(f"the local runtime only understands rate() schedules, got {expression!r}")
    if int(found.group(1)) < 1:
        raise ValueError(f"a schedule rate must be at least 1, got {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit
