"""Admin use cases on script-mode rules: show, save a draft (checked), publish, roll back, history; and the
``RulesSource`` the sync engine reads the active rules through (the generated defaults while none is published)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from twinbridge.errors import InvalidRequestError, NotFoundError
from twinbridge.models.connection import utcnow
from twinbridge.models.rules import (
    GENERATED_VERSION,
    RULE_DIRECTIONS,
    ActiveRules,
    RuleDiagnostic,
    RuleDirection,
    RuleDraft,
    RuleHistoryEntry,
    RulesHistoryResponse,
    RulesView,
    RuleVersion,
    SaveRulesRequest,
    source_digest,
)
from twinbridge.models.sync_admin import SyncRetryRequest
from twinbridge.observability import logger
from twinbridge.scripting.contract import ENGINE
from twinbridge.scripting.defaults import SOURCES
from twinbridge.services import sync_admin
from twinbridge.services.deps import Deps, RuleChecker

if TYPE_CHECKING:
    from twinbridge.store.rules import RulesRepository

Which = int | Literal["active", "draft"]
MAX_HISTORY = 100
SHOWN_ERRORS = 5
MAX_REQUEUE = 200  # a retry request's limit; more are retried with `twinbridge sync retry --all`


def parse_direction(value: str) -> RuleDirection:
    """A direction from a path or an option. Raises InvalidRequestError naming the two valid ones."""
    for direction in RULE_DIRECTIONS:
        if value == direction:
            return direction
    raise InvalidRequestError("direction must be 'outgoing' or 'incoming'")


def parse_which(value: str | None) -> Which:
    """``?version=``: absent or 'active', 'draft', or a version number (0: the generated defaults)."""
    if value is None or value == "active":
        return "active"
    if value == "draft":
        return "draft"
    if value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value)
    raise InvalidRequestError("version must be 'active', 'draft' or a version number")


class StoredRulesSource:
    """The ``RulesSource`` port over the rules repository."""

    CACHED = 64  # versions are never edited, so a version read once is kept (per container)

    def __init__(self, rules: RulesRepository) -> None:
        self._rules = rules
        self._sources: dict[tuple[str, str, int, str], str] = {}

    def active_source(self, connection_id: str, direction: RuleDirection) -> tuple[int, str]:
        """One consistent read of the pointer per call (a publish takes effect on the next change); the version's
        source is read once and kept, checked by its digest."""
        pointer = self._rules.active_pointer(connection_id, direction)
        if pointer is None or pointer.version == GENERATED_VERSION:
            return GENERATED_VERSION, SOURCES[direction]
        key = (connection_id, direction, pointer.version, pointer.sha256)
        source = self._sources.get(key)
        if source is None:
            source = self._rules.get(connection_id, direction, pointer.version).source
            if len(self._sources) >= self.CACHED:
                self._sources.pop(next(iter(self._sources)))
            self._sources[key] = source
        return pointer.version, source


def _checker(deps: Deps) -> RuleChecker:
    """The save-time check runs the script's top level, so it runs where scripts run: the node's script runner."""
    if deps.rule_checker is not None:
        return deps.rule_checker
    return deps.scripts.check


def _active_version(deps: Deps, connection_id: str, direction: RuleDirection) -> int | None:
    pointer = deps.rules.active_pointer(connection_id, direction)
    return pointer.version if pointer else None


def _view(version: RuleVersion, active: int | None, mode: Literal["basic", "script"]) -> RulesView:
    return RulesView(
        connection_id=version.connection_id, direction=version.direction, version=version.version,
        status=version.status, active=version.version == (active or 0), active_version=active or 0,
        connection_mode=mode, source=version.source, sha256=version.sha256, author=version.author,
        created_at=version.created_at, note=version.note, based_on=version.based_on, engine=version.engine,
        diagnostics=version.diagnostics,
    )


def _generated(connection_id: str, direction: RuleDirection, active: int | None,
               mode: Literal["basic", "script"]) -> RulesView:
    source = SOURCES[direction]
    return RulesView(
        connection_id=connection_id, direction=direction, version=GENERATED_VERSION, status="generated",
        active=not active, active_version=active or 0, connection_mode=mode, source=source,
        sha256=source_digest(source), note="the generated rules: they reproduce basic mode", engine=ENGINE,
    )


def show(deps: Deps, connection_id: str, direction: RuleDirection, which: Which = "active") -> RulesView:
    """The active rules (the generated defaults while none is published), the newest draft, or one version.

    Raises:
        NotFoundError: no such connection, version, or no draft newer than everything published.
    """
    conn = deps.connections.get(connection_id)
    active = _active_version(deps, connection_id, direction)
    if which == "draft":
        latest = deps.rules.latest(connection_id, direction)
        if latest is None or latest.status != "draft":
            raise NotFoundError(f"connection {connection_id} has no {direction} draft: the newest version is "
                                + (f"{latest.version} ({latest.status})" if latest else "the generated defaults"))
        return _view(latest, active, conn.mode)
    number = (active or GENERATED_VERSION) if which == "active" else which
    if number == GENERATED_VERSION:
        return _generated(connection_id, direction, active, conn.mode)
    return _view(deps.rules.get(connection_id, direction, number), active, conn.mode)


def save(deps: Deps, connection_id: str, direction: RuleDirection, request: SaveRulesRequest,
         author: str) -> RulesView:
    """Check ``request.source`` and store it as a new draft, with its diagnostics (errors block publishing)."""
    conn = deps.connections.get(connection_id)
    active = _active_version(deps, connection_id, direction)
    found = _checker(deps)(request.source, direction)
    diagnostics = [RuleDiagnostic(severity=d.severity, line=d.line, column=d.column, code=d.code[:64],
                                  message=d.message[:4000]) for d in found[:200]]
    version = deps.rules.save_draft(RuleDraft(
        connection_id=connection_id, direction=direction, source=request.source,
        sha256=source_digest(request.source), author=author, created_at=utcnow(), note=request.note,
        based_on=request.based_on if request.based_on is not None else (active or 0), engine=ENGINE,
        diagnostics=diagnostics,
    ))
    logger.info("rules saved", extra={"connection_id": connection_id, "direction": direction,
                                      "version": version.version, "errors": len(version.errors)})
    return _view(version, active, conn.mode)


def _refuse_errors(version: RuleVersion) -> None:
    errors = version.errors
    if errors:
        shown = "; ".join(str(d) for d in errors[:SHOWN_ERRORS])
        more = f" (and {len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
        raise InvalidRequestError(
            f"{version.direction} rules version {version.version} has {len(errors)} error(s) and cannot be "
            f"published: {shown}{more}. Fix them and save a new version.")


def publish(deps: Deps, connection_id: str, direction: RuleDirection, version: int | None,
            author: str) -> RulesView:
    """Make ``version`` (default: the newest, when it is a draft) the active rules. Publishing the active version
    again changes nothing.

    Raises:
        InvalidRequestError: the version has errors (each named with line:col), or there is no draft to publish.
        ConcurrentModificationError: someone else published meanwhile.
    """
    conn = deps.connections.get(connection_id)
    active = _active_version(deps, connection_id, direction)
    if version is None:
        latest = deps.rules.latest(connection_id, direction)
        if latest is None or latest.status != "draft":
            raise InvalidRequestError(
                f"no {direction} draft to publish: "
                + (f"the newest version, {latest.version}, is {latest.status}" if latest else "none was saved")
                + "; save one first, or name a version")
        target = latest
    else:
        target = deps.rules.get(connection_id, direction, version)
    if target.version == active:
        return _view(target, active, conn.mode)
    return _activate(deps, conn.mode, target, active, author, "published")


def _activate(deps: Deps, mode: Literal["basic", "script"], target: RuleVersion, active: int | None, author: str,
              action: Literal["published", "rolled back"]) -> RulesView:
    """Make ``target`` (checked: no errors) the active rules, and queue again the twins the old ones failed on."""
    _refuse_errors(target)
    connection_id, direction = target.connection_id, target.direction
    deps.rules.publish(connection_id, direction, ActiveRules(version=target.version, sha256=target.sha256), active,
                       author=author, at=utcnow(), action=action, note=target.note)
    logger.info(f"rules {action}", extra={"connection_id": connection_id, "direction": direction,
                                         "version": target.version, "previous": active})
    view = _view(target.model_copy(update={"status": "published"}), target.version, mode)
    view.requeued = requeue_failed(deps, connection_id, direction)
    return view


def requeue_failed(deps: Deps, connection_id: str, direction: RuleDirection) -> int:
    """Queue again the twins whose last attempt failed on this direction's rules (a fix was just published):
    their pending replica is applied again, or their local item sent again. Returns how many were queued."""
    failed = [twin.twin_id for twin in deps.twins.with_errors()
              if twin.connection_id == connection_id and twin.last_error is not None
              and twin.last_error.script is not None and twin.last_error.direction == direction]
    if not failed:
        return 0
    queued = sync_admin.retry(deps, SyncRetryRequest(twin_ids=failed[:MAX_REQUEUE], connection_id=connection_id))
    logger.info("twins that failed on the rules queued again", extra={"connection_id": connection_id,
                                                                     "queued": len(queued.queued)})
    return len(queued.queued)


def rollback(deps: Deps, connection_id: str, direction: RuleDirection, version: int, author: str) -> RulesView:
    """Make an older, previously published version (or 0, the generated defaults) active again.

    Raises:
        InvalidRequestError: the version was never published (publish it instead).
    """
    conn = deps.connections.get(connection_id)
    active = _active_version(deps, connection_id, direction)
    if version == (active or GENERATED_VERSION):
        return show(deps, connection_id, direction, version)
    if version == GENERATED_VERSION:
        source = SOURCES[direction]
        deps.rules.publish(connection_id, direction, ActiveRules(version=0, sha256=source_digest(source)), active,
                           author=author, at=utcnow(), action="rolled back", note="the generated defaults")
        generated = _generated(connection_id, direction, 0, conn.mode)
        generated.requeued = requeue_failed(deps, connection_id, direction)
        return generated
    target = deps.rules.get(connection_id, direction, version)
    if target.status != "retired":
        raise InvalidRequestError(f"{direction} rules version {version} is a draft that was never published: "
                                  "publish it instead of rolling back to it")
    return _activate(deps, conn.mode, target, active, author, "rolled back")


def history(deps: Deps, connection_id: str, direction: RuleDirection, limit: int = 20,
            before: int | None = None) -> RulesHistoryResponse:
    """The versions (newest first, ``limit`` per page, older than ``before``) and the saves, publishes and
    rollbacks (the newest ``limit``)."""
    deps.connections.get(connection_id)
    limit = max(1, min(limit, MAX_HISTORY))
    versions, next_before = deps.rules.list(connection_id, direction, limit, before)
    events: list[RuleHistoryEntry] = deps.rules.history(connection_id, direction, limit)
    return RulesHistoryResponse(
        connection_id=connection_id, direction=direction,
        active_version=_active_version(deps, connection_id, direction) or 0,
        versions=versions, next_before=next_before, events=events,
    )
