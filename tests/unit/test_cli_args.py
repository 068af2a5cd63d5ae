"""The ``twinbridge`` command line: global options anywhere, and 'twinbridge dev' refusing taken ports up front
(parsing and the port check only: no node is started, nothing leaves loopback)."""

from __future__ import annotations

import json
import socket
import stat
from types import SimpleNamespace

import pytest

from twinbridge_tools.cli import dev
from twinbridge_tools.cli.admin_client import CliError
from twinbridge_tools.cli.main import _parser, main
from twinbridge_tools.local.aws import free_port

GLOBALS = {"url": None, "node": None, "json": False, "region": None, "profile": None, "state_dir": None}


def parse(*argv: str) -> dict:
    return vars(_parser().parse_args(list(argv)))


@pytest.fixture
def taken_port():
    """A port some other process listens on (as a running 'twinbridge dev' node does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# --- global options anywhere -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["--json", "connection", "list"],
    ["connection", "list", "--json"],
    ["connection", "--json", "list"],
])
def test_json_before_or_after_the_command_parses_the_same(argv):
    assert parse(*argv) == {**GLOBALS, "json": True, "command": "connection", "connection_command": "list"}


@pytest.mark.parametrize("argv", [
    ["--node", "public", "sync", "status", "ACME-1"],
    ["sync", "status", "ACME-1", "--node", "public"],
    ["sync", "status", "--node", "public", "ACME-1"],
    ["sync", "--node", "public", "status", "ACME-1"],
])
def test_node_before_or_after_the_command_parses_the_same(argv):
    assert parse(*argv) == {**GLOBALS, "node": "public", "command": "sync", "sync_command": "status",
                            "item": "ACME-1", "connection": None}


def test_every_global_option_is_accepted_after_the_sub_subcommand():
    before = parse("--url", "https://x.example/", "--region", "eu-west-1", "--profile", "ops", "--state-dir", "/s",
                   "--node", "public", "--json", "connection", "show", "c-1")
    after = parse("connection", "show", "c-1", "--url", "https://x.example/", "--region", "eu-west-1",
                  "--profile", "ops", "--state-dir", "/s", "--node", "public", "--json")
    assert before == after == {"url": "https://x.example/", "node": "public", "json": True, "region": "eu-west-1",
                               "profile": "ops", "state_dir": "/s", "command": "connection",
                               "connection_command": "show", "id": "c-1"}


@pytest.mark.parametrize("argv", [
    ["node", "info"],
    ["connection", "list"],
    ["sync", "errors"],
    ["dev"],
    ["dev", "node", "--name", "solo", "--port", "9000"],
])
def test_a_global_option_given_before_the_command_is_not_reset_by_the_subcommands(argv):
    parsed = parse("--url", "http://127.0.0.1:9", "--json", "--state-dir", "/s", *argv)
    assert (parsed["url"], parsed["json"], parsed["state_dir"]) == ("http://127.0.0.1:9", True, "/s")
    plain = parse(*argv)
    assert {key: plain[key] for key in GLOBALS} == GLOBALS  # and every command still gets the defaults


def test_state_dir_after_dev_and_after_dev_node():
    assert parse("dev", "--no-demo", "--state-dir", "/s")["state_dir"] == "/s"
    single = parse("dev", "node", "--name", "solo", "--port", "9000", "--state-dir", "/s")
    assert (single["dev_command"], single["port"], single["state_dir"]) == ("node", 9000, "/s")


def test_the_later_of_two_values_wins():
    assert parse("--node", "private", "connection", "list", "--node", "public")["node"] == "public"


def test_subcommand_options_are_still_checked(capsys):
    with pytest.raises(SystemExit) as exited:
        parse("connection", "list", "--no-such-option")
    assert exited.value.code == 2 and "--no-such-option" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["connection", "list", "--help"], ["sync", "status", "--help"]])
def test_help_lists_the_global_options_once_under_their_own_heading(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.count("global options (accepted anywhere") == 1
    assert out.count("  --json ") == 1 and out.count("  --state-dir STATE_DIR") == 1


@pytest.mark.parametrize("value", ["0", "65536", "http"])
def test_ports_out_of_range_are_refused_by_the_parser(value, capsys):
    with pytest.raises(SystemExit) as exited:
        parse("dev", "--public-port", value)
    assert exited.value.code == 2 and "--public-port" in capsys.readouterr().err


def test_the_cli_reaches_a_node_given_after_the_command(capsys):
    # nothing listens on port 9: the error says which URL it tried, so --url after the command was used
    assert main(["node", "info", "--url", "http://127.0.0.1:9"]) == 3
    assert "127.0.0.1:9" in capsys.readouterr().err


# --- 'twinbridge dev': ports checked before anything is spawned --------------------------------------------


def test_port_problem_tells_a_taken_port_from_a_free_one(taken_port):
    assert dev.port_problem(taken_port) == "is in use"
    assert dev.port_problem(free_port()) is None


def test_check_ports_names_the_port_and_who_wanted_it(taken_port):
    with pytest.raises(CliError) as refused:
        dev.check_ports({"the public node": free_port(), "the private node": taken_port}, lambda: "pick others")
    assert refused.value.exit_code == 2
    assert refused.value.message == (
        f"port {taken_port} (wanted by the private node) is in use on 127.0.0.1; pick others")


@pytest.mark.parametrize("taken_by", ["public", "private"])
def test_dev_refuses_a_taken_port_in_one_line_before_spawning_anything(taken_by, taken_port, tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.setattr(dev, "spawn_node", lambda *a, **k: pytest.fail("a node was spawned"))
    ports = {"public": free_port(), "private": free_port(), taken_by: taken_port}
    state = tmp_path / "state"
    code = main(["--state-dir", str(state), "dev", "--public-port", str(ports["public"]),
                 "--private-port", str(ports["private"])])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"port {taken_port} (wanted by the {taken_by} node) is in use" in err
    assert 'make run ARGS="--public-port ' in err and "twinbridge dev --public-port " in err
    assert not state.exists()  # a running instance's records (nodes/*.json, dev.json) are left alone


def test_the_suggested_ports_are_free(taken_port, capsys):
    assert main(["dev", "--public-port", str(taken_port), "--private-port", str(free_port())]) == 2
    err = capsys.readouterr().err
    suggested = err.split('make run ARGS="')[1].split('"')[0].split()
    public, private = int(suggested[1]), int(suggested[3])
    assert public != private and dev.port_problem(public) is None and dev.port_problem(private) is None


def test_dev_refuses_the_same_port_for_both_nodes(capsys):
    port = str(free_port())
    assert main(["dev", "--public-port", port, "--private-port", port]) == 2
    err = capsys.readouterr().err
    assert "--public-port and --private-port are both" in err and "Traceback" not in err


def test_dev_node_refuses_a_taken_port_before_starting(taken_port, capsys):
    assert main(["dev", "node", "--name", "solo", "--port", str(taken_port)]) == 2
    err = capsys.readouterr().err
    assert f"port {taken_port} (wanted by node 'solo') is in use" in err and "--port" in err


# --- a node that dies during start-up ------------------------------------------------------------------------


class _Exited:
    returncode = 1
    pid = 0

    def poll(self):
        return self.returncode


def test_a_node_that_dies_during_start_up_is_named_with_its_log(tmp_path):
    log = tmp_path / "logs" / "public.log"
    log.parent.mkdir()
    log.write_text("starting\nTraceback (most recent call last):\nRuntimeError: moto would not start\n")
    with pytest.raises(CliError) as failed:
        dev.wait_started("public", _Exited(), tmp_path / "nodes" / "public.json", log, timeout=5)
    message = failed.value.message
    assert message.startswith("the public node exited during start-up (exit code 1)")
    assert "RuntimeError: moto would not start" in message and message.endswith(f"its log: {log}")


def test_wait_started_returns_the_info_the_node_wrote(tmp_path):
    info = tmp_path / "nodes" / "public.json"
    dev._write_info(info, SimpleNamespace(url="http://127.0.0.1:8710", tracker=None))
    assert stat.S_IMODE(info.stat().st_mode) == 0o600 and [p.name for p in info.parent.iterdir()] == ["public.json"]
    assert dev.wait_started("public", _Exited(), info, tmp_path / "public.log") == json.loads(info.read_text())


# --- rules ---------------------------------------------------------------------------------------------------


def test_rules_commands_take_a_connection_a_direction_and_a_version():
    assert parse("rules", "show", "c-1", "--direction", "incoming", "--version", "draft", "--json") == {
        **GLOBALS, "json": True, "command": "rules", "rules_command": "show", "connection": "c-1",
        "direction": "incoming", "version": "draft"}
    assert parse("rules", "rollback", "c-1", "--direction", "outgoing", "--version", "0")["version"] == "0"
    assert parse("rules", "publish", "c-1", "--direction", "outgoing")["version"] is None
    assert parse("rules", "save", "c-1", "--direction", "outgoing", "--file", "-")["file"] == "-"


@pytest.mark.parametrize("argv", [
    ["rules", "show", "c-1"],  # no direction
    ["rules", "show", "c-1", "--direction", "sideways"],
    ["rules", "publish", "c-1", "--direction", "outgoing", "--version", "draft"],
    ["rules", "rollback", "c-1", "--direction", "outgoing"],  # rollback needs a version
    ["rules", "save", "c-1", "--direction", "outgoing"],  # save needs --file
])
def test_rules_commands_refuse_incomplete_or_wrong_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2 and capsys.readouterr().err


# --- 'twinbridge dev --mode': the demo connection's mode ----------------------------------------------------


def test_dev_mode_is_basic_unless_script_is_asked_for():
    assert parse("dev")["mode"] == "basic"
    assert parse("dev", "--mode", "basic")["mode"] == "basic"
    scripted = parse("dev", "--scripted", "--mode", "script", "--public-port", "8810")
    assert (scripted["mode"], scripted["scripted"], scripted["public_port"]) == ("script", True, 8810)
    assert parse("dev", "--mode", "script", "--scripted")["mode"] == "script"  # in any order


def test_dev_mode_must_be_basic_or_script(capsys):
    with pytest.raises(SystemExit) as exited:
        parse("dev", "--mode", "scripted")
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--mode" in err and "'basic', 'script'" in err


def test_dev_help_explains_the_script_mode_demo(capsys):
    with pytest.raises(SystemExit):
        parse("dev", "--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "--mode {basic,script}" in out and "status map" in out and "(default: basic)" in out


@pytest.mark.parametrize("without_demo", ["--no-demo", "--no-trackers"])
def test_dev_mode_script_without_the_demo_is_refused_before_spawning_anything(without_demo, tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setattr(dev, "spawn_node", lambda *a, **k: pytest.fail("a node was spawned"))
    state = tmp_path / "state"
    code = main(["--state-dir", str(state), "dev", "--mode", "script", without_demo,
                 "--public-port", str(free_port()), "--private-port", str(free_port())])
    err = capsys.readouterr().err
    assert code == 2 and "--mode script sets the mode of the demo's connection" in err
    assert "connection initiate ... --mode script" in err and "Traceback" not in err
    assert not state.exists()
