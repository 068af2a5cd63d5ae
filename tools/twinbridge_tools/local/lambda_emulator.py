"""Run a template function's handler like Lambda does: each container is its own process, runs one
invocation at a time, and more containers start on demand (cold starts) with the function's timeout.

Process isolation matters: Powertools' resolver keeps the current event on the class, which is right
in Lambda (one event per process at a time) and wrong for threads sharing one interpreter.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import traceback
import uuid
from typing import Any

from twinbridge_tools.local.template import FunctionSpec

MAX_CONTAINERS = 64  # Lambda would allow far more; every held long-poll occupies one
_SPAWN = multiprocessing.get_context("spawn")


class LocalLambdaContext:
    def __init__(self, function_name: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _container_main(
    module_path: str, handler_name: str, function_name: str, timeout: float, connection, withheld: tuple[str, ...] = ()
) -> None:
    """The container process: drop the variables this function is not given, load the handler once (the cold
    start), then serve invocations."""
    import importlib.util
    import os

    for name in withheld:
        os.environ.pop(name, None)

    spec = importlib.util.spec_from_file_location("app", module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a handler module from {module_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name)
    connection.send(("ready", None))
    while True:
        try:
            event = connection.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if event is None:
            return
        try:
            connection.send(("ok", handler(event, LocalLambdaContext(function_name, timeout))))
        except Exception as exc:  # Lambda reports the error; API Gateway turns it into a 500
            connection.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


class InvocationError(RuntimeError):
    """The handler raised (or its container died): what Lambda reports as a function error."""


class _Container:
    def __init__(self, spec: FunctionSpec, function_name: str, withheld: tuple[str, ...] = ()) -> None:
        self._connection, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(
            target=_container_main,
            args=(str(spec.module_path), spec.handler_name, function_name, float(spec.timeout), child, withheld),
            name=f"lambda-{function_name}",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._function_name = function_name
        self._ready = False
        self._ready_lock = threading.Lock()
        self.lock = threading.Lock()

    def wait_ready(self) -> _Container:
        """Block until the handler module is loaded (the cold start is over)."""
        with self._ready_lock:
            if not self._ready:
                status, _ = self._receive()
                if status != "ready":
                    raise InvocationError(f"container for {self._function_name} failed to start")
                self._ready = True
        return self

    def _receive(self) -> tuple[str, Any]:
        try:
            return self._connection.recv()
        except EOFError as exc:
            raise InvocationError(f"the container process exited (code {self._process.exitcode})") from exc

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def invoke(self, event: dict[str, Any]) -> Any:
        self.wait_ready()
        self._connection.send(event)
        status, value = self._receive()
        if status == "error":
            raise InvocationError(value)
        return value

    def stop(self) -> None:
        try:
            self._connection.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.terminate()


class LambdaEmulator:
    def __init__(self, spec: FunctionSpec, node: str, withheld: tuple[str, ...] = ()) -> None:
        """``withheld``: environment variables of the node process this function's containers do not get."""
        self.spec = spec
        self.function_name = f"{node}-{spec.logical_id}"
        self.withheld = withheld
        self._containers: list[_Container] = []
        self._available = threading.Condition(threading.Lock())

    def prewarm(self) -> _Container:
        """Start one container now (it loads in the background; ``wait_ready`` joins it)."""
        container = _Container(self.spec, self.function_name, self.withheld)
        with self._available:
            self._containers.append(container)
        return container

    def _acquire(self) -> _Container:
        with self._available:
            while True:
                self._containers = [c for c in self._containers if c.alive or c.lock.locked()]
                for container in self._containers:
                    if container.lock.acquire(blocking=False):
                        return container
                if len(self._containers) < MAX_CONTAINERS:
                    break
                self._available.wait(0.5)  # throttled: every container is busy
        container = _Container(self.spec, self.function_name, self.withheld)  # a cold start, outside the pool lock
        container.lock.acquire()
        try:
            container.wait_ready()
        except InvocationError:
            container.lock.release()
            raise
        with self._available:
            self._containers.append(container)
        return container

    def invoke(self, event: dict[str, Any]) -> Any:
        container = self._acquire()
        try:
            return container.invoke(event)
        finally:
            container.lock.release()
            with self._available:
                self._available.notify()

    def stop(self) -> None:
        with self._available:
            containers, self._containers = self._containers, []
        for container in containers:
            container.stop()
