"""Scripts, inputs and host helpers shared by the script tests and benchmarks/script_call.py: the brief's
example (1) (docs/design script-mode §3.7), an incoming mapping on Jira Cloud from an Azure DevOps partner."""

from __future__ import annotations

import copy
from typing import Any

from twinbridge.scripting.engine import HelperError

MAPPING = '''\
STATES = {"New": "To Do", "Active": "In Progress", "Resolved": "In Review", "Closed": "Done", "Removed": "Won't Do"}
PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low"}
TYPES = {"Bug": "Bug", "User Story": "Story", "Task": "Task", "Epic": "Epic"}

def incoming(replica, local, ctx):
    changes = {
        "summary": replica["summary"],
        "description": replica["description"],
        "labels": replica["labels"],
        "status": lookup(STATES, replica["status"]),
        "priority": PRIORITIES.get(replica["priority"] or "", local["priority"] if local else "Medium"),
    }
    if ctx["first_sync"]:
        changes["project"] = "SUP" if "customer" in replica["labels"] else "DEV"
        changes["type"] = TYPES.get(replica["type"], "Task")
    who = replica["assignee"]
    user = users.by_email(who["email"]) if who and who["email"] else None
    changes["assignee"] = user or users.by_email("triage@contoso.example")
    log("assignee", changes["assignee"])
    return changes
'''
STATUS_LINE = 10  # the line of lookup(STATES, ...) in MAPPING

_REPLICA: dict[str, Any] = {
    "summary": "Checkout fails for EU cards",
    "description": {"type": "doc", "content": [{"type": "paragraph", "text": "Steps: pay with a Visa card."}]},
    "labels": ["customer", "payments"],
    "status": "Active",
    "priority": "2",
    "type": "Bug",
    "assignee": {"display_name": "Dana Kim", "email": "dana@fabrikam.example", "account_id": None},
    "comments": [{"id": str(n), "author": "Dana Kim", "body": "looked at it " * 5} for n in range(3)],
}
USERS = {"dana@fabrikam.example": "5b10ac8d82e05b22cc7d4ef5", "triage@contoso.example": "5b10a2844c20165700ede21g"}


def mapping_args(status: str = "Active", first_sync: bool = True) -> list[Any]:
    """(replica, local, ctx) for MAPPING, fresh each time."""
    replica = copy.deepcopy(_REPLICA)
    replica["status"] = status
    return [replica, None, {"first_sync": first_sync, "now": "2026-12-01T00:00:00Z"}]


EXPECTED = {
    "summary": "Checkout fails for EU cards",
    "description": _REPLICA["description"],
    "labels": ["customer", "payments"],
    "status": "In Progress",
    "priority": "High",
    "project": "SUP",
    "type": "Bug",
    "assignee": "5b10ac8d82e05b22cc7d4ef5",
}


class DirectoryHelpers:
    """Host helpers over a fixed directory: users by e-mail and by id; links answer None. Counts its calls."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = USERS if users is None else users
        self.calls: list[tuple[str, list[Any]]] = []

    def call(self, name: str, args: list[Any]) -> Any:
        self.calls.append((name, args))
        if name == "users.by_email":
            return self.users.get(args[0])
        if name == "users.by_id":
            return next((email for email, id_ in self.users.items() if id_ == args[0]), None)
        if name in ("links.local", "links.remote"):
            return None
        raise HelperError(f"no helper {name}")


class LeakyHelpers:
    """A host whose helpers fail with internal words: none of them may reach the script's error."""

    SECRET = "/secret/path/AKIAEXAMPLESECRET"

    def call(self, name: str, args: list[Any]) -> Any:
        raise RuntimeError(self.SECRET)
