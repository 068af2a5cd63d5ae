"""Human-readable output for admin commands (``--json`` prints the API's JSON instead).

Every string shown comes from the node's API and may have come from a partner or a tracker (names, keys, URLs,
error reasons), so each renderer shows control, bidi and other invisible characters escaped (``\\x1b``): a partner
cannot clear the admin's screen, set the window title, forge a line or reorder what is shown."""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Callable
from typing import Any, cast

# control (C0, DEL, C1), format (bidi overrides and isolates, zero-width), surrogates, line and paragraph separators
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(value: Any) -> str:
    """``value`` as text a terminal only displays: every control, format or separator character is shown as its
    escape (``\\x1b``, ``\\u202e``) instead of acting on the terminal or reordering the line."""
    text = value if isinstance(value, str) else str(value)
    return "".join(_escape(ch) if unicodedata.category(ch) in _UNSAFE_CATEGORIES else ch for ch in text)


def _escape(ch: str) -> str:
    if ch in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _neutralized_values(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: _neutralized_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_neutralized_values(item) for item in value)
    return value


def _neutralized[**P](render: Callable[P, str]) -> Callable[P, str]:
    """Run ``render`` on a copy of its arguments whose every string went through ``printable``."""

    @functools.wraps(render)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        clean_args = cast(Any, _neutralized_values(args))
        clean_kwargs = cast(Any, _neutralized_values(kwargs))
        return render(*clean_args, **clean_kwargs)

    return wrapper


@_neutralized
def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    if not rows:
        return "(none)"
    cells = [[str(row.get(key) if row.get(key) is not None else "-") for key, _ in columns] for row in rows]
    widths = [max(len(title), *(len(cell[i]) for cell in cells)) for i, (_, title) in enumerate(columns)]
    lines = ["  ".join(title.ljust(widths[i]) for i, (_, title) in enumerate(columns))]
    lines += ["  ".join(cell[i].ljust(widths[i]) for i in range(len(columns))) for cell in cells]
    return "\n".join(line.rstrip() for line in lines)


@_neutralized
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
    ("id", "id"),
    ("name", "name"),
    ("status", "status"),
    ("origin", "set up by"),
    ("mode", "mode"),
    ("local_short_name", "local short name"),
    ("remote_short_name", "remote short name"),
    ("description", "description"),
    ("project", "incoming project"),
    ("remote_node", "remote node"),
    ("remote_url", "remote URL"),
    ("delivery", "delivery"),
    ("passive", "passive"),
    ("technical_user", "technical user"),
    ("alt_base_url", "alternative base URL"),
    ("invitation_expires_at", "invitation expires"),
    ("created_at", "created"),
    ("activated_at", "activated"),
    ("last_contact_at", "last heard from partner"),
    ("keys_rotated_at", "keys rotated"),
    ("rotation_pending", "rotation pending"),
    ("out_seq", "messages sent"),
    ("queued_for_partner", "queued for partner"),
    ("in_seq", "messages received"),
]


@_neutralized
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


@_neutralized
def test_report(report: dict[str, Any]) -> str:
    marks = {"ok": "OK     ", "failed": "FAILED ", "skipped": "SKIPPED"}
    lines = ["internal test:"]
    lines += [f"  [{marks[c['status']]}] {c['name']}: {c['detail']}" for c in report["internal"]]
    remote = report["remote"]
    lines.append("remote test:")
    lines.append(f"  [{marks[remote['status']]}] {remote['detail']}")
    lines.append("result: " + ("OK" if report.get("ok") else "FAILED"))
    return "\n".join(lines)


@_neutralized
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


def _count(value: int, more: bool) -> str:
    return f"{value}+" if more else str(value)


@_neutralized
def sync_summary(connections: list[dict[str, Any]]) -> str:
    rows = [{**c, "queued": _count(c["queued_for_partner"], c["queued_for_partner_more"])} for c in connections]
    return table(
        rows,
        [
            ("connection_id", "CONNECTION"),
            ("name", "NAME"),
            ("status", "STATUS"),
            ("twins", "TWINS"),
            ("with_errors", "ERRORS"),
            ("pending", "PENDING"),
            ("queued", "QUEUED FOR PARTNER"),
        ],
    )


