"""What 'twinbridge dev --mode script' publishes: the generated incoming rules plus a status map, checked and run
the way a node runs them (in process here; no node, no tracker)."""

from __future__ import annotations

import pytest

from twinbridge.scripting import defaults
from twinbridge.scripting.engine import Script, ScriptError, check
from twinbridge_tools.cli.demo import (
    ADO_TO_JIRA_STATES,
    JIRA_TO_ADO_STATES,
    STATUS_STEP,
    STEPS,
    DemoStepError,
    status_rules,
    steps_for,
)

JIRA_RULES = status_rules(ADO_TO_JIRA_STATES, "Azure DevOps state", "Jira status")  # published on the Jira node
ADO_RULES = status_rules(JIRA_TO_ADO_STATES, "Jira status", "Azure DevOps state")  # published on the ADO node


def replica(status: str) -> dict:
    return {"summary": "Printer on fire", "description": {"type": "doc", "content": []}, "labels": ["printer"],
            "type": "Task", "status": status}


@pytest.mark.parametrize("source", [JIRA_RULES, ADO_RULES])
def test_the_demo_rules_check_clean(source):
    assert check(source, "incoming") == []


@pytest.mark.parametrize(("source", "status", "expected"), [
    (ADO_RULES, "To Do", "New"),
    (ADO_RULES, "In Progress", "Active"),
    (ADO_RULES, "Done", "Closed"),
    (JIRA_RULES, "New", "To Do"),
    (JIRA_RULES, "Active", "In Progress"),
    (JIRA_RULES, "Resolved", "Done"),
    (JIRA_RULES, "Closed", "Done"),
])
def test_the_demo_rules_are_the_defaults_plus_the_mapped_status(source, status, expected):
    ctx = {"first_sync": False}
    written = Script(source, "incoming").call([replica(status), {}, ctx]).value
    default = Script(defaults.INCOMING, "incoming").call([replica(status), {}, ctx]).value
    assert written == {**default, "status": expected}


def test_a_status_missing_from_the_map_fails_at_the_lookup():
    with pytest.raises(ScriptError) as failed:
        Script(JIRA_RULES, "incoming").call([replica("Removed"), {}, {"first_sync": False}])
    assert "no mapping for 'Removed'" in failed.value.message


def test_script_mode_adds_the_status_step_after_the_basic_ones():
    assert steps_for("basic") == STEPS and steps_for() == STEPS
    assert steps_for("script") == (*STEPS, STATUS_STEP)
    error = DemoStepError(6, "the work item stayed New", [], steps_for("script"))
    assert error.message.startswith(f"demo step 6/6 '{STATUS_STEP}' failed: the work item stayed New")
    basic = DemoStepError(2, "nothing", [])
    assert basic.message.startswith(f"demo step 2/{len(STEPS)} '{STEPS[1]}' failed")
