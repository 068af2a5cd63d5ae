"""An undo is a change like any other: A -> B on one side, B arrives on the other, a person there puts A back, and A
must reach the first side again (issue 11, finding 1). Both directions, summary and labels, with and without a
comment added in the same go, on the local runtime (real node processes, loopback HTTP, moto, simulators)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import stop_nodes, wait_until
from tests.e2e.sync_support import Side, connect, create, labels, recently, start_sync_nodes
from twinbridge.models.tracker import ItemFields

pytestmark = pytest.mark.e2e
WAIT = 30.0
NODES = {"undojira": (True, "jira-cloud", "UND"), "undoado": (False, "azure-devops", "UND")}
FIELDS = {
    "summary": (lambda value: ItemFields(summary=value), lambda item: item.summary, ("Fan is loud", "Fan is silent")),
    "labels": (lambda value: ItemFields(labels=value), lambda item: sorted(labels(item)), (["fan"], ["fan", "noise"])),
}


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    nodes = start_sync_nodes(tmp_path_factory.mktemp("undo-nodes"), NODES)
    try:
        yield connect(nodes, "undojira", "undoado", "UND")
    finally:
        stop_nodes(nodes)


@pytest.mark.parametrize("with_comment", [False, True], ids=["alone", "with-comment"])
@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("undone_on", ["origin", "copy"])
def test_an_undo_reaches_the_other_side(linked, undone_on, field, with_comment):
    jira, ado, connection_id = linked
    write, read, (a, b) = FIELDS[field]
    since = recently()
    item = create(jira, a, labels=["undo"]) if field == "summary" else create(jira, f"Undo {undone_on}", labels=a)
    copy = wait_until(lambda: ado.find_copy(connection_id, f"undojira:{item.id}", since), WAIT, 0.3, "the copy")
    assert read(copy) == a
    # In sync both ways: the copy's side has sent a replica of its own too (carrying A), as after any exchange.
    ado.client.add_comment(copy.key, ado.text("Seen"))
    wait_until(lambda: any("Seen" in t for t in jira.comment_texts(item.key)), WAIT, 0.3, "the copy's first replica")
    # The side that undoes sees the other side's change first, then puts the old value back.
    changer, undoer = (ado, jira) if undone_on == "origin" else (jira, ado)
    changer_key, undoer_key = (copy.key, item.key) if undone_on == "origin" else (item.key, copy.key)

    changer.client.update_item(changer_key, write(b))
    wait_until(lambda: read(undoer.item(undoer_key)) == b, WAIT, 0.3, f"{field} B on the {undone_on}")

    undoer.client.update_item(undoer_key, write(a))
    if with_comment:
        undoer.client.add_comment(undoer_key, undoer.text("Put it back"))
        wait_until(lambda: any("Put it back" in t for t in changer.comment_texts(changer_key)), WAIT, 0.3, "comment")
    wait_until(lambda: read(changer.item(changer_key)) == a, WAIT, 0.3, f"{field} back to A on the other side")
    _settled(jira, ado, item.key, copy.key, read, a)


def _settled(jira: Side, ado: Side, jira_key: str, ado_key: str, read, expected) -> None:
    """Both sides show ``expected`` after one more change goes round (nothing flips back later)."""
    jira.client.add_comment(jira_key, jira.text("Settled?"))
    wait_until(lambda: any("Settled?" in t for t in ado.comment_texts(ado_key)), WAIT, 0.3, "the settling comment")
    assert read(jira.item(jira_key)) == read(ado.item(ado_key)) == expected
