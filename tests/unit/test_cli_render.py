"""The CLI's text output: strings that come from a partner or a tracker cannot drive the admin's terminal
(no raw escape sequences, control or bidi characters reach it; they are shown escaped)."""

from __future__ import annotations

import inspect
import unicodedata
from typing import Any

import pytest

from twinbridge_tools.cli import render

# Clears the screen, sets the window title, rewrites the line, hides text (OSC 8 links, bidi override, C1 CSI).
EVIL = "x\x1b[2J\x1b]0;pwned\x07\r\x1b[8mhidden\x1b]8;;https://evil.test\x1b\\\u202egnp.exe\x9b31m\n\x00end"


def evil(tag: str) -> str:
    return f"{tag}{EVIL}"


TWIN: dict[str, Any] = {
    "twin_id": evil("twin"), "connection_id": evil("conn"), "connection_name": evil("name"), "origin": evil("o"),
    "local": {"id": evil("lid"), "key": evil("lkey"), "url": evil("lurl")},
    "remote": {"id": evil("rid"), "key": evil("rkey"), "url": evil("rurl")},
    "last_sent_at": evil("sent"), "last_received_at": evil("recv"), "out_seq": 3, "in_seq": 2, "pending_seq": 4,
    "create_claimed_at": evil("claim"), "unlinked": evil("unlinked"), "queued_for_partner": 1,
    "queued_for_partner_more": False,
    "last_error": {"direction": evil("dir"), "attempts": 2, "at": evil("at"), "reason": evil("reason")},
}
CONNECTION: dict[str, Any] = {
    "id": evil("id"), "name": evil("name"), "status": evil("status"), "mode": "basic",
    "local_short_name": evil("ls"), "remote_short_name": evil("rs"), "description": evil("desc"),
    "remote_url": evil("url"), "delivery": evil("delivery"), "technical_user": evil("tu"), "remote_private": True,
    "recent_events": [{"at": evil("at"), "kind": evil("kind"), "detail": evil("detail")}],
}
DIAGNOSTIC: dict[str, Any] = {"severity": "error", "line": 3, "column": 12, "code": evil("c"), "message": evil("m")}
RULES: dict[str, Any] = {
    "connection_id": evil("c"), "direction": "outgoing", "version": 2, "status": "draft", "active": False,
    "active_version": 1, "connection_mode": "basic", "source": evil("src"), "sha256": evil("sha"),
    "author": evil("author"), "created_at": evil("at"), "note": evil("note"), "based_on": 1, "engine": evil("e"),
    "diagnostics": [DIAGNOSTIC, {**DIAGNOSTIC, "severity": "warning"}],
}
CASES: dict[str, tuple[Any, ...]] = {
    "table": ([{"a": evil("cell")}], [("a", "A")]),
    "connection_rows": ([CONNECTION],),
    "connection_detail": (CONNECTION,),
    "test_report": ({"internal": [{"status": "failed", "name": evil("check"), "detail": evil("detail")}],
                     "remote": {"status": "ok", "detail": evil("remote")}, "ok": False},),
    "node_info": ({"node": evil("node"), "public": True, "url": evil("url"),
                   "tracker": {"type": evil("type"), "base_url": evil("base")}, "technical_user": evil("tu"),
                   "connections": 1},),
    "sync_summary": ([{"connection_id": evil("c"), "name": evil("n"), "status": evil("s"), "twins": 1,
                       "with_errors": 0, "pending": 0, "queued_for_partner": 0, "queued_for_partner_more": True}],),
    "twin_detail": (TWIN,),
    "twin_details": ([TWIN, TWIN],),
    "sync_errors": ([{"connection_id": evil("c"), "twin_id": evil("t"), "local": {"key": evil("l")},
                      "remote": {"key": evil("r")}, "direction": "incoming", "attempts": 1, "at": evil("at"),
                      "reason": evil("reason")}],),
    "diagnostics": ([DIAGNOSTIC],),
    "rules_view": (RULES,),
    "rules_history": ({"connection_id": evil("c"), "direction": "incoming", "active_version": 0, "next_before": 3,
                       "versions": [{"version": 4, "status": "draft", "sha256": evil("s"), "author": evil("a"),
                                     "created_at": evil("at"), "note": evil("n"), "based_on": None, "errors": 0,
                                     "warnings": 1}],
                       "events": [{"connection_id": evil("c"), "direction": "incoming", "action": "published",
                                   "version": 4, "previous": 0, "author": evil("a"), "at": evil("at"),
                                   "note": evil("n")}]},),
    "rules_dry_run": ({"connection_id": evil("c"), "direction": "incoming", "version": 2,
                       "item": {"id": evil("i"), "key": evil("k"), "url": evil("u")}, "logs": [evil("log")],
                       "warnings": [evil("w")], "losses": [evil("l")],
                       "error": {"kind": "error", "message": evil("m"), "line": 1, "column": 2, "frame": evil("f")},
                       "requests": [{"method": "PUT", "url": evil("u"), "content_type": "application/json",
                                     "body": {evil("k"): [evil("v")]}}]},),
    "retry_report": ({"queued": [{"twin_id": evil("t"), "connection_id": evil("c"), "action": "apply", "seq": 2,
                                  "status": "failed", "detail": evil("d")},
                                 {"twin_id": evil("t"), "connection_id": evil("c"), "action": "change",
                                  "item_key": evil("k"), "delivery_id": evil("d"), "status": "queued"}],
                      "skipped": [{"twin_id": evil("t"), "connection_id": evil("c"), "reason": evil("why")}]},),
}


