"""The checker fails wrong requests and responses, naming the operation and what is wrong."""

from __future__ import annotations

import json

import pytest

from tests.contract.checker import Contract, ContractViolation

JSON = {"Content-Type": "application/json"}
PATCH_JSON = {"Content-Type": "application/json-patch+json"}
ADO = "/fabrikam/Fabrikam-Fiber/_apis/wit"


def violation(api: str, method: str, url: str, headers: dict | None = None, body: object = None) -> ContractViolation:
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ContractViolation) as caught:
        Contract.for_api(api).check_request(method, url, headers or {}, raw)
    return caught.value


def response_violation(
    api: str, method: str, url: str, status: int, body: object, content_type: str = "application/json"
) -> ContractViolation:
    contract = Contract.for_api(api)
    operation = contract.match(method, url)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ContractViolation) as caught:
        contract.check_response(operation, status, {"Content-Type": content_type}, raw)
    return caught.value


def test_unknown_jira_path_is_a_violation():
    error = violation("jira-cloud", "GET", "https://acme.atlassian.net/rest/api/3/issues/ABC-1")
    assert "[jira-cloud]" in str(error) and "unknown path" in str(error) and "/rest/api/3/issues/ABC-1" in str(error)


def test_jira_dc_path_without_rest_base_is_unknown():
    assert "unknown path" in str(violation("jira-dc", "GET", "http://127.0.0.1:1/api/2/myself"))


def test_wrong_method_is_a_violation_listing_the_documented_ones():
    error = violation("jira-cloud", "DELETE", "/rest/api/3/myself")
    assert "method not allowed (documented: GET)" in str(error)


def test_ado_missing_required_ids_is_a_violation():
    error = violation("azure-devops", "GET", f"{ADO}/workitems?api-version=7.1")
    assert "Work Items_List" in str(error) and "missing required query parameter 'ids'" in str(error)


def test_ado_missing_api_version_is_a_violation():
    assert "missing required query parameter 'api-version'" in str(
        violation("azure-devops", "GET", f"{ADO}/workitems/1")
    )


def test_ado_comment_with_non_preview_api_version_is_a_violation():
    error = violation("azure-devops", "POST", f"{ADO}/workItems/1/comments?api-version=7.1", JSON, {"text": "hi"})
    assert "documented for '7.1-preview.4'" in str(error)


def test_misspelt_query_parameter_is_a_violation():
    error = violation("jira-cloud", "GET", "/rest/api/3/issue/ABC-1/comment?maxResult=5")
    assert "unknown query parameter 'maxResult'" in str(error)


def test_wrong_enum_and_wrong_type_in_query_are_violations():
    error = violation("azure-devops", "GET", f"{ADO}/workitems/12?api-version=7.1&$expand=everything&bypassRules=yes")
    assert "$expand='everything'" in str(error) and "is not one of" in str(error)
    assert "Work Items_Get Work Item GET /{organization}/{project}/_apis/wit/workitems/{id}" in str(error)
    assert "orderBy" in str(violation("jira-cloud", "GET", "/rest/api/3/issue/ABC-1/comment?orderBy=updated"))


def test_non_integer_ado_work_item_id_is_a_violation():
    assert "path parameter id='abc'" in str(violation("azure-devops", "GET", f"{ADO}/workitems/abc?api-version=7.1"))


def test_body_with_wrong_type_is_a_violation_naming_the_json_path():
    error = violation(
        "jira-cloud", "POST", "/rest/api/3/search/jql", JSON, {"jql": "project = A", "maxResults": "fifty"}
    )
    assert "request body $.maxResults" in str(error) and "searchAndReconsileIssuesUsingJqlPost" in str(error)
    error = violation("azure-devops", "POST", f"{ADO}/wiql?api-version=7.1", JSON, {"query": 42})
    assert "request body $.query: 42 is not of type 'string'" in str(error)


def test_unknown_property_in_a_closed_request_schema_is_a_violation():
    error = violation("jira-cloud", "POST", "/rest/api/3/search/jql", JSON, {"jql": "x", "startAt": 0})
    assert "'startAt' was unexpected" in str(error)


