"""The requests our tracker clients make pass the checker and match the intended operation."""

from __future__ import annotations

import json

import pytest

from tests.contract.checker import Contract

JSON = {"Content-Type": "application/json"}
PATCH = {"Content-Type": "application/json-patch+json"}
ATTACH = {"Content-Type": "multipart/form-data; boundary=xyz", "X-Atlassian-Token": "no-check"}
MULTIPART = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--xyz--\r\n'
ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}]}

JIRA_CLOUD = [
    ("getCurrentUser", "GET", "/rest/api/3/myself", None, None),
    (
        "getIssue",
        "GET",
        "/rest/api/3/issue/ABC-1?fields=summary,status&fields=updated&expand=renderedFields",
        None,
        None,
    ),
    (
        "searchAndReconsileIssuesUsingJqlPost",
        "POST",
        "/rest/api/3/search/jql",
        JSON,
        {
            "jql": "project = ABC AND updated >= -5m",
            "fields": ["summary", "updated"],
            "maxResults": 50,
            "nextPageToken": "t1",
        },
    ),
    (
        "searchAndReconsileIssuesUsingJql",
        "GET",
        "/rest/api/3/search/jql?jql=project%3DABC&nextPageToken=t1&maxResults=50",
        None,
        None,
    ),
    (
        "createIssue",
        "POST",
        "/rest/api/3/issue",
        JSON,
        {"fields": {"project": {"key": "ABC"}, "issuetype": {"id": "10001"}, "summary": "S", "description": ADF}},
    ),
    ("editIssue", "PUT", "/rest/api/3/issue/ABC-1?notifyUsers=false", JSON, {"fields": {"summary": "New"}}),
    ("getTransitions", "GET", "/rest/api/3/issue/ABC-1/transitions?expand=transitions.fields", None, None),
    ("doTransition", "POST", "/rest/api/3/issue/ABC-1/transitions", JSON, {"transition": {"id": "31"}}),
    ("getComments", "GET", "/rest/api/3/issue/ABC-1/comment?startAt=0&maxResults=100&orderBy=created", None, None),
    ("addComment", "POST", "/rest/api/3/issue/ABC-1/comment", JSON, {"body": ADF}),
    ("getComment", "GET", "/rest/api/3/issue/ABC-1/comment/10010", None, None),
    ("updateComment", "PUT", "/rest/api/3/issue/ABC-1/comment/10010", JSON, {"body": ADF}),
    ("deleteComment", "DELETE", "/rest/api/3/issue/ABC-1/comment/10010", None, None),
    ("addAttachment", "POST", "/rest/api/3/issue/ABC-1/attachments", ATTACH, MULTIPART),
    (
        "getMyPermissions",
        "GET",
        "/rest/api/3/mypermissions?projectKey=ABC&permissions=BROWSE_PROJECTS,EDIT_ISSUES",
        None,
        None,
    ),
    (
        "getCreateIssueMetaIssueTypes",
        "GET",
        "/rest/api/3/issue/createmeta/ABC/issuetypes?startAt=0&maxResults=50",
        None,
        None,
    ),
    ("findUsers", "GET", "/rest/api/3/user/search?query=ann", None, None),
]
JIRA_DC = [
    ("getUser", "GET", "/rest/api/2/myself", None, None),
    ("getIssue", "GET", "/rest/api/2/issue/ABC-1?fields=summary,status&expand=renderedFields", None, None),
    (
        "searchUsingSearchRequest",
        "POST",
        "/rest/api/2/search",
        JSON,
        {"jql": "project = ABC", "startAt": 0, "maxResults": 50, "fields": ["summary", "updated"]},
    ),
    (
        "search_1",
        "GET",
        "/rest/api/2/search?jql=project%3DABC&startAt=50&maxResults=50&fields=summary,updated",
        None,
        None,
    ),
    (
        "createIssue",
        "POST",
        "/rest/api/2/issue",
        JSON,
        {"fields": {"project": {"key": "ABC"}, "issuetype": {"id": "10001"}, "summary": "S", "description": "*wiki*"}},
    ),
    ("editIssue", "PUT", "/rest/api/2/issue/ABC-1", JSON, {"fields": {"summary": "New"}}),
    ("getTransitions", "GET", "/rest/api/2/issue/ABC-1/transitions", None, None),
    ("doTransition", "POST", "/rest/api/2/issue/ABC-1/transitions", JSON, {"transition": {"id": "31"}}),
    ("getComments", "GET", "/rest/api/2/issue/ABC-1/comment?startAt=0&maxResults=100", None, None),
    ("addComment", "POST", "/rest/api/2/issue/ABC-1/comment", JSON, {"body": "h1. Hi"}),
    ("updateComment", "PUT", "/rest/api/2/issue/ABC-1/comment/10010", JSON, {"body": "Edited"}),
    ("deleteComment", "DELETE", "/rest/api/2/issue/ABC-1/comment/10010", None, None),
    ("addAttachment", "POST", "/rest/api/2/issue/ABC-1/attachments", ATTACH, MULTIPART),
    ("getPermissions", "GET", "/rest/api/2/mypermissions?projectKey=ABC", None, None),
    ("getCreateIssueMetaProjectIssueTypes", "GET", "/rest/api/2/issue/createmeta/ABC/issuetypes", None, None),
    ("findUsers", "GET", "/rest/api/2/user/search?username=ann&maxResults=10", None, None),
]
ADO = "/fabrikam/Fabrikam-Fiber"
PATCH_DOC = [
    {"op": "test", "path": "/rev", "value": 3},
    {"op": "add", "path": "/fields/System.Title", "value": "T"},
    {"op": "add", "path": "/fields/Microsoft.VSTS.Common.Priority", "value": 2},
]
AZURE_DEVOPS = [
    (
        "Wiql_Query By Wiql",
        "POST",
        f"{ADO}/_apis/wit/wiql?api-version=7.1&$top=200",
        JSON,
        {"query": "SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] > @Today - 1"},
    ),
    (
        "Wiql_Query By Wiql",
        "POST",
        f"{ADO}/Fabrikam-Team/_apis/wit/wiql?api-version=7.1",
        JSON,
        {"query": "SELECT [System.Id] FROM WorkItems"},
    ),
    (
        "Work Items_Get Work Items Batch",
        "POST",
        f"{ADO}/_apis/wit/workitemsbatch?api-version=7.1",
        JSON,
        {"ids": [1, 2], "fields": ["System.Title", "System.Rev"], "errorPolicy": "omit"},
    ),
    ("Work Items_Get Work Item", "GET", f"{ADO}/_apis/wit/workitems/12?api-version=7.1&$expand=relations", None, None),
    ("Work Items_Get Work Item", "GET", "/fabrikam/_apis/wit/workItems/12?api-version=7.1", None, None),
    ("Work Items_List", "GET", f"{ADO}/_apis/wit/workitems?ids=1,2&api-version=7.1&errorPolicy=omit", None, None),
    (
        "Work Items_Update",
        "PATCH",
        f"{ADO}/_apis/wit/workitems/12?api-version=7.1&suppressNotifications=true",
        PATCH,
        PATCH_DOC,
    ),
    ("Work Items_Create", "POST", f"{ADO}/_apis/wit/workitems/$Task?api-version=7.1", PATCH, PATCH_DOC[1:]),
    ("Work Items_Create", "POST", f"{ADO}/_apis/wit/workitems/%24User%20Story?api-version=7.1", PATCH, PATCH_DOC[1:]),
    (
        "Comments_Get Comments",
        "GET",
        f"{ADO}/_apis/wit/workItems/12/comments?api-version=7.1-preview.4&$top=200&continuationToken=c",
        None,
        None,
    ),
    (
        "Comments_Add Comment",
        "POST",
        f"{ADO}/_apis/wit/workitems/12/comments?api-version=7.1-preview.4",
        JSON,
        {"text": "<p>Hi</p>"},
    ),
    (
        "Comments_Add Work Item Comment",
        "POST",
        f"{ADO}/_apis/wit/workItems/12/comments?format=html&api-version=7.1-preview.4",
        JSON,
        {"text": "<p>Hi</p>"},
    ),
    (
        "Comments_Update Comment",
        "PATCH",
        f"{ADO}/_apis/wit/workItems/12/comments/5?api-version=7.1-preview",
        JSON,
        {"text": "x"},
    ),
    ("Comments_Delete", "DELETE", f"{ADO}/_apis/wit/workItems/12/comments/5?api-version=7.1-preview.4", None, None),
    (
        "Attachments_Create",
        "POST",
        f"{ADO}/_apis/wit/attachments?fileName=a.png&api-version=7.1",
        {"Content-Type": "application/octet-stream"},
        b"\x89PNG",
    ),
    ("Work Item Types_List", "GET", f"{ADO}/_apis/wit/workitemtypes?api-version=7.1", None, None),
]