def _side(identity: dict[str, Any] | None) -> str | None:
    if not identity:
        return None
    key = identity["key"] if identity["key"] == identity["id"] else f"{identity['key']} (id {identity['id']})"
    return f"{key}  {identity['url']}" if identity.get("url") else key


@_neutralized
def twin_detail(twin: dict[str, Any]) -> str:
    error = twin.get("last_error")
    fields: list[tuple[str, Any]] = [
        ("twin", twin["twin_id"]),
        ("connection", f"{twin['connection_id']} ({twin['connection_name']})"),
        ("origin", twin["origin"]),
        ("local item", _side(twin.get("local")) or "(not created yet)"),
        ("remote item", _side(twin.get("remote")) or "(not known yet)"),
        ("last sent", twin.get("last_sent_at") or "never"),
        ("last received", twin.get("last_received_at") or "never"),
        ("sent seq (out)", twin["out_seq"]),
        ("applied seq (in)", twin["in_seq"]),
        ("pending replica", f"#{twin['pending_seq']} (received, not applied yet)" if twin.get("pending_seq") else None),
        ("create started", twin.get("create_claimed_at")),
        ("unlinked", twin.get("unlinked")),
        ("rules versions", ", ".join(f"{k} v{v}" for k, v in sorted((twin.get("rules_versions") or {}).items()))
         or None),
        ("queued for partner", _count(twin["queued_for_partner"], twin["queued_for_partner_more"])),
        (
            "last error",
            (
                f"{error['direction']}, {error['attempts']} attempt(s), at {error['at']}: {error['reason']}"
                if error
                else None
            ),
        ),
    ]
    return "\n".join(f"{label + ':':<26}{value}" for label, value in fields if value is not None)


@_neutralized
def twin_details(twins: list[dict[str, Any]]) -> str:
    return "\n\n".join(twin_detail(twin) for twin in twins) or "(none)"


@_neutralized
def sync_errors(errors: list[dict[str, Any]]) -> str:
    rows = [
        {
            **e,
            "local_key": (e.get("local") or {}).get("key"),
            "remote_key": (e.get("remote") or {}).get("key"),
            "reason": e["reason"] if len(e["reason"]) <= 80 else e["reason"][:79] + "…",
        }
        for e in errors
    ]
    return table(
        rows,
        [
            ("connection_id", "CONNECTION"),
            ("twin_id", "TWIN"),
            ("local_key", "LOCAL"),
            ("remote_key", "REMOTE"),
            ("direction", "DIRECTION"),
            ("attempts", "ATTEMPTS"),
            ("at", "AT"),
            ("reason", "REASON"),
        ],
    )


@_neutralized
def retry_report(result: dict[str, Any]) -> str:
    verbs = {"queued": "queued", "failed": "FAILED"}
    lines = []
    for q in result["queued"]:
        what = (
            f"apply of replica #{q['seq']}"
            if q["action"] == "apply"
            else f"change of {q['item_key']} (delivery {q['delivery_id']})"
        )
        detail = f": {q['detail']}" if q.get("detail") else ""
        lines.append(f"  [{verbs[q['status']]:<6}] {q['twin_id']} ({q['connection_id']}): {what}{detail}")
    lines += [f"  [skipped] {s['twin_id']} ({s['connection_id']}): {s['reason']}" for s in result["skipped"]]
    head = f"{len(result['queued'])} queued, {len(result['skipped'])} skipped" + (":" if lines else ".")
    return "\n".join([head, *lines])


@_neutralized
def diagnostics(found: list[dict[str, Any]]) -> str:
    """Save-time findings as ``line:col: error: message``, errors first."""
    ordered = sorted(found, key=lambda d: (d["severity"] != "error", d["line"], d["column"]))
    return "\n".join(f"{d['line']}:{d['column']}: {d['severity']}: {d['message']}" for d in ordered)


def rules_view(view: dict[str, Any], *, with_source: bool = True) -> str:
    """One version of the rules: what it is, its diagnostics, and its source with line numbers (each source line
    is shown on its own numbered line, its characters neutralized like every other string)."""
    lines = view["source"].split("\n") if with_source else []
    if lines and lines[-1] == "":
        lines.pop()
    return _rules_view({**view, "source": ""}, lines)


