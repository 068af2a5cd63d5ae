"""The stack's security rules (alarms, reserved concurrency, secrets, logs, KMS conditions, S3 scope) as checks over a
parsed template.yaml. Each check returns the problems it finds, one sentence each; an empty list means the rule holds.
docs/security.md, "The stack", says why each rule exists."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from twinbridge_tools.local.template import schedule_seconds

Template = dict[str, Any]

FUNCTION = "AWS::Serverless::Function"
ALARM = "AWS::CloudWatch::Alarm"
LOG_GROUP = "AWS::Logs::LogGroup"

# Every alarm notifies the operator's topic, or the stack's own when AlarmTopicArn is empty.
ALARM_TARGET = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
ALARM_NAME_PREFIX = "${AWS::StackName}-"  # what the KMS condition for CloudWatch (alarm:${AWS::StackName}-*) covers

# The secrets each function reads in code (Deps.tracker_credentials / Deps.webhook_credentials), so the only ones
# the template may grant it. A new function must be added here on purpose.
SECRETS_READ: dict[str, set[str]] = {
    "TrackerWebhookFunction": {"WebhookSecretArn"},  # internet-facing: the webhook secret and nothing else
    "PeerApiFunction": set(),
    "AdminApiFunction": {"TrackerSecretArn"},  # test connection
    "SyncWorkerFunction": {"TrackerSecretArn"},  # reads and writes the tracker
    "PollerFunction": {"TrackerSecretArn"},  # reconciliation scan
}
SECRET_VARIABLES = {"TrackerSecretArn": "TRACKER_SECRET_ARN", "WebhookSecretArn": "WEBHOOK_SECRET_ARN"}

# What each function does in the attachment bucket (store/blobs.py: upload_fileobj, generate_presigned_url).
S3_ACTIONS: dict[str, set[str]] = {
    "SyncWorkerFunction": {"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"},  # stages, presigns
    "PeerApiFunction": {"s3:GetObject"},  # presigns in poll answers
    "PollerFunction": {"s3:GetObject"},  # presigns in pushes
}
BROAD_S3_POLICIES = {"S3CrudPolicy", "S3ReadPolicy", "S3WritePolicy", "S3FullAccessPolicy"}

# Access-log variables that could carry a secret: the path and query (Jira DC's ?token=), headers (Authorization).
FORBIDDEN_LOG_VARIABLE = re.compile(r"path|query|header|authoriz|body|input", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------- helpers


def resources_of(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == type_}


def props(template: Template, logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id].get("Properties", {})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def unwrap_if(items: list[Any]) -> Iterator[Any]:
    """List items, with ``Fn::If [cond, a, b]`` items replaced by whichever of a and b is not ``AWS::NoValue``."""
    for item in items:
        if isinstance(item, dict) and set(item) == {"Fn::If"}:
            for branch in item["Fn::If"][1:]:
                if branch != {"Ref": "AWS::NoValue"}:
                    yield branch
        else:
            yield item


def references(value: Any) -> set[str]:
    """Every logical id or parameter ``value`` refers to: Ref, GetAtt and the ${Name} / ${Name.Attr} of Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text, local = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
                named = {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= (named - set(local)) | references(local)  # ${name} of the variable map are not resources
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def statements(function_props: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline IAM statements of a function's Policies."""
    policies = [policy for policy in as_list(function_props.get("Policies", [])) if isinstance(policy, dict)]
    return [statement for policy in policies for statement in unwrap_if(as_list(policy.get("Statement", [])))]


def policy_templates(function_props: dict[str, Any]) -> dict[str, Any]:
    """SAM policy templates used by a function (name -> parameters)."""
    found: dict[str, Any] = {}
    for policy in as_list(function_props.get("Policies", [])):
        if isinstance(policy, dict) and "Statement" not in policy:
            found.update(policy)
    return found


def environment(template: Template, logical_id: str) -> dict[str, Any]:
    """A function's variables as deployed: Globals' merged with its own."""
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = props(template, logical_id).get("Environment", {}).get("Variables", {})
    return {**globals_, **own}


# --------------------------------------------------------------------------------------------------- the rules


def reserved_concurrency_problems(template: Template) -> list[str]:
    """Every function has a reserved concurrency of at least 1 (a parameter's default counts); the poller's covers its
    overlapping runs; a queue's event source never invokes beyond the function's reservation."""
    problems = []
    parameters = template.get("Parameters", {})
    for name, res in resources_of(template, FUNCTION).items():
        spec = res["Properties"]
        reserved = spec.get("ReservedConcurrentExecutions")
        if reserved is None:
            problems.append(f"{name} has no ReservedConcurrentExecutions")
            continue
        if isinstance(reserved, dict) and "Ref" in reserved:
            parameter = parameters.get(reserved["Ref"], {})
            value = parameter.get("Default")
            floor = parameter.get("MinValue")
            if floor is None or int(floor) < 1:
                problems.append(f"{name}: parameter {reserved['Ref']} needs a MinValue of at least 1")
        else:
            value, floor = reserved, reserved
        if not isinstance(value, int) or value < 1:
            problems.append(f"{name}: reserved concurrency {value!r} is not a number of at least 1")
            continue
        timeout = int(spec.get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout", 3)))
        for event in spec.get("Events", {}).values():
            eprops = event.get("Properties", {})
            if event["Type"] in ("Schedule", "ScheduleV2"):
                expression = eprops["ScheduleExpression"]
                if isinstance(expression, dict):
                    expression = parameters[expression["Ref"]]["Default"]
                overlapping = math.ceil(timeout / schedule_seconds(expression))
                if value < overlapping or int(floor if floor is not None else 0) < overlapping:
                    problems.append(
                        f"{name}: runs of up to {timeout} s started every {expression} overlap {overlapping} at a time; "
                        f"its reserved concurrency (and the parameter's MinValue) must be at least {overlapping}"
                    )
            if event["Type"] == "SQS":
                maximum = eprops.get("ScalingConfig", {}).get("MaximumConcurrency")
                if maximum is None:
                    problems.append(f"{name}: its SQS event source has no ScalingConfig.MaximumConcurrency")
                elif maximum != reserved and not (isinstance(maximum, int) and maximum <= value):
                    problems.append(
                        f"{name}: the SQS event source's MaximumConcurrency {maximum!r} may exceed the reserved "
                        f"concurrency {reserved!r} (throttled batches return to the queue and end in the DLQ)"
                    )
    return problems


def alarm_problems(template: Template) -> list[str]:
    """Every alarm notifies the alarm topic (and when it clears); every function has an Errors and a Throttles alarm,
    the HTTP API a 5xx alarm, every dead-letter queue a depth alarm; the topic exists when none is given."""
    problems = []
    alarms = resources_of(template, ALARM)
    for name, res in alarms.items():
        spec = res["Properties"]
        for key in ("AlarmActions", "OKActions"):
            if spec.get(key) != [ALARM_TARGET]:
                problems.append(f"{name}: {key} is {spec.get(key)!r}, not the alarm topic")
        alarm_name = spec.get("AlarmName")
        if not (isinstance(alarm_name, dict) and str(alarm_name.get("Fn::Sub", "")).startswith(ALARM_NAME_PREFIX)):
            problems.append(f"{name}: AlarmName must start with {ALARM_NAME_PREFIX} (the KMS condition for CloudWatch)")

    def watched(namespace: str, metric: str, dimension: str, value: Any) -> list[str]:
        return [
            name for name, res in alarms.items()
            if res["Properties"].get("Namespace") == namespace and res["Properties"].get("MetricName") == metric
            and res["Properties"].get("Dimensions") == [{"Name": dimension, "Value": value}]
        ]

    for function, res in resources_of(template, FUNCTION).items():
        for metric in ("Errors", "Throttles"):
            found = watched("AWS/Lambda", metric, "FunctionName", {"Ref": function})
            if not found:
                problems.append(f"{function} has no {metric} alarm")
            problems += [
                f"{alarm}: its Condition must be the function's ({res.get('Condition')!r})"
                for alarm in found if alarms[alarm].get("Condition") != res.get("Condition")
            ]
    for api in resources_of(template, "AWS::Serverless::HttpApi"):
        if not watched("AWS/ApiGateway", "5xx", "ApiId", {"Ref": api}):
            problems.append(f"{api} has no 5xx alarm")
    for queue, res in resources_of(template, "AWS::SQS::Queue").items():
        target = res["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if target and not watched(
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", {"Fn::GetAtt": [target["Fn::GetAtt"][0], "QueueName"]}
        ):
            problems.append(f"the dead-letter queue of {queue} has no depth alarm")
    if template.get("Conditions", {}).get("CreateAlarmTopic") != {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}:
        problems.append("the CreateAlarmTopic condition must hold exactly when AlarmTopicArn is empty")
    topic = template["Resources"].get("AlarmTopic", {})
    if topic.get("Type") != "AWS::SNS::Topic" or topic.get("Condition") != "CreateAlarmTopic":
        problems.append("AlarmTopic must be an SNS topic created under the CreateAlarmTopic condition")
    elif not topic.get("Properties", {}).get("KmsMasterKeyId"):
        problems.append("AlarmTopic is not encrypted (KmsMasterKeyId)")
    return problems


def _secrets_granted(spec: dict[str, Any]) -> set[str]:
    return references(spec.get("Policies", [])) & set(SECRET_VARIABLES)


def secret_problems(template: Template) -> list[str]:
    """Each function is granted exactly the secrets it reads (SECRETS_READ), gets exactly their ARNs in its
    environment, and no secret ARN is in Globals (every function would get it)."""
    problems = []
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for parameter, variable in SECRET_VARIABLES.items():
        if variable in globals_:
            problems.append(f"Globals give every function {variable}: set it on the functions that read {parameter}")
    for name, res in resources_of(template, FUNCTION).items():
        spec = res["Properties"]
        if name not in SECRETS_READ:
            problems.append(f"{name}: say which secrets it reads in SECRETS_READ (tests/infra/stack_rules.py)")
            continue
        granted, expected = _secrets_granted(spec), SECRETS_READ[name]
        if granted != expected:
            problems.append(f"{name} may read {sorted(granted) or 'no secret'}; it reads {sorted(expected) or 'none'}")
        variables = environment(template, name)
        for parameter, variable in SECRET_VARIABLES.items():
            if (variable in variables) != (parameter in expected):
                problems.append(f"{name}: {variable} {'missing' if parameter in expected else 'set'} in its environment")
            elif variable in variables and variables[variable] != {"Ref": parameter}:
                problems.append(f"{name}: {variable} is not !Ref {parameter}")
        for statement in statements(spec):
            actions = as_list(statement.get("Action", []))
            if any(a.startswith("secretsmanager:") or a == "*" for a in actions) and "*" in as_list(statement.get("Resource")):
                problems.append(f"{name}: a statement grants Secrets Manager on every resource")
    return problems


def logging_problems(template: Template) -> list[str]:
    """Every function logs to a log group of its own with the stack's retention; the HTTP API writes JSON access logs
    with retention and without the path, query string or headers."""
    problems = []
    retention = {"Ref": "LogRetentionDays"}
    groups = resources_of(template, LOG_GROUP)
    used: dict[str, str] = {}
    for name, res in resources_of(template, FUNCTION).items():
        group = res["Properties"].get("LoggingConfig", {}).get("LogGroup")
        if not (isinstance(group, dict) and group.get("Ref") in groups):
            problems.append(f"{name}: LoggingConfig.LogGroup is not a log group of this stack")
            continue
        group_name = group["Ref"]
        if group_name in used:
            problems.append(f"{name} shares {group_name} with {used[group_name]}")
        used[group_name] = name
        spec = groups[group_name]
        if spec.get("Properties", {}).get("RetentionInDays") != retention:
            problems.append(f"{group_name} ({name}) does not keep logs for LogRetentionDays")
        if spec.get("Condition") != res.get("Condition"):
            problems.append(f"{group_name}: its Condition must be {name}'s ({res.get('Condition')!r})")
        if not str(spec.get("Properties", {}).get("LogGroupName", {}).get("Fn::Sub", "")).startswith("/aws/lambda/"):
            problems.append(f"{group_name}: name it /aws/lambda/... where operators look for function logs")
    for api, res in resources_of(template, "AWS::Serverless::HttpApi").items():
        settings = res["Properties"].get("AccessLogSettings")
        if not settings:
            problems.append(f"{api} writes no access logs")
            continue
        destination = settings.get("DestinationArn", {}).get("Fn::GetAtt", [None])[0]
        if destination not in groups or groups[destination]["Properties"].get("RetentionInDays") != retention:
            problems.append(f"{api}: access logs must go to a log group of this stack with LogRetentionDays")
        log_format = settings.get("Format", "")
        variables = re.findall(r"\$context\.[A-Za-z0-9_.]+", log_format)
        problems += [f"{api}: the access log records {v} (may carry a secret)" for v in variables
                     if FORBIDDEN_LOG_VARIABLE.search(v.removeprefix("$context."))]
        try:  # $context.error.messageString is the one variable written unquoted (it is its own JSON string)
            json.loads(re.sub(r"\$context\.[A-Za-z0-9_.]+", "x", log_format.replace("$context.error.messageString", '"x"')))
        except json.JSONDecodeError as exc:
            problems.append(f"{api}: the access log format is not one JSON object ({exc})")
    return problems


def kms_problems(template: Template) -> list[str]:
    """Every key policy statement granting an AWS service principal carries aws:SourceAccount and aws:SourceArn
    conditions; a key encrypting the alarm topic lets CloudWatch publish (else alarms deliver nothing)."""
    problems = []
    for key, res in resources_of(template, "AWS::KMS::Key").items():
        found = list(unwrap_if(as_list(res["Properties"]["KeyPolicy"]["Statement"])))
        for index, statement in enumerate(found):
            services = as_list(statement.get("Principal", {}).get("Service", [])) if isinstance(
                statement.get("Principal"), dict) else []
            if not services or statement.get("Effect") != "Allow":
                continue
            label = f"{key} statement {statement.get('Sid', index)} ({', '.join(services)})"
            condition = statement.get("Condition", {})
            if "aws:SourceAccount" not in condition.get("StringEquals", {}):
                problems.append(f"{label}: no StringEquals aws:SourceAccount condition")
            if not any("aws:SourceArn" in condition.get(op, {}) for op in ("ArnLike", "ArnEquals")):
                problems.append(f"{label}: no ArnLike/ArnEquals aws:SourceArn condition")
        topic = template["Resources"].get("AlarmTopic", {}).get("Properties", {})
        if topic.get("KmsMasterKeyId") == {"Ref": key} and not any(
            "cloudwatch.amazonaws.com" in as_list(s.get("Principal", {}).get("Service", []))
            for s in found if isinstance(s.get("Principal"), dict)
        ):
            problems.append(f"{key} encrypts AlarmTopic but does not let cloudwatch.amazonaws.com use it")
    return problems


def s3_problems(template: Template, prefix: str) -> list[str]:
    """No function uses a bucket-wide S3 policy template; S3 statements name the objects under ``prefix`` only, with
    exactly the actions the function needs (S3_ACTIONS); no statement uses a wildcard action."""
    problems = []
    objects = {"Fn::Sub": f"${{AttachmentsBucket.Arn}}/{prefix}*"}
    for name, res in resources_of(template, FUNCTION).items():
        spec = res["Properties"]
        broad = set(policy_templates(spec)) & BROAD_S3_POLICIES
        if broad:
            problems.append(f"{name} uses {sorted(broad)}: wider than the objects it touches")
        actions: set[str] = set()
        for statement in statements(spec):
            listed = as_list(statement.get("Action", []))
            problems += [f"{name}: wildcard action {a}" for a in listed if "*" in a]
            s3 = {a for a in listed if a.startswith("s3:")}
            if s3 and as_list(statement.get("Resource")) != [objects]:
                problems.append(f"{name}: S3 statement on {statement.get('Resource')!r}, not {objects['Fn::Sub']}")
            actions |= s3
        if actions != S3_ACTIONS.get(name, set()):
            problems.append(f"{name}: S3 actions {sorted(actions)}, needs exactly {sorted(S3_ACTIONS.get(name, set()))}")
    return problems


RULES: dict[str, Callable[..., list[str]]] = {
    "reserved concurrency": reserved_concurrency_problems,
    "alarms": alarm_problems,
    "secrets": secret_problems,
    "logging": logging_problems,
    "kms": kms_problems,
    "s3": s3_problems,
}
