"""Finding 11: no relays and no loops. Three real nodes connected in a cycle share an item once each (no copies of
copies), a comment one partner wrote is not forwarded to another, and a second connection between the same
partner and project is refused."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import stop_nodes, wait_until
from tests.e2e.sync_support import connect, start_sync_nodes

pytestmark = pytest.mark.e2e

CYCLE = {"cyca": (True, "jira-cloud", "CYC"), "cycb": (True, "azure-devops", "CYC"), "cycc": (True, "jira-dc", "CYC")}


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    nodes = start_sync_nodes(tmp_path_factory.mktemp("cycle"), CYCLE)
    try:
        a_b = connect(nodes, "cyca", "cycb", "CYC")
        b_c = connect(nodes, "cycb", "cycc", "CYC")
        c_a = connect(nodes, "cycc", "cyca", "CYC")
        yield nodes, {"a_b": a_b, "b_c": b_c, "c_a": c_a}
    finally:
        stop_nodes(nodes)


def _items(side, summary: str) -> list:
    from datetime import UTC, datetime, timedelta

    since = datetime.now(UTC) - timedelta(hours=1)
    return [item for ref in side.client.search_changed_since(side.project, since)
            if (item := side.client.get_item(ref.key)).summary == summary]


def test_a_cycle_of_three_nodes_makes_one_copy_on_each_and_no_copies_of_copies(cycle):
    from twinbridge.models.tracker import ItemFields

    _, links = cycle
    a, b = links["a_b"][0], links["a_b"][1]
    c = links["c_a"][0]
    a_b_id = links["a_b"][2]
    a.client.create_item(a.project, ItemFields(summary="Round and round", type="Task"))

    wait_until(lambda: len(_items(b, "Round and round")) == 1, timeout=60, what="B's copy")
    wait_until(lambda: len(_items(c, "Round and round")) == 1, timeout=60, what="C's copy")
    # Give a relay every chance to happen: B's copy changed on B, C's copy on C, both synced back to A.
    (b_copy,) = _items(b, "Round and round")
    b.client.update_item(b_copy.key, ItemFields(labels=["touched-on-b"]))
    (a_item,) = _items(a, "Round and round")
    wait_until(lambda: "touched-on-b" in a.client.get_item(a_item.key).labels, timeout=60, what="B's label on A")

    # The job that sent B's change to A had every connection of B's project to go through: by now it is done,
    # and B's copy is linked on the connection it was made for, and on no other.
    twins = b.node.call("GET", f"/admin/v1/sync/twins?item={b_copy.key}")["twins"]
    assert [t["connection_id"] for t in twins] == [a_b_id]
    assert [len(_items(side, "Round and round")) for side in (a, b, c)] == [1, 1, 1]


def test_a_comment_from_one_partner_is_not_forwarded_to_another(cycle):
    from twinbridge.models.tracker import ItemFields

    _, links = cycle
    a, b = links["a_b"][0], links["a_b"][1]
    c = links["c_a"][0]
    item = a.client.create_item(a.project, ItemFields(summary="Commented on by B", type="Task"))
    (b_copy,) = wait_until(lambda: _items(b, "Commented on by B"), timeout=60, what="B's copy")
    (c_copy,) = wait_until(lambda: _items(c, "Commented on by B"), timeout=60, what="C's copy")

    b.client.add_comment(b_copy.key, b.text("B's private remark"))
    wait_until(lambda: any("B's private remark" in t for t in a.comment_texts(item.key)), timeout=60,
               what="B's comment on A")
    a.client.update_item(item.key, ItemFields(summary="Commented on by B, then edited on A"))
    wait_until(lambda: c.client.get_item(c_copy.key).summary == "Commented on by B, then edited on A", timeout=60,
               what="A's later change on C")

    assert not any("B's private remark" in t for t in c.comment_texts(c_copy.key))


def test_a_second_connection_between_the_same_partner_and_project_is_refused(cycle):
    nodes, _ = cycle
    a, b = nodes["cyca"], nodes["cycb"]
    body = {"name": "again", "local_short_name": "cyca", "remote_short_name": "cycb", "project": "CYC"}
    before = len(a.connections())

    refused_here = a.error("POST", "/admin/v1/connections/invitations", {**body, "partner_url": b.url})
    code = a.call("POST", "/admin/v1/connections/invitations", {**body, "partner_url": None})["invitation_code"]
    refused_there = b.error("POST", "/admin/v1/connections/accept", {"code": code, "project": "CYC"})

    assert "already links project CYC" in refused_here and "already links project CYC" in refused_there
    assert len(a.connections()) == before + 1  # only the invitation without a URL, which B refused to accept
