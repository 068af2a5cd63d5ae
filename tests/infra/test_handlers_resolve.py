"""Every function in template.yaml points at a module that exists, imports cold, and exposes a callable handler."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import REPO
from twinbridge_tools.local.template import functions

FUNCTIONS = functions()
FUNCTION_DIRS = sorted(path for path in (REPO / "functions").iterdir() if path.is_dir() and path.name != "__pycache__")


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.logical_id)
def test_handler_module_exists_under_code_uri(spec):
    assert Path(spec.code_uri).parent == Path("functions"), f"{spec.logical_id}: CodeUri must be functions/<name>/"
    assert spec.module_path.is_file(), f"{spec.logical_id}: {spec.code_uri} + {spec.handler} -> no {spec.module_path}"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.logical_id)
def test_handler_imports_cold_and_is_callable(spec):
    """Imported in a fresh interpreter (nothing cached by other tests) with only the test environment."""
    probe = textwrap.dedent(
        f"""
        import importlib, pathlib, sys
        module = importlib.import_module({spec.import_name!r})
        assert pathlib.Path(module.__file__).resolve() == pathlib.Path({str(spec.module_path)!r}).resolve(), module.__file__
        handler = getattr(module, {spec.handler_name!r}, None)
        sys.exit(0 if callable(handler) else "no callable {spec.handler_name} in " + module.__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{spec.logical_id} ({spec.import_name}):\n{result.stderr}"


@pytest.mark.parametrize("directory", FUNCTION_DIRS, ids=lambda path: path.name)
def test_function_directory_holds_only_app_and_init(directory):
    found = {path.name for path in directory.iterdir() if path.name != "__pycache__"}
    assert found == {"app.py", "__init__.py"}, (
        f"helpers belong in shared/twinbridge/, not beside app.py: {sorted(found)}"
    )


def test_every_function_directory_is_deployed():
    deployed = {Path(spec.code_uri).name for spec in FUNCTIONS}
    assert deployed == {path.name for path in FUNCTION_DIRS}
