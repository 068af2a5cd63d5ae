"""The internal part of test connection turns a tracker's access report into one check per concern."""

from __future__ import annotations

from twinbridge.models.tracker import PermissionReport, UserRef
from twinbridge.services.tracker_checks import report_to_checks

BOT = UserRef(account_id="5b10ac8d82e05b22cc7d4ef5", display_name="Twinbridge Bot", email="bot@acme.example")


def _by_name(checks):
    return {check.name: check for check in checks}


def test_full_access_reports_every_check_ok():
    report = PermissionReport(reachable=True, authenticated=True, user=BOT,
                              permissions={p: True for p in ("browse", "create", "edit", "comment", "attach")})
    checks = _by_name(report_to_checks(report, "ACME", "bot@acme.example"))
    assert [c.status for c in checks.values()] == ["ok"] * 8
    assert list(checks) == ["tracker reachable", "credentials", "technical user", "permission: browse",
                            "permission: create", "permission: edit", "permission: comment", "permission: attach"]
    assert "Twinbridge Bot" in checks["credentials"].detail


def test_missing_attach_permission_fails_only_that_check_with_the_fix():
    report = PermissionReport(
        reachable=True, authenticated=True, user=BOT,
        permissions={"browse": True, "create": True, "edit": True, "comment": True, "attach": False},
        problems={"attach": "Grant 'Create Attachments' in the project's permission scheme."},
    )
    checks = _by_name(report_to_checks(report, "ACME", BOT.account_id))
    failed = {name for name, check in checks.items() if check.status == "failed"}
    assert failed == {"permission: attach"}
    assert checks["permission: attach"].detail == "Grant 'Create Attachments' in the project's permission scheme."


def test_unreachable_tracker_stops_at_the_first_check():
    report = PermissionReport(reachable=False, authenticated=False, problems={"reachable": "Check the base URL."})
    checks = report_to_checks(report, "ACME", "bot")
    assert [(c.name, c.status, c.detail) for c in checks] == [("tracker reachable", "failed", "Check the base URL.")]


def test_refused_credentials_fail_the_credentials_check():
    report = PermissionReport(reachable=True, authenticated=False, problems={"authentication": "token expired?"})
    checks = _by_name(report_to_checks(report, "ACME", "bot"))
    assert checks["credentials"].status == "failed" and checks["credentials"].detail == "token expired?"
    assert "permission: browse" not in checks


def test_credentials_of_another_user_fail_the_technical_user_check():
    report = PermissionReport(reachable=True, authenticated=True, user=BOT, permissions={})
    checks = _by_name(report_to_checks(report, "ACME", "someone-else"))
    assert checks["technical user"].status == "failed"
    assert "not the configured technical user someone-else" in checks["technical user"].detail
    assert checks["permission: edit"].status == "failed"
