"""What this node does with each kind of message a partner sends: one explicit table, passed to the channel."""

from __future__ import annotations

from collections.abc import Mapping

from twinbridge.models.messages import NOTE_KIND, ROTATE_KIND
from twinbridge.models.replica import LINKED_KIND, REPLICA_KIND, UNLINKED_KIND
from twinbridge.services import connections, rotation, sync_in
from twinbridge.services.messaging import MessageHandler

KINDS: Mapping[str, MessageHandler] = {
    NOTE_KIND: connections.receive_note,
    ROTATE_KIND: rotation.answer_polled_offer,
    REPLICA_KIND: sync_in.receive_replica,
    LINKED_KIND: sync_in.receive_linked,
    UNLINKED_KIND: sync_in.receive_unlinked,
}
