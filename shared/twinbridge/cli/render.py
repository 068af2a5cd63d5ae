"""Human-readable output for admin commands (``--json`` prints the API's JSON instead)."""

from __future__ import annotations

from typing import Any


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(row.get(key) if row.get(key) is not None else "-") for key, _ in columns] for row in rows]
    widths = [max(len(title), *(len(cell[i]) for cell in cells)) for i, (_, title) in enumerate(columns)]
    lines = ["  ".join(title.ljust(widths[i]) for i, (_, title) in enumerate(columns))]
    lines += ["  ".join(cell[i].ljust(widths[i]) for i in range(len(columns))) for cell in cells]
    return "\n".join(line.rstrip() for line in lines)


def connection_rows(connections: list[dict[str, Any]]) -> str:
    rows = [
        {
            **conn,
            "remote": conn.get("remote_url") or ("(private partner)" if conn.get("remote_private") else "-"),
            "pair": f"{conn['local_short_name']} <-> {conn['remote_short_name']}",
        }
        for conn in connections
    ]
    return table(
        rows,
        [("id", "ID"), ("name", "NAME"), ("pair", "SHORT NAMES"), ("status", "STATUS"), ("mode", "MODE"),
         ("remote", "REMOTE"), ("delivery", "DELIVERY")],
    )


_DETAIL_FIELDS = [
    ("id", "id"), ("name", "name"), ("status", "status"), ("origin", "set up by"), ("mode", "mode"),
    ("local_short_name", "local short name"), ("remote_short_name", "remote short name"),
    ("description", "description"), ("project", "incoming project"), ("remote_node", "remote node"),
    ("remote_url", "remote URL"), ("delivery", "delivery"), ("passive", "passive"),
    ("technical_user", "technical user"), ("alt_base_url", "alternative base URL"),
    ("invitation_expires_at", "invitation expires"), ("created_at", "created"), ("activated_at", "activated"),
    ("last_contact_at", "last heard from partner"), ("keys_rotated_at", "keys rotated"),
    ("rotation_pending", "rotation pending"), ("out_seq", "messages sent"), ("queued_for_partner", "queued for partner"),
    ("in_seq", "messages received"),
]


def connection_detail(conn: dict[str, Any]) -> str:
    lines = []
    for key, label in _DETAIL_FIELDS:
        value = conn.get(key)
        if value in (None, "", False) and key not in ("status",):
            continue
        if key == "remote_url" and value is None:
            continue
        lines.append(f"{label + ':':<26}{value}")
    if conn.get("remote_private"):
        lines.append(f"{'remote URL:':<26}(none: the partner is private and calls this node)")
    events = conn.get("recent_events") or []
    if events:
        lines.append("recent events:")
        lines += [f"  {event['at']}  {event['kind']:<26}{event.get('detail', '')}" for event in events]
    return "\n".join(lines)


def test_report(report: dict[str, Any]) -> str:
    marks = {"ok": "OK     ", "failed": "FAILED ", "skipped": "SKIPPED"}
    lines = ["internal test:"]
    lines += [f"  [{marks[c['status']]}] {c['name']}: {c['detail']}" for c in report["internal"]]
    remote = report["remote"]
    lines.append("remote test:")
    lines.append(f"  [{marks[remote['status']]}] {remote['detail']}")
    lines.append("result: " + ("OK" if report.get("ok") else "FAILED"))
    return "\n".join(lines)


def node_info(info: dict[str, Any]) -> str:
    tracker = info.get("tracker", {})
    return "\n".join(
        [
            f"{'node:':<18}{info['node']}",
            f"{'reachability:':<18}{'public at ' + str(info.get('url')) if info.get('public') else 'private (calls out only)'}",
            f"{'tracker:':<18}{tracker.get('type')} {tracker.get('base_url') or ''}".rstrip(),
            f"{'technical user:':<18}{info.get('technical_user') or '-'}",
            f"{'connections:':<18}{info.get('connections')}",
        ]
    )
