"""Script mode in the sync corridor: runs a connection's outgoing or incoming rules on one item through the node's
script runner (a guarded worker process), with the host helpers a script may call (users, links), and turns the
answer into what ``sync_out`` sends or ``sync_in`` writes (``sync.script_rules``). A script's failure is raised as
a ``ScriptError`` naming the rules' version, line and column: it fails that twin only."""

from __future__ import annotations

import dataclasses
import time
import weakref
from typing import Any

from twinbridge.models.connection import Connection
from twinbridge.models.replica import FieldClock, Replica
from twinbridge.models.tracker import TrackerComment, TrackerItem
from twinbridge.models.twin import ScriptFailure, Twin
from twinbridge.observability import logger, metrics
from twinbridge.scripting.contract import Direction, HelperError, ScriptError
from twinbridge.services.deps import Deps
from twinbridge.sync import basic_rules, script_rules
from twinbridge.trackers.base import TrackerClient


class HostHelpers:
    """The host side of ``users.*`` and ``links.*`` for one run: read-only, answers as plain data, refusals in
    words safe to show the script's author."""

    def __init__(self, deps: Deps, client: TrackerClient | None, conn: Connection) -> None:
        self.deps, self.client, self.conn = deps, client, conn

    def call(self, name: str, args: list[Any]) -> Any:
        if len(args) != 1 or not isinstance(args[0], str):
            raise HelperError("takes one string")
        value = args[0].strip()[:320]
        if name in ("users.by_email", "users.by_id"):
            if self.client is None or not value:
                return None
            return _cached_user(self.client, name, value)
        if name == "links.local":  # the partner's item id -> our copy of it, when synced
            twin = self.deps.twins.get(self.conn.id, f"{self.conn.remote_short_name}:{value}")
            return None if twin is None or twin.local is None else twin.local.model_dump(mode="json")
        if name == "links.remote":  # our item id -> the partner's copy of it, when synced
            twin = self.deps.twins.find_by_local(self.conn.id, value)
            return None if twin is None or twin.remote is None else twin.remote.model_dump(mode="json")
        raise HelperError("unknown helper")


USER_CACHE_SECONDS = 600
_USER_CACHE_SIZE = 1000
_users: weakref.WeakKeyDictionary[TrackerClient, dict[tuple[str, str], tuple[float, dict[str, Any] | None]]] = \
    weakref.WeakKeyDictionary()


def _cached_user(client: TrackerClient, name: str, value: str) -> dict[str, Any] | None:
    """A user lookup, kept for ten minutes per client (rules look the same people up for every item)."""
    cache = _users.setdefault(client, {})
    key, now = (name, value.casefold()), time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < USER_CACHE_SECONDS:
        return hit[1]
    user = client.find_user(email=value) if name == "users.by_email" else client.find_user(account_id=value)
    found = None if user is None else {"account_id": user.account_id, "display_name": user.display_name,
                                       "email": user.email}
    if len(cache) >= _USER_CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = (now, found)
    return found


def active_rules(deps: Deps, conn: Connection, direction: Direction) -> tuple[int, str]:
    """The connection's published rules for ``direction``: (version, source); version 0 is the generated default."""
    return deps.rules_source.active_source(conn.id, direction)


def _run(deps: Deps, client: TrackerClient | None, conn: Connection, rules: tuple[int, str], direction: Direction,
         args: list[Any], twin_id: str, logs: list[str] | None = None) -> Any:
    version, source = rules
    try:
        outcome = deps.scripts.run(source, direction, args, HostHelpers(deps, client, conn))
    except ScriptError as error:
        error.rules_version = version
        raise
    for line in outcome.logs:
        logger.info("script log", extra={"twin": twin_id, "direction": direction, "line": line})
    if logs is not None:
        logs += outcome.logs
    return outcome.value


