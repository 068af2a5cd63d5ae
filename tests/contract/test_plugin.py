"""The contract_session fixture checks real loopback exchanges, counts them and fails on violations."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from tests.contract.checker import (
    DC_ARRAY_TYPED_AS_ITEM,
    DC_PAGE_TYPED_AS_ITEM,
    REQUIRED_HEADERS,
    STATUS_ALIASES,
    Contract,
    ContractViolation,
)
from tests.contract.plugin import check_exchange, contract_hook
from tests.contract.support import canned_server

REPO = Path(__file__).resolve().parents[2]
ISSUE = {"id": "10001", "key": "ABC-1", "self": "http://jira/rest/api/3/issue/10001", "fields": {"summary": "S"}}


@pytest.fixture
def server():
    with canned_server() as canned:
        yield canned


def test_session_exchanges_are_checked_and_counted(server, contract_session):
    server.answer("GET", "/rest/api/3/issue/ABC-1", 200, ISSUE)
    server.answer("POST", "/rest/api/3/search/jql", 200, {"issues": [ISSUE], "isLast": True})
    session = contract_session("jira-cloud")
    assert session.get(f"{server.base_url}/rest/api/3/issue/ABC-1", timeout=5).json()["key"] == "ABC-1"
    session.post(f"{server.base_url}/rest/api/3/search/jql", json={"jql": "project = ABC"}, timeout=5)
    assert contract_session.checked == 2
    assert contract_session.operations() == ["getIssue", "searchAndReconsileIssuesUsingJqlPost"]


def test_session_bad_request_raises_at_once_and_is_not_sent(server, contract_session):
    session = contract_session("azure-devops")
    with pytest.raises(ContractViolation, match="json-patch"):
        session.patch(f"{server.base_url}/org/proj/_apis/wit/workitems/1?api-version=7.1",
                      json=[{"op": "add", "path": "/fields/System.Title", "value": "T"}], timeout=5)
    assert server.received == [] and contract_session.checked == 1
    assert len(contract_session.take_violations()) == 1  # provoked on purpose: taken, so teardown passes


def test_session_bad_simulator_response_raises(server, contract_session):
    server.answer("GET", "/rest/api/2/myself", 200, {"name": "ann", "active": "yes"})
    session = contract_session("jira-dc")
    with pytest.raises(ContractViolation, match=r"getUser GET /rest/api/2/myself: response 200: body \$.active"):
        session.get(f"{server.base_url}/rest/api/2/myself", timeout=5)
    contract_session.take_violations()


def test_non_strict_session_records_without_raising(server, contract_session):
    server.answer("GET", "/rest/api/3/myself", 503, {"errorMessages": ["down"]})
    session = contract_session("jira-cloud", strict=False)
    assert session.get(f"{server.base_url}/rest/api/3/myself", timeout=5).status_code == 503
    [violation] = contract_session.take_violations()
    assert "undocumented status" in str(violation)


def test_raw_requests_call_is_checked_with_check_exchange_or_hook(server):
    server.answer("POST", "/org/proj/_apis/wit/attachments", 201, {"id": "a1", "url": "http://ado/_apis/wit/attachments/a1"})
    url = f"{server.base_url}/org/proj/_apis/wit/attachments?fileName=a.txt&api-version=7.1"
    response = requests.post(url, data=b"hello", headers={"Content-Type": "application/octet-stream"}, timeout=5)
    assert check_exchange("azure-devops", response).operation_id == "Attachments_Create"
    requests.post(url, data=b"x", headers={"Content-Type": "application/octet-stream"},
                  hooks={"response": contract_hook("azure-devops")}, timeout=5)


def test_simulator_error_answer_to_bad_request_is_checked_without_the_request(server):
    server.answer("GET", "/rest/api/3/issue/NOPE-1", 404, {"errorMessages": ["Issue does not exist"]})
    response = requests.get(f"{server.base_url}/rest/api/3/issue/NOPE-1?bogus=1", timeout=5)
    with pytest.raises(ContractViolation, match="unknown query parameter 'bogus'"):
        check_exchange("jira-cloud", response)
    assert check_exchange("jira-cloud", response, check_request=False).operation_id == "getIssue"


def test_swallowed_violation_fails_the_test_at_teardown(tmp_path):
    """A client that catches every exception cannot hide a violation: the fixture fails the test at teardown."""
    (tmp_path / "test_swallow.py").write_text(textwrap.dedent("""
        from tests.contract.support import canned_server

        def test_swallowing_client(contract_session):
            with canned_server() as server:
                try:
                    contract_session("jira-cloud").get(f"{server.base_url}/rest/api/3/issues", timeout=5)
                except Exception:
                    pass
    """))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.contract.plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_swallow.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 contract violation(s) during the test" in result.stdout and "unknown path" in result.stdout


def test_every_relaxation_names_a_documented_operation():
    dc = {(op.method, op.template) for op in Contract.for_api("jira-dc").operations()}
    assert dc >= DC_ARRAY_TYPED_AS_ITEM | DC_PAGE_TYPED_AS_ITEM
    for api, method, template in [*REQUIRED_HEADERS, *STATUS_ALIASES]:
        assert (method, template) in {(op.method, op.template) for op in Contract.for_api(api).operations()}
