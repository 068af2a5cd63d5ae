"""ChangeEvent and its actor: the loop guard's matching and what goes on the queue."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from twinbridge.models.change import MAX_VALUE_CHARS, ActorRef, ChangeEvent, clip


@pytest.mark.parametrize(
    "actor, who",
    [
        (ActorRef(account_id="5b10ac8d82e05b22cc7d4ef5"), "5B10AC8D82E05B22CC7D4EF5"),
        (ActorRef(name="twinbridge-bot", key="JIRAUSER10001"), "TwinBridge-Bot"),
        (ActorRef(key="JIRAUSER10001"), "jirauser10001"),
        (ActorRef(email="Bot@Acme.example"), " bot@acme.example "),
        (ActorRef(unique_name="ACME\\twinbridge"), "acme\\TWINBRIDGE"),
    ],
)
def test_actor_matches_technical_user_case_insensitively(actor, who):
    assert actor.matches(who)


@pytest.mark.parametrize("who", ["", "  ", "Twinbridge Bot", "twinbridge"])
def test_actor_does_not_match_display_names_or_blanks(who):
    assert not ActorRef(display_name="Twinbridge Bot", name="twinbridge-bot").matches(who)


def test_change_event_refuses_unknown_fields_and_trackers():
    base = dict(
        tracker="jira-cloud", instance="https://acme.atlassian.net", item_id="1", kind="updated",
        occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), delivery_id="d", source_event="jira:issue_updated",
    )
    ChangeEvent.model_validate(base)
    with pytest.raises(ValidationError):
        ChangeEvent.model_validate({**base, "surprise": 1})
    with pytest.raises(ValidationError):
        ChangeEvent.model_validate({**base, "tracker": "github"})


def test_long_values_are_clipped_for_the_queue():
    assert clip("x" * (MAX_VALUE_CHARS + 1)) == ("x" * MAX_VALUE_CHARS, True)
    assert clip({"a": "b"}) == ({"a": "b"}, False)
    assert clip({"a": "b" * MAX_VALUE_CHARS}) == (None, True)
