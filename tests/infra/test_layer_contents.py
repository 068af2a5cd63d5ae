"""What ships in the Lambda layer: SharedLayer is built from shared/, which holds the runtime package and its
pinned requirements, nothing else (the CLI, local runtime and simulators live in tools/, decision 15)."""

from __future__ import annotations

from tests.support import REPO


def test_the_layer_source_holds_only_the_runtime_package_and_its_requirements():
    shipped = {path.name for path in (REPO / "shared").iterdir() if not path.name.endswith(".egg-info")}

    assert shipped == {"requirements.txt", "twinbridge"}


def test_no_dev_tooling_inside_the_runtime_package():
    packages = {path.name for path in (REPO / "shared" / "twinbridge").iterdir() if path.is_dir()}

    assert not packages & {"cli", "local", "simulators"}, "dev tooling belongs in tools/twinbridge_tools"
