"""Work item routes: create, read (one, a list, a batch), update through JSON Patch, delete and restore."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from twinbridge_tools.simulators.azure_devops.model import (
    BATCH_LIMIT,
    FAR_FUTURE,
    PERMISSIONS,
    PROCESS,
    READ_ONLY_FIELDS,
    WEB_API,
    AdoError,
    AdoRequest,
    Comment,
    Item,
    Reply,
    SimUser,
    ado_date,
    bad_patch,
    initial_fields,
    merge_tags,
    not_found,
    parse_date,
    rule_error,
)

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator


def create(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    project = sim.project_of(request)
    assert project is not None
    type_name = unquote(request.rest[2][1:])
    canonical = next((name for name in PROCESS if name.lower() == type_name.lower()), None)
    if canonical is None:
        raise AdoError(
            404,
            f"TF201036: You cannot add a {type_name} work item type because it does not exist in this project.",
            "WorkItemTypeNotFoundException",
        )
    sim.require(request, "create")
    operations = operations_of(request)
    validate_only = request.query.get("validateOnly", "").lower() == "true"
    now = sim.now()
    staged = Item(0, initial_fields(project, canonical, request.user, now))
    history = apply(sim, request, staged, operations, creating=True)
    if not staged.fields.get("System.Title"):
        raise rule_error("System.Title", "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty")
    if validate_only:
        return Reply(
            200,
            {
                "id": 0,
                "rev": 0,
                "fields": sim.render_fields(staged.fields),
                "url": f"{sim.api()}/wit/workItems/0",
            }
            | ({"relations": staged.relations} if staged.relations else {}),
        )
    item = sim.new_item(project, canonical, request.user, now, staged.fields, staged.relations)
    if history:
        sim.add_comment_record(item, history, request.user, now)
    item.snapshot()
    sim.hooks.emit_item_event("workitem.created", item, request.user)
    return Reply(200, sim.render_item(item, expand="relations"))


def get_item(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item = sim.visible_item(request, request.rest[2])
    as_of = request.query.get("asOf")
    fields = request.query.get("fields")
    _refuse_expand_with_fields(fields, request.query.get("$expand"))
    return Reply(
        200,
        sim.render_item(
            item,
            expand=request.query.get("$expand", "none").lower(),
            fields=fields.split(",") if fields else None,
            as_of=parse_date(as_of) if as_of else None,
        ),
    )


def list_items(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    ids = [part for part in request.query.get("ids", "").split(",") if part]
    return items_reply(
        sim,
        request,
        ids,
        request.query.get("fields", "").split(",") if "fields" in request.query else None,
        request.query.get("$expand", "none"),
        request.query.get("asOf"),
        request.query.get("errorPolicy", "fail"),
    )


def _refuse_expand_with_fields(fields: Any, expand: Any) -> None:
    """The service refuses ``fields`` together with any ``$expand`` but none (it does not ignore either)."""
    if fields and expand and str(expand).lower() != "none":
        raise AdoError(
            400,
            "The expand parameter can not be used with the fields parameter.",
            "ConflictingParametersException",
            f"{WEB_API}.ConflictingParametersException, {WEB_API}",
        )


def batch(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    body = request.json() or {}
    return items_reply(
        sim,
        request,
        [str(i) for i in body.get("ids") or []],
        body.get("fields"),
        body.get("$expand", "none"),
        body.get("asOf"),
        body.get("errorPolicy", "fail"),
    )


def items_reply(
    sim: AzureDevOpsSimulator,
    request: AdoRequest,
    ids: list[str],
    fields: list[str] | None,
    expand: str,
    as_of: str | None,
    error_policy: str,
) -> Reply:
    _refuse_expand_with_fields(fields, expand)
    if not ids:
        raise AdoError(
            400,
            "VS403490: The ids parameter is required.",
            "ArgumentNullException",
            "System.ArgumentNullException, mscorlib",
        )
    if len(ids) > BATCH_LIMIT:
        raise AdoError(
            400,
            f"VS402337: The maximum number of work items to get at once is {BATCH_LIMIT}.",
            "ArgumentException",
            "System.ArgumentException, mscorlib",
        )
    when = parse_date(as_of) if as_of else None
    values: list[dict[str, Any] | None] = []
    for raw_id in ids:
        try:
            item = sim.visible_item(request, raw_id)
        except AdoError:
            if error_policy.lower() == "omit":
                values.append(None)
                continue
            raise
        if when is not None and item.revisions and item.revisions[0][1]["System.ChangedDate"] > when:
            values.append(None)  # did not exist yet
            continue
        values.append(sim.render_item(item, expand=expand.lower(), fields=fields, links=False, as_of=when))
    return Reply(200, {"count": len(values), "value": values})


def update(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item = sim.visible_item(request, request.rest[2])
    operations = operations_of(request)
    staged = Item(item.id, dict(item.fields), copy.deepcopy(item.relations), item.rev)
    history = apply(sim, request, staged, operations, creating=False)
    if request.query.get("validateOnly", "").lower() == "true":
        return Reply(200, sim.render_item(item, expand="relations"))
    commit(sim, item, staged.fields, staged.relations, request.user, history)
    return Reply(200, sim.render_item(item, expand="relations"))


def commit(
    sim: AzureDevOpsSimulator,
    item: Item,
    fields: dict[str, Any],
    relations: list[dict[str, Any]],
    user: SimUser,
    history: str | None,
) -> Comment | None:
    """Persist a change as one revision and emit its service hooks."""
    now = max(sim.now(), item.changed)
    old_fields, old_relations, old_rev = dict(item.fields), item.relations, item.rev
    fields = dict(fields)
    fields["System.ChangedDate"], fields["System.ChangedBy"] = now, user
    if fields.get("System.State") != old_fields.get("System.State"):
        fields["Microsoft.VSTS.Common.StateChangeDate"] = now
        fields["System.Reason"] = f"Moved to state {fields['System.State']}"
    comment = None
    if history:
        fields["System.History"] = history
    else:
        fields.pop("System.History", None)
    item.fields, item.relations, item.rev = fields, relations, item.rev + 1
    if history:
        comment = sim.add_comment_record(item, history, user, now)
    item.snapshot()
    sim.hooks.emit_updated(item, old_rev, old_fields, old_relations, user)
    if history:
        sim.hooks.emit_item_event("workitem.commented", item, user)
    return comment


def apply(
    sim: AzureDevOpsSimulator, request: AdoRequest, item: Item, operations: list[dict[str, Any]], *, creating: bool
) -> str | None:
    """Apply JSON Patch operations to ``item`` in place (permissions first, then rules); returns System.History."""
    needs = {"create"} if creating else set()
    for op in operations:
        path = str(op.get("path", ""))
        if path == "/fields/System.History":
            needs.add("comment")
        elif path.startswith("/relations"):
            rel = op.get("value", {}).get("rel") if isinstance(op.get("value"), dict) else None
            index = path.split("/")[2] if path.count("/") >= 2 else "-"
            if rel is None and index.isdigit() and int(index) < len(item.relations):
                rel = item.relations[int(index)]["rel"]
            needs.add("attach" if rel == "AttachedFile" else ("create" if creating else "edit"))
        elif path.startswith("/fields/") and not creating:
            needs.add("edit")
    for permission in PERMISSIONS:
        if permission in needs:
            sim.require(request, permission)
    history = None
    for op in operations:
        kind, path = op.get("op"), str(op.get("path", ""))
        if kind == "test" and path == "/rev":
            if int(op.get("value", -1)) != item.rev:
                raise AdoError(
                    412,
                    "TF26071: This work item has been changed by someone else since you opened "
                    "it. You will need to refresh it and discard your changes.",
                    "WorkItemRevisionMismatchException",
                )
        elif path.startswith("/fields/"):
            name = path[len("/fields/") :]
            if kind == "remove":
                item.fields.pop(name, None)
            elif kind in ("add", "replace"):
                if name == "System.History":
                    history = str(op.get("value") or "")
                    continue
                value = field_value(sim, item, name, op.get("value"), creating)
                if name == "System.Tags" and kind == "add":  # documented: `add` merges tags, `replace` replaces
                    value = merge_tags(item.fields.get(name), value)
                if value is None or value == "":
                    item.fields.pop(name, None)  # ADO drops empty fields from the item
                else:
                    item.fields[name] = value
            else:
                raise bad_patch(f"Operation '{kind}' is not supported on fields.")
        elif path.startswith("/relations"):
            apply_relation(sim, item, kind, path, op.get("value"))
        else:
            raise bad_patch(f"The path '{path}' is not supported.")
    return history


def field_value(sim: AzureDevOpsSimulator, item: Item, name: str, value: Any, creating: bool) -> Any:
    if name in READ_ONLY_FIELDS and not (creating and name == "System.TeamProject"):
        raise AdoError(
            400, f"TF401326: Invalid field status 'ReadOnly' for field '{name}'.", "WorkItemFieldInvalidException"
        )
    if name == "System.WorkItemType":
        canonical = next((t for t in PROCESS if t.lower() == str(value).lower()), None)
        if canonical is None:
            raise rule_error(name, "Required, HasValues, LimitedToValues, InvalidListValue")
        return canonical
    if name == "System.State":
        states = [state for state, _, _ in PROCESS[item.fields["System.WorkItemType"]][3]]
        if value not in states:
            raise AdoError(
                400,
                f"TF401320: Rule Error for field State. Error code: Required, HasValues, "
                f"LimitedToValues, AllowsOldValue, InvalidListValue. The value '{value}' is not in "
                f"the list of supported values ({', '.join(states)}).",
                "RuleValidationException",
            )
        return value
    if name == "System.AssignedTo":
        return sim.resolve_identity(value)
    if name == "System.Tags":
        tags = [tag.strip() for tag in str(value or "").split(";") if tag.strip()]
        return "; ".join(dict.fromkeys(tags))
    if name == "Microsoft.VSTS.Common.Priority":
        if str(value) not in ("1", "2", "3", "4"):
            raise rule_error(name, "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidListValue")
        return int(value)
    if name == "System.Title" and not str(value or "").strip():
        raise rule_error(name, "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty")
    return value


def apply_relation(sim: AzureDevOpsSimulator, item: Item, kind: Any, path: str, value: Any) -> None:
    parts = path.split("/")[2:]
    if kind == "add" and parts == ["-"]:
        if not isinstance(value, dict) or "rel" not in value or "url" not in value:
            raise bad_patch("A relation needs 'rel' and 'url'.")
        attributes = dict(value.get("attributes") or {})
        url = str(value["url"])
        if value["rel"] == "AttachedFile":
            attachment_id = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            if attachment_id not in sim.attachments:
                raise AdoError(
                    400,
                    f"TF237082: The attachment '{attachment_id}' could not be found. It may have "
                    "been removed or the upload did not complete.",
                    "AttachmentNotFoundException",
                )
            name, data, created = sim.attachments[attachment_id]
            url = url.split("?")[0]
            now = ado_date(sim.now())
            sim.next_relation += 1
            attributes = {
                "authorizedDate": now,
                "id": sim.next_relation,
                "resourceCreatedDate": ado_date(created),
                "resourceModifiedDate": ado_date(created),
                "revisedDate": FAR_FUTURE,
                "resourceSize": len(data),
                "name": name,
                **attributes,
            }
        if any(rel["rel"] == value["rel"] and rel["url"] == url for rel in item.relations):
            raise AdoError(
                400,
                f"TF201035: The relation '{value['rel']}' to '{url}' already exists.",
                "WorkItemLinkAlreadyExistsException",
            )
        item.relations.append({"rel": value["rel"], "url": url, "attributes": attributes})
        return
    if not parts or not parts[0].isdigit() or int(parts[0]) >= len(item.relations):
        raise bad_patch(f"The relation index in '{path}' is out of range.")
    index = int(parts[0])
    if kind == "remove" and len(parts) == 1:
        item.relations.pop(index)
    elif kind in ("add", "replace") and parts[1:] == ["attributes", "comment"]:
        item.relations[index].setdefault("attributes", {})["comment"] = value
    else:
        raise bad_patch(f"Operation '{kind}' on '{path}' is not supported.")


def delete_item(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    item = sim.visible_item(request, request.rest[2])
    sim.require(request, "edit")
    item.deleted = True
    sim.hooks.emit_item_event("workitem.deleted", item, request.user)
    now = sim.now()
    return Reply(
        200,
        {
            "id": item.id,
            "code": 200,
            "deletedBy": request.user.identity_string(),
            "deletedDate": ado_date(now),
            "name": item.fields.get("System.Title"),
            "project": item.project,
            "type": item.fields["System.WorkItemType"],
            "url": f"{sim.api(item.project)}/wit/recyclebin/{item.id}",
        },
    )


def restore_item(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply:
    sim.project_of(request, required=False)
    item = sim.items.get(int(request.rest[2]))
    if item is None or not item.deleted:
        raise not_found(request.rest[2])
    sim.require(request, "edit")
    if (request.json() or {}).get("IsDeleted") is not False:
        raise bad_patch('Restoring needs {"IsDeleted": false}.')
    item.deleted = False
    sim.hooks.emit_item_event("workitem.restored", item, request.user)
    return Reply(
        200,
        {
            "id": item.id,
            "code": 200,
            "name": item.fields.get("System.Title"),
            "project": item.project,
            "type": item.fields["System.WorkItemType"],
            "url": f"{sim.api(item.project)}/wit/workItems/{item.id}",
        },
    )


def operations_of(request: AdoRequest) -> list[dict[str, Any]]:
    content_type = request.header("content-type").split(";")[0].strip().lower()
    if content_type != "application/json-patch+json":
        raise AdoError(
            415,
            f'VS402439: The request indicated a Content-Type of "{content_type}" for method type '
            '"PATCH" which is not supported. Valid content types for this method are: '
            "application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
            "Microsoft.VisualStudio.Services.WebApi.VssRequestContentTypeNotSupportedException, "
            "Microsoft.VisualStudio.Services.WebApi",
        )
    body = request.json()
    if not isinstance(body, list) or not all(isinstance(op, dict) and "op" in op and "path" in op for op in body):
        raise bad_patch("The body must be a JSON Patch document (a list of operations with op and path).")
    return body
