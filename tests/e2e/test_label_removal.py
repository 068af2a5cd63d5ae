"""Label removal Jira -> Azure DevOps -> Jira under Azure DevOps' documented tag semantics.

On a work item, JSON Patch ``add`` on System.Tags merges into the tags already there and ``replace`` replaces them
(Microsoft's wit 7.1 examples); the simulator does the same. A node that wrote labels with ``add`` would never take
a label off the Azure DevOps copy, and the next sync back would bring it to Jira again.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import stop_nodes, wait_until
from tests.e2e.sync_support import connect, create, labels, recently, start_sync_nodes
from twinbridge.models.tracker import ItemFields

pytestmark = pytest.mark.e2e
WAIT = 30.0
NODES = {"lbljira": (True, "jira-cloud", "LBL"), "lblado": (False, "azure-devops", "LBL")}


@pytest.fixture(scope="module")
def label_nodes(tmp_path_factory):
    nodes = start_sync_nodes(tmp_path_factory.mktemp("label-nodes"), NODES)
    try:
        yield nodes
    finally:
        stop_nodes(nodes)


def test_labels_removed_on_either_side_leave_the_other_and_never_come_back(label_nodes):
    jira, ado, connection_id = connect(label_nodes, "lbljira", "lblado", "LBL")
    since = recently()
    item = create(jira, "Checkout page slow", labels=["alpha", "beta", "gamma"])
    copy = wait_until(lambda: ado.find_copy(connection_id, f"lbljira:{item.id}", since), WAIT, 0.3, "the ADO copy")
    assert labels(copy) == {"alpha", "beta", "gamma"}

    # -- removed in Jira: the tag leaves the work item
    jira.client.update_item(item.key, ItemFields(labels=["alpha", "gamma"]))
    wait_until(lambda: labels(ado.item(copy.key)) == {"alpha", "gamma"}, WAIT, 0.3, "beta gone from ADO")

    # -- removed (and one added) in Azure DevOps: the label leaves the Jira issue
    ado.client.update_item(copy.key, ItemFields(labels=["gamma", "delta"]))
    wait_until(lambda: labels(jira.item(item.key)) == {"gamma", "delta"}, WAIT, 0.3, "alpha gone from Jira")

    # -- one more round trip (a summary change each way): nothing removed comes back on either side
    jira.client.update_item(item.key, ItemFields(summary="Checkout page slow on mobile"))
    wait_until(lambda: ado.item(copy.key).summary == "Checkout page slow on mobile", WAIT, 0.3, "summary in ADO")
    ado.client.update_item(copy.key, ItemFields(summary="Checkout slow on mobile"))
    wait_until(lambda: jira.item(item.key).summary == "Checkout slow on mobile", WAIT, 0.3, "summary in Jira")
    assert labels(jira.item(item.key)) == labels(ado.item(copy.key)) == {"gamma", "delta"}
