"""`connection test`, internal part, on each tracker: every check reported on its own, and a missing
permission named with what to fix (the node's real wiring: secret in Secrets Manager, simulator on loopback)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from tests.support import provision_webhook_node
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.peers.keys import new_manual_key
from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator
from twinbridge_tools.simulators.jira import ALL_PERMISSIONS, JiraSimulator

TOKEN = "bot-secret-0123456789"


@contextlib.contextmanager
def _tracker(kind: str, missing: str | None):
    """A simulator with project ACME and the technical user 'bot' (lacking ``missing``); yields (url, credentials)."""
    if kind == "azure-devops":
        permissions = {"browse", "create", "edit", "comment", "attach"} - {missing}
        with AzureDevOpsSimulator(organization="acme", project="ACME") as sim:
            sim.add_user("Twinbridge Bot", "bot@acme.example", pat=TOKEN, permissions=permissions)
            sim.add_user("Ana", "ana@acme.example", pat="ana-secret-0123456789")
            sim.seed_items(1, changed=datetime.now(UTC), author=sim.users[1])  # ADO probes edit on an item
            yield sim.url, {"pat": TOKEN}, "bot@acme.example"
        return
    jira_names = {"attach": "CREATE_ATTACHMENTS", "edit": "EDIT_ISSUES", None: None}
    with JiraSimulator("cloud" if kind == "jira-cloud" else "dc") as sim:
        sim.add_user("bot", "Twinbridge Bot", "bot@acme.example", TOKEN,
                     permissions=set(ALL_PERMISSIONS) - {jira_names[missing]})
        sim.add_project("ACME")
        credentials = {"email": "bot@acme.example", "api_token": TOKEN} if kind == "jira-cloud" else {"pat": TOKEN}
        yield sim.url, credentials, "bot"


def _run_test(monkeypatch, kind: str, url: str, credentials: dict, technical_user: str) -> dict[str, tuple[str, str]]:
    from twinbridge.services.connections import add_manual, test_connection
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    provision_webhook_node(monkeypatch, kind, credentials, technical_user=technical_user)
    monkeypatch.setenv("TRACKER_BASE_URL", url)
    monkeypatch.setenv("NODE_PUBLIC", "true")
    settings.cache_clear()
    wiring.cache_clear()
    conn = add_manual(wiring(), ManualConnectionRequest(
        name="Acme <-> Beta", local_short_name="acme", remote_short_name="beta", project="ACME",
        local_key=new_manual_key(), passive=True))
    report = test_connection(wiring(), conn.id)
    return {check.name: (check.status, check.detail) for check in report.internal}


@pytest.mark.parametrize("kind", ["jira-cloud", "jira-dc", "azure-devops"])
def test_technical_user_with_every_permission_passes_each_check(aws, monkeypatch, kind):
    with _tracker(kind, missing=None) as (url, credentials, user):
        checks = _run_test(monkeypatch, kind, url, credentials, user)
    assert {name: status for name, (status, _) in checks.items()} == {
        "tracker reachable": "ok", "credentials": "ok", "technical user": "ok",
        "permission: browse": "ok", "permission: create": "ok", "permission: edit": "ok",
        "permission: comment": "ok", "permission: attach": "ok",
    }


@pytest.mark.parametrize("kind", ["jira-cloud", "jira-dc", "azure-devops"])
def test_missing_attach_permission_fails_that_check_alone_and_says_what_to_fix(aws, monkeypatch, kind):
    with _tracker(kind, missing="attach") as (url, credentials, user):
        checks = _run_test(monkeypatch, kind, url, credentials, user)
    failed = {name: detail for name, (status, detail) in checks.items() if status == "failed"}
    assert list(failed) == ["permission: attach"]
    assert "attach" in failed["permission: attach"].lower()


def test_wrong_credentials_are_reported_not_raised(aws, monkeypatch):
    with _tracker("jira-cloud", missing=None) as (url, _, user):
        checks = _run_test(
            monkeypatch, "jira-cloud", url, {"email": "bot@acme.example", "api_token": "wrong-token"}, user
        )
    assert checks["tracker reachable"][0] == "ok" and checks["credentials"][0] == "failed"
    assert "wrong-token" not in repr(checks)


def test_secret_with_unknown_fields_names_them_without_values(aws, monkeypatch):
    checks = _run_test(
        monkeypatch, "jira-cloud", "http://127.0.0.1:9", {"emial": "x", "api_token": "hunter2-hunter2"}, "bot"
    )
    ((status, detail),) = checks.values()
    assert status == "failed" and "emial" in detail and "hunter2" not in detail
