"""Service hooks: ``workitem.*`` events in the shapes ADO delivers (resource details "All", messages included).

Deliveries go out in order from one thread; ``sim.faults.drop_webhooks(n)`` loses the next ``n`` (ADO gave up).
"""

from __future__ import annotations

import base64
import copy
import json
import queue
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from twinbridge_tools.simulators.azure_devops.model import FAR_FUTURE, Item, SimUser, ado_date

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator


class ServiceHooks:
    """Builds ``workitem.*`` payloads (resource details "All", messages included) and POSTs them in order."""

    def __init__(self, sim: AzureDevOpsSimulator) -> None:
        self.sim = sim
        self.url: str | None = None
        self.basic: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}
        self.subscription_id = str(uuid.uuid4())
        self.events: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.delivered: list[tuple[int, dict[str, Any]]] = []
        self._notification = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def subscribe(
        self, url: str, *, basic: tuple[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Like a "Web Hooks" subscription: basic auth user/password and/or custom "HTTP headers"."""
        self.url, self.basic, self.headers = url, basic, dict(headers or {})

    def flush(self, timeout: float = 10) -> None:
        """Block until every queued event has been delivered (or dropped)."""
        done = threading.Event()
        self._queue.put({"__flush__": done})
        if not done.wait(timeout):
            raise TimeoutError("service hook delivery did not finish")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._deliver_forever, name="ado-hooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _deliver_forever(self) -> None:
        while (event := self._queue.get()) is not None:
            if "__flush__" in event:
                event["__flush__"].set()
                continue
            if self.url is None:
                continue
            headers = {"Content-Type": "application/json; charset=utf-8", **self.headers}
            if self.basic:
                token = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
                headers["Authorization"] = f"Basic {token}"
            data = json.dumps(event).encode()
            try:
                request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.delivered.append((response.status, event))
            except urllib.error.HTTPError as exc:
                self.delivered.append((exc.code, event))
            except OSError:
                self.dropped.append(event)

    # ------------------------------------------------------------------------------------------- payloads

    def _envelope(
        self, event_type: str, item: Item, user: SimUser, verb: str, resource: dict[str, Any], details: list[str]
    ) -> dict[str, Any]:
        sim = self.sim
        self._notification += 1
        kind, title = item.fields["System.WorkItemType"], item.fields.get("System.Title", "")
        link = sim.html_url(item.id)
        head_text = f"{kind} #{item.id} ({title}) {verb} by {user.display_name}."
        text = head_text + ("" if event_type == "workitem.deleted" else f"\r\n({link})")
        html_head = (
            f"{escape(kind)} #{item.id} ({escape(title)}) {verb} by {escape(user.display_name)}."
            if event_type == "workitem.deleted"
            else f'<a href="{escape(link)}">{escape(kind)} #{item.id}</a> ({escape(title)}) {verb} by '
            f"{escape(user.display_name)}."
        )
        markdown = f"[{kind} #{item.id}]({link}) ({title}) {verb} by {user.display_name}."
        base = {"id": "", "baseUrl": sim.url + "/"}
        project_id = sim.projects[item.project]
        return {
            "subscriptionId": self.subscription_id,
            "notificationId": self._notification,
            "id": str(uuid.uuid4()),
            "eventType": event_type,
            "publisherId": "tfs",
            "scope": "all",
            "message": {"text": text, "html": html_head, "markdown": markdown},
            "detailedMessage": {
                "text": text + "".join(f"\r\n- {line}" for line in details) + ("\r\n" if details else ""),
                "html": html_head
                + (
                    "<ul>\r\n" + "\r\n".join(f"<li>{escape(line)}</li>" for line in details) + "</ul>"
                    if details
                    else ""
                ),
                "markdown": markdown + "".join(f"\r\n* {line}" for line in details) + ("\r\n" if details else ""),
            },
            "resource": resource,
            "resourceVersion": "1.0",
            "resourceContainers": {
                "collection": {**base, "id": sim.collection_id},
                "account": {**base, "id": sim.account_id},
                "project": {**base, "id": project_id},
            },
            "createdDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        }

    def _item_resource(self, item: Item, deleted: bool = False) -> dict[str, Any]:
        sim = self.sim
        api = sim.api()
        fields = sim.render_fields(item.fields, as_string=True)
        if deleted:
            links = {
                "self": {"href": f"{api}/wit/recyclebin/{item.id}"},
                "workItemType": {
                    "href": f"{sim.api(item.project)}/wit/workItemTypes/{quote(item.fields['System.WorkItemType'])}"
                },
                "fields": {"href": f"{api}/wit/fields"},
            }
            return {
                "id": item.id,
                "rev": item.rev,
                "fields": fields,
                "_links": links,
                "url": f"{api}/wit/recyclebin/{item.id}",
            }
        resource: dict[str, Any] = {"id": item.id, "rev": item.rev, "fields": fields}
        if item.relations:
            resource["relations"] = copy.deepcopy(item.relations)
        links = sim.links(item)
        links.pop("workItemComments", None)
        resource["_links"] = links
        resource["url"] = f"{api}/wit/workItems/{item.id}"
        return resource

    def emit_item_event(self, event_type: str, item: Item, user: SimUser) -> None:
        verb = {
            "workitem.created": "created",
            "workitem.deleted": "deleted",
            "workitem.restored": "restored",
            "workitem.commented": "commented on",
        }[event_type]
        details = [f"State: {item.fields['System.State']}"] if event_type == "workitem.created" else []
        resource = self._item_resource(item, deleted=event_type == "workitem.deleted")
        self._publish(self._envelope(event_type, item, user, verb, resource, details))

    def emit_updated(
        self, item: Item, old_rev: int, old: dict[str, Any], old_relations: list[dict[str, Any]], user: SimUser
    ) -> None:
        sim = self.sim
        api = sim.api()
        changed: dict[str, Any] = {"System.Rev": {"oldValue": old_rev, "newValue": item.rev}}
        for name in sorted(set(old) | set(item.fields)):
            before, after = old.get(name), item.fields.get(name)
            if name == "System.History" and after is not None:
                changed[name] = {"newValue": sim.render_value(name, after, True)}
            elif before != after:
                delta = {}
                if before is not None:
                    delta["oldValue"] = sim.render_value(name, before, True)
                if after is not None:
                    delta["newValue"] = sim.render_value(name, after, True)
                changed[name] = delta
        changed["System.AuthorizedDate"] = {
            "oldValue": ado_date(old["System.ChangedDate"]),
            "newValue": ado_date(item.changed),
        }
        changed["System.RevisedDate"] = {"oldValue": ado_date(item.changed), "newValue": FAR_FUTURE}
        resource: dict[str, Any] = {
            "id": item.rev,
            "workItemId": item.id,
            "rev": item.rev,
            "revisedBy": {
                "id": user.id,
                "name": user.identity_string(),
                "displayName": user.display_name,
                "url": f"{sim.origin}/_apis/Identities/{user.id}",
                "uniqueName": user.email,
                "imageUrl": f"{sim.url}/_api/_common/identityImage?id={user.id}",
            },
            "revisedDate": FAR_FUTURE,
            "fields": changed,
        }
        added = [r for r in item.relations if r not in old_relations]
        removed = [r for r in old_relations if r not in item.relations]
        if added or removed:
            resource["relations"] = {key: value for key, value in (("added", added), ("removed", removed)) if value}
        resource["_links"] = {
            "self": {"href": f"{api}/wit/workItems/{item.id}/updates/{item.rev}"},
            "workItemUpdates": {"href": f"{api}/wit/workItems/{item.id}/updates"},
            "parent": {"href": f"{api}/wit/workItems/{item.id}"},
            "html": {"href": sim.html_url(item.id)},
        }
        resource["url"] = f"{api}/wit/workItems/{item.id}/updates/{item.rev}"
        revision: dict[str, Any] = {
            "id": item.id,
            "rev": item.rev,
            "fields": sim.render_fields(item.fields, as_string=True),
        }
        if item.relations:
            revision["relations"] = copy.deepcopy(item.relations)
        revision["_links"] = {
            "self": {"href": f"{api}/wit/workItems/{item.id}/revisions/{item.rev}"},
            "workItemRevisions": {"href": f"{api}/wit/workItems/{item.id}/revisions"},
            "parent": {"href": f"{sim.api(item.project)}/wit/workItems/{item.id}"},
        }
        revision["url"] = f"{api}/wit/workItems/{item.id}/revisions/{item.rev}"
        resource["revision"] = revision
        details = [
            f"{name.rsplit('.', 1)[-1]}: {value.get('newValue')}"
            for name, value in changed.items()
            if not name.startswith("System.") or name in ("System.State", "System.Title", "System.AssignedTo")
        ]
        self._publish(self._envelope("workitem.updated", item, user, "updated", resource, details))

    def _publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.sim.faults.take_webhook_drop():  # generated, never delivered: ADO gave up after its retries
            self.dropped.append(event)
        else:
            self._queue.put(event)