def test_ado_patch_sent_as_plain_json_is_a_violation():
    body = [{"op": "add", "path": "/fields/System.Title", "value": "t"}]
    error = violation("azure-devops", "PATCH", f"{ADO}/workitems/12?api-version=7.1", JSON, body)
    assert "content type 'application/json' is not documented (documented: application/json-patch+json)" in str(error)
    error = violation("azure-devops", "POST", f"{ADO}/workitems/$Task?api-version=7.1", JSON, body)
    assert "Work Items_Create" in str(error)


def test_ado_patch_with_unknown_op_is_a_violation():
    body = [{"op": "set", "path": "/fields/System.Title", "value": "t"}]
    assert "$[0].op" in str(violation("azure-devops", "PATCH", f"{ADO}/workitems/12?api-version=7.1", PATCH_JSON, body))


def test_missing_required_body_is_a_violation():
    assert "request body is required" in str(violation("jira-cloud", "POST", "/rest/api/3/issue", JSON))


def test_deprecated_jira_cloud_search_is_a_violation():
    assert "deprecated" in str(violation("jira-cloud", "GET", "/rest/api/3/search?jql=project%20%3D%20A&startAt=0"))
    error = violation("jira-cloud", "POST", "/rest/api/3/search", JSON, {"jql": "project = A"})
    assert "searchForIssuesUsingJqlPost" in str(error) and "deprecated" in str(error)


def test_jira_attachment_without_xsrf_header_or_file_field_is_a_violation():
    body = b'--b\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\n\r\nhello\r\n--b--\r\n'
    error = violation(
        "jira-cloud",
        "POST",
        "/rest/api/3/issue/ABC-1/attachments",
        {"Content-Type": "multipart/form-data; boundary=b"},
        body,
    )
    assert "X-Atlassian-Token: no-check is required" in str(error) and "requires 'file'" in str(error)


def test_response_with_wrong_type_for_documented_field_is_a_violation():
    error = response_violation("jira-cloud", "GET", "/rest/api/3/issue/ABC-1", 200, {"id": 10001, "key": "ABC-1"})
    assert "response 200: body $.id: 10001 is not of type 'string'" in str(error) and "getIssue" in str(error)
    error = response_violation(
        "azure-devops", "GET", f"{ADO}/workitems/1?api-version=7.1", 200, {"id": "one", "rev": 1}
    )
    assert "body $.id" in str(error)


def test_extra_property_is_a_violation_only_where_the_schema_closes_the_object():
    error = response_violation("jira-cloud", "POST", "/rest/api/3/issue", 201, {"id": "1", "key": "A-1", "extra": 1})
    assert "'extra' was unexpected" in str(error)
    contract = Contract.for_api("jira-cloud")  # Comment has additionalProperties: true
    operation = contract.match("GET", "/rest/api/3/issue/A-1/comment/1")
    contract.check_response(operation, 200, JSON, json.dumps({"id": "1", "somethingNew": True}).encode())


def test_undocumented_status_is_a_violation():
    error = response_violation("jira-cloud", "GET", "/rest/api/3/myself", 500, {"errorMessages": ["boom"]})
    assert "response 500: undocumented status (documented: 200, 401)" in str(error)


def test_response_with_undocumented_content_type_is_a_violation():
    error = response_violation("jira-cloud", "GET", "/rest/api/3/myself", 200, b"<html></html>", "text/html")
    assert "content type 'text/html' is not documented" in str(error)


def test_dc_array_for_an_operation_not_known_to_return_arrays_is_a_violation():
    error = response_violation("jira-dc", "GET", "/rest/api/2/issue/A-1/comment/1", 200, [{"id": "1"}])
    assert "is not of type 'object'" in str(error)


def test_dc_user_search_items_are_still_checked():
    error = response_violation(
        "jira-dc", "GET", "/rest/api/2/user/search?username=a", 200, [{"name": "a"}, {"active": "yes"}]
    )
    assert "body $[1].active" in str(error)
