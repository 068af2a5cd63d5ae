"""Basic-mode sync end to end on the local runtime: real node processes over loopback HTTP, moto, and the
tracker simulators, for Jira Cloud <-> Azure DevOps, Jira DC <-> Jira Cloud and Azure DevOps <-> Jira DC,
each public-private and public-public; every basic field, comments and attachments, both directions."""

from __future__ import annotations

import io
import os

import pytest

from tests.e2e.conftest import stop_nodes, wait_until
from tests.e2e.sync_support import (
    PAIRS,
    connect,
    create,
    description_text,
    labels,
    recently,
    start_sync_nodes,
)
from twinbridge.models.tracker import ItemFields

pytestmark = pytest.mark.e2e
WAIT = 30.0


@pytest.fixture(scope="module", params=["basic", "script"])
def sync_nodes(request, tmp_path_factory):
    """The six nodes, once with basic-mode connections and once with script-mode connections running the generated
    default rules, which must sync exactly what basic mode syncs (issue 12: basic is script with locked rules)."""
    nodes = start_sync_nodes(tmp_path_factory.mktemp(f"sync-nodes-{request.param}"))
    try:
        yield request.param, nodes
    finally:
        stop_nodes(nodes)


@pytest.mark.parametrize("pair", list(PAIRS), ids=list(PAIRS))
def test_basic_sync_both_directions(sync_nodes, pair):
    mode, nodes = sync_nodes
    left, right, connection_id = connect(nodes, *PAIRS[pair], mode=mode)
    since = recently()

    # -- created on the left: every basic field arrives
    item = create(
        left, "Printer on fire", type="Bug", description=left.text("Smoke everywhere"), labels=["hardware", "urgent"]
    )
    twin_id = f"{left.short}:{item.id}"
    copy = wait_until(lambda: right.find_copy(connection_id, twin_id, since), WAIT, 0.3, "the copy on the right")
    assert copy.summary == "Printer on fire" and copy.type == "Bug"
    assert labels(copy) == {"hardware", "urgent"}
    assert description_text(copy).split() == ["Smoke", "everywhere", "bold"]

    # -- every basic field updated on the left
    left.client.update_item(
        item.key,
        ItemFields(
            summary="Printer still on fire",
            type="Task",
            labels=["facilities"],
            description=left.text("Fire brigade called"),
        ),
    )
    wait_until(
        lambda: (
            (c := right.item(copy.key)).summary == "Printer still on fire"
            and c.type == "Task"
            and labels(c) == {"facilities"}
            and "brigade" in description_text(c)
        ),
        WAIT,
        0.3,
        "fields updated",
    )

    # -- comments: add, edit, delete (left -> right), with the byline
    comment = left.client.add_comment(item.key, left.text("Evacuate floor 3"))
    texts = wait_until(lambda: right.comment_texts(copy.key), WAIT, 0.3, "comment on the right")
    assert len(texts) == 1 and f"({left.short}) wrote:" in texts[0] and "Evacuate floor 3" in texts[0]
    left.client.update_comment(item.key, comment.id, left.text("Evacuate floors 3 and 4"))
    wait_until(lambda: any("floors 3 and 4" in t for t in right.comment_texts(copy.key)), WAIT, 0.3, "comment edited")
    left.client.delete_comment(item.key, comment.id)
    wait_until(lambda: right.comment_texts(copy.key) == [], WAIT, 0.3, "comment deleted")

    # -- attachments: add, remove (left -> right), bytes verified
    payload = os.urandom(300_000)
    attachment = left.client.upload_attachment(item.key, "smoke.bin", io.BytesIO(payload), len(payload))
    wait_until(lambda: "smoke.bin" in right.attachments(copy.key), WAIT, 0.3, "attachment on the right")
    assert right.attachment_bytes(copy.key, "smoke.bin") == payload
    left.client.delete_attachment(item.key, attachment.id)
    wait_until(lambda: "smoke.bin" not in right.attachments(copy.key), WAIT, 0.3, "attachment removed")

    # -- the other direction: changes on the copy come back
    right.client.update_item(
        copy.key, ItemFields(summary="Fire is out", labels=["resolved"], description=right.text("All clear"))
    )
    wait_until(
        lambda: (
            (i := left.item(item.key)).summary == "Fire is out"
            and labels(i) == {"resolved"}
            and "clear" in description_text(i)
        ),
        WAIT,
        0.3,
        "fields back on the left",
    )
    reply = right.client.add_comment(copy.key, right.text("Thanks team"))
    wait_until(
        lambda: any(f"({right.short}) wrote:" in t and "Thanks team" in t for t in left.comment_texts(item.key)),
        WAIT,
        0.3,
        "comment back on the left",
    )
    right.client.update_comment(copy.key, reply.id, right.text("Thanks everyone"))
    wait_until(lambda: any("Thanks everyone" in t for t in left.comment_texts(item.key)), WAIT, 0.3, "reply edited")
    right.client.delete_comment(copy.key, reply.id)
    wait_until(lambda: left.comment_texts(item.key) == [], WAIT, 0.3, "reply deleted")
    back = os.urandom(120_000)
    returned = right.client.upload_attachment(copy.key, "report.bin", io.BytesIO(back), len(back))
    wait_until(lambda: "report.bin" in left.attachments(item.key), WAIT, 0.3, "attachment back on the left")
    assert left.attachment_bytes(item.key, "report.bin") == back
    right.client.delete_attachment(copy.key, returned.id)
    wait_until(lambda: "report.bin" not in left.attachments(item.key), WAIT, 0.3, "attachment removed on the left")

    # -- nothing duplicated anywhere
    assert [i for i in _items(right) if labels(i) >= {"resolved"}] == [right.item(copy.key)]


def _items(side):
    return [side.client.get_item(ref.key) for ref in side.client.search_changed_since(side.project, recently())]
