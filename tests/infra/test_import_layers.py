"""The layer rule of docs/architecture.md holds for every import, and the checker catches each way to break it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.import_layers import LAYERS, source_files, violations
from tests.support import REPO


def test_every_import_follows_the_layer_rule():
    found = violations(REPO)
    assert found == [], "imports against the layer rule (docs/architecture.md):\n" + "\n".join(found)


def test_every_runtime_package_is_in_a_layer():
    packages = {path.relative_to(REPO / "shared" / "twinbridge").parts[0].removesuffix(".py")
                for path in (REPO / "shared" / "twinbridge").iterdir()
                if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists())}
    named = set().union(*LAYERS)
    assert packages - {"__init__"} <= named, (
        f"packages missing from the rule: {sorted(packages - named - {'__init__'})}"
    )
    assert source_files(REPO), "the checker found no source files"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A minimal copy of the repository layout holding ``files`` (path -> source)."""
    for relative, source in {"shared/twinbridge/__init__.py": "", **files}.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name not in ("twinbridge", "shared", "functions", "tools") and path.name != "__init__.py":
            (path.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    (tmp_path / "functions").mkdir(exist_ok=True)
    (tmp_path / "tools").mkdir(exist_ok=True)
    return tmp_path


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from twinbridge.services import sync_in\n", "services is in a layer above models"),
        ("def later():\n    from twinbridge.wiring import wiring\n", "(lazy)"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from twinbridge.store.twins import TwinRepository\n",
            "(TYPE_CHECKING)",
        ),
        ("from twinbridge import services\n", "imports twinbridge.services"),
    ],
)
def test_an_upward_import_is_caught_whichever_way_it_is_written(tmp_path, source, expected):
    root = _tree(tmp_path, {"shared/twinbridge/models/twin.py": source})

    [reason] = violations(root)

    assert "shared/twinbridge/models/twin.py" in reason and expected in reason


def test_siblings_in_one_layer_never_import_each_other(tmp_path):
    root = _tree(tmp_path, {"shared/twinbridge/sync/rules.py": "from twinbridge.trackers.base import TrackerClient\n"})

    [reason] = violations(root)

    assert "siblings" in reason and "trackers" in reason


def test_a_downward_import_is_fine(tmp_path):
    root = _tree(
        tmp_path,
        {
            "shared/twinbridge/services/use_case.py": "from twinbridge.store.twins import TwinRepository\n"
            "from twinbridge.models.twin import Twin\nfrom . import other\n",
            "shared/twinbridge/services/other.py": "from twinbridge.errors import TwinbridgeError\n",
        },
    )

    assert violations(root) == []


@pytest.mark.parametrize(
    "path, source, expected",
    [
        (
            "shared/twinbridge/services/loader.py",
            "import importlib\n",
            "only scripting, twinbridge_tools.local may import importlib",
        ),
        ("shared/twinbridge/services/loader.py", "def f(name):\n    return __import__(name)\n", "importlib"),
        ("shared/twinbridge/sync/rules.py", "import requests\n", "may import requests"),
        ("shared/twinbridge/models/twin.py", "def f():\n    import boto3\n", "may import boto3"),
        (
            "shared/twinbridge/sync/rules.py",
            "from aws_lambda_powertools import Logger\n",
            "may import aws_lambda_powertools",
        ),
        (
            "shared/twinbridge/store/twins.py",
            "from twinbridge_tools.simulators import jira\n",
            "never imports twinbridge_tools",
        ),
    ],
)
def test_forbidden_modules_are_caught(tmp_path, path, source, expected):
    [reason] = violations(_tree(tmp_path, {path: source}))

    assert expected in reason


def test_the_local_runtime_may_load_handlers_by_name(tmp_path):
    root = _tree(
        tmp_path,
        {
            "tools/twinbridge_tools/local/emulator.py": "import importlib\n",
            "tools/twinbridge_tools/cli/main.py": "import importlib\n",
        },
    )

    [reason] = violations(root)

    assert reason.startswith("tools/twinbridge_tools/cli/main.py")