def unsafe(output: str) -> list[str]:
    """Characters a terminal would act on or that reorder text: every control (bar the layout's newlines), format
    (bidi, zero-width) and separator character."""
    return [ch for ch in output if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


def test_every_text_renderer_is_covered():
    public = {name for name, fn in inspect.getmembers(render, inspect.isfunction)
              if not name.startswith("_") and fn.__module__ == render.__name__}
    assert public - {"printable"} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_partner_and_tracker_strings_are_printed_with_escapes_neutralized(name):
    output = getattr(render, name)(*CASES[name])

    assert unsafe(output) == []
    assert "\\x1b[2J" in output or "\\x1b" in output  # shown, not acted on
    lines = output.split("\n")
    assert not [line for line in lines if line.startswith("[8mhidden") or line.startswith("end")]  # no forged line


def test_printable_escapes_controls_bidi_and_c1_and_keeps_ordinary_text():
    assert render.printable("Ana Pérez 😄 日本") == "Ana Pérez 😄 日本"
    assert render.printable("a\x1b[31mb\x07\r\n\t\x00") == "a\\x1b[31mb\\x07\\r\\n\\t\\x00"
    assert render.printable("\u202egnp.exe\u200b\x9b\u2028") == "\\u202egnp.exe\\u200b\\x9b\\u2028"
    assert render.printable(None) == "None" and render.printable(3) == "3"


def test_rules_show_numbers_every_source_line_and_lists_diagnostics_errors_first():
    view = {**RULES, "source": "def outgoing(item, replica, ctx):\n    return replica\n",
            "diagnostics": [{**DIAGNOSTIC, "severity": "warning", "line": 1, "column": 5, "message": "unused"},
                            {**DIAGNOSTIC, "message": "Variable `x` not found"}]}
    text = render.rules_view(view)
    assert "  3:12: error: Variable `x` not found\n  1:5: warning: unused" in text
    assert text.endswith("1 | def outgoing(item, replica, ctx):\n2 |     return replica")
    assert "errors block publishing" in text and "script mode" in text


def test_rules_dry_run_shows_each_request_the_script_error_and_warnings():
    from twinbridge_tools.cli import render

    text = render.rules_dry_run({
        "connection_id": "c-1", "direction": "incoming", "version": 3, "item": {"id": "7", "key": "7", "url": ""},
        "logs": ["mapped Active"], "error": None, "warnings": ["status 'Done': nothing to send"], "losses": [],
        "requests": [{"method": "PATCH", "url": "http://ado/_apis/wit/workitems/7",
                      "content_type": "application/json-patch+json",
                      "body": [{"op": "add", "path": "/fields/System.State", "value": "Active"}]}]})
    assert "incoming rules version 3 of c-1 on 7: nothing was sent" in text
    assert "PATCH http://ado/_apis/wit/workitems/7" in text and '"/fields/System.State"' in text
    assert "log: mapped Active" in text and "warning: status 'Done': nothing to send" in text
    failed = render.rules_dry_run({
        "connection_id": "c-1", "direction": "outgoing", "version": 0, "item": None, "logs": [], "warnings": [],
        "losses": [], "requests": [], "error": {"kind": "error", "message": "ValueError: no mapping", "line": 4,
                                                 "column": 9, "frame": "  --> outgoing.star:4:9"}})
    assert "script error at line 4, column 9: ValueError: no mapping" in failed
