"""The import rule of docs/architecture.md, checked over the source: every import statement (top-level, inside a
function, under TYPE_CHECKING) of every module under shared/twinbridge, functions/ and tools/."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Top to bottom. A package may import its own modules and those of LOWER layers only: never a layer above,
# never a sibling in its own layer (so sync never imports trackers, store never imports peers).
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"functions", "twinbridge_tools"}),  # Lambda handlers; the admin CLI, local runtime, simulators
    frozenset({"wiring"}),  # the composition root
    frozenset({"http"}),  # Lambda HTTP glue: inputs, webhook authentication, the error table
    frozenset({"services"}),  # use cases, taking typed ports (services/deps.py)
    frozenset({"sync", "scripting", "store", "trackers", "peers"}),  # pure rules, the script engine; AWS, tracker and partner adapters
    frozenset({"richtext"}),  # rich-text formats through one canonical tree
    frozenset({"settings"}),
    frozenset({"models"}),
    frozenset({"errors", "encoding", "loopback", "streams", "observability", "crashpoints"}),
)
LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}

# Third-party modules only some packages may import (AWS plumbing and HTTP stay at the edges).
RESTRICTED = {
    "boto3": {"store", "wiring", "functions", "twinbridge_tools"},
    "botocore": {"store", "wiring", "functions", "twinbridge_tools"},
    "mypy_boto3_dynamodb": {"store", "services", "wiring"},  # types only (TYPE_CHECKING)
    "mypy_boto3_s3": {"store"},
    "mypy_boto3_sqs": {"wiring"},
    "mypy_boto3_secretsmanager": {"store"},
    "requests": {"trackers", "peers", "twinbridge_tools"},
    "urllib3": {"trackers", "peers", "twinbridge_tools"},
    "aws_lambda_powertools": {"functions", "wiring", "http", "services", "store", "observability", "trackers",
                              "peers", "twinbridge_tools"},
    # the local runtime loads handlers from template.yaml's CodeUri; the script runner only locates starlark
    # (find_spec) to hand its path to the worker, without loading it
    "importlib": {"twinbridge_tools.local", "scripting"},
}


@dataclass(frozen=True)
class Import:
    path: str
    line: int
    importer: str  # package of the importing module (see package_of)
    module: str  # the imported module, absolute
    how: str  # "top-level", "lazy" or "TYPE_CHECKING"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.module} ({self.how})"


def package_of(path: Path, root: Path) -> tuple[str, str]:
    """(package, dotted module) of a source file: functions/x/app.py -> functions; shared/twinbridge/sync/a.py -> sync;
    shared/twinbridge/settings.py -> settings; tools/twinbridge_tools/local/x.py -> twinbridge_tools."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[0] == "functions":
        return "functions", ".".join(parts)
    if parts[0] == "tools":
        return "twinbridge_tools", ".".join(parts[1:])
    dotted = ".".join(p for p in parts[1:] if p != "__init__")
    package = parts[2] if len(parts) > 2 else "root"
    return ("root" if package == "__init__" else package), dotted


def imports(path: Path, root: Path) -> Iterator[Import]:
    package, dotted = package_of(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    lazy = {
        id(node)
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(func)
    }
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module
                base = dotted.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # `from twinbridge import errors` imports the module twinbridge.errors
            names = [
                f"{module}.{alias.name}" if module in ("twinbridge", "twinbridge_tools") else module
                for alias in node.names
            ]
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("__import__", "importlib.import_module"):
            names = ["importlib"]
        else:
            continue
        how = "TYPE_CHECKING" if id(node) in guarded else "lazy" if id(node) in lazy else "top-level"
        for name in names:
            yield Import(str(path.relative_to(root)), node.lineno, package, name, how)


def _target_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "twinbridge":
        return parts[1] if len(parts) > 1 else "root"
    if parts[0] == "twinbridge_tools":
        return "twinbridge_tools"
    if parts[0] == "functions":
        return "functions"
    return None


def violation(found: Import) -> str | None:
    """Why ``found`` breaks the rule, or None."""
    importer, module = found.importer, found.module
    first = module.split(".")[0]
    if first in RESTRICTED:
        allowed = RESTRICTED[first]
        subpackage = ".".join(found.path.replace("/", ".").split(".")[1:3]) if found.path.startswith("tools/") else ""
        if importer not in allowed and subpackage not in allowed:
            return f"{found}: only {', '.join(sorted(allowed))} may import {first}"
        return None
    target = _target_package(module)
    if target is None or target == importer or target == "root":
        return None
    if importer == "twinbridge_tools":
        return None  # the tools stand on top of everything
    if target in ("twinbridge_tools", "functions"):
        return f"{found}: the runtime package never imports {target}"
    if importer not in LAYER_OF or target not in LAYER_OF:
        return f"{found}: {importer if importer not in LAYER_OF else target} is in no layer of the rule"
    if LAYER_OF[target] < LAYER_OF[importer]:
        return f"{found}: {target} is in a layer above {importer}"
    if LAYER_OF[target] == LAYER_OF[importer]:
        return f"{found}: {target} and {importer} are siblings in one layer and never import each other"
    return None


def source_files(root: Path) -> list[Path]:
    return sorted(
        [
            *(root / "shared" / "twinbridge").rglob("*.py"),
            *(root / "functions").rglob("*.py"),
            *(root / "tools").rglob("*.py"),
        ]
    )


def violations(root: Path) -> list[str]:
    return [reason for path in source_files(root) for found in imports(path, root) if (reason := violation(found))]
