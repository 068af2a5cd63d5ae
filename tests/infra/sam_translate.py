"""Print template.yaml as CloudFormation after the SAM transform (run by .venv-tools' python, offline).

Usage: python sam_translate.py TEMPLATE [Name=Value ...]
"""

from __future__ import annotations

import json
import sys


class _NoManagedPolicies:
    """The template names no AWS managed policies, so the IAM lookup `sam validate` can make is never needed."""

    def load(self) -> dict[str, str]:
        return {}


def main(argv: list[str]) -> int:
    from samcli.yamlhelper import yaml_parse
    from samtranslator.translator.transform import transform

    path, *pairs = argv
    with open(path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = "s3://placeholder-bucket/placeholder-key"  # what `sam package` would upload
    parameters = dict(pair.split("=", 1) for pair in pairs)
    json.dump(transform(template, parameters, _NoManagedPolicies()), sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
