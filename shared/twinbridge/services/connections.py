"""Admin use cases on connections: manual setup, lifecycle, messages, test connection, node info."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from twinbridge.errors import ConflictError, InvalidRequestError, RemoteError
from twinbridge.models.admin import CheckResult, ManualConnectionRequest, SendMessageRequest, TestReport
from twinbridge.models.connection import (
    Connection,
    ConnectionStatus,
    InboundKey,
    KeyMaterial,
    Origin,
    new_connection_id,
    utcnow,
)
from twinbridge.models.messages import PeerMessage
from twinbridge.observability import logger
from twinbridge.peers import keys as crypto
from twinbridge.peers.addresses import partner_url_problem
from twinbridge.services import messaging, tracker_checks
from twinbridge.services.deps import Deps


def add_manual(deps: Deps, request: ManualConnectionRequest) -> Connection:
    """IssueSYNC-style setup: both admins type the same pair of keys, crosswise."""
    if not deps.settings.node_public and request.remote_url is None:
        raise InvalidRequestError(
            "this node is private, so the partner can never call it: give the partner's remote_url "
            "(a private node cannot be passive)"
        )
    if not deps.settings.node_public and request.passive:
        raise InvalidRequestError("a private node cannot be passive: it must call the partner, who cannot call it")
    try:
        local_key = crypto.parse_manual_key(request.local_key.get_secret_value())
        remote_key = crypto.parse_manual_key(request.remote_key.get_secret_value()) if request.remote_key else None
    except ValueError as exc:
        raise InvalidRequestError(f"authentication key rejected: {exc}") from exc
    if remote_key is not None and remote_key == local_key:
        raise InvalidRequestError("local_key and remote_key must differ (one per direction)")
    require_public_partner_url(deps, request.remote_url)
    conn = Connection(
        id=new_connection_id(),
        name=request.name,
        local_short_name=request.local_short_name,
        remote_short_name=request.remote_short_name,
        description=request.description,
        mode=request.mode,
        project=request.project,
        remote_url=request.remote_url,
        passive=request.passive,
        relay_other_partners=request.relay_other_partners,
        technical_user=request.technical_user or deps.settings.technical_user or None,
        alt_base_url=request.alt_base_url,
        origin=Origin.MANUAL,
        status=ConnectionStatus.ACTIVE,
        activated_at=utcnow(),
        keys=KeyMaterial(
            inbound=[InboundKey(key_id=crypto.key_id(local_key), secret=local_key)],
            outbound=remote_key,
        ),
    )
    refuse_second_connection(deps, conn)
    deps.connections.create(conn)
    deps.events.record(conn.id, "connection.created", "manual keys")
    logger.info("manual connection created", extra={"connection_id": conn.id})
    return conn


def require_public_partner_url(deps: Deps, url: str | None) -> None:
    """A partner URL this node will call must reach a public address over https (outside the local runtime): an
    admin typo, a pasted invitation or a partner's own answer must not aim our requests at our private network or
    the cloud's metadata endpoint.

    Raises:
        InvalidRequestError: saying why the URL is refused.
    """
    if url is None:
        return
    problem = partner_url_problem(url, local=deps.settings.local_runtime)
    if problem:
        raise InvalidRequestError(f"partner URL refused: {problem}")


def refuse_second_connection(deps: Deps, conn: Connection) -> None:
    """One connection per partner node and project: two would copy every item back and forth (each copy made
    for one connection is an item of the project, shared again on the other).

    Raises:
        ConflictError: naming the connection that already links this project to that partner.
    """
    if not conn.project:
        return
    for other in deps.connections.list():
        if other.id == conn.id or (other.project or "").casefold() != conn.project.casefold():
            continue
        same_node = conn.remote_node is not None and other.remote_node == conn.remote_node
        same_url = conn.remote_url is not None and other.remote_url == conn.remote_url
        if same_node or same_url:
            partner = conn.remote_node or conn.remote_url
            raise ConflictError(
                f"connection {other.id} ({other.name!r}) already links project {conn.project} with {partner}: a second "
                "one would copy items back and forth. Use that connection, or delete it first.")


def set_active(deps: Deps, connection_id: str, active: bool) -> Connection:
    conn = deps.connections.get(connection_id)
    if conn.status == ConnectionStatus.PENDING:
        raise ConflictError(f"connection {connection_id} is still pending: the invitation has not been completed")
    target = ConnectionStatus.ACTIVE if active else ConnectionStatus.DEACTIVATED
    if conn.status == target:
        return conn
    conn.status = target
    deps.connections.save(conn)
    deps.events.record(conn.id, f"connection.{target.value}", "by an admin")
    if active and conn.can_call_remote:
        messaging.schedule_delivery(deps, conn.id, f"reactivated-{conn.version}")
    return conn


def delete(deps: Deps, connection_id: str) -> None:
    deps.connections.get(connection_id)
    deps.connections.delete(connection_id)
    logger.info("connection deleted", extra={"connection_id": connection_id})


def send_message(deps: Deps, connection_id: str, request: SendMessageRequest) -> PeerMessage:
    conn = deps.connections.get(connection_id)
    messaging.require_active(conn)
    return messaging.send(deps, conn, request.kind, {"text": request.text})


def receive_note(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    """A partner admin's note: recorded in the connection's activity log (a redelivery overwrites, never repeats)."""
    deps.events.record(
        conn.id, "note.received", str(message.payload.get("text", ""))[:4000],
        at=message.created_at, event_id=message.message_id, seq=message.seq,
    )


def test_connection(deps: Deps, connection_id: str) -> TestReport:
    """Internal checks (tracker side, filled in by adapters) and a signed ping round trip to the partner."""
    conn = deps.connections.get(connection_id)
    internal = _internal_checks(deps, conn)
    return TestReport(connection_id=conn.id, internal=internal, remote=_remote_check(deps, conn))


def _internal_checks(deps: Deps, conn: Connection) -> list[CheckResult]:
    try:
        client = deps.tracker
    except ValidationError as exc:  # the secret's JSON has wrong fields: name them, never their values
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "secret" for e in exc.errors(include_input=False)}))
        return [
            CheckResult(
                name="tracker credentials",
                status="failed",
                detail=f"the tracker secret is not valid ({fields}): fix TrackerSecretArn's JSON",
            )
        ]
    except ValueError as exc:  # credentials incomplete for this tracker type (a message naming fields, no values)
        return [CheckResult(name="tracker credentials", status="failed", detail=f"{exc}: fix the tracker secret")]
    except Exception:  # Secrets Manager unreachable or access denied
        logger.exception("tracker secret could not be read")
        return [
            CheckResult(
                name="tracker credentials",
                status="failed",
                detail="the tracker secret could not be read: check TrackerSecretArn and the function's access",
            )
        ]
    if client is None:
        return [
            CheckResult(
                name="tracker",
                status="skipped",
                detail="no tracker configured on this node (TrackerBaseUrl and TrackerSecretArn)",
            )
        ]
    return tracker_checks.internal_checks(client, conn, conn.technical_user or deps.settings.technical_user)


def _remote_check(deps: Deps, conn: Connection) -> CheckResult:
    if conn.status != ConnectionStatus.ACTIVE:
        return CheckResult(name="remote", status="failed", detail=f"connection is {conn.status.value}")
    if not conn.can_call_remote:
        why = "this side is passive" if conn.passive else "the partner is private (it has no URL)"
        heard = (
            f"; last heard from {conn.last_contact_at.isoformat()}" if conn.last_contact_at else "; not heard from yet"
        )
        return CheckResult(
            name="remote", status="skipped", detail=f"{why}: it calls this node, never the reverse{heard}"
        )
    started = utcnow()
    try:
        answer = messaging.ping_remote(deps, conn)
    except RemoteError as exc:
        return CheckResult(name="remote", status="failed", detail=exc.message)
    elapsed = (utcnow() - started).total_seconds() * 1000
    return CheckResult(
        name="remote",
        status="ok",
        detail=f"signed ping answered by {answer.node} in {elapsed:.0f} ms (partner sees it {answer.status})",
    )


def get_with_events(deps: Deps, connection_id: str) -> dict[str, Any]:
    conn = deps.connections.get(connection_id)
    waiting, more = deps.outbox.pending(conn.id, 0, 100)
    return {
        **conn.public_view(),
        "queued_for_partner": f"{len(waiting)}+" if more else len(waiting),
        "recent_events": deps.events.recent(conn.id, 10),
    }


def node_info(deps: Deps) -> dict[str, Any]:
    s = deps.settings
    return {
        "node": s.node_name,
        "public": s.node_public,
        "url": s.public_url or None,
        "tracker": {
            "type": s.tracker_type,
            "base_url": s.tracker_base_url or None,
            "alt_base_url": s.tracker_alt_base_url or None,
        },
        "technical_user": s.technical_user or None,
        "connections": len(deps.connections.list()),
    }
