"""The internal half of "test connection": the tracker reachable, credentials valid, the technical user
identified, and each permission the connection's project needs, reported separately with what to fix."""

from __future__ import annotations

from twinbridge.models.admin import CheckResult
from twinbridge.models.connection import Connection
from twinbridge.models.tracker import PERMISSIONS, PermissionReport
from twinbridge.trackers.base import TrackerClient

_LABELS = {
    "browse": "browse the project",
    "create": "create items",
    "edit": "edit items",
    "comment": "add comments",
    "attach": "add attachments",
}


def internal_checks(client: TrackerClient, conn: Connection, technical_user: str | None) -> list[CheckResult]:
    if not conn.project:
        return [CheckResult(name="tracker", status="skipped",
                            detail="the connection names no project, so there is nothing to check permissions on")]
    return report_to_checks(client.check_access(conn.project), conn.project, technical_user)


def report_to_checks(report: PermissionReport, project: str, technical_user: str | None) -> list[CheckResult]:
    problems = report.problems
    if not report.reachable:
        return [CheckResult(name="tracker reachable", status="failed", detail=problems.get("reachable", "no answer"))]
    checks = [CheckResult(name="tracker reachable", status="ok", detail="the tracker answered")]
    if not report.authenticated:
        checks.append(CheckResult(name="credentials", status="failed",
                                  detail=problems.get("authentication", "the credentials were refused")))
        return checks
    user = report.user
    who = f"{user.display_name or user.account_id} ({user.account_id})" if user else "unknown"
    checks.append(CheckResult(name="credentials", status="ok", detail=f"signed in as {who}"))
    checks.append(_technical_user_check(report, technical_user))
    if "project" in problems:
        checks.append(CheckResult(name=f"project {project}", status="failed", detail=problems["project"]))
    for permission in PERMISSIONS:
        granted = report.permissions.get(permission, False)
        detail = f"may {_LABELS[permission]} in {project}" if granted else problems.get(
            permission, f"cannot {_LABELS[permission]} in {project}: grant it to the technical user")
        checks.append(
            CheckResult(name=f"permission: {permission}", status="ok" if granted else "failed", detail=detail)
        )
    return checks


def _technical_user_check(report: PermissionReport, technical_user: str | None) -> CheckResult:
    user = report.user
    if not technical_user:
        return CheckResult(
            name="technical user",
            status="failed",
            detail="no technical user is configured (TechnicalUser): its changes could loop back",
        )
    ids = {value.casefold() for value in (user.account_id, user.email, user.display_name) if value} if user else set()
    if technical_user.casefold() in ids:
        return CheckResult(name="technical user", status="ok", detail=f"the credentials belong to {technical_user}")
    return CheckResult(
        name="technical user",
        status="failed",
        detail=f"the credentials belong to {user.account_id if user else 'someone else'}, not the "
        f"configured technical user {technical_user}: changes made by twinbridge would not be "
        "recognised as its own",
    )