@_neutralized
def _rules_view(view: dict[str, Any], source_lines: list[str]) -> str:
    if view["status"] == "generated":
        what = "version 0 (generated: reproduces basic mode)"
    else:
        what = f"version {view['version']} ({view['status']})"
    fields: list[tuple[str, Any]] = [
        ("connection", view["connection_id"]),
        ("direction", view["direction"]),
        ("rules", what + ("  ACTIVE" if view["active"] else "")),
        ("active version", view["active_version"] if not view["active"] else None),
        ("saved by", f"{view['author']} at {view['created_at']}" if view.get("author") else None),
        ("note", view.get("note") or None),
        ("based on", None if view.get("based_on") is None else
         "the generated defaults" if view["based_on"] == 0 else f"version {view['based_on']}"),
        ("sha256", view["sha256"]),
        ("mode", None if view["connection_mode"] == "script" else
         f"{view['connection_mode']} (the rules take effect once the connection is in script mode)"),
    ]
    out = [f"{label + ':':<16}{value}" for label, value in fields if value is not None]
    found = view.get("diagnostics") or []
    errors = sum(1 for d in found if d["severity"] == "error")
    if found:
        out.append(f"diagnostics:    {errors} error(s), {len(found) - errors} warning(s)")
        out += ["  " + line for line in diagnostics(found).split("\n")]
    if errors:
        out.append("  errors block publishing: fix them and save again")
    if source_lines:
        width = len(str(len(source_lines)))
        out.append("")
        out += [f"{n:>{width}} | {line}" for n, line in enumerate(source_lines, 1)]
    return "\n".join(out)


@_neutralized
def rules_history(result: dict[str, Any]) -> str:
    rows = [
        {**v, "active": "*" if v["version"] == result["active_version"] else "",
         "checks": f"{v['errors']} error(s), {v['warnings']} warning(s)"}
        for v in result["versions"]
    ]
    out = [f"{result['direction']} rules of {result['connection_id']}: active version {result['active_version']}"
           + (" (the generated defaults)" if result["active_version"] == 0 else ""), ""]
    out.append(table(rows, [("active", ""), ("version", "VERSION"), ("status", "STATUS"), ("author", "AUTHOR"),
                            ("created_at", "SAVED"), ("checks", "CHECKS"), ("note", "NOTE")]))
    if result.get("next_before"):
        out.append(f"(older versions: --before {result['next_before']})")
    if result["events"]:
        out += ["", "history:"]
        for e in result["events"]:
            since = f" (was {e['previous']})" if e.get("previous") is not None and e["action"] != "saved" else ""
            out.append(f"  {e['at']}  {e['action']:<12} version {e['version']}{since} by {e['author']}")
    return "\n".join(out)


@_neutralized
def rules_dry_run(result: dict[str, Any]) -> str:
    """What a dry run found: the script's error or log, the replica (outgoing) or each tracker request (incoming)."""
    item = result.get("item") or {}
    out = [f"{result['direction']} rules version {result['version']} of {result['connection_id']}"
           + (f" on {item['key']}" if item else " (the copy is not created yet)") + ": nothing was sent"]
    error = result.get("error")
    if error:
        where = f" at line {error['line']}, column {error['column']}" if error.get("line") else ""
        out += ["", f"script {error['kind']}{where}: {error['message']}", error.get("frame", "").rstrip()]
    out += [f"log: {line}" for line in result.get("logs", [])]
    if result["direction"] == "outgoing" and not error:
        if not result.get("shared"):
            out.append("not shared: the rules returned None for this item")
        else:
            out.append("would send: " + ("yes" if result.get("would_send") else "no (the same as the last one sent)"))
            out += ["", json.dumps(result.get("replica"), indent=2)]
    for request in result.get("requests", []):
        body = request.get("body")
        shown = json.dumps(body, indent=2) if not isinstance(body, str) else body  # keys too: ASCII only
        out += ["", f"{request['method']} {request['url']}", shown]
    out += [f"warning: {w}" for w in result.get("warnings", [])]
    out += [f"rich text: {loss}" for loss in result.get("losses", [])]
    return "\n".join(out)
