"""A read-only HTML page per work item, at the links the API hands out (``web/wi.aspx?id=N``, the ``_links.html``
the demo and ``sync status`` print, and ``{project}/_workitems/edit/N``), so a person can look at an item in a browser.

Simulator only: the page asks for no credentials, which is fine for a loopback simulator holding demo data and
would not be for anything else. Every value is HTML-escaped (titles, fields and comments are user input).
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from twinbridge_tools.simulators.azure_devops.model import Item, Reply

if TYPE_CHECKING:
    from twinbridge_tools.simulators.azure_devops.model import AdoRequest
    from twinbridge_tools.simulators.azure_devops.simulator import AzureDevOpsSimulator

HTML = "text/html; charset=utf-8"


def route(sim: AzureDevOpsSimulator, request: AdoRequest) -> Reply | None:
    """The page when ``request`` asks for one (GET of an item link); None for every API request."""
    if request.method not in ("GET", "HEAD"):
        return None
    base = sim.base_path.lower()
    path = request.path.lower()
    if path == f"{base}/web/wi.aspx":
        raw_id = request.query.get("id", "")
    else:
        match = re.fullmatch(re.escape(base) + r"/[^/]+/_workitems/edit/([^/]+)/?", path)
        if match is None:
            return None
        raw_id = match.group(1)
    with sim.lock:
        item = sim.items.get(int(raw_id)) if raw_id.isdigit() else None
        if item is None or item.deleted:
            return _page(404, f"Work item {raw_id} not found", f"<p>There is no work item {escape(raw_id)}.</p>")
        return _page(200, f"{item.fields['System.WorkItemType']} {item.id}: {item.fields.get('System.Title', '')}",
                     _body(sim, item))


def _body(sim: AzureDevOpsSimulator, item: Item) -> str:
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(str(sim.render_value(name, value, as_string=True)))}</td></tr>"
        for name, value in sorted(item.fields.items())
        if name != "System.History"
    )
    comments = [c for c in sorted(item.comments.values(), key=lambda c: c.id) if not c.deleted]
    comment_items = "".join(
        f"<li><p>{escape(c.created_by.display_name)}, {escape(sim.render_value('', c.modified))}</p>"
        f"<pre>{escape(c.text)}</pre></li>"
        for c in comments
    )
    files = [r for r in item.relations if r.get("rel") == "AttachedFile"]
    file_items = "".join(
        f"<li>{escape(str(r['attributes'].get('name', '')))} ({escape(str(r['attributes'].get('resourceSize', '')))}"
        f" bytes)</li>"
        for r in files
    )
    return (
        f"<p>Rev {item.rev}, project {escape(item.project)}</p>"
        f"<h2>Fields</h2><table>{rows}</table>"
        f"<h2>Comments ({len(comments)})</h2><ul>{comment_items}</ul>"
        f"<h2>Attachments ({len(files)})</h2><ul>{file_items}</ul>"
    )


def _page(status: int, title: str, body: str) -> Reply:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><p>Azure DevOps simulator (read-only)</p><h1>{escape(title)}</h1>{body}</body></html>"
    ).encode()
    return Reply(status, stream=iter([document]), length=len(document), content_type=HTML)