def outgoing(deps: Deps, client: TrackerClient, conn: Connection, item: TrackerItem,
             comments: list[TrackerComment], twin: Twin, default: Replica,
             rules: tuple[int, str] | None = None,
             logs: list[str] | None = None) -> tuple[int, Replica | None]:
    """The rules' version and the replica the connection's outgoing rules (or ``rules``: (version, source)) make
    of ``default``; None: this item is not shared."""
    rules = rules or active_rules(deps, conn, "outgoing")
    args = [script_rules.item_view(item, comments, twin), script_rules.replica_view(default),
            script_rules.context(conn, twin, first_sync=twin.out_seq == 0, rules_version=rules[0],
                                 direction="outgoing")]
    value = _run(deps, client, conn, rules, "outgoing", args, twin.twin_id, logs)
    try:
        return rules[0], script_rules.outgoing_result(value, default)
    except script_rules.ScriptResultError as problem:
        raise _result_error(problem, rules[0]) from None


def incoming_plan(deps: Deps, client: TrackerClient, conn: Connection, twin: Twin, replica: Replica,
                  local: TrackerItem | None, target: basic_rules.Target, clocks: dict[str, FieldClock] | None,
                  rules: tuple[int, str] | None = None,
                  logs: list[str] | None = None) -> tuple[basic_rules.Plan, script_rules.IncomingWrites]:
    """The writes the incoming rules ask for, as the basic plan writes them (same content policy, conflict rule
    and create fence), with the extras added; an ignored replica gets an empty plan."""
    writes = incoming(deps, client, conn, twin, replica, local, rules, logs, target.issue_types)
    project = conn.project or ""
    if writes.project is not None and writes.project.casefold() != project.casefold():
        raise _result_error(ValueError(f"project {writes.project!r} is not one this connection creates items in "
                                       f"(allowed: {project})"), writes.rules_version)
    if writes.ignored:
        return basic_rules.Plan(), writes
    if writes.byline is not None:
        target = dataclasses.replace(target, byline=writes.byline)
    plan = basic_rules.plan(scripted_replica(replica, writes), twin, target, local, clocks=clocks, only=writes.taken,
                            comments=writes.comments, attachments=writes.attachments)
    script_rules.add_extras(plan, writes, local)
    return plan, writes


def incoming(deps: Deps, client: TrackerClient, conn: Connection, twin: Twin, replica: Replica,
             local: TrackerItem | None, rules: tuple[int, str] | None = None,
             logs: list[str] | None = None, types: list[str] | None = None) -> script_rules.IncomingWrites:
    """What the connection's incoming rules (or ``rules``: (version, source)) write for ``replica``."""
    local_view = script_rules.item_view(local, local.comments, twin) if local is not None else None
    rules = rules or active_rules(deps, conn, "incoming")
    args = [script_rules.replica_view(replica), local_view,
            script_rules.context(conn, twin, first_sync=local is None, rules_version=rules[0],
                                 direction="incoming", types=types)]
    value = _run(deps, client, conn, rules, "incoming", args, twin.twin_id, logs)
    try:
        return script_rules.incoming_result(value, rules_version=rules[0])
    except script_rules.ScriptResultError as problem:
        raise _result_error(problem, rules[0]) from None


def scripted_replica(replica: Replica, writes: script_rules.IncomingWrites) -> Replica:
    """The replica with the values the incoming rules chose, as the plan is to write it."""
    try:
        return script_rules.scripted_replica(replica, writes)
    except script_rules.ScriptResultError as problem:
        raise _result_error(problem, writes.rules_version) from None


def _result_error(problem: Exception, version: int) -> ScriptError:
    error = ScriptError(str(problem))
    error.rules_version = version
    return error


def count_failure() -> None:
    """A twin the rules failed on for good (a ``defer`` still being retried is not one): the ``ScriptErrors`` metric,
    alarmed when many twins fail."""
    metrics.add_metric(name="ScriptErrors", unit="Count", value=1)


def script_failure(error: ScriptError) -> ScriptFailure:
    """The failure as the twin records it."""
    kind = error.kind if error.kind in ("error", "limit", "defer") else "error"
    return ScriptFailure(kind=kind, rules_version=error.rules_version, line=error.line, column=error.column,
                         frame=error.frame[:8000])


def script_reason(error: ScriptError) -> str:
    """One line for ``sync errors``: where (rules version, line:col) and what."""
    where = f":{error.line}:{error.column}" if error.line else ""
    return f"rules v{error.rules_version}{where}: {error.message}"
