# Developer entry points. `make test` is the whole gate (CI runs it through .ci/run).
# Two virtualenvs: .venv for the project (Python 3.12, `pip install -e ".[dev]"`) and .venv-tools for
# aws-sam-cli and cfn-lint, whose pins (older boto3, pydantic) would clash with the project's own.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:
MAKEFLAGS += --no-print-directory

# pyenv honours .python-version (3.12.1); otherwise any python3.12 on PATH.
PYTHON ?= $(shell pyenv which python 2>/dev/null || command -v python3.12 2>/dev/null || echo python3.12)
VENV := .venv
TOOLS := .venv-tools
# Verified together: sam validate, sam validate --lint and cfn-lint all run offline with these.
# (aws-sam-cli 1.170.0 pins aws-sam-translator==1.115.0, which both tools then use.)
TOOL_PINS := aws-sam-cli==1.170.0 cfn-lint==1.58.0
REGION := eu-west-1

PIP_FLAGS := --quiet --disable-pip-version-check --no-input
# The template checks need no AWS account: no telemetry, placeholder credentials, a fixed region,
# no instance-metadata probing. Only these commands get them, so a real profile is never shadowed elsewhere.
TOOL_ENV := env SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
	AWS_DEFAULT_REGION=$(REGION) AWS_REGION=$(REGION) AWS_EC2_METADATA_DISABLED=true

.PHONY: venv tools lint-template lint test run bench

venv: $(VENV)/.installed

tools: $(TOOLS)/.installed

# Fails with a clear message unless $(PYTHON) is 3.12 (the Lambda runtime in template.yaml).
REQUIRE_312 = @$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12) and \
	f"need Python 3.12 (see .python-version; pyenv install 3.12.1), got {sys.version.split()[0]} from $(PYTHON)")'

$(VENV)/.installed: pyproject.toml
	$(REQUIRE_312)
	@echo "==> $(VENV): $$($(PYTHON) --version), pip install -e .[dev]"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install $(PIP_FLAGS) -e ".[dev]"
	@touch $@

$(TOOLS)/.installed: Makefile
	$(REQUIRE_312)
	@echo "==> $(TOOLS): $(TOOL_PINS)"
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install $(PIP_FLAGS) $(TOOL_PINS)
	@touch $@

# Each check exits non-zero on any finding (errors and warnings alike), which fails the target.
# -t is explicit: without it sam prefers .aws-sam/build/template.yaml when a build exists.
lint-template: tools
	@echo "==> cfn-lint template.yaml"
	@$(TOOL_ENV) $(TOOLS)/bin/cfn-lint template.yaml
	@echo "==> sam validate"
	@$(TOOL_ENV) $(TOOLS)/bin/sam validate -t template.yaml --region $(REGION)
	@echo "==> sam validate --lint"
	@$(TOOL_ENV) $(TOOLS)/bin/sam validate -t template.yaml --lint --region $(REGION)

# ruff (lint + import order) and mypy (strict on models, sync, services, store, peers; the rest checked).
lint: venv
	@echo "==> ruff check"
	@$(VENV)/bin/ruff check --output-format concise .
	@echo "==> mypy"
	@$(VENV)/bin/mypy

test: venv tools lint-template lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The local nodes (no AWS): `make run ARGS="--public-port 8810 --private-port 8820"` passes options through.
run: venv
	$(VENV)/bin/twinbridge dev $(ARGS)

bench: venv
	@for script in benchmarks/*.py; do echo "==> $$script"; $(VENV)/bin/python "$$script"; done
