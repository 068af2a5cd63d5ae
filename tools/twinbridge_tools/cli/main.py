"""Entry point of the ``twinbridge`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote, urlencode

from twinbridge_tools.cli import render
from twinbridge_tools.cli.admin_client import AdminClient, CliError

CONNECTIONS = "/admin/v1/connections"
SYNC = "/admin/v1/sync"


GLOBAL_OPTIONS_TITLE = "global options (accepted anywhere: before or after the command)"


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes. The top-level parser gets them with real defaults; every subparser gets
    a copy whose defaults are SUPPRESSed, so ``--json`` may also follow the command (``connection list --json``)
    without a sub-level default overwriting a value given before the command."""
    def default(value):
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group(GLOBAL_OPTIONS_TITLE)
    group.add_argument("--url", default=default(None),
                       help="admin API base URL of the node (the stack's AdminApiUrl output, or a local node)")
    group.add_argument("--node", default=default(None),
                       help="name of a local node started by 'twinbridge dev' (public, private)")
    group.add_argument("--json", action="store_true", default=default(False),
                       help="print the API's JSON instead of text")
    group.add_argument("--region", default=default(None), help="AWS region of a deployed stack (SigV4 signing)")
    group.add_argument("--profile", default=default(None), help="AWS profile for SigV4 signing")
    group.add_argument("--state-dir", default=default(None),
                       help="where 'twinbridge dev' records local nodes (default ./.twinbridge)")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (1-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinbridge", description="Administer twinbridge nodes and run them locally.", allow_abbrev=False,
        epilog="The global options may come before or after the command: 'twinbridge --json connection list' and "
               "'twinbridge connection list --json' are the same.",
    )
    _global_options(parser, suppress=False)
    shared = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _global_options(shared, suppress=True)

    def command(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[shared], allow_abbrev=False, **kwargs)

    commands = parser.add_subparsers(dest="command", required=True)

    dev = command(commands, "dev", help="run a public and a private node locally (no AWS account, no Docker)")
    dev.add_argument("--public-port", type=_port, default=8710, help="port of the public node (default: 8710)")
    dev.add_argument("--private-port", type=_port, default=8720, help="port of the private node (default: 8720)")
    dev.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    dev.add_argument("--no-trackers", action="store_true", help="do not start the simulated trackers (and no demo)")
    dev.add_argument(
        "--no-demo",
        action="store_true",
        help="only start the nodes; connect them by hand (default: a demo connects them and syncs an issue)",
    )
    dev.add_argument(
        "--scripted",
        action="store_true",
        help="run the demo, then stop the nodes: exit 0 when every step completed, 1 naming the step that did not",
    )
    dev.add_argument(
        "--mode",
        choices=["basic", "script"],
        default="basic",
        help="the demo connection's mode (default: basic). script: the invitation is created in script mode, each "
        "node publishes incoming rules with a status map, and an extra step moves the issue to 'In Progress' in Jira "
        "(the work item becomes 'Active') and closes the work item (the issue becomes 'Done')",
    )
    dev_sub = dev.add_subparsers(dest="dev_command")
    single = command(dev_sub, "node", help="run one node in the foreground")
    single.add_argument("--name", required=True)
    single.add_argument("--port", type=_port, required=True)
    single.add_argument("--public", action="store_true", help="expose peer routes (default: private)")
    single.add_argument("--tracker-type", default="jira-cloud", choices=["jira-cloud", "jira-dc", "azure-devops"])
    single.add_argument("--tracker-base-url", default="")
    single.add_argument("--technical-user", default="twinbridge-bot")
    single.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    single.add_argument("--long-poll-seconds", type=float, default=20.0)
    single.add_argument("--aws-port", type=_port, help="port of the embedded AWS (default: any free port)")
    single.add_argument(
        "--simulate-tracker",
        metavar="PROJECT",
        help="start a simulated tracker of --tracker-type with this project (ignores --tracker-base-url)",
    )
    single.add_argument("--info-file", help="write the node's URLs (and simulated tracker's users) to this JSON file")
    single.add_argument(
        "--no-technical-user-guard",
        action="store_true",
        help="tests only: sync the technical user's own changes back (the loop test)",
    )

    node = command(commands, "node", help="this node")
    command(node.add_subparsers(dest="node_command", required=True), "info", help="name, reachability, tracker")

    conn = command(commands, "connection", help="connections to partner nodes")
    sub = conn.add_subparsers(dest="connection_command", required=True)
    initiate = command(sub, "initiate", help="create a connection and print its invitation code")
    _common_connection_args(initiate)
    target = initiate.add_mutually_exclusive_group(required=True)
    target.add_argument("--partner-url", help="the partner node's URL (it is public)")
    target.add_argument("--no-partner-url", action="store_true", help="I don't have a URL: the partner is private")
    initiate.add_argument("--expires-in-hours", type=float, default=72)

    accept = command(sub, "accept", help="accept an invitation code from a partner ('-' reads it from stdin)")
    accept.add_argument("code")
    accept.add_argument("--project", help="project for incoming sync on this side")
    accept.add_argument("--name", help="local name (default: the invitation's)")
    accept.add_argument("--relay-other-partners", action="store_true",
                        help="also share with this partner what other partners sent here (their items' copies, "
                             "their comments and attachments); off by default: no relays between partners, no loops")

    manual = command(sub, "add-manual", help="set up a connection with hand-typed keys (IssueSYNC style)")
    _common_connection_args(manual)
    manual.add_argument("--local-key", help="verifies incoming requests (default: generate one and print it once)")
    manual.add_argument("--remote-key", help="the partner's local key: signs requests to the partner")
    manual.add_argument("--remote-url", help="the partner node's URL")
    manual.add_argument("--passive", action="store_true", help="this side never calls the partner (the partner polls)")
    manual.add_argument("--technical-user")
    manual.add_argument("--alt-base-url", help="alternative base URL partners use for this node")

    command(sub, "list", help="all connections")
    for name, text in [
        ("show", "one connection with its recent events"),
        ("test", "internal checks and a signed ping round trip"),
        ("activate", "resume a deactivated connection"),
        ("deactivate", "pause a connection (the partner's requests are refused)"),
        ("rotate-keys", "agree new keys with the partner, without re-inviting"),
    ]:
        command(sub, name, help=text).add_argument("id")
    delete = command(sub, "delete", help="delete a connection and its keys on this node")
    delete.add_argument("id")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    note = command(sub, "send-note", help="send a text note through the connection (a channel check)")
    note.add_argument("id")
    note.add_argument("text")

    sync = command(commands, "sync", help="sync state of linked items: status, errors, retries")
    sync_sub = sync.add_subparsers(dest="sync_command", required=True)
    status = command(sync_sub, "status", help="a summary per connection, or one item's twins")
    status.add_argument("item", nargs="?", help="a local item key (ACME-12), a local item id or a twin id")
    status.add_argument("--connection", help="only this connection")
    errors = command(sync_sub, "errors", help="twins whose last sync failed")
    errors.add_argument("--connection", help="only this connection")
    retry = command(sync_sub, "retry", help="queue failed twins again (the pending apply, or the local item's change)")
    retry.add_argument("twin_ids", nargs="*", metavar="TWIN_ID")
    retry.add_argument("--all", action="store_true", help="every twin with an error")
    retry.add_argument("--connection", help="only this connection")

    rules = command(commands, "rules", help="script-mode rules of a connection: show, edit, save, publish, history")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    for name, text in [
        ("show", "the active rules (the generated defaults while none is published), a draft or a version"),
        ("edit", "open the newest draft (or the active rules) in $EDITOR and save the result as a new draft"),
        ("save", "save a file as a new draft version (checked: errors block publishing)"),
        ("publish", "make a version (default: the newest draft) the active rules"),
        ("rollback", "make a previously published version (0: the generated defaults) active again"),
        ("history", "versions and who saved, published or rolled back what, when"),
        ("dry-run", "run a version on a real item: the replica it would send, or the exact tracker requests"),
    ]:
        sub_rules = command(rules_sub, name, help=text)
        sub_rules.add_argument("connection", metavar="CONNECTION", help="the connection's id")
        sub_rules.add_argument("--direction", required=True, choices=["outgoing", "incoming"])
        if name == "dry-run":
            sub_rules.add_argument("--item", help="the local item's key (outgoing: the item sent; incoming: the copy)")
            sub_rules.add_argument("--twin", help="incoming: the twin whose pending replica is applied")
            sub_rules.add_argument("--replica", help="incoming: a replica JSON file to apply instead ('-' reads stdin)")
        if name in ("show", "dry-run"):
            sub_rules.add_argument("--version", default="active", type=_rules_version(allow_words=True),
                                   help="'active' (default), 'draft' or a version number (0: the generated defaults)")
        elif name in ("publish", "rollback"):
            sub_rules.add_argument("--version", required=name == "rollback", type=_rules_version(allow_words=False),
                                   help="the version number" + (" (default: the newest draft)"
                                                                if name == "publish" else ""))
        elif name == "history":
            sub_rules.add_argument("--limit", type=int, default=20, help="versions per page (1-100)")
            sub_rules.add_argument("--before", type=int, help="only versions older than this one")
        if name in ("edit", "save"):
            sub_rules.add_argument("--note", default="", help="what changed, for the history")
        if name == "save":
            sub_rules.add_argument("--file", required=True, help="the Starlark script ('-' reads stdin)")
    return parser


