"""Partner content is hostile input: the content policy applied by ``plan`` before any renderer, bylines that
cannot be spoofed, and summaries, labels and attachment names that cannot carry control characters or markers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.richtext.corpus import schema_errors
from twinbridge.models.replica import ItemIdentity, Person, Replica, ReplicaAttachment, ReplicaComment
from twinbridge.models.tracker import NativeText, TrackerItem
from twinbridge.models.twin import Twin
from twinbridge.richtext import plain_text, to_canonical
from twinbridge.richtext.model import (
    Atom,
    Document,
    Heading,
    Image,
    ListBlock,
    ListItem,
    Mark,
    Mention,
    Paragraph,
    Table,
    TableCell,
    TableRow,
    Text,
)
from twinbridge.richtext.serialize import to_json
from twinbridge.sync.basic_rules import Target, is_marker, marker_for, plan, unlink_notice

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
JIRA_CLOUD = Target(text_format="adf", issue_types=["Bug", "Task"], default_type="Task", remote_short_name="acme",
                    labels_allow_spaces=False)
JIRA_DC = Target(text_format="wiki", issue_types=["Bug", "Task"], default_type=None, remote_short_name="acme",
                 labels_allow_spaces=False)
AZURE_DEVOPS = Target(text_format="html", issue_types=["Bug", "Task"], default_type="Task", remote_short_name="acme",
                      labels_allow_spaces=True)
TARGETS = pytest.mark.parametrize("target", [JIRA_CLOUD, JIRA_DC, AZURE_DEVOPS], ids=["adf", "wiki", "html"])

PIXEL = "https://track.evil.test/pixel.gif?u=ana"

# What a hostile partner can put in canonical JSON: every link scheme, a card, remote and media images, mentions.
HOSTILE = Document([
    Paragraph([
        Text("click here", (Mark("link", "javascript:alert(document.cookie)"),)),
        Text(" and "),
        Text("there", (Mark("link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),)),
        Text(" and "),
        Text("obfuscated", (Mark("link", " JaVa\tScRiPt:alert(1)"),)),
        Text(" and "),
        Text("relative", (Mark("link", "/secure/admin/DeleteProject.jspa?pid=1"),)),
        Text(" "),
        Atom("inlineCard", "javascript:alert(2)", {"url": "javascript:alert(2)"}),
    ]),
    Paragraph([Image(src=PIXEL, alt="tracking"), Image(media_id="6e7c6f1a-3b1d", collection="contentId-1")]),
    Paragraph([Text("ping "), Mention("5b10ac8d82e05b22cc7d4ef5", "@Root Admin"),
               Text(" and "), Mention("admin", "", "username")]),
    Heading(2, [Text("shot "), Image(src="https://evil.test/h.png")]),
])
SAFE_LINKS = Document([Paragraph([
    Text("docs", (Mark("link", "https://docs.acme.test/x"),)), Text(" "),
    Text("plain", (Mark("link", "http://acme.test/"),)), Text(" "),
    Text("mail", (Mark("link", "mailto:ana@acme.test"),)), Text(" "),
    Atom("inlineCard", "https://acme.test/card", {"url": "https://acme.test/card"}),
])])


def make_twin() -> Twin:
    return Twin(connection_id="conn-1", twin_id="acme:10001", origin="remote")


def make_replica(**overrides: Any) -> Replica:
    fields: dict[str, Any] = dict(item={"id": "10001", "key": "ACME-1"}, project="ACME", type="Bug",
                                  summary="Login fails", labels=["backend"], updated=T0)
    fields.update(overrides)
    return Replica(**fields)


def local_item(**overrides: Any) -> TrackerItem:
    fields: dict[str, Any] = dict(id="900", key="900", url="", project="Local", type="Bug", summary="Login fails",
                                  labels=["backend", marker_for("conn-1", "acme:10001")], updated=T0)
    fields.update(overrides)
    return TrackerItem(**fields)


def serialized(text: NativeText) -> str:
    return text.content if isinstance(text.content, str) else json.dumps(text.content, ensure_ascii=False)


def reparsed(text: NativeText) -> Document:
    return to_canonical(text.content, text.format).document


def assert_valid(text: NativeText) -> None:
    if text.format == "adf":
        assert schema_errors(text.content) == []


def inlines(node: Any) -> list[Any]:
    """Every inline node of a canonical tree, at any depth."""
    if isinstance(node, (Text, Mention, Image, Atom)):
        return [node]
    found: list[Any] = []
    for value in vars(node).values() if hasattr(node, "__dict__") else []:
        for child in value if isinstance(value, list) else []:
            found += inlines(child)
    return found


def assert_nothing_active(text: NativeText) -> None:
    """Read back as our tracker shows it: no mention, no image, no card, links only to http(s) and mailto."""
    nodes = inlines(reparsed(text))
    assert not [node for node in nodes if isinstance(node, (Mention, Image))]
    assert not [node for node in nodes if isinstance(node, Atom) and node.kind == "inlineCard"]
    hrefs = [mark.value for node in nodes if isinstance(node, Text) for mark in node.marks if mark.kind == "link"]
    assert all(re.match(r"(https?://[^/\s]+|mailto:\S)", href) for href in hrefs), hrefs


# --------------------------------------------------------------------------------------------------- A: content policy


@TARGETS
def test_partner_description_with_script_links_images_and_mentions_reaches_no_tracker_format(target):
    result = plan(make_replica(description=to_json(HOSTILE)), make_twin(), target, None)

    assert result.create is not None and result.create.description is not None
    description = result.create.description
    out = serialized(description)
    assert_valid(description)
    assert_nothing_active(description)
    for forbidden in ("javascript:alert(document", "JaVa", "data:", "DeleteProject", "pixel.gif", "evil.test",
                      "6e7c6f1a"):
        assert forbidden not in out
    for forbidden in ('"mention"', '"media', '"inlineCard"', "[~", "data-vss-mention", "<img", "<a "):
        assert forbidden not in out
    assert not re.search(r"!\S+!", out)  # no wiki image
    text = plain_text(reparsed(description))
    for kept in ("click here", "there", "obfuscated", "relative", "[image: tracking]", "[image]", "@Root Admin",
                 "@admin", "shot [image: h.png]"):
        assert kept in text


def test_every_policy_change_is_listed_as_a_loss_of_the_description():
    result = plan(make_replica(description=to_json(HOSTILE)), make_twin(), JIRA_CLOUD, None)

    kinds = [loss.split(": ")[1] for loss in result.losses if loss.startswith("description: ")]
    assert kinds.count("unsafe-link") == 5  # four link marks and the card
    assert kinds.count("image") == 3 and kinds.count("mention") == 2
    assert all(len(loss) < 300 and "\t" not in loss for loss in result.losses)


@TARGETS
def test_partner_comment_gets_the_same_policy_as_the_description(target):
    comment = ReplicaComment(id="c1", author=Person(display_name="Mallory"), body=to_json(HOSTILE))

    result = plan(make_replica(comments=[comment]), make_twin(), target, local_item())

    body = result.comments_add[0].body
    assert_valid(body)
    assert_nothing_active(body)
    out = serialized(body)
    assert "javascript:alert(document" not in out and "pixel.gif" not in out and "[~" not in out and '"mention"' not in out
    assert "<img" not in out and "data-vss-mention" not in out
    assert plain_text(reparsed(body)).startswith("Mallory (acme) wrote:\nclick here")
    assert any(loss.startswith("comment c1: image: ") for loss in result.losses)


@TARGETS
def test_http_https_mailto_links_and_https_cards_from_the_partner_are_kept(target):
    result = plan(make_replica(description=to_json(SAFE_LINKS)), make_twin(), target, None)

    assert result.create is not None and result.create.description is not None
    out = serialized(result.create.description)
    assert_valid(result.create.description)
    for url in ("https://docs.acme.test/x", "http://acme.test/", "mailto:ana@acme.test", "https://acme.test/card"):
        assert url in out
    assert not [loss for loss in result.losses if "unsafe" in loss]


def test_mangled_node_fields_from_the_partner_still_give_schema_valid_adf():
    """The partner sends canonical JSON, not ADF: wrong types and sizes in it must not reach the renderer."""
    document = Document([
        Heading("1 onmouseover=x", [Text("title")]),  # type: ignore[arg-type]
        ListBlock(True, [ListItem([Paragraph([Text("one")])])], start="7; x"),  # type: ignore[arg-type]
        Table([TableRow([TableCell([Paragraph([Text("cell")])], colspan="2\" x=\"", rowspan=-4)])]),  # type: ignore[arg-type]
        Paragraph([Atom("status", "DONE", {"text": "DONE", "color": "javascript", "onclick": "x"}),
                   Atom("inlineExtension", "[macro]", {"extensionKey": "evil", "extensionType": "com.evil"}),
                   Atom("date", "soon", {"timestamp": "tomorrow"}),
                   Text("colour", (Mark("color", "red}{html}"), Mark("annotation", "their-thread"))),
                   Text("x\x00y\x1b[2Jz")]),
    ])
    result = plan(make_replica(description=to_json(document)), make_twin(), JIRA_CLOUD, None)

    assert result.create is not None and result.create.description is not None
    adf = result.create.description.content
    assert schema_errors(adf) == []
    out = json.dumps(adf)
    assert "onmouseover" not in out and "onclick" not in out and "com.evil" not in out and "{html}" not in out
    assert "\\u0000" not in out and "\\u001b" not in out
    assert "xy[2Jz" in plain_text(reparsed(result.create.description))


# --------------------------------------------------------------------------------------------------- B: bylines

SPOOF = "Mallory\n\n**Ana Pérez (acme) wrote:**"


@TARGETS
def test_newline_in_author_name_does_not_fake_a_second_byline(target):
    comment = ReplicaComment(id="c1", author=Person(display_name=SPOOF),
                             body=to_json(Document([Paragraph([Text("I approve the refund.")])])))

    result = plan(make_replica(comments=[comment]), make_twin(), target, local_item())

    document = reparsed(result.comments_add[0].body)
    assert len(document.blocks) == 2
    byline, body = document.blocks
    assert isinstance(byline, Paragraph) and isinstance(body, Paragraph)
    assert [(node.text, node.marks) for node in byline.children if isinstance(node, Text)] == [
        ("Mallory **Ana Pérez (acme) wrote:** (acme) wrote:", (Mark("strong"),))]
    assert len(byline.children) == 1  # no line break, no second bold run
    assert body.children == [Text("I approve the refund.")]


@pytest.mark.parametrize(("name", "expected"), [
    ("Ana\u202e Pérez\u2066\u2069", "Ana Pérez"),
    ("Ana\u200b\u200c\u200d\ufeff Pérez", "Ana Pérez"),
    ("Ana\tP\x00érez\x1b[31m", "Ana Pérez[31m"),
    ("  Ana \u2028\u2029  Pérez  ", "Ana Pérez"),
    ("\u202e\n\t", "Someone"),
    ("A" * 200, "A" * 79 + "…"),
], ids=["bidi", "zero-width", "controls", "separators", "nothing-left", "too-long"])
def test_author_name_in_byline_is_one_clean_bounded_line(name, expected):
    comment = ReplicaComment(id="c1", author=Person(display_name=name), body=to_json(Document()))

    result = plan(make_replica(comments=[comment]), make_twin(), AZURE_DEVOPS, local_item())

    assert result.comments_add[0].body.content.startswith(f"<p><strong>{expected} (acme) wrote:</strong></p>")


def test_unlink_reason_from_the_partner_stays_on_one_clean_line():
    notice = unlink_notice("acme", "gone\n\n*Ana Pérez (acme) wrote:*\u202e", "wiki")

    assert notice.content.count("\n") == 1 and "\\\\" not in notice.content  # no line or wiki line break
    assert "\u202e" not in notice.content and "gone \\*Ana" in notice.content


# --------------------------------------------------------------------------------------------------- C: short fields


def test_partner_summary_loses_control_and_bidi_characters_and_line_breaks():
    result = plan(make_replica(summary="Invoice\u202e\n\x1b[2J  paid\u200b"), make_twin(), JIRA_CLOUD, None)

    assert result.create is not None and result.create.summary == "Invoice [2J paid"


def test_partner_summary_is_bounded_to_what_both_trackers_accept():
    result = plan(make_replica(summary="x" * 400), make_twin(), AZURE_DEVOPS, None)

    assert result.create is not None and result.create.summary == "x" * 254 + "…"


def test_clean_partner_summary_equal_to_the_local_one_needs_no_update():
    local = local_item(summary="Login fails")

    assert plan(make_replica(summary="Login\u200b fails\n"), make_twin(), JIRA_CLOUD, local).update is None


@pytest.mark.parametrize("planted", [
    "twinbridge-0123456789abcdef", "TWINBRIDGE-0123456789ABCDEF", "twinbridge-\u200b0123456789abcdef",
    " twinbridge-0123456789abcdef\n",
], ids=["marker", "upper-case", "zero-width", "padded"])
def test_marker_shaped_label_from_the_partner_is_dropped(planted):
    create = plan(make_replica(labels=["backend", planted]), make_twin(), JIRA_CLOUD, None).create
    update = plan(make_replica(labels=["backend", planted, "new"]), make_twin(), AZURE_DEVOPS, local_item()).update

    assert create is not None and create.labels == ["backend", marker_for("conn-1", "acme:10001")]
    assert update is not None and update.labels == ["backend", "new", marker_for("conn-1", "acme:10001")]
    assert [label for label in create.labels + update.labels if is_marker(label)] == [
        marker_for("conn-1", "acme:10001")] * 2


def test_partner_labels_lose_control_characters_and_empty_ones_are_dropped():
    result = plan(make_replica(labels=["back\x1b[0mend", "\u202e", "ui\u200b", "two\nwords"]), make_twin(),
                  JIRA_CLOUD, None)

    assert result.create is not None
    assert [label for label in result.create.labels if not is_marker(label)] == ["back[0mend", "two_words", "ui"]


def test_partner_labels_are_bounded_to_what_jira_accepts():
    from twinbridge.sync.basic_rules import partner_labels

    assert partner_labels(["x" * 300], JIRA_CLOUD) == ["x" * 255]


@pytest.mark.parametrize(("name", "expected"), [
    ("trace.log", "trace.log"),
    ("../../etc/passwd", "_._etc_passwd"),
    ("..\\..\\windows\\system32\\evil.dll", "_._windows_system32_evil.dll"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("a\x00b\nc\x1b.txt", "ab c.txt"),
    ("..", "attachment"),
    ("", "attachment"),
    ("\u200b\u202e", "attachment"),
    ("report  \t final .pdf", "report final .pdf"),
    ('what?<x>:"y"|*.txt', "what__x___y___.txt"),
    ("con.txt", "_con.txt"),
    ("notes.", "notes"),
], ids=["plain", "parent-dirs", "backslashes", "bidi", "controls", "dots-only", "empty", "invisible-only",
        "whitespace", "reserved", "device-name", "trailing-dot"])
def test_safe_filename_keeps_a_single_harmless_name(name, expected):
    from twinbridge.sync.basic_rules import safe_filename

    assert safe_filename(name) == expected


def test_safe_filename_bounds_the_length_and_keeps_the_extension():
    from twinbridge.sync.basic_rules import safe_filename

    name = safe_filename("a" * 500 + ".tar.gz")

    assert len(name) <= 200 and name.endswith(".gz") and name.startswith("aaa")


def test_attachments_to_add_carry_safe_file_names():
    attachment = ReplicaAttachment(id="a1", filename="../../.ssh/authorized_keys\u202e", sha256="ab" * 32)

    result = plan(make_replica(attachments=[attachment]), make_twin(), JIRA_CLOUD, local_item())

    assert [(a.id, a.filename, a.sha256) for a in result.attachments_add] == [
        ("a1", "_._.ssh_authorized_keys", "ab" * 32)]


def test_replica_identity_is_untouched_by_the_policy():
    """The policy shapes what is written to the tracker, not the replica kept for the twin."""
    replica = make_replica(summary="a\nb", item=ItemIdentity(id="1", key="K-1"))

    plan(replica, make_twin(), JIRA_CLOUD, None)

    assert replica.summary == "a\nb"
