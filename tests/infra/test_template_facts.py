"""What template.yaml promises an operator: durable encrypted data, a FIFO queue with a DLQ, a private bucket,
IAM only on admin routes, peer routes only on public nodes, and settings every function can build."""

from __future__ import annotations

import pytest

from twinbridge.settings import Settings
from twinbridge.store import keys
from twinbridge_tools.local.template import functions, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
DATA_KEY = {"Ref": "DataKey"}
FUNCTIONS = {spec.logical_id: spec for spec in functions()}


def props(logical_id: str) -> dict:
    return RESOURCES[logical_id]["Properties"]


@pytest.mark.parametrize("logical_id", ["NodeTable", "AttachmentsBucket", "DataKey"])
def test_stateful_resources_survive_stack_deletion(logical_id):
    assert RESOURCES[logical_id]["DeletionPolicy"] == "Retain"
    assert RESOURCES[logical_id]["UpdateReplacePolicy"] == "Retain"


def test_table_is_on_demand_with_the_keys_the_store_uses():
    table = props("NodeTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["GSI1"]


def test_table_expires_items_through_the_attribute_the_store_writes():
    assert props("NodeTable")["TimeToLiveSpecification"] == {"AttributeName": keys.TTL_ATTRIBUTE, "Enabled": True}


def test_table_has_point_in_time_recovery_and_our_kms_key():
    table = props("NodeTable")
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": DATA_KEY}


def test_kms_key_rotates():
    assert props("DataKey")["EnableKeyRotation"] is True


def test_sync_queue_is_fifo_and_redrives_to_a_fifo_dead_letter_queue():
    queue, dlq = props("SyncQueue"), props("SyncDeadLetterQueue")
    assert queue["FifoQueue"] is True and dlq["FifoQueue"] is True  # a FIFO queue's DLQ must be FIFO too
    assert queue["ContentBasedDeduplication"] is False  # the sender supplies the outbox message id
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["SyncDeadLetterQueue", "Arn"]}
    assert 1 < queue["RedrivePolicy"]["maxReceiveCount"] <= 20
    assert dlq["MessageRetentionPeriod"] >= queue["MessageRetentionPeriod"]  # nothing expires before it is inspected


def test_sync_queues_are_encrypted_with_our_kms_key():
    assert props("SyncQueue")["KmsMasterKeyId"] == DATA_KEY
    assert props("SyncDeadLetterQueue")["KmsMasterKeyId"] == DATA_KEY


def test_sync_worker_reports_partial_batch_failures_within_the_visibility_timeout():
    events = props("SyncWorkerFunction")["Events"]
    (trigger,) = events.values()
    assert trigger["Type"] == "SQS"
    assert trigger["Properties"]["Queue"] == {"Fn::GetAtt": ["SyncQueue", "Arn"]}
    assert trigger["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props("SyncQueue")["VisibilityTimeout"] >= FUNCTIONS["SyncWorkerFunction"].timeout


def test_dead_letter_queue_raises_an_alarm():
    alarm = props("SyncDeadLetterAlarm")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["SyncDeadLetterQueue", "QueueName"]}}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0


def test_bucket_is_encrypted_with_our_kms_key():
    (rule,) = props("AttachmentsBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": DATA_KEY}


def test_bucket_blocks_all_public_access_and_plain_http():
    assert props("AttachmentsBucket")["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (statement,) = props("AttachmentsBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_bucket_expires_transfers_and_abandoned_uploads():
    rules = [
        rule for rule in props("AttachmentsBucket")["LifecycleConfiguration"]["Rules"] if rule["Status"] == "Enabled"
    ]
    assert any(rule.get("ExpirationInDays", 0) > 0 for rule in rules)
    assert any(rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation", 0) > 0 for rule in rules)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_may_use_the_data_key(logical_id):
    policies = [policy for policy in props(logical_id)["Policies"] if isinstance(policy, dict)]
    statements = [statement for policy in policies for statement in policy.get("Statement", [])]
    assert any(
        s["Effect"] == "Allow"
        and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(s["Action"])
        and s["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
        for s in statements
    )


def test_http_api_defines_the_iam_authorizer_without_a_default():
    auth = props("HttpApi").get("Auth", {})
    assert auth.get("EnableIamAuthorizer") is True  # without it SAM refuses Authorizer: AWS_IAM on a route
    assert "DefaultAuthorizer" not in auth  # a default would also lock the peer and webhook routes


@pytest.mark.parametrize("spec", FUNCTIONS.values(), ids=lambda spec: spec.logical_id)
def test_only_admin_routes_require_aws_iam(spec):
    for route in spec.routes:
        assert route.iam_auth is route.path.startswith("/admin/"), route


def test_route_table():
    routes = {logical_id: [route.route_key for route in spec.routes] for logical_id, spec in FUNCTIONS.items()}
    assert routes == {
        "TrackerWebhookFunction": ["POST /hooks/{tracker}"],
        "PeerApiFunction": ["ANY /peer/{proxy+}"],
        "AdminApiFunction": ["ANY /admin/{proxy+}"],
        "SyncWorkerFunction": [],
        "PollerFunction": [],
    }


def test_peer_api_is_deployed_only_on_public_nodes():
    assert TEMPLATE["Conditions"]["IsPublic"] == {"Fn::Equals": [{"Ref": "NodePublic"}, "true"]}
    assert FUNCTIONS["PeerApiFunction"].condition == "IsPublic"
    assert TEMPLATE["Outputs"]["NodeUrl"]["Condition"] == "IsPublic"
    assert [spec.logical_id for spec in FUNCTIONS.values() if spec.condition] == ["PeerApiFunction"]


def test_globals_environment_builds_the_settings():
    variables = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    aliases = {field.alias: field for field in Settings.model_fields.values()}
    required = {alias for alias, field in aliases.items() if field.is_required()}
    assert required <= variables, f"functions could not start: {sorted(required - variables)} not set"
    unknown = {name for name in variables if not name.startswith("POWERTOOLS_")} - set(aliases)
    assert not unknown, f"set but never read (typo?): {sorted(unknown)}"
