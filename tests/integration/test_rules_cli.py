"""``twinbridge rules``: the CLI against the real admin handler in this process (its HTTP client replaced by one
that builds the same API Gateway events), on moto's table."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.integration.test_rules import BETTER, BROKEN, GOOD, _connection
from tests.support import http_event


class HandlerClient:
    """AdminClient's contract (request -> JSON, CliError on an error status) served by the admin handler itself."""

    def __init__(self, context) -> None:
        self._context = context

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        from functions.admin_api.app import lambda_handler
        from twinbridge_tools.cli.admin_client import CliError

        route, _, query = path.partition("?")
        event = http_event(method, route, body, query=query)
        event["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::1:user/cli"}}
        response = lambda_handler(event, self._context)
        payload = json.loads(response["body"])
        if response["statusCode"] >= 400:
            raise CliError(f"{payload['message']} (HTTP {response['statusCode']}, {payload['error']})", 2)
        return payload


@pytest.fixture
def cli(deps, lambda_context, monkeypatch, capsys):
    from twinbridge_tools.cli import main as cli_main

    monkeypatch.setattr(cli_main, "_client", lambda args: HandlerClient(lambda_context))

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def conn(deps):
    return _connection(deps)


def test_show_without_rules_prints_the_generated_defaults_with_line_numbers(cli, conn):
    code, out, _ = cli("rules", "show", conn.id, "--direction", "incoming")
    assert code == 0
    assert "version 0 (generated: reproduces basic mode)  ACTIVE" in out
    assert " 4 | def incoming(replica, local, ctx):" in out


def test_save_a_file_with_errors_prints_line_col_diagnostics_and_publish_refuses(cli, conn, tmp_path):
    script = tmp_path / "out.star"
    script.write_text(BROKEN)
    code, out, _ = cli("rules", "save", conn.id, "--direction", "outgoing", "--file", str(script), "--note", "wip")
    assert code == 1
    assert "Saved outgoing rules version 1 (draft). It has 1 error(s)" in out
    assert "  3:12: error: Variable `undefined_name` not found" in out
    assert "  1:5: warning:" in out or "warning:" in out

    code, _, err = cli("rules", "publish", conn.id, "--direction", "outgoing")
    assert code == 2 and "3:12: error: Variable `undefined_name` not found" in err and "HTTP 400" in err


def test_save_publish_rollback_and_history(cli, conn, tmp_path):
    (tmp_path / "a.star").write_text(GOOD)
    (tmp_path / "b.star").write_text(BETTER)
    assert cli("rules", "save", conn.id, "--direction", "outgoing", "--file", str(tmp_path / "a.star"))[0] == 0
    code, out, _ = cli("rules", "publish", conn.id, "--direction", "outgoing")
    assert code == 0 and "published version 1; it is active now" in out
    cli("rules", "save", conn.id, "--direction", "outgoing", "--file", str(tmp_path / "b.star"))
    assert cli("rules", "publish", conn.id, "--direction", "outgoing", "--version", "2")[0] == 0
    code, out, _ = cli("rules", "rollback", conn.id, "--direction", "outgoing", "--version", "1")
    assert code == 0 and "rolled back to version 1" in out

    code, out, _ = cli("rules", "history", conn.id, "--direction", "outgoing")
    assert code == 0 and "active version 1" in out
    assert "rolled back  version 1 (was 2) by arn:aws:iam::1:user/cli" in out
    code, out, _ = cli("rules", "show", conn.id, "--direction", "outgoing", "--json")
    assert json.loads(out)["rules"]["version"] == 1 and json.loads(out)["rules"]["source"] == GOOD


def test_edit_opens_the_current_rules_in_the_editor_and_saves_a_draft(cli, conn, tmp_path, monkeypatch):
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent("""\
        import sys
        path = sys.argv[1]
        text = open(path).read()
        open(path, "w").write(text.replace("return replica", "return None"))
    """))
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    code, out, _ = cli("rules", "edit", conn.id, "--direction", "outgoing", "--note", "share nothing")
    assert code == 0 and "Saved outgoing rules version 1 (draft)" in out
    code, out, _ = cli("rules", "show", conn.id, "--direction", "outgoing", "--version", "draft")
    assert "return None" in out and "share nothing" in out and "based on:       the generated defaults" in out
    monkeypatch.setenv("EDITOR", "true")  # saves nothing new
    code, out, _ = cli("rules", "edit", conn.id, "--direction", "outgoing")
    assert code == 0 and out.startswith("No changes")


def test_unknown_connection_and_bad_version_are_clear_errors(cli):
    code, _, err = cli("rules", "show", "c-nope", "--direction", "outgoing")
    assert code == 2 and "does not exist" in err and "HTTP 404" in err
    with pytest.raises(SystemExit):
        cli("rules", "show", "c-nope", "--direction", "outgoing", "--version", "latest")


def test_dry_run_needs_an_item_and_says_when_the_node_has_no_tracker(cli, conn):
    code, _, err = cli("rules", "dry-run", conn.id, "--direction", "incoming")
    assert code != 0 and "--item" in err
    code, _, err = cli("rules", "dry-run", conn.id, "--direction", "outgoing", "--item", "PROJ-1")
    assert code != 0 and "no tracker configured" in err and "HTTP 409" in err
