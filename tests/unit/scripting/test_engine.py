"""The Starlark engine in this process: results, errors with their place, defer, logs, helpers, save-time checks."""

from __future__ import annotations

import pytest

from tests.script_samples import EXPECTED, MAPPING, STATUS_LINE, DirectoryHelpers, LeakyHelpers, mapping_args
from twinbridge.scripting.engine import LOG_LINE_LIMIT, LOG_LINES, Deferred, HelperError, Script, ScriptError, check


def _incoming(body: str) -> Script:
    return Script("def incoming(replica, local, ctx):\n" + body, "incoming")


def test_mapping_script_returns_the_mapped_changes_and_its_log():
    helpers = DirectoryHelpers()

    outcome = Script(MAPPING, "incoming").call(mapping_args(), helpers)

    assert outcome.value == EXPECTED
    assert outcome.logs == ["assignee 5b10ac8d82e05b22cc7d4ef5"]
    assert outcome.helper_calls == 1 and helpers.calls == [("users.by_email", ["dana@fabrikam.example"])]


def test_an_unmapped_status_fails_at_the_lookup_line_naming_the_known_keys():
    with pytest.raises(ScriptError) as caught:
        Script(MAPPING, "incoming").call(mapping_args(status="Blocked"), DirectoryHelpers())

    error = caught.value
    assert error.kind == "error" and not isinstance(error, Deferred)
    assert "no mapping for 'Blocked' (known: Active, Closed, New, Removed, Resolved)" in error.message
    assert (error.line, error.column) == (STATUS_LINE, 19)
    assert f"incoming.star:{STATUS_LINE}:19" in error.frame


def test_defer_is_not_an_error_and_carries_its_reason():
    script = _incoming('    return defer("parent PROJ-7 is not synced yet")\n')

    with pytest.raises(Deferred) as caught:
        script.call([{}, None, {}])

    assert caught.value.kind == "defer" and caught.value.message == "parent PROJ-7 is not synced yet"
    assert caught.value.line == 2


def test_fail_stops_the_call_with_its_message_and_line():
    script = _incoming('    if not replica.get("summary"):\n        fail("a replica without a summary")\n    return {}\n')

    with pytest.raises(ScriptError) as caught:
        script.call([{}, None, {}])

    assert "a replica without a summary" in caught.value.message and caught.value.line == 3


def test_log_keeps_at_most_its_lines_each_cut_to_its_length():
    script = _incoming('    for i in range(200):\n        log("x" * 2000, i)\n    return None\n')

    outcome = script.call([{}, None, {}])

    assert len(outcome.logs) == LOG_LINES and all(len(line) == LOG_LINE_LIMIT for line in outcome.logs)
    assert outcome.value is None


def test_a_helper_failure_reaches_the_script_without_the_hosts_words():
    with pytest.raises(ScriptError) as caught:
        Script(MAPPING, "incoming").call(mapping_args(), LeakyHelpers())

    error = caught.value
    assert "users.by_email failed" in error.message
    assert "secret" not in str(error.to_json()).lower()


def test_a_helper_refusal_is_shown_in_its_own_words():
    class Refusing:
        def call(self, name, args):
            raise HelperError("no user with that e-mail")

    with pytest.raises(ScriptError, match="users.by_email: no user with that e-mail"):
        Script(MAPPING, "incoming").call(mapping_args(), Refusing())


def test_the_host_args_are_copied_not_mutated():
    args = mapping_args()
    script = _incoming('    replica["summary"] = "changed"\n    replica["labels"].append("x")\n    return replica\n')

    outcome = script.call(args)

    assert outcome.value["summary"] == "changed"
    assert args[0]["summary"] == "Checkout fails for EU cards" and args[0]["labels"] == ["customer", "payments"]


def test_check_accepts_the_mapping_script():
    assert check(MAPPING, "incoming") == []


def test_check_reports_a_parse_error_at_its_line_and_column():
    [diagnostic] = check("def incoming(replica, local, ctx):\n    x = 1 +\n    return x\n", "incoming")

    assert (diagnostic.severity, diagnostic.code, diagnostic.line, diagnostic.column) == ("error", "parse", 2, 12)
    assert "Parse error" in diagnostic.message


def test_check_reports_an_undefined_name():
    [diagnostic] = check("def incoming(replica, local, ctx):\n    return STATUS[replica['status']]\n", "incoming")

    assert (diagnostic.severity, diagnostic.code, diagnostic.line, diagnostic.column) == ("error", "eval", 2, 12)
    assert "STATUS" in diagnostic.message and "not found" in diagnostic.message


def test_check_reports_a_missing_entry_function():
    [diagnostic] = check("def incomming(replica, local, ctx):\n    return {}\n", "incoming")

    assert diagnostic.severity == "error" and diagnostic.code == "entry"
    assert diagnostic.message == "the script must define the function incoming(replica, local, ctx)"
    assert check(MAPPING, "outgoing")[0].message == "the script must define the function outgoing(item, replica, ctx)"


def test_check_warns_about_a_duplicate_key_at_its_line():
    [diagnostic] = check('def incoming(replica, local, ctx):\n    return {"a": 1, "a": 2}\n', "incoming")

    assert (diagnostic.severity, diagnostic.code, diagnostic.line, diagnostic.column) == (
        "warning", "duplicate-key", 2, 13)


def test_a_script_over_the_size_limit_is_refused():
    source = MAPPING + "#" * (64 * 1024)

    assert [d.code for d in check(source, "incoming")] == ["too-large"]
    with pytest.raises(ScriptError, match="larger than 64 KiB"):
        Script(source, "incoming")
