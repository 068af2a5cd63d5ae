"""template.yaml passes cfn-lint, `sam validate` and `sam validate --lint`, and its transform protects the right routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.tools import REGION, report, run_tool, tool

PLACEHOLDER_PARAMETERS = {
    "NodeName": "acme-jira",
    "TrackerType": "jira-cloud",
    "TrackerBaseUrl": "https://acme.atlassian.net",
    "TrackerSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:twinbridge-tracker-AbCdEf",
    "TechnicalUser": "twinbridge-bot",
}


def test_cfn_lint_reports_nothing():
    result = run_tool(tool("cfn-lint"), "template.yaml")
    assert result.returncode == 0 and not result.stdout.strip(), report(result)


def test_sam_validate_accepts_the_template():
    result = run_tool(tool("sam"), "validate", "-t", "template.yaml", "--region", REGION)
    assert result.returncode == 0 and "is a valid SAM Template" in result.stdout, report(result)


def test_sam_validate_lint_reports_nothing():
    result = run_tool(tool("sam"), "validate", "-t", "template.yaml", "--lint", "--region", REGION)
    assert result.returncode == 0 and "is a valid SAM Template" in result.stdout, report(result)


@pytest.fixture(scope="module")
def transformed() -> dict:
    """The CloudFormation SAM would deploy (CodeUri/ContentUri replaced by S3 placeholders, as after `sam package`)."""
    script = Path(__file__).with_name("sam_translate.py")
    pairs = [f"{name}={value}" for name, value in PLACEHOLDER_PARAMETERS.items()]
    result = run_tool(tool("python"), script, "template.yaml", *pairs)
    assert result.returncode == 0, report(result)
    return json.loads(result.stdout)


def _operations(path_item: dict) -> dict:
    """OpenAPI operations of one path; SAM wraps conditional routes in Fn::If [condition, item, NoValue]."""
    if "Fn::If" in path_item:
        path_item = path_item["Fn::If"][1]
    return {method: (op["Fn::If"][1] if "Fn::If" in op else op) for method, op in path_item.items()}


def test_deployed_api_requires_sigv4_on_admin_routes_only(transformed):
    body = transformed["Resources"]["HttpApi"]["Properties"]["Body"]
    security = {path: [op.get("security") for op in _operations(item).values()] for path, item in body["paths"].items()}
    assert security == {
        "/admin/{proxy+}": [[{"AWS_IAM": []}]],
        "/peer/{proxy+}": [None],
        "/hooks/{tracker}": [None],
    }
    assert body["components"]["securitySchemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_deployed_peer_function_exists_only_on_public_nodes(transformed):
    resources = transformed["Resources"]
    peer = {name for name, res in resources.items() if name.startswith("PeerApiFunction")}
    assert peer and all(resources[name].get("Condition") == "IsPublic" for name in peer)
    unconditional = {"TrackerWebhookFunction", "AdminApiFunction", "SyncWorkerFunction", "PollerFunction"}
    assert all("Condition" not in resources[name] for name in unconditional)
