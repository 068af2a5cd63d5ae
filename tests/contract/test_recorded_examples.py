"""Real response shapes pass: Microsoft's recorded ADO examples and the examples embedded in the Jira Cloud spec."""

from __future__ import annotations

import json

import pytest

from tests.contract.checker import Contract
from tests.contract.specs import SPEC_ROOT

ADO_OPERATIONS = [
    "Wiql_Query By Wiql", "Work Items_Get Work Items Batch", "Work Items_Get Work Item", "Work Items_List",
    "Work Items_Update", "Work Items_Create", "Comments_Add Comment", "Comments_Get Comments", "Comments_Get Comment",
    "Comments_Update Comment", "Comments_Delete", "Attachments_Create", "Work Item Types_List",
]
# Examples that contradict their own schema; our simulators follow the schema.
JIRA_CLOUD_BAD_EXAMPLES = {("addAttachment", 200): "`created` as epoch millis, the Attachment schema says string"}
JIRA_CLOUD_OPERATIONS = [
    "getCurrentUser", "getIssue", "searchAndReconsileIssuesUsingJqlPost", "createIssue", "editIssue", "getTransitions",
    "doTransition", "getComments", "addComment", "getComment", "updateComment", "addAttachment", "getMyPermissions",
    "getCreateIssueMetaIssueTypes", "findUsers",
]


def _operation(api: str, operation_id: str):
    matches = [op for op in Contract.for_api(api).operations() if op.operation_id == operation_id]
    assert len(matches) == 1, f"{api} {operation_id}: {matches}"
    return matches[0]


def _ado_examples(operation_id: str) -> list:
    contract = Contract.for_api("azure-devops")
    operation = _operation("azure-devops", operation_id)
    refs = contract.spec.at(operation.pointer).get("x-ms-examples", {}).values()
    paths = [SPEC_ROOT / "azure-devops" / ref["$ref"].replace("./httpExamples", "wit-7.1-httpExamples") for ref in refs]
    # A few references differ in case from the recorded file names (e.g. the chunked-upload ones): those are skipped.
    return [json.loads(path.read_text(encoding="utf-8-sig")) for path in paths if path.exists()]


@pytest.mark.parametrize("operation_id", ADO_OPERATIONS)
def test_recorded_ado_example_passes_request_and_response_checks(operation_id):
    contract = Contract.for_api("azure-devops")
    operation = _operation("azure-devops", operation_id)
    examples = _ado_examples(operation_id)
    consumes = contract.spec.at(operation.pointer).get("consumes", ["application/json"])[0]
    checked = 0
    for example in examples:
        body = example["parameters"].get("body")
        if body is not None and operation.method != "GET":
            raw = body.encode() if consumes == "application/octet-stream" else json.dumps(body).encode()
            contract.check_request_body(operation, consumes, raw)
        for status, response in example["responses"].items():
            payload = response.get("body")
            raw = b"" if payload is None else json.dumps(payload).encode()
            contract.check_response(operation, int(status), {"Content-Type": "application/json; charset=utf-8"}, raw)
            checked += 1
    assert checked >= 1


def _jira_examples(operation_id: str) -> list[tuple[str, int | None, str, object]]:
    """(kind, status, media type, example) for the operation's JSON examples; Atlassian stores them as strings."""
    spec = Contract.for_api("jira-cloud").spec
    node = spec.at(_operation("jira-cloud", operation_id).pointer)
    found = []
    body, _ = spec.deref(node.get("requestBody", {}), "")
    for media, entry in body.get("content", {}).items():
        if "example" in entry and "json" in media:
            found.append(("request", None, media, entry["example"]))
    for status, response in node["responses"].items():
        response, _ = spec.deref(response, "")
        for media, entry in response.get("content", {}).items():
            if "example" in entry and "json" in media:
                found.append(("response", int(status), media, entry["example"]))
    parsed = []
    for kind, status, media, example in found:
        try:
            parsed.append((kind, status, media, json.loads(example) if isinstance(example, str) else example))
        except ValueError:  # a handful of examples are prose, not JSON
            continue
    return parsed


@pytest.mark.parametrize("operation_id", JIRA_CLOUD_OPERATIONS)
def test_jira_cloud_spec_example_passes_checks(operation_id):
    contract = Contract.for_api("jira-cloud")
    operation = _operation("jira-cloud", operation_id)
    examples = _jira_examples(operation_id)
    for kind, status, media, example in examples:
        if (operation_id, status) in JIRA_CLOUD_BAD_EXAMPLES:
            continue
        raw = json.dumps(example).encode()
        if kind == "request":
            contract.check_request_body(operation, media, raw)
        else:
            contract.check_response(operation, status, {"Content-Type": media}, raw)
    assert examples or operation_id in {"editIssue", "doTransition"}  # examples exist for all but these two


def test_all_jira_cloud_example_responses_mostly_validate():
    """A broad sanity check of the validator on ~900 Atlassian examples (a few contradict their own schemas)."""
    contract, total, failed = Contract.for_api("jira-cloud"), 0, 0
    for operation in contract.operations():
        for kind, status, media, example in _jira_examples(operation.operation_id):
            if kind == "response":
                total += 1
                problems = contract._response_problems(
                    operation, status, {"Content-Type": media}, json.dumps(example).encode()
                )
                failed += bool(problems)
    assert total > 600 and failed / total < 0.12, (total, failed)
