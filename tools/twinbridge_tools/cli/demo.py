"""The story ``twinbridge dev`` tells once both nodes are up: connect them, then watch one issue sync both ways."""

from __future__ import annotations

import functools
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from twinbridge.errors import TwinbridgeError
from twinbridge.models.tracker import ItemFields, NativeText, TrackerItem
from twinbridge.services.sync_in import find_by_marker
from twinbridge.trackers.base import TrackerClient
from twinbridge_tools.cli import render
from twinbridge_tools.cli.admin_client import AdminClient, CliError

STEP_TIMEOUT = 60.0
STEPS = (
    "Connect the nodes with an invitation",
    "Jira issue -> Azure DevOps work item",
    "Azure DevOps comment -> Jira",
    "Jira attachment -> Azure DevOps",
    "Azure DevOps attachment -> Jira",
)
STATUS_STEP = "Jira status -> Azure DevOps state and back"
MODES = ("basic", "script")
PUBLIC_SHORT, PRIVATE_SHORT = "acme", "beta"
_T = TypeVar("_T")


def _say(line: str) -> None:
    print(line, flush=True)


def steps_for(mode: str = "basic") -> tuple[str, ...]:
    """The steps the story tells for a connection in ``mode``: script mode adds the mapped status change."""
    return (*STEPS, STATUS_STEP) if mode == "script" else STEPS


# Script mode: each node's incoming rules are the generated defaults (twinbridge.scripting.defaults.INCOMING: summary,
# description, labels, type, comments, attachments keep syncing as in basic mode) plus a status map. A status the map
# does not know fails that twin at the lookup's line (see 'twinbridge sync errors') instead of guessing.
JIRA_TO_ADO_STATES = {"To Do": "New", "In Progress": "Active", "Done": "Closed"}
ADO_TO_JIRA_STATES = {"New": "To Do", "Active": "In Progress", "Resolved": "Done", "Closed": "Done"}
STATUS_RULES_NOTE = "twinbridge dev --mode script: the generated incoming rules plus a status map"


def status_rules(states: dict[str, str], source: str, target: str) -> str:
    """The incoming rules the demo publishes on the node whose tracker is ``target``: the defaults plus ``states``."""
    return f'''\
# Published by the twinbridge dev demo (--mode script): the generated incoming rules plus a status map,
# {source} -> {target}. A status missing from STATES fails that twin at the lookup.
STATES = {json.dumps(states)}

def incoming(replica, local, ctx):
    return {{
        "summary": replica["summary"],
        "description": replica["description"],
        "labels": replica["labels"],
        "type": replica["type"],
        "comments": "merge",
        "attachments": "merge",
        "status": lookup(STATES, replica["status"]),
    }}
'''


class DemoStepError(CliError):
    """A step of the story did not complete: names the step, what it waited for and where the logs are."""

    def __init__(self, number: int, detail: str, logs: list[Path], steps: tuple[str, ...] = STEPS) -> None:
        where = ", ".join(str(path) for path in logs)
        super().__init__(f"demo step {number}/{len(steps)} '{steps[number - 1]}' failed: {detail}\n"
                         f"  node logs: {where}", exit_code=1)
        self.step = number


@dataclass(frozen=True)
class DemoNode:
    """One local node as the story sees it: its admin URL, log, and the ``tracker`` part of its info file."""

    name: str
    url: str
    log: Path
    tracker: dict[str, Any]

    @property
    def person(self) -> dict[str, str]:
        return self.tracker["people"][0]

    @property
    def project(self) -> str:
        return self.tracker["project"]

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.url, sigv4=False, timeout=30)

    def client(self) -> TrackerClient:
        """The tracker as the node's person (not the technical user) uses it."""
        from twinbridge.trackers.credentials import TrackerCredentials
        from twinbridge.trackers.factory import build_client

        person = self.person
        if self.tracker["type"] == "jira-cloud":
            credentials = TrackerCredentials(email=person["email"], api_token=person["token"])
        else:
            credentials = TrackerCredentials(pat=person["token"])
        return build_client(self.tracker["type"], self.tracker["url"], credentials)


@dataclass
class StoryResult:
    connection_id: str
    issue: TrackerItem
    work_item: TrackerItem
    seconds: float


