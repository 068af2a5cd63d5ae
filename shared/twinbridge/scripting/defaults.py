"""The generated rules a script-mode connection starts from: they reproduce basic mode exactly (summary,
description, labels, issue type, comments with a byline, attachments), so switching a connection from basic to
script changes nothing until an admin edits them. Basic mode is these rules, locked."""

from __future__ import annotations

from twinbridge.scripting.contract import Direction

OUTGOING = '''\
# What of a local item goes to the partner. `replica` is what basic mode would send; edit it and return it,
# or return None to share nothing of this item.
def outgoing(item, replica, ctx):
    return replica
'''

INCOMING = '''\
# How a replica from the partner is written here. Return only what to write: absent keys are left alone.
# Keys: summary, description, labels, type, status, priority, assignee, fields, parent, comments, attachments
# (and project/type on the first sync only, where ctx["first_sync"] is True).
def incoming(replica, local, ctx):
    return {
        "summary": replica["summary"],
        "description": replica["description"],
        "labels": replica["labels"],
        "type": replica["type"],
        "comments": "merge",
        "attachments": "merge",
    }
'''

SOURCES: dict[Direction, str] = {"outgoing": OUTGOING, "incoming": INCOMING}
