"""The SharedLayer's shared/requirements.txt ships exactly what pyproject.toml declares for the runtime."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import REPO


def _normalized(lines: list[str]) -> dict[str, tuple[tuple[str, ...], str, str]]:
    """name -> (extras, specifier, marker), with names canonicalized and whitespace/comments ignored."""
    found: dict[str, tuple[tuple[str, ...], str, str]] = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name not in found, f"{requirement.name} is listed twice"
        found[name] = (tuple(sorted(requirement.extras)), str(requirement.specifier), str(requirement.marker or ""))
    return found


def _layer_requirements() -> dict[str, tuple[tuple[str, ...], str, str]]:
    return _normalized((REPO / "shared" / "requirements.txt").read_text(encoding="utf-8").splitlines())


def _project_dependencies() -> dict[str, tuple[tuple[str, ...], str, str]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return _normalized(project["dependencies"])


def test_layer_requirements_equal_project_dependencies():
    assert _layer_requirements() == _project_dependencies()


def test_runtime_dependencies_are_pinned_exactly():
    loose = {
        name: spec for name, (_, spec, _) in _layer_requirements().items() if not spec.startswith("==") or "," in spec
    }
    assert not loose, f"the layer must be reproducible; pin with ==: {loose}"