class Story:
    """Runs the steps in order, printing each with how long it took; the first one that fails raises DemoStepError."""

    def __init__(self, public: DemoNode, private: DemoNode, *, step_timeout: float = STEP_TIMEOUT,
                 out: Callable[[str], None] = _say, mode: str = "basic") -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.public, self.private = public, private
        self.step_timeout = step_timeout
        self.out = out
        self.mode = mode
        self.steps = steps_for(mode)
        self._step = 0

    def run(self) -> StoryResult:
        started = time.monotonic()
        jira, ado = self.public.client(), self.private.client()
        ana, ben = self.public.person["name"], self.private.person["name"]
        since = datetime.now(UTC) - timedelta(minutes=5)

        with self.step(1):
            connection_id = self._connect()
            if self.mode == "script":
                self._publish_status_rules(connection_id)

        with self.step(2):
            issue = self._act(lambda: jira.create_item(self.public.project, ItemFields(
                type="Task", summary="Printer on fire", description=_text(jira, "Smoke from the printer on floor 3."))))
            self.out(f"      {ana} created {issue.key} \"{issue.summary}\" in Jira: {issue.url}")
            from twinbridge.sync.basic_rules import marker_for

            marker = marker_for(connection_id, f"{PUBLIC_SHORT}:{issue.id}")
            work_item = self._wait(
                "the work item in Azure DevOps", lambda: find_by_marker(ado, self.private.project, marker, since)
            )
            self.out(f'      work item {work_item.key} "{work_item.summary}" appeared in Azure DevOps: {work_item.url}')

        with self.step(3):
            self._act(lambda: ado.add_comment(work_item.key, _text(ado, "Toner ordered, technician on the way.")))
            self.out(f"      {ben} commented on work item {work_item.key} in Azure DevOps")
            byline = f"{ben} ({PRIVATE_SHORT}) wrote:"
            comment = self._wait(
                f"the comment on {issue.key} in Jira",
                lambda: next(
                    (
                        text
                        for text in (_plain(c.body) for c in jira.list_comments(issue.key))
                        if byline in text and "technician on the way" in text
                    ),
                    None,
                ),
            )
            self.out(f'      on {issue.key} in Jira: "{" ".join(comment.split())}"')

        with self.step(4):
            self._transfer(
                jira,
                issue,
                ado,
                work_item,
                "printer-log.txt",
                b"03:12 paper jam\n03:13 fuser overheating\n03:14 smoke detected\n",
                ana,
                "Jira",
                "Azure DevOps",
            )

        with self.step(5):
            self._transfer(
                ado,
                work_item,
                jira,
                issue,
                "toner-quote.txt",
                b"1x toner cartridge TN-2420: 49.90 EUR\n",
                ben,
                "Azure DevOps",
                "Jira",
            )

        if self.mode == "script":
            with self.step(6):
                self._status_round_trip(jira, issue, ado, work_item, ana, ben)

        return StoryResult(connection_id, issue, work_item, time.monotonic() - started)

    @contextmanager
    def step(self, number: int) -> Iterator[None]:
        self._step = number
        self.out(f"\n[{number}/{len(self.steps)}] {self.steps[number - 1]}")
        started = time.monotonic()
        yield
        self.out(f"      done in {time.monotonic() - started:.1f} s")

    def _connect(self) -> str:
        created = self._act(
            lambda: self.public.admin.request(
                "POST",
                "/admin/v1/connections/invitations",
                {
                    "name": "Acme <-> Beta",
                    "local_short_name": PUBLIC_SHORT,
                    "remote_short_name": PRIVATE_SHORT,
                    "project": self.public.project,
                    "partner_url": None,
                    **({"mode": "script"} if self.mode == "script" else {}),
                },
            )
        )
        connection_id, code = created["connection"]["id"], created["invitation_code"]
        self.out(
            f"      public node: connection {connection_id} initiated (no partner URL: the partner is private),"
            f" project {self.public.project}"
        )
        self.out(f"      invitation code {code[:24]}...")
        self._act(
            lambda: self.private.admin.request(
                "POST", "/admin/v1/connections/accept", {"code": code, "project": self.private.project}
            )
        )
        self.out(f"      private node: invitation accepted, project {self.private.project}")
        for node in (self.public, self.private):
            self._wait(
                f"the connection to be active on the {node.name} node",
                functools.partial(_connection_active, node, connection_id),
            )
        if self.mode == "script":
            modes = {node.name: self._act(functools.partial(_connection_mode, node, connection_id))
                     for node in (self.public, self.private)}
            if set(modes.values()) != {"script"}:
                raise self._failure(f"the connection should be in script mode on both nodes, but is {modes}")
            self.out("      active on both nodes, in script mode")
        else:
            self.out("      active on both nodes")
        return connection_id

    def _publish_status_rules(self, connection_id: str) -> None:
        """Each node's incoming rules: the defaults plus the status map from its partner's tracker to its own."""
        for node, states, source, target in (
            (self.private, JIRA_TO_ADO_STATES, "Jira status", "Azure DevOps state"),
            (self.public, ADO_TO_JIRA_STATES, "Azure DevOps state", "Jira status"),
        ):
            base = f"/admin/v1/connections/{connection_id}/rules/incoming"
            saved = self._act(functools.partial(
                node.admin.request, "POST", base,
                {"source": status_rules(states, source, target), "note": STATUS_RULES_NOTE},
            ))["rules"]
            errors = [d for d in saved.get("diagnostics", []) if d.get("severity") == "error"]
            if errors:
                raise self._failure(f"the {node.name} node's incoming rules do not check: {errors}")
            published = self._act(functools.partial(
                node.admin.request, "POST", f"{base}/publish", {"version": saved["version"]}
            ))["rules"]
            mapping = ", ".join(f"{name} -> {value}" for name, value in states.items())
            self.out(f"      {node.name} node: incoming rules version {published['version']} published"
                     f" (the defaults plus {source} -> {target}: {mapping})")

    def _status_round_trip(self, jira: TrackerClient, issue: TrackerItem, ado: TrackerClient,
                           work_item: TrackerItem, ana: str, ben: str) -> None:
        """Ana moves the issue in Jira, the work item follows; Ben closes the work item, the issue follows."""
        for who, source, item, status, target, copy, expected, source_name, target_name in (
            (ana, jira, issue, "In Progress", ado, work_item, JIRA_TO_ADO_STATES["In Progress"], "Jira",
             "Azure DevOps"),
            (ben, ado, work_item, "Closed", jira, issue, ADO_TO_JIRA_STATES["Closed"], "Azure DevOps", "Jira"),
        ):
            self._act(functools.partial(source.change_status, item.key, status))
            self.out(f'      {who} moved {_name(item)} to "{status}" in {source_name}')
            self._wait(
                f'{_name(copy)} to be "{expected}" in {target_name}',
                functools.partial(_has_status, target, copy.key, expected),
            )
            self.out(f'      {_name(copy)} is "{expected}" in {target_name} ({status} -> {expected})')

    def _transfer(
        self,
        source: TrackerClient,
        item: TrackerItem,
        target: TrackerClient,
        copy: TrackerItem,
        filename: str,
        payload: bytes,
        who: str,
        source_name: str,
        target_name: str,
    ) -> None:
        self._act(lambda: source.upload_attachment(item.key, filename, io.BytesIO(payload), len(payload)))
        self.out(f"      {who} attached {filename} ({len(payload)} bytes) to {_name(item)} in {source_name}")
        attachment = self._wait(
            f"{filename} on {_name(copy)} in {target_name}",
            lambda: next((a for a in target.get_item(copy.key).attachments if a.filename == filename), None),
        )
        sink = io.BytesIO()
        self._act(lambda: target.download_attachment(attachment, sink))
        if sink.getvalue() != payload:
            raise self._failure(
                f"{filename} arrived on {_name(copy)} in {target_name} with different bytes "
                f"({len(sink.getvalue())} bytes, expected {len(payload)})"
            )
        self.out(f"      {filename} is on {_name(copy)} in {target_name}, same {len(payload)} bytes")

    def _act(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except (TwinbridgeError, CliError) as exc:
            raise self._failure(str(exc)) from exc

    def _wait(self, what: str, condition: Callable[[], _T | None]) -> _T:
        """Poll ``condition`` until it returns something truthy; tracker or node errors meanwhile are retried."""
        deadline = time.monotonic() + self.step_timeout
        last_error = ""
        while True:
            try:
                value = condition()
            except (TwinbridgeError, CliError) as exc:
                value, last_error = None, f" (last error: {exc})"
            if value:
                return value
            if time.monotonic() > deadline:
                raise self._failure(f"{what} did not show up within {self.step_timeout:.0f} s{last_error}")
            time.sleep(0.3)

    def _failure(self, detail: str) -> DemoStepError:
        return DemoStepError(self._step, detail, [self.public.log, self.private.log], self.steps)


def run_demo(
    public: DemoNode,
    private: DemoNode,
    *,
    scripted: bool,
    state_dir: str | None,
    step_timeout: float = STEP_TIMEOUT,
    mode: str = "basic",
) -> StoryResult:
    """Tell the story; with ``scripted`` print a summary, otherwise how to carry on by hand. Raises DemoStepError."""
    out = _say
    out("Demo: connect the two nodes, then sync one issue between Jira (public node) and Azure DevOps (private node)."
        if mode == "basic" else
        "Demo: connect the two nodes in script mode, publish a status map on each, then sync one issue between Jira"
        " (public node) and Azure DevOps (private node), its status included.")
    story = Story(public, private, step_timeout=step_timeout, out=out, mode=mode)
    result = story.run()
    out(f"\nAll {len(story.steps)} steps done in {result.seconds:.1f} s.")
    try:
        twins = public.admin.request("GET", f"/admin/v1/sync/twins?item={result.issue.key}")["twins"]
        out(f"\n$ twinbridge --node public sync status {result.issue.key}\n{render.twin_details(twins)}")
    except CliError as exc:
        out(f"(sync status of {result.issue.key} unavailable: {exc.message})")
    if not scripted:
        out(carry_on(public, private, result, state_dir, mode))
    return result


def carry_on(
    public: DemoNode, private: DemoNode, result: StoryResult, state_dir: str | None, mode: str = "basic"
) -> str:
    """What to try next, with the real URLs, credentials and keys of this run."""
    cli = "twinbridge" + (f" --state-dir {state_dir}" if state_dir else "")
    ana, ben = public.person, private.person
    jira, ado = public.tracker, private.tracker
    issue, work_item = result.issue.key, result.work_item.key
    adf = (
        '{"body":{"type":"doc","version":1,"content":[{"type":"paragraph",'
        '"content":[{"type":"text","text":"Is it fixed?"}]}]}}'
    )
    return f"""
The stack keeps running. Carry on by hand:

  Jira Cloud (simulated, public node)      {jira["url"]}  project {jira["project"]}
      {ana["name"]}: e-mail {ana["email"]}, API token {ana["token"]}
  Azure DevOps (simulated, private node)   {ado["url"]}  project {ado["project"]}
      {ben["name"]}: e-mail {ben["email"]}, PAT {ben["token"]}

  # comment on {issue} as {ana["name"]}; it shows up on work item {work_item} a moment later
  curl -u '{ana["email"]}:{ana["token"]}' -H 'Content-Type: application/json' \\
       -X POST {jira["url"]}/rest/api/3/issue/{issue}/comment -d '{adf}'
  # read work item {work_item} (and its comments) as {ben["name"]}
  curl -u ':{ben["token"]}' '{ado["url"]}/{ado["project"]}/_apis/wit/workitems/{work_item}?api-version=7.1'
  curl -u ':{ben["token"]}' '{ado["url"]}/{ado["project"]}/_apis/wit/workItems/{work_item}/comments?api-version=7.1-preview.4'
  # create another issue as {ana["name"]}
  curl -u '{ana["email"]}:{ana["token"]}' -H 'Content-Type: application/json' \\
       -X POST {jira["url"]}/rest/api/3/issue \\
       -d '{{"fields":{{"project":{{"key":"{jira["project"]}"}},"issuetype":{{"name":"Task"}},"summary":"Coffee machine leaks"}}}}'

  {cli} --node public  sync status {issue}
  {cli} --node private sync status {work_item}
  {cli} --node public  connection show {result.connection_id}
  {cli} --node private sync errors
{_rules_hints(cli, result.connection_id) if mode == "script" else ""}\
  logs: {public.log}, {private.log}

Ctrl-C stops both nodes.
"""


def _rules_hints(cli: str, connection_id: str) -> str:
    """In script mode: where the published status maps are, and how to change them."""
    return f"""\
  # the status maps the demo published (script mode); edit one and publish it to change the mapping
  {cli} --node private rules show {connection_id} --direction incoming
  {cli} --node public  rules history {connection_id} --direction incoming
  {cli} --node public  rules edit {connection_id} --direction incoming
"""


def _connection_active(node: DemoNode, connection_id: str) -> bool:
    return bool(node.admin.request("GET", f"/admin/v1/connections/{connection_id}")["connection"]["status"] == "active")


def _connection_mode(node: DemoNode, connection_id: str) -> str:
    return str(node.admin.request("GET", f"/admin/v1/connections/{connection_id}")["connection"].get("mode", "basic"))


def _has_status(client: TrackerClient, key: str, status: str) -> bool:
    return client.get_item(key).status == status


def _name(item: TrackerItem) -> str:
    """ACME-1 for a Jira issue, "work item 1" for an Azure DevOps one (whose key is a bare number)."""
    return f"work item {item.key}" if item.key.isdigit() else item.key


def _text(client: TrackerClient, words: str) -> NativeText:
    """``words`` as rich text in the tracker's own format."""
    fmt = client.text_format
    if fmt == "adf":
        return NativeText(
            format="adf",
            content={
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": words}]}],
            },
        )
    if fmt == "wiki":
        return NativeText(format="wiki", content=words)
    return NativeText(format="html", content=f"<div>{words}</div>")


def _plain(text: NativeText) -> str:
    from twinbridge.richtext import plain_text, to_canonical

    return plain_text(to_canonical(text.content, text.format).document)
