"""The simulator's read-only ``/browse/KEY`` page, so the links the demo and ``sync status`` print open something.

Only the local demo simulator serves it, without authentication (real Jira shows this page after a log-in): the
simulator runs on loopback with made-up data. Every value is HTML-escaped; rich text goes through ``render_html``.
"""

from __future__ import annotations

import html
from typing import Any

from twinbridge_tools.simulators.jira.render import render_html

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;color:#172b4d}"
          "dl{display:grid;grid-template-columns:9rem 1fr;gap:.3rem 1rem}dt{color:#5e6c84}"
          ".comment{border-top:1px solid #dfe1e6;padding:.5rem 0}.meta{color:#5e6c84;font-size:.9em}")
HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"}


def issue_page(issue: Any, type_name: str, flavour: str) -> str:
    """One issue: its fields, description, comments and attachments (names and sizes; the bytes need a log-in)."""
    e = html.escape
    rows = [("Type", type_name), ("Status", issue.status), ("Priority", issue.priority),
            ("Labels", ", ".join(issue.labels) or "None"),
            ("Assignee", issue.assignee.display_name if issue.assignee else "Unassigned"),
            ("Reporter", issue.reporter.display_name), ("Created", f"{issue.created:%Y-%m-%d %H:%M} UTC"),
            ("Updated", f"{issue.updated:%Y-%m-%d %H:%M} UTC")]
    rows += [(name, _scalar(value)) for name, value in sorted(issue.custom.items())]
    comments = "".join(
        f'<div class="comment"><div class="meta">{e(c.author.display_name)}, {c.created:%Y-%m-%d %H:%M} UTC</div>'
        f"{render_html(c.body) or ''}</div>" for c in issue.comments) or "<p>No comments.</p>"
    attachments = "".join(f"<li>{e(a.filename)} ({len(a.data)} bytes, {e(a.mime_type)}, "
                          f"{e(a.author.display_name)})</li>" for a in issue.attachments)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>[{e(issue.key)}] "
            f"{e(issue.summary)}</title><style>{_STYLE}</style></head><body>"
            f"<p class=\"meta\">{e(issue.project.name)} / {e(issue.key)} (simulated Jira "
            f"{'Cloud' if flavour == 'cloud' else 'Data Center'}, read-only)</p><h1>{e(issue.summary)}</h1>"
            "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows) + "</dl>"
            f"<h2>Description</h2>{render_html(issue.description) or '<p>None.</p>'}"
            f"<h2>Attachments</h2>{f'<ul>{attachments}</ul>' if attachments else '<p>None.</p>'}"
            f"<h2>Comments</h2>{comments}</body></html>")


def not_found_page(key: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Issue not found</title></head>"
            f"<body><h1>Issue does not exist</h1><p>{html.escape(key)} does not exist (or was deleted).</p>"
            "</body></html>")


def _scalar(value: Any) -> str:
    if isinstance(value, dict) and value.get("type") == "doc":
        return "(rich text)"
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or value)
    return str(value)