def _cases(api: str, rows: list) -> list:
    return [pytest.param(api, *row, id=f"{api}-{row[0]}-{index}") for index, row in enumerate(rows)]


@pytest.mark.parametrize(
    ("api", "operation_id", "method", "url", "headers", "body"),
    _cases("jira-cloud", JIRA_CLOUD) + _cases("jira-dc", JIRA_DC) + _cases("azure-devops", AZURE_DEVOPS),
)
def test_client_request_is_accepted_and_matched(api, operation_id, method, url, headers, body):
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    operation = Contract.for_api(api).check_request(method, f"http://127.0.0.1:8080{url}", headers or {}, raw)
    assert operation.operation_id == operation_id


def test_mount_prefix_is_stripped_before_matching():
    operation = Contract.for_api("jira-dc").check_request(
        "GET", "http://127.0.0.1:1/jira/rest/api/2/myself", prefix="/jira"
    )
    assert operation.template == "/rest/api/2/myself"


def test_most_specific_template_wins():
    contract = Contract.for_api("jira-cloud")
    assert contract.match("GET", "/rest/api/3/issue/createmeta").operation_id == "getCreateIssueMeta"
    assert (
        contract.match("GET", "/rest/api/3/issue/createmeta/ABC/issuetypes").operation_id
        == "getCreateIssueMetaIssueTypes"
    )
    assert contract.match("GET", "/rest/api/3/issue/ABC-1").operation_id == "getIssue"
