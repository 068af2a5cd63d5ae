"""What template.yaml enforces for security and operations (docs/security.md, "The stack",): alarms wired to a topic,
reserved concurrency on every function, each function granted only the secret it reads, log groups with retention,
JSON access logs without secrets, KMS grants to services held to this account, S3 limited to staged attachments.
Each rule is also shown catching the way it is most likely to be broken."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from tests.infra import stack_rules
from tests.infra.stack_rules import RULES, Template
from twinbridge.services.attachments import object_key
from twinbridge.settings import Settings
from twinbridge_tools.local.template import functions, load_template, withheld_variables

# The prefix the sync worker stages attachments under, taken from the code that builds the keys.
STAGING_PREFIX = object_key("{connection}", "{item}", "{attachment}").split("{connection}")[0]


def _check(rule: str, template: Template) -> list[str]:
    check = RULES[rule]
    return check(template, STAGING_PREFIX) if rule == "s3" else check(template)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_template_follows_the_rule(rule):
    problems = _check(rule, load_template())
    assert problems == [], f"template.yaml breaks the {rule} rule:\n" + "\n".join(problems)


def test_staged_attachments_live_under_a_prefix_of_their_own():
    assert STAGING_PREFIX == "outgoing/"  # the S3 statements name "${AttachmentsBucket.Arn}/outgoing/*"


def test_every_function_is_covered_by_the_secret_table():
    deployed = {spec.logical_id for spec in functions()}
    assert deployed == set(stack_rules.SECRETS_READ)


def test_the_webhook_function_may_read_the_webhook_secret_and_not_the_tracker_secret():
    spec = load_template()["Resources"]["TrackerWebhookFunction"]["Properties"]
    mentioned = stack_rules.references(spec["Policies"])
    assert "WebhookSecretArn" in mentioned and "TrackerSecretArn" not in mentioned
    variables = stack_rules.environment(load_template(), "TrackerWebhookFunction")
    assert variables["WEBHOOK_SECRET_ARN"] == {"Ref": "WebhookSecretArn"} and "TRACKER_SECRET_ARN" not in variables


def test_secret_variables_are_settings_the_code_reads():
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(stack_rules.SECRET_VARIABLES.values()) <= aliases
    for spec in functions():
        own = load_template()["Resources"][spec.logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        assert set(own) <= aliases, f"{spec.logical_id} sets variables no setting reads: {sorted(set(own) - aliases)}"


def test_the_local_runtime_withholds_the_tracker_secret_from_the_webhook_function():
    specs = functions()
    by_id = {spec.logical_id: spec for spec in specs}
    assert "TRACKER_SECRET_ARN" in withheld_variables(by_id["TrackerWebhookFunction"], specs)
    assert "WEBHOOK_SECRET_ARN" in withheld_variables(by_id["SyncWorkerFunction"], specs)
    assert withheld_variables(by_id["PeerApiFunction"], specs) == ("TRACKER_SECRET_ARN", "WEBHOOK_SECRET_ARN")


def test_alarm_topic_is_the_stacks_own_only_when_none_is_given():
    template = load_template()
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert template["Conditions"]["SubscribeAlarmEmail"] == {
        "Fn::And": [{"Condition": "CreateAlarmTopic"}, {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}]
    }
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == stack_rules.ALARM_TARGET


# --------------------------------------------------------------------------------------------------- the rules fail


def _without(path: list[str]) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        node = template
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(path: list[str], value) -> Callable[[Template], None]:
    def mutate(template: Template) -> None:
        node = template
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _grant_tracker_secret_to_webhook(template: Template) -> None:
    policies = template["Resources"]["TrackerWebhookFunction"]["Properties"]["Policies"]
    policies.append({"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "TrackerSecretArn"}}})


def _widen_worker_s3(template: Template) -> None:
    policies = template["Resources"]["SyncWorkerFunction"]["Properties"]["Policies"]
    policies.append({"S3CrudPolicy": {"BucketName": {"Ref": "AttachmentsBucket"}}})


def _worker_s3_on_whole_bucket(template: Template) -> None:
    for statement in stack_rules.statements(template["Resources"]["SyncWorkerFunction"]["Properties"]):
        if statement.get("Sid") == "StageAttachments":
            statement["Resource"] = {"Fn::Sub": "${AttachmentsBucket.Arn}/*"}


def _log_the_path(template: Template) -> None:
    settings = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    settings["Format"] = settings["Format"].replace('"routeKey":', '"path":"$context.path","routeKey":')


def _uncondition_sqs_grant(template: Template) -> None:
    for statement in template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]:
        if isinstance(statement, dict) and statement.get("Sid") == "SqsThroughService":
            del statement["Condition"]


def _drop_cloudwatch_grant(template: Template) -> None:
    policy = template["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    policy["Statement"] = [s for s in policy["Statement"] if not (isinstance(s, dict) and "Fn::If" in s)]


PROPS = ["Resources"]
MUTATIONS = {
    "admin without reserved concurrency": (
        "reserved concurrency", _without([*PROPS, "AdminApiFunction", "Properties", "ReservedConcurrentExecutions"]),
        "AdminApiFunction has no ReservedConcurrentExecutions",
    ),
    "poller reserves one run only": (
        "reserved concurrency", _set(["Parameters", "PollerConcurrency", "Default"], 1), "overlap 2 at a time",
    ),
    "worker's event source unbounded": (
        "reserved concurrency",
        _without([*PROPS, "SyncWorkerFunction", "Properties", "Events", "SyncQueueBatch", "Properties", "ScalingConfig"]),
        "no ScalingConfig.MaximumConcurrency",
    ),
    "alarm notifies no one": (
        "alarms", _without([*PROPS, "PollerErrorsAlarm", "Properties", "AlarmActions"]), "PollerErrorsAlarm: AlarmActions",
    ),
    "throttles alarm missing": (
        "alarms", _without([*PROPS, "SyncWorkerThrottlesAlarm"]), "SyncWorkerFunction has no Throttles alarm",
    ),
    "api 5xx alarm missing": ("alarms", _without([*PROPS, "HttpApi5xxAlarm"]), "HttpApi has no 5xx alarm"),
    "dead-letter alarm missing": ("alarms", _without([*PROPS, "SyncDeadLetterAlarm"]), "dead-letter queue of SyncQueue"),
    "webhook reads the tracker secret": (
        "secrets", _grant_tracker_secret_to_webhook, "TrackerWebhookFunction may read ['TrackerSecretArn', 'WebhookSecretArn']",
    ),
    "tracker secret in globals": (
        "secrets", _set(["Globals", "Function", "Environment", "Variables", "TRACKER_SECRET_ARN"], {"Ref": "TrackerSecretArn"}),
        "Globals give every function TRACKER_SECRET_ARN",
    ),
    "peer function without its log group": (
        "logging", _without([*PROPS, "PeerApiFunction", "Properties", "LoggingConfig"]), "PeerApiFunction: LoggingConfig",
    ),
    "log group kept forever": (
        "logging", _without([*PROPS, "PollerLogGroup", "Properties", "RetentionInDays"]), "PollerLogGroup (PollerFunction)",
    ),
    "access log records the path": ("logging", _log_the_path, "records $context.path"),
    "no access logs": ("logging", _without([*PROPS, "HttpApi", "Properties", "AccessLogSettings"]), "writes no access logs"),
    "sqs grant without conditions": ("kms", _uncondition_sqs_grant, "SqsThroughService (sqs.amazonaws.com): no String"),
    "encrypted topic CloudWatch cannot use": ("kms", _drop_cloudwatch_grant, "does not let cloudwatch.amazonaws.com"),
    "worker with a bucket-wide policy template": ("s3", _widen_worker_s3, "SyncWorkerFunction uses ['S3CrudPolicy']"),
    "worker on the whole bucket": ("s3", _worker_s3_on_whole_bucket, "not ${AttachmentsBucket.Arn}/outgoing/*"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_rule_catches_a_broken_template(case):
    rule, mutate, expected = MUTATIONS[case]
    template = copy.deepcopy(load_template())
    mutate(template)

    problems = _check(rule, template)

    assert any(expected in problem for problem in problems), problems
