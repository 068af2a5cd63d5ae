"""Run a template function's handler like Lambda does: one invocation per container at a time, more
containers on demand, a context with the function's real timeout. Each container loads its own copy of
the handler module, so concurrent invocations (a long-poll beside a push) never share request state."""

from __future__ import annotations

import importlib.util
import itertools
import threading
import time
import uuid
from typing import Any

from twinbridge.local.template import FunctionSpec

MAX_CONTAINERS = 16


class LocalLambdaContext:
    def __init__(self, spec: FunctionSpec, node: str) -> None:
        self.function_name = f"{node}-{spec.logical_id}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:000000000000:function:{self.function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Container:
    _serial = itertools.count(1)

    def __init__(self, spec: FunctionSpec) -> None:
        name = f"_twinbridge_local_{spec.logical_id}_{next(self._serial)}"
        module_spec = importlib.util.spec_from_file_location(name, spec.module_path)
        if module_spec is None or module_spec.loader is None:
            raise RuntimeError(f"cannot load {spec.module_path} for {spec.logical_id}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        self.handler = getattr(module, spec.handler_name)
        self.lock = threading.Lock()


class LambdaEmulator:
    def __init__(self, spec: FunctionSpec, node: str) -> None:
        self.spec = spec
        self._node = node
        self._containers: list[_Container] = []
        self._pool_lock = threading.Lock()
        self._available = threading.Condition(self._pool_lock)

    def _acquire(self) -> _Container:
        with self._available:
            while True:
                for container in self._containers:
                    if container.lock.acquire(blocking=False):
                        return container
                if len(self._containers) < MAX_CONTAINERS:
                    container = _Container(self.spec)  # a cold start
                    container.lock.acquire()
                    self._containers.append(container)
                    return container
                self._available.wait(0.5)  # throttled: every container busy

    def invoke(self, event: dict[str, Any]) -> Any:
        container = self._acquire()
        try:
            return container.handler(event, LocalLambdaContext(self.spec, self._node))
        finally:
            container.lock.release()
            with self._available:
                self._available.notify()
