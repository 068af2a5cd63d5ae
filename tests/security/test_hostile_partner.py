"""A partner with valid keys tries each way to get more than the sync contract gives it, against a real node of
ours over loopback HTTP (tests/security/hostile.py). Each test names the finding of the 2026-12 review it covers
(docs/security.md); each failed on the code before the fix."""

from __future__ import annotations

import io

import pytest

from tests.e2e.conftest import stop_nodes, wait_until
from tests.security.hostile import PROJECT, HostilePartner, item_by_summary, person, start_victim, wait_for_twin
from twinbridge.models.replica import UNLINKED_KIND
from twinbridge.models.tracker import ItemFields

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    node = start_victim(tmp_path_factory.mktemp("victim"))
    yield node
    stop_nodes({"victim": node})


@pytest.fixture
def partner(victim) -> HostilePartner:
    return HostilePartner.connect(victim)


def _our_item(victim, partner: HostilePartner, summary: str, **fields):
    """An item a person of ours creates in Jira, shared with the partner (its twin is in our namespace)."""
    item = person(victim).create_item(PROJECT, ItemFields(summary=summary, type="Task", **fields))
    twin = wait_for_twin(partner, item.key)
    assert twin["twin_id"].startswith(f"{partner.local_short}:")
    return item, twin


def _comment_texts(victim, key: str) -> list[str]:
    from twinbridge.richtext import plain_text, to_canonical

    return [plain_text(to_canonical(c.body.content, c.body.format).document) for c in person(victim).list_comments(key)]


def test_finding_4_a_twin_id_in_our_namespace_that_we_never_shared_is_refused(victim, partner):
    squatted = f"{partner.local_short}:99999"  # the id our next Jira issue might get

    answer = partner.replica(squatted, summary="Squatter")

    assert answer.acked_seq == 1  # acknowledged (never retried), but not acted on
    wait_until(lambda: partner.refused(), what="the refusal in the activity log")
    assert "never shared" in partner.refused()[0]
    with pytest.raises(Exception, match="no twin found"):
        partner.twins(squatted)
    assert item_by_summary(victim, "Squatter") is None


def test_finding_4_a_replica_naming_a_third_side_as_origin_is_refused(victim, partner):
    partner.replica("stranger:5", summary="Relayed from elsewhere")

    wait_until(lambda: partner.refused(), what="the refusal")
    assert "neither side" in partner.refused()[0]


def test_finding_6_the_partner_cannot_unlink_an_item_it_did_not_originate(victim, partner):
    item, twin = _our_item(victim, partner, "Ours, shared with the partner")

    partner.send(UNLINKED_KIND, {"twin_id": twin["twin_id"], "reason": "URGENT: reset your password at evil.example"})

    wait_until(lambda: partner.refused(), what="the refusal")
    assert "may not unlink" in partner.refused()[0]
    assert partner.twins(item.key)[0]["twin_id"] == twin["twin_id"]  # still linked
    assert not any("evil.example" in text for text in _comment_texts(victim, item.key))


def test_finding_6_unlinking_its_own_item_leaves_our_note_and_none_of_its_text(victim, partner):
    twin_id = f"{partner.short}:501"
    partner.replica(twin_id, summary="The partner's own item")
    copy = wait_until(lambda: item_by_summary(victim, "The partner's own item"), timeout=30, what="our copy")

    partner.send(UNLINKED_KIND, {"twin_id": twin_id, "reason": "URGENT: reset your password at evil.example"})

    texts = wait_until(lambda: _comment_texts(victim, copy.key), timeout=30, what="the unlink note")
    assert len(texts) == 1 and "no longer synced" in texts[0] and "evil.example" not in texts[0]


def test_finding_2_a_partner_naming_the_hash_of_our_attachment_cannot_delete_it(victim, partner):
    client = person(victim)
    item = client.create_item(PROJECT, ItemFields(summary="Has our contract", type="Task"))
    client.upload_attachment(item.key, "contract.pdf", io.BytesIO(b"%PDF our signed contract"), 24)
    twin = wait_for_twin(partner, item.key)
    shared = wait_until(lambda: [m for m in partner.poll() if m.payload.get("replica", {}).get("attachments")],
                        timeout=30, what="our replica with its attachment")
    ours = shared[-1].payload["replica"]["attachments"][0]
    claim = {"id": "900", "filename": "decoy.pdf", "sha256": ours["sha256"], "size": 24,
             "url": "https://evil.example/decoy.pdf"}

    partner.replica(twin["twin_id"], summary="Has our contract", attachments=[claim])
    wait_until(lambda: partner.twins(item.key)[0]["in_seq"] >= 1, timeout=30, what="the claim applied")
    partner.replica(twin["twin_id"], summary="Has our contract", attachments=[])  # "the partner removed it"
    wait_until(lambda: partner.twins(item.key)[0]["in_seq"] >= 2, timeout=30, what="the removal applied")

    assert [a.filename for a in client.get_item(item.key).attachments] == ["contract.pdf"]


def test_finding_5_an_oversized_replica_is_refused_and_the_channel_goes_on(victim, partner):
    many = [{"id": str(n), "body": {"v": 1, "t": "Document", "blocks": []}} for n in range(1000)]
    partner.replica(f"{partner.short}:601", summary="Thousand comments", comments=many)
    partner.replica(f"{partner.short}:" + "9" * 2000, summary="Long twin id")
    partner.replica(f"{partner.short}:602", summary="After the bad ones")

    wait_until(lambda: item_by_summary(victim, "After the bad ones"), timeout=30, what="the next replica applied")
    refusals = partner.refused()
    assert len(refusals) == 2 and all("invalid" in r for r in refusals)
    assert item_by_summary(victim, "Thousand comments") is None and item_by_summary(victim, "Long twin id") is None
