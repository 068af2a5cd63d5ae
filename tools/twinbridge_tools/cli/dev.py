"""``twinbridge dev``: runs local nodes (one process each, like separate stacks) and records their URLs."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from twinbridge_tools.cli.admin_client import AdminClient, CliError

DEFAULT_STATE_DIR = ".twinbridge"


def state_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("TWINBRIDGE_STATE_DIR") or DEFAULT_STATE_DIR)


def state_file(explicit: str | None = None) -> Path:
    return state_dir(explicit) / "dev.json"


def node_url(name: str, explicit_dir: str | None = None) -> str:
    path = state_file(explicit_dir)
    try:
        nodes = json.loads(path.read_text())["nodes"]
    except (OSError, ValueError, KeyError) as exc:
        raise CliError(
            f"no local nodes recorded in {path}: start them with 'twinbridge dev' first, or pass --url"
        ) from exc
    if name not in nodes:
        raise CliError(f"no local node named '{name}' in {path}; known: {', '.join(sorted(nodes))}")
    return nodes[name]["url"]


def port_problem(port: int, host: str = "127.0.0.1") -> str | None:
    """Why a node could not listen on ``port`` (``None``: it can). Binds the way the node's HTTP server does
    (SO_REUSEADDR, so a port left in TIME_WAIT by a node that just stopped counts as free) and lets go at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is in use"
            return f"cannot be used: {exc.strerror or exc}"
        except OverflowError:
            return "is out of range (1-65535)"
    return None


def check_ports(wanted: dict[str, int], hint: Callable[[], str], host: str = "127.0.0.1") -> None:
    """Before anything is spawned: every port in ``wanted`` (who -> port) can be bound on ``host``, and no two
    want the same one; otherwise a one-line CliError (exit 2) naming the port and who wanted it, then ``hint()``."""
    seen: dict[int, str] = {}
    for who, port in wanted.items():
        if port in seen:
            raise CliError(f"{seen[port]} and {who} cannot both listen on port {port}; {hint()}")
        seen[port] = who
        problem = port_problem(port, host)
        if problem:
            raise CliError(f"port {port} (wanted by {who}) {problem} on {host}; {hint()}")


def dev_ports_hint(public_port: int, private_port: int) -> str:
    """How to give 'twinbridge dev' other ports, suggesting a pair that is free right now when one is near."""
    gap = private_port - public_port or 10
    public, private = public_port + 100, public_port + 100 + gap
    for step in range(100, 1100, 100):
        candidate = (public_port + step, public_port + step + gap)
        if all(0 < port <= 65535 and port_problem(port) is None for port in candidate):
            public, private = candidate
            break
    return (
        f'make run ARGS="--public-port {public} --private-port {private}" '
        f"(or twinbridge dev --public-port {public} --private-port {private})"
    )


