"""Comments, attachments and the process (work item types, states, categories) of the simulated organization."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from twinbridge_tools.simulators.azure_devops import fields as field_table
from twinbridge_tools.simulators.azure_devops.model import (
    CATEGORIES,
    CHUNK,
    PROCESS,
    AdoError,
    AdoRequest,
    Comment,
    Item,
    Reply,
)
from twinbridge_tools.simulators.azure_devops.work_items import commit

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator


def list_comments(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item = sim.visible_item(request, request.rest[2])
    include_deleted = request.query.get("includeDeleted", "").lower() == "true"
    comments = sorted(
        (c for c in item.comments.values() if include_deleted or not c.deleted),
        key=lambda c: c.id,
        reverse=request.query.get("order", "desc").lower() != "asc",
    )
    if "ids" in request.query:
        wanted = {int(part) for part in request.query["ids"].split(",") if part.isdigit()}
        comments = [c for c in comments if c.id in wanted]
    start = int(request.query.get("continuationToken", "0") or 0)
    top = min(int(request.query.get("$top", sim.comments_page_size)), sim.comments_page_size)
    page = comments[start : start + top]
    body: dict[str, Any] = {
        "totalCount": len(comments),
        "count": len(page),
        "comments": [sim.render_comment(c, item.project) for c in page],
    }
    if start + top < len(comments):
        token = str(start + top)
        body["continuationToken"] = token
        body["nextPage"] = f"{sim.api(item.project)}/wit/workItems/{item.id}/comments?continuationToken={token}"
    body["url"] = f"{sim.api(item.project)}/wit/workItems/{item.id}/comments"
    return Reply(200, body)


def _comment(sim: AzureDevOpsSimulator, request: AdoRequest) -> tuple[Item, Comment]:
    item = sim.visible_item(request, request.rest[2])
    comment = item.comments.get(int(request.rest[4])) if request.rest[4].isdigit() else None
    if comment is None or comment.deleted:
        raise AdoError(
            404,
            f"TF401180: The requested comment {request.rest[4]} doesn't exist or has been deleted.",
            "WorkItemCommentNotFoundException",
        )
    return item, comment


def _comment_text(sim: AzureDevOpsSimulator, request: AdoRequest) -> str:
    text = (request.json() or {}).get("text")
    if not isinstance(text, str) or not text.strip():
        raise AdoError(
            400,
            "VS403691: The comment text cannot be empty.",
            "ArgumentException",
            "System.ArgumentException, mscorlib",
        )
    return text


def add_comment(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item = sim.visible_item(request, request.rest[2])
    sim.require(request, "comment")
    text = _comment_text(sim, request)
    comment = commit(sim, item, item.fields, item.relations, request.user, text)
    assert comment is not None
    return Reply(200, sim.render_comment(comment, item.project))


def get_comment(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item, comment = _comment(sim, request)
    return Reply(200, sim.render_comment(comment, item.project))


def update_comment(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item, comment = _comment(sim, request)
    sim.require(request, "comment")
    comment.text = _comment_text(sim, request)
    comment.version += 1
    comment.modified, comment.modified_by = sim.now(), request.user
    return Reply(200, sim.render_comment(comment, item.project))


def delete_comment(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item, comment = _comment(sim, request)
    sim.require(request, "comment")
    comment.deleted = True
    comment.version += 1
    item.fields["System.CommentCount"] = sum(1 for c in item.comments.values() if not c.deleted)
    return Reply(200, None)


# ----------------------------------------------------------------------------------------------- attachments


def upload(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    sim.project_of(request, required=False)
    sim.require(request, "attach")
    name = request.query.get("fileName")
    if not name:
        raise AdoError(
            400,
            "VS403400: The fileName parameter is required.",
            "ArgumentNullException",
            "System.ArgumentNullException, mscorlib",
        )
    attachment_id = str(uuid.uuid4())
    sim.attachments[attachment_id] = (name, request.body, sim.now())
    url = f"{sim.api()}/wit/attachments/{attachment_id}?fileName={quote(name)}"
    return Reply(201, {"id": attachment_id, "url": url})


def download(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    sim.project_of(request, required=False)
    attachment_id = request.rest[2]
    if attachment_id not in sim.attachments or "browse" not in request.user.permissions:
        raise AdoError(
            404, f"TF401001: Attachment with id {attachment_id} does not exist.", "AttachmentNotFoundException"
        )
    name, data, _ = sim.attachments[attachment_id]
    disposition = "attachment" if request.query.get("download", "").lower() == "true" else "inline"
    return Reply(
        200,
        None,
        {"Content-Disposition": f"{disposition}; filename={quote(name)}"},
        stream=(data[i : i + CHUNK] for i in range(0, len(data), CHUNK)),
        length=len(data),
        content_type="application/octet-stream",
    )


# ----------------------------------------------------------------------------------------------- process


def _type_json(sim: AzureDevOpsSimulator, project: str, name: str) -> dict[str, Any]:
    reference, color, icon, states = PROCESS[name]
    return {
        "name": name,
        "referenceName": reference,
        "description": f"Tracks a {name.lower()}.",
        "color": color,
        "icon": {"id": icon, "url": f"{sim.api()}/wit/workItemIcons/{icon}?color={color}&v=2"},
        "isDisabled": False,
        "states": [{"name": s, "color": c, "category": cat} for s, cat, c in states],
        "url": f"{sim.api(project)}/wit/workItemTypes/{quote(name)}",
    }


def types(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    project = sim.project_of(request)
    assert project is not None
    return Reply(200, {"count": len(PROCESS), "value": [_type_json(sim, project, name) for name in PROCESS]})


def work_item_type(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    project = sim.project_of(request)
    assert project is not None
    name = next((t for t in PROCESS if t.lower() == unquote(request.rest[2]).lower()), None)
    if name is None:
        raise AdoError(404, f"TF51535: Cannot find field {unquote(request.rest[2])}.", "WorkItemTypeNotFoundException")
    return Reply(200, _type_json(sim, project, name))


def states(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    body = work_item_type(sim, request).body
    return Reply(200, {"count": len(body["states"]), "value": body["states"]})


def categories(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    project = sim.project_of(request)
    assert project is not None
    api = sim.api(project)

    def ref(name: str) -> dict[str, str]:
        return {"name": name, "url": f"{api}/wit/workItemTypes/{quote(name)}"}

    value = [
        {
            "name": name,
            "referenceName": reference,
            "defaultWorkItemType": ref(default),
            "workItemTypes": [ref(member) for member in members],
            "url": f"{api}/wit/workItemTypeCategories/{reference}",
        }
        for name, reference, default, members in CATEGORIES
    ]
    return Reply(200, {"count": len(value), "value": value})


def category(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    wanted = request.rest[2].lower()
    for category in categories(sim, request).body["value"]:
        if wanted in (category["referenceName"].lower(), category["name"].lower()):
            return Reply(200, category)
    raise AdoError(
        404,
        f"TF51543: The work item type category '{request.rest[2]}' does not exist.",
        "WorkItemTypeCategoryNotFoundException",
    )


# ----------------------------------------------------------------------------------------------- fields, projects


def fields(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    """``GET [{project}/]_apis/wit/fields``: the process's fields and any custom field an item carries."""
    sim.project_of(request, required=False)
    names = [reference for reference, _, _, _ in field_table.FIELDS]
    names += sorted(sim.field_names() - set(names))
    value = [field_table.field_json(name, sim.api()) for name in names]
    return Reply(200, {"count": len(value), "value": value})