def _rules_version(*, allow_words: bool):
    def parse(text: str) -> str:
        if (allow_words and text in ("active", "draft")) or (text.isascii() and text.isdigit()):
            return text
        raise argparse.ArgumentTypeError(
            f"not a version: {text!r} (a number" + (", 'active' or 'draft')" if allow_words else ")"))
    return parse


def _common_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True)
    parser.add_argument("--local-short-name", required=True)
    parser.add_argument("--remote-short-name", required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--mode", choices=["basic", "script"], default="basic")
    parser.add_argument("--project", help="project for incoming sync on this side")
    parser.add_argument("--relay-other-partners", action="store_true",
                        help="also share with this partner what other partners sent here (their items' copies, "
                             "their comments and attachments); off by default: no relays between partners, no loops")


def _client(args) -> AdminClient:
    from twinbridge_tools.cli.dev import node_url

    url = args.url or (node_url(args.node, args.state_dir) if args.node else os.environ.get("TWINBRIDGE_URL"))
    if not url:
        raise CliError("which node? pass --url URL, --node NAME (after 'twinbridge dev') or set TWINBRIDGE_URL")
    return AdminClient(url, region=args.region, profile=args.profile)


def _emit(args, payload: dict[str, Any], text: str) -> None:
    """JSON as the API sent it (escaped by json.dumps), or text with every control character shown, never acted on:
    node and partner strings in it must not rewrite the admin's terminal."""
    print(json.dumps(payload, indent=2, sort_keys=True) if args.json else _safe_lines(text))


def _safe_lines(text: str) -> str:
    return "\n".join(render.printable(line) for line in text.split("\n"))


def _connection_command(args, client: AdminClient) -> int:
    cmd = args.connection_command
    if cmd == "initiate":
        body = {
            "name": args.name,
            "local_short_name": args.local_short_name,
            "remote_short_name": args.remote_short_name,
            "description": args.description,
            "mode": args.mode,
            "project": args.project,
            "partner_url": None if args.no_partner_url else args.partner_url,
            "expires_in_hours": args.expires_in_hours,
            "relay_other_partners": args.relay_other_partners,
        }
        result = client.request("POST", f"{CONNECTIONS}/invitations", body)
        conn = result["connection"]
        _emit(
            args,
            result,
            (
                f"Connection {conn['id']} created ({conn['status']}).\n"
                f"Invitation code (single use, expires {conn['invitation_expires_at']}):\n\n{result['invitation_code']}\n\n"
                f"Give it to the partner's admin; on their node:\n  twinbridge connection accept <CODE> --project <PROJECT>"
            ),
        )
        return 0
    if cmd == "accept":
        code = sys.stdin.read() if args.code == "-" else args.code
        result = client.request(
            "POST", f"{CONNECTIONS}/accept",
            {"code": code.strip(), "project": args.project, "name": args.name,
             "relay_other_partners": args.relay_other_partners},
        )
        conn = result["connection"]
        follow = "" if conn["status"] == "active" else "\nIt becomes active when the private initiator polls this node."
        _emit(
            args,
            result,
            f"Connection {conn['id']} accepted: {conn['status']}.{follow}\n\n{render.connection_detail(conn)}",
        )
        return 0
    if cmd == "add-manual":
        from twinbridge.peers.keys import new_manual_key

        generated = args.local_key is None
        local_key = new_manual_key() if generated else args.local_key
        body = {
            "name": args.name,
            "local_short_name": args.local_short_name,
            "remote_short_name": args.remote_short_name,
            "description": args.description,
            "mode": args.mode,
            "project": args.project,
            "local_key": local_key,
            "remote_key": args.remote_key,
            "remote_url": args.remote_url,
            "passive": args.passive,
            "technical_user": args.technical_user,
            "alt_base_url": args.alt_base_url,
            "relay_other_partners": args.relay_other_partners,
        }
        result = client.request("POST", f"{CONNECTIONS}/manual", body)
        if generated:
            result["generated_local_key"] = local_key
        text = f"Connection {result['connection']['id']} created (active).\n"
        if generated:
            text += (
                "\nLocal authentication key (generated here, shown once; the partner enters it as their remote key):\n"
                f"  {local_key}\n"
            )
        _emit(args, result, text + "\n" + render.connection_detail(result["connection"]))
        return 0
    if cmd == "list":
        result = client.request("GET", CONNECTIONS)
        _emit(args, result, render.connection_rows(result["connections"]))
        return 0
    if cmd == "show":
        result = client.request("GET", f"{CONNECTIONS}/{args.id}")
        _emit(args, result, render.connection_detail(result["connection"]))
        return 0
    if cmd == "test":
        result = client.request("POST", f"{CONNECTIONS}/{args.id}/test")
        _emit(args, result, render.test_report(result))
        return 0 if result.get("ok") else 1
    if cmd in ("activate", "deactivate", "rotate-keys"):
        result = client.request("POST", f"{CONNECTIONS}/{args.id}/{cmd}")
        conn = result["connection"]
        text = {
            "activate": f"Connection {conn['id']} is {conn['status']}.",
            "deactivate": f"Connection {conn['id']} is {conn['status']}.",
            "rotate-keys": (
                f"Connection {conn['id']}: keys rotated."
                if not conn["rotation_pending"]
                else f"Connection {conn['id']}: rotation offered; it completes when the private partner polls."
            ),
        }[cmd]
        _emit(args, result, text)
        return 0
    if cmd == "delete":
        if not args.yes and sys.stdin.isatty():
            answer = input(f"Delete connection {args.id} and its keys on this node? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("kept")
                return 1
        result = client.request("DELETE", f"{CONNECTIONS}/{args.id}")
        _emit(args, result, f"Connection {args.id} deleted.")
        return 0
    if cmd == "send-note":
        result = client.request("POST", f"{CONNECTIONS}/{args.id}/messages", {"kind": "note", "text": args.text})
        _emit(args, result, f"Note queued as message #{result['message']['seq']}.")
        return 0
    raise CliError(f"unknown command {cmd}")


def _sync_command(args, client: AdminClient) -> int:
    cmd = args.sync_command
    if cmd == "status" and args.item is None:
        result = client.request("GET", f"{SYNC}/summary{_query(connection=args.connection)}")
        _emit(args, result, render.sync_summary(result["connections"]))
        return 0
    if cmd == "status":
        result = client.request("GET", f"{SYNC}/twins{_query(item=args.item, connection=args.connection)}")
        _emit(args, result, render.twin_details(result["twins"]))
        return 0
    if cmd == "errors":
        result = client.request("GET", f"{SYNC}/errors{_query(connection=args.connection)}")
        _emit(args, result, render.sync_errors(result["errors"]))
        return 0
    if cmd == "retry":
        if bool(args.twin_ids) == args.all:
            raise CliError("give the twin ids to retry, or --all (not both); 'twinbridge sync errors' lists them")
        result = client.request(
            "POST", f"{SYNC}/retry", {"twin_ids": args.twin_ids, "all": args.all, "connection_id": args.connection}
        )
        _emit(args, result, render.retry_report(result))
        return 1 if any(q["status"] == "failed" for q in result["queued"]) else 0
    raise CliError(f"unknown command {cmd}")


def _rules_command(args, client: AdminClient) -> int:
    cmd = args.rules_command
    base = f"{CONNECTIONS}/{quote(args.connection, safe='')}/rules/{args.direction}"
    if cmd == "show":
        result = client.request("GET", base + _query(version=args.version))
        _emit(args, result, render.rules_view(result["rules"]))
        return 0
    if cmd in ("save", "edit"):
        if cmd == "save":
            source, based_on = _read_file(args.file), None
        else:
            current = _editable(client, base)
            source = _edit(current["source"])
            if source == current["source"]:
                print(f"No changes: nothing saved ({_what(current)} stays as it is).")
                return 0
            based_on = current["version"]
        result = client.request("POST", base, {"source": source, "note": args.note, "based_on": based_on})
        view = result["rules"]
        errors = [d for d in view["diagnostics"] if d["severity"] == "error"]
        follow = (f"It has {len(errors)} error(s): fix them and save again (errors block publishing)." if errors else
                  f"Publish it with: twinbridge rules publish {args.connection} --direction {args.direction} "
                  f"--version {view['version']}")
        _emit(args, result, f"Saved {args.direction} rules version {view['version']} (draft). {follow}\n\n"
              + render.rules_view(view, with_source=False))
        return 1 if errors else 0
    if cmd in ("publish", "rollback"):
        version = int(args.version) if args.version is not None else None
        result = client.request("POST", f"{base}/{cmd}", {"version": version})
        view = result["rules"]
        done = "published" if cmd == "publish" else "rolled back to"
        _emit(args, result, f"{args.direction.capitalize()} rules of {args.connection}: {done} {_what(view)}; "
              "it is active now.")
        return 0
    if cmd == "dry-run":
        if not (args.item or args.twin):
            raise CliError("name the item (--item KEY) or, incoming, the twin (--twin ID)")
        body: dict = {"item": args.item, "twin_id": args.twin,
                      "version": int(args.version) if args.version.isdigit() else args.version}
        if args.replica:
            body["replica"] = _read_json(args.replica)
        result = client.request("POST", f"{base}/dry-run", body)
        _emit(args, result, render.rules_dry_run(result))
        return 1 if result.get("error") else 0
    if cmd == "history":
        result = client.request("GET", f"{base}/history"
                                + _query(limit=str(args.limit), before=None if args.before is None else str(args.before)))
        _emit(args, result, render.rules_history(result))
        return 0
    raise CliError(f"unknown command {cmd}")


def _what(view: dict[str, Any]) -> str:
    return "the generated defaults (version 0)" if view["status"] == "generated" else f"version {view['version']}"


def _read_file(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc


def _editable(client: AdminClient, base: str) -> dict[str, Any]:
    """What ``rules edit`` starts from: the newest draft when there is one, else the active rules."""
    try:
        return client.request("GET", base + _query(version="draft"))["rules"]
    except CliError as exc:
        if "(HTTP 404" not in exc.message:
            raise
    return client.request("GET", base)["rules"]


def _edit(source: str) -> str:
    """Open ``source`` in $VISUAL or $EDITOR (default vi) and return what was saved."""
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="twinbridge-rules-") as folder:
        path = os.path.join(folder, "rules.star")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(source)
        try:
            finished = subprocess.run([*shlex.split(editor), path], check=False)
        except OSError as exc:
            raise CliError(f"cannot start the editor {editor!r}: {exc}; set EDITOR") from exc
        if finished.returncode != 0:
            raise CliError(f"the editor exited with status {finished.returncode}: nothing saved")
        with open(path, encoding="utf-8") as handle:
            return handle.read()


def _query(**params: str | None) -> str:
    present = {key: value for key, value in params.items() if value is not None}
    return "?" + urlencode(present, quote_via=quote) if present else ""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "dev":
            from twinbridge_tools.cli import dev

            return dev.run_single_node(args) if args.dev_command == "node" else dev.run_dev(args)
        client = _client(args)
        if args.command == "node":
            info = client.request("GET", "/admin/v1/node")
            _emit(args, info, render.node_info(info))
            return 0
        if args.command == "sync":
            return _sync_command(args, client)
        if args.command == "rules":
            return _rules_command(args, client)
        return _connection_command(args, client)
    except CliError as exc:
        print(f"twinbridge: {_safe_lines(exc.message)}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())


def _read_json(path: str) -> dict:
    try:
        data = json.loads(_read_file(path))
    except json.JSONDecodeError as exc:
        raise CliError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold one JSON object (the replica)")
    return data
