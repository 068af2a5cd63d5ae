"""The work item fields of the simulated Agile process: reference names, friendly names, types (``wit/fields``).

WIQL and ``wit/fields/{name}`` resolve a field by its reference name or its friendly name, case-insensitively, as
the service does; any other name is unknown (TF51005 in a query, TF51535 for ``wit/fields/{name}``).
"""

from __future__ import annotations

from typing import Any

# (reference name, friendly name, type, read only)
FIELDS: list[tuple[str, str, str, bool]] = [
    ("System.Id", "ID", "integer", True),
    ("System.Rev", "Rev", "integer", True),
    ("System.Title", "Title", "string", False),
    ("System.Description", "Description", "html", False),
    ("System.WorkItemType", "Work Item Type", "string", False),
    ("System.TeamProject", "Team Project", "string", True),
    ("System.AreaPath", "Area Path", "treePath", False),
    ("System.IterationPath", "Iteration Path", "treePath", False),
    ("System.State", "State", "string", False),
    ("System.Reason", "Reason", "string", False),
    ("System.AssignedTo", "Assigned To", "identity", False),
    ("System.CreatedDate", "Created Date", "dateTime", True),
    ("System.CreatedBy", "Created By", "identity", True),
    ("System.ChangedDate", "Changed Date", "dateTime", True),
    ("System.ChangedBy", "Changed By", "identity", True),
    ("System.AuthorizedDate", "Authorized Date", "dateTime", True),
    ("System.RevisedDate", "Revised Date", "dateTime", True),
    ("System.Tags", "Tags", "plainText", False),
    ("System.History", "History", "history", False),
    ("System.CommentCount", "Comment Count", "integer", True),
    ("System.Watermark", "Watermark", "integer", True),
    ("Microsoft.VSTS.Common.Priority", "Priority", "integer", False),
    ("Microsoft.VSTS.Common.Severity", "Severity", "string", False),
    ("Microsoft.VSTS.Common.ValueArea", "Value Area", "string", False),
    ("Microsoft.VSTS.Common.StateChangeDate", "State Change Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ActivatedDate", "Activated Date", "dateTime", True),
    ("Microsoft.VSTS.Common.ClosedDate", "Closed Date", "dateTime", True),
    ("Microsoft.VSTS.Scheduling.StoryPoints", "Story Points", "double", False),
    ("Microsoft.VSTS.Scheduling.RemainingWork", "Remaining Work", "double", False),
    ("Microsoft.VSTS.TCM.ReproSteps", "Repro Steps", "html", False),
]
_BY_NAME: dict[str, str] = {}
for _reference, _friendly, _type, _read_only in FIELDS:
    _BY_NAME[_reference.lower()] = _BY_NAME[_friendly.lower()] = _reference
FIELD_TYPES = {reference: kind for reference, _, kind, _ in FIELDS}
DATE_FIELDS = frozenset(reference for reference, _, kind, _ in FIELDS if kind == "dateTime")


def resolve(name: str, extra: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The reference name of ``name`` (a reference or friendly name, any case); ``extra`` are names of fields the
    simulator's items carry beyond the table (custom fields a test set). None when the field does not exist."""
    wanted = name.strip().lower()
    found = _BY_NAME.get(wanted)
    if found is not None:
        return found
    return next((candidate for candidate in extra if candidate.lower() == wanted), None)


def friendly_name(reference: str) -> str:
    return next((friendly for ref, friendly, _, _ in FIELDS if ref == reference), reference.rsplit(".", 1)[-1])


def field_json(reference: str, api: str) -> dict[str, Any]:
    """A WorkItemField as ``wit/fields`` answers it."""
    kind = FIELD_TYPES.get(reference, "string")
    return {
        "name": friendly_name(reference),
        "referenceName": reference,
        "description": "",
        "type": kind,
        "usage": "workItem",
        "readOnly": next((ro for ref, _, _, ro in FIELDS if ref == reference), False),
        "canSortBy": kind not in ("html", "history", "plainText"),
        "isQueryable": True,
        "supportedOperations": [
            {"referenceName": "SupportedOperations.Equals", "name": "="},
            {"referenceName": "SupportedOperations.NotEquals", "name": "<>"},
        ],
        "isIdentity": kind == "identity",
        "isPicklist": False,
        "isPicklistSuggested": False,
        "url": f"{api}/wit/fields/{reference}",
    }