def field(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    sim.project_of(request, required=False)
    reference = field_table.resolve(request.rest[2], sim.field_names())
    if reference is None:
        raise AdoError(404, f"TF51535: Cannot find field {request.rest[2]}.", "WorkItemFieldNotFoundException")
    return Reply(200, field_table.field_json(reference, sim.api()))


def _project_json(sim: AzureDevOpsSimulator, name: str) -> dict[str, Any]:
    return {
        "id": sim.projects[name],
        "name": name,
        "description": f"The {name} project.",
        "url": f"{sim.url}/_apis/projects/{sim.projects[name]}",
        "state": "wellFormed",
        "revision": 1,
        "visibility": "private",
        "lastUpdateTime": "2024-01-01T00:00:00Z",
    }


def projects(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    """``GET {org}/_apis/projects``: the projects the PAT's user can see."""
    visible = sorted(sim.projects) if "browse" in request.user.permissions else []
    value = [_project_json(sim, name) for name in visible]
    return Reply(200, {"count": len(value), "value": value})


def project(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    request.project = request.rest[1]
    name = sim.project_of(request)
    assert name is not None
    body = _project_json(sim, name)
    body["_links"] = {"self": {"href": body["url"]}, "web": {"href": f"{sim.url}/{quote(name)}"}}
    body["capabilities"] = {"processTemplate": {"templateName": "Agile"}}
    return Reply(200, body)
