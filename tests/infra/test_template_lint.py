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
    "WebhookSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:twinbridge-webhook-AbCdEf",
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


def _role_statements(resources: dict, function: str) -> list[dict]:
    role = resources[f"{function}Role"]["Properties"]
    return [statement for policy in role.get("Policies", []) for statement in policy["PolicyDocument"]["Statement"]]


def test_deployed_roles_grant_secrets_only_where_they_are_read(transformed):
    """After SAM expands its policy templates: which role may call secretsmanager:GetSecretValue on what."""
    from tests.infra.stack_rules import SECRETS_READ, references

    resources = transformed["Resources"]
    for function, expected in SECRETS_READ.items():
        secret_statements = [
            s for s in _role_statements(resources, function)
            if any(str(action).startswith("secretsmanager:") for action in s["Action"])
        ]
        granted = set().union(*(references(s["Resource"]) for s in secret_statements))
        assert granted == expected, f"{function}: {sorted(granted)}"
    webhook_role = json.dumps(resources["TrackerWebhookFunctionRole"])
    assert "TrackerSecretArn" not in webhook_role and "WebhookSecretArn" in webhook_role


def test_deployed_functions_reserve_concurrency_and_log_to_their_own_group(transformed):
    resources = transformed["Resources"]
    deployed = {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::Lambda::Function"}
    assert len(deployed) == 5
    for name, function in deployed.items():
        assert function["ReservedConcurrentExecutions"] == {"Ref": name.replace("Function", "Concurrency")}, name
        group = function["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    (mapping,) = [res["Properties"] for res in resources.values() if res["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "SyncWorkerConcurrency"}}


def test_deployed_api_stage_writes_access_logs(transformed):
    (stage,) = [res["Properties"] for res in transformed["Resources"].values() if res["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]