def run_single_node(args) -> int:
    """The child process: one node, in the foreground, until SIGTERM/SIGINT."""
    from twinbridge_tools.local.runtime import LocalNode, NodeOptions

    wanted = {f"node '{args.name}'": args.port}
    if args.aws_port:
        wanted[f"the embedded AWS of node '{args.name}'"] = args.aws_port
    check_ports(wanted, lambda: "choose another with --port" + (" / --aws-port" if args.aws_port else ""))
    node = LocalNode(
        NodeOptions(
            name=args.name,
            public=args.public,
            port=args.port,
            tracker_type=args.tracker_type,
            tracker_base_url=args.tracker_base_url or "",
            technical_user=args.technical_user,
            log_level=args.log_level,
            long_poll_seconds=args.long_poll_seconds,
            aws_port=args.aws_port,
            simulated_project=args.simulate_tracker,
            technical_user_guard=not getattr(args, "no_technical_user_guard", False),
        )
    )
    try:
        node.start()
    except OSError as exc:
        print(f"twinbridge: cannot start node {args.name} on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        try:
            node.stop()
        except Exception:  # half-started: stop what did start, report the start-up error
            pass
        return 2
    if args.info_file:
        _write_info(Path(args.info_file), node)
    signal.signal(signal.SIGTERM, lambda *_: node._stop.set())
    print(
        f"twinbridge node {args.name} ready on {node.url} ({'public' if args.public else 'private'}); "
        f"embedded AWS at {node.resources.endpoint if node.resources else '-'}",
        flush=True,
    )
    try:
        node.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


def _write_info(path: Path, node) -> None:
    """What a person needs to play with the node: its URL and, with a simulated tracker, who can sign in there."""
    info: dict = {"url": node.url}
    if node.tracker is not None:
        tracker = node.tracker
        info["tracker"] = {
            "type": tracker.kind,
            "url": tracker.base_url,
            "project": tracker.project,
            "technical_user": tracker.technical_user,
            "people": [
                {"name": p.name, "email": p.email, "account_id": p.account_id, "token": p.secret}
                for p in tracker.people[1:]
            ],  # the technical user's secret stays in the node's secret
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # the parent waits for the file: it appears complete or not at all
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(json.dumps(info, indent=2))
    os.chmod(partial, 0o600)
    os.replace(partial, path)


def spawn_node(
    name: str,
    public: bool,
    port: int,
    tracker_type: str,
    log_path: Path,
    log_level: str = "INFO",
    long_poll_seconds: float = 20.0,
    aws_port: int | None = None,
    simulate_project: str | None = None,
    info_file: Path | None = None,
    technical_user_guard: bool = True,
    new_session: bool = False,
) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
    command = [
        sys.executable,
        "-m",
        "twinbridge_tools.cli.main",
        "dev",
        "node",
        "--name",
        name,
        "--port",
        str(port),
        "--tracker-type",
        tracker_type,
        "--log-level",
        log_level,
        "--long-poll-seconds",
        str(long_poll_seconds),
    ]
    if public:
        command.append("--public")
    if aws_port:
        command += ["--aws-port", str(aws_port)]
    if simulate_project:
        command += ["--simulate-tracker", simulate_project]
    if info_file:
        command += ["--info-file", str(info_file)]
    if not technical_user_guard:
        command.append("--no-technical-user-guard")
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=new_session
    )


def wait_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    client = AdminClient(url, sigv4=False, timeout=2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
            raise CliError(f"node at {url} exited with code {process.returncode}:\n{tail}")
        try:
            client.request("GET", "/admin/v1/node")
            return
        except CliError:
            time.sleep(0.2)
    raise CliError(f"node at {url} did not become ready within {timeout:.0f} s (log: {log_path})")


def wait_started(name: str, process: subprocess.Popen, info_file: Path, log_path: Path, timeout: float = 180.0) -> dict:
    """Wait for a node spawned with ``info_file`` to write it (it does once its HTTP server listens) and return
    its content. The URL alone proves nothing: another process may answer on that port."""
    deadline = time.monotonic() + timeout
    while True:
        if info_file.exists():
            return json.loads(info_file.read_text())
        if process.poll() is not None:
            raise CliError(
                f"the {name} node exited during start-up (exit code {process.returncode})"
                f"{_last_words(log_path)}\n  its log: {log_path}"
            )
        if time.monotonic() > deadline:
            raise CliError(f"the {name} node did not start within {timeout:.0f} s; its log: {log_path}")
        time.sleep(0.1)


def _last_words(log_path: Path, lines: int = 12) -> str:
    try:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return ":\n" + "\n".join(f"  | {line}" for line in tail) if tail else ""


def run_dev(args) -> int:
    """Two nodes on loopback: a public one (Jira Cloud side) and a private one (Azure DevOps side), then the demo
    (connect them, sync an issue) unless ``--no-demo``; ``--scripted`` exits after the demo, non-zero if it failed.
    ``--mode script`` connects them in script mode and adds a status map to the demo (it needs the demo)."""
    directory = state_dir(args.state_dir)
    logs = directory / "logs"
    simulate = not getattr(args, "no_trackers", False)
    scripted = getattr(args, "scripted", False)
    demo = simulate and not getattr(args, "no_demo", False)
    mode = getattr(args, "mode", "basic") or "basic"
    if scripted and not demo:
        raise CliError("--scripted runs the demo: it needs the simulated trackers and cannot go with --no-demo")
    if mode != "basic" and not demo:
        raise CliError(
            f"--mode {mode} sets the mode of the demo's connection: it needs the demo (and its simulated trackers), so "
            "it cannot go with --no-demo or --no-trackers; without the demo choose the mode with "
            f"'twinbridge connection initiate ... --mode {mode}'"
        )
    nodes = {
        "public": {"public": True, "port": args.public_port, "tracker": "jira-cloud", "project": "ACME"},
        "private": {"public": False, "port": args.private_port, "tracker": "azure-devops", "project": "BETA"},
    }
    if args.public_port == args.private_port:
        raise CliError(
            f"--public-port and --private-port are both {args.public_port}: each node needs a port of its "
            f"own, e.g. {dev_ports_hint(args.public_port, args.private_port)}"
        )

    def hint() -> str:
        return "is another 'twinbridge dev' running? Stop it, or choose other ports: " + dev_ports_hint(
            args.public_port, args.private_port
        )

    check_ports({f"the {name} node": spec["port"] for name, spec in nodes.items()}, hint)
    processes: dict[str, subprocess.Popen] = {}
    signal.signal(signal.SIGTERM, _interrupt)  # terminating 'twinbridge dev' stops its nodes too, as Ctrl-C does
    try:
        for name, spec in nodes.items():
            info = directory / "nodes" / f"{name}.json"
            info.unlink(missing_ok=True)
            processes[name] = spawn_node(
                name,
                spec["public"],
                spec["port"],
                spec["tracker"],
                logs / f"{name}.log",
                args.log_level,
                simulate_project=spec["project"] if simulate else None,
                info_file=info,
            )
        for name, spec in nodes.items():
            try:
                spec["info"] = wait_started(
                    name, processes[name], directory / "nodes" / f"{name}.json", logs / f"{name}.log"
                )
            except CliError as exc:
                problem = port_problem(spec["port"]) if processes[name].poll() is not None else None
                if problem:  # the node is gone, so whoever holds its port took it after the check
                    raise CliError(f"{exc.message}\n  port {spec['port']} {problem}; {hint()}") from None
                raise
            wait_ready(spec["info"]["url"], processes[name], logs / f"{name}.log", timeout=30)
        directory.mkdir(parents=True, exist_ok=True)
        state_file(args.state_dir).write_text(
            json.dumps(
                {
                    "nodes": {
                        name: {
                            "url": f"http://127.0.0.1:{spec['port']}",
                            "public": spec["public"],
                            "tracker": spec["tracker"],
                            "tracker_url": spec["info"].get("tracker", {}).get("url"),
                            "log": str(logs / f"{name}.log"),
                            "pid": processes[name].pid,
                        }
                        for name, spec in nodes.items()
                    }
                },
                indent=2,
            )
        )
        if demo:
            print(_header(nodes, logs, mode), flush=True)
            completed = _run_demo(nodes, logs, scripted, args.state_dir, mode)
            if scripted:
                return 0 if completed else 1
        else:
            print(_banner(nodes, logs), flush=True)
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        failed = [name for name, process in processes.items() if process.returncode not in (None, 0)]
        if failed:
            print(f"twinbridge: node(s) {', '.join(failed)} stopped unexpectedly; see {logs}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("\nstopping local nodes...", flush=True)
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run_demo(nodes: dict, logs: Path, scripted: bool, explicit_dir: str | None, mode: str = "basic") -> bool:
    """The story of twinbridge_tools.cli.demo; False (after saying which step failed) when it did not complete."""
    from twinbridge_tools.cli.demo import DemoNode, DemoStepError, run_demo

    public, private = (
        DemoNode(name, f"http://127.0.0.1:{nodes[name]['port']}", logs / f"{name}.log", nodes[name]["info"]["tracker"])
        for name in ("public", "private")
    )
    try:
        run_demo(public, private, scripted=scripted, state_dir=explicit_dir, mode=mode)
        return True
    except DemoStepError as exc:
        print(f"\ntwinbridge: {exc.message}", file=sys.stderr, flush=True)
        if not scripted:
            print(f"\nThe nodes keep running (see the logs).{_trackers(nodes)}\nCtrl-C stops both nodes.", flush=True)
        return False


def _header(nodes: dict, logs: Path, mode: str = "basic") -> str:
    pub, priv = nodes["public"], nodes["private"]
    return f"""
twinbridge local runtime is up (embedded AWS: moto server mode; no AWS account, no Docker)

  public  node  http://127.0.0.1:{pub["port"]}   jira-cloud    peer routes open
  private node  http://127.0.0.1:{priv["port"]}   azure-devops  no peer routes: it only calls out (long-polls the public node)
  logs: {logs}/
{_mode_line(mode)}"""


def _mode_line(mode: str) -> str:
    """Script mode only (basic mode's header is unchanged): what the demo's connection does differently."""
    if mode != "script":
        return ""
    return (
        "  demo connection: script mode (--mode script): each node publishes incoming rules with a status map\n"
        "  (Jira In Progress -> Azure DevOps Active, Azure DevOps Closed -> Jira Done)\n"
    )


def _trackers(nodes: dict) -> str:
    lines = []
    for name, spec in nodes.items():
        tracker = spec.get("info", {}).get("tracker")
        if not tracker:
            continue
        lines.append(
            f"  {name} node's simulated {tracker['type']}: {tracker['url']}  project {tracker['project']}"
            f"  (technical user {tracker['technical_user']}; webhooks to the node)"
        )
        for person in tracker["people"]:
            lines.append(f"      sign in as {person['email']}, token {person['token']}")
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def _banner(nodes: dict, logs: Path) -> str:
    return f"""{_header(nodes, logs)}{_trackers(nodes)}
From a second shell, connect them with an invitation (the private side has no URL):

  twinbridge --node public connection initiate --name "Acme <-> Beta" \\
      --local-short-name acme --remote-short-name beta --project ACME --no-partner-url
  twinbridge --node private connection accept <CODE printed above> --project BETA

  twinbridge --node private connection list
  twinbridge --node private connection test <ID>     # remote ping OK
  twinbridge --node public  connection test <ID>     # remote test skipped: the partner is private

Add --mode script to 'connection initiate' for a script-mode connection (rules: twinbridge rules --help), or let
the demo show one: twinbridge dev --mode script (make run ARGS="--mode script").

Ctrl-C stops both nodes.
"""
