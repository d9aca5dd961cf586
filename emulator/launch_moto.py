"""Start moto's server on 127.0.0.1, after patching the emulator gaps listed in emulator/README.md.

Usage: python3 emulator/launch_moto.py [moto_server options], e.g. -p 0 -s.
The server prints "Running on http(s)://127.0.0.1:PORT" once it listens.

Every patch makes moto answer the way the AWS documentation says AWS answers; none makes a stack
easier to deploy than it would be on AWS. Each is named after its gap in emulator/README.md.
"""

import json
import sys

import xmltodict
from moto.athena.responses import AthenaResponse
from moto.awslambda import models as lambda_models
from moto.core.responses import ActionResult
from moto.glue import models as glue_models
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3 import models as s3_models
from moto.sqs import models as sqs_models
from moto.s3 import responses as s3_responses
from moto.server import main
from moto.stepfunctions.responses import StepFunctionResponse


def validate_state_machine_definition(self):
    """Gap 1. ValidateStateMachineDefinition: moto has no such action and answers 500, which the
    provider retries without end. The definitions are validated by the project's own tests
    (asl-validator, aws-local-stepfunctions); the emulator reports them valid, with no diagnostics."""
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def list_state_machine_versions(self):
    """Gap 2. ListStateMachineVersions: not implemented. The stacks publish no versions, so AWS
    returns an empty list."""
    return ActionResult({"stateMachineVersions": []})


StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


# Gap 3. NoncurrentVersionExpiration.NewerNoncurrentVersions is dropped on PutBucketLifecycleConfiguration;
# keep it per rule ID and put it back into GetBucketLifecycleConfiguration's answer.
_newer_noncurrent = {}
_put_lifecycle = s3_models.S3Backend.put_bucket_lifecycle


def put_bucket_lifecycle(self, bucket_name, rules):
    kept = {}
    for rule in rules:
        expiration = rule.get("NoncurrentVersionExpiration") or {}
        if expiration.get("NewerNoncurrentVersions") is not None:
            kept[rule.get("ID")] = expiration["NewerNoncurrentVersions"]
    _newer_noncurrent[bucket_name] = kept
    return _put_lifecycle(self, bucket_name, rules)


s3_models.S3Backend.put_bucket_lifecycle = put_bucket_lifecycle
_get_lifecycle = s3_responses.S3Response.get_bucket_lifecycle


def get_bucket_lifecycle(self):
    status, headers, body = _get_lifecycle(self)
    kept = _newer_noncurrent.get(self.bucket_name)
    if status != 200 or not kept:
        return status, headers, body
    document = xmltodict.parse(body)
    rules = document["LifecycleConfiguration"].get("Rule", [])
    for rule in rules if isinstance(rules, list) else [rules]:
        newer = kept.get(rule.get("ID"))
        expiration = rule.get("NoncurrentVersionExpiration")
        if newer is not None and expiration is not None:
            expiration["NewerNoncurrentVersions"] = newer
    return status, headers, xmltodict.unparse(document)


s3_responses.S3Response.get_bucket_lifecycle = get_bucket_lifecycle


# Gap 5. An empty EventBridgeConfiguration (EventBridge notifications on) is stored but not returned by
# GetBucketNotificationConfiguration.
_get_notification = s3_responses.S3Response.get_bucket_notification


def get_bucket_notification(self):
    answer = _get_notification(self)
    configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if configuration is None or configuration.event_bridge is None:
        return answer
    status, headers, body = answer
    document = xmltodict.parse(body) if body else {"NotificationConfiguration": None}
    root = document.get("NotificationConfiguration") or {}
    root["EventBridgeConfiguration"] = None
    document["NotificationConfiguration"] = root
    return status, headers, xmltodict.unparse(document)


s3_responses.S3Response.get_bucket_notification = get_bucket_notification


# Gap 4. Lambda: DeadLetterConfig and LoggingConfig are accepted on create and update but never read back.
_get_configuration = lambda_models.LambdaFunction.get_configuration
_lambda_init = lambda_models.LambdaFunction.__init__
_update_configuration = lambda_models.LambdaFunction.update_configuration


def lambda_init(self, account_id, spec, region, *args, **kwargs):
    _lambda_init(self, account_id, spec, region, *args, **kwargs)
    self.gap_dead_letter_config = spec.get("DeadLetterConfig")
    self.gap_logging_config = spec.get("LoggingConfig")


def update_configuration(self, config_updates):
    if "DeadLetterConfig" in config_updates:
        self.gap_dead_letter_config = config_updates["DeadLetterConfig"]
    if "LoggingConfig" in config_updates:
        self.gap_logging_config = config_updates["LoggingConfig"]
    return _update_configuration(self, config_updates)


def get_configuration(self, on_create=False):
    config = _get_configuration(self, on_create)
    dead_letter = getattr(self, "gap_dead_letter_config", None)
    if dead_letter and dead_letter.get("TargetArn"):
        config["DeadLetterConfig"] = {"TargetArn": dead_letter["TargetArn"]}
    logging = dict(getattr(self, "gap_logging_config", None) or {})
    # AWS fills the defaults it applies: Text format, log group /aws/lambda/<name>.
    logging.setdefault("LogFormat", "Text")
    logging.setdefault("LogGroup", f"/aws/lambda/{self.function_name}")
    config["LoggingConfig"] = logging
    return config


lambda_models.LambdaFunction.__init__ = lambda_init
lambda_models.LambdaFunction.update_configuration = update_configuration
lambda_models.LambdaFunction.get_configuration = get_configuration


# Gap 6. Glue GetJob: moto reports ExecutionClass STANDARD for a job created without one; AWS returns
# the field only when it was set.
_job_as_dict = glue_models.FakeJob.as_dict


def job_as_dict(self):
    answer = _job_as_dict(self)
    if not getattr(self, "gap_execution_class_set", True):
        answer.pop("ExecutionClass", None)
    return answer


_job_init = glue_models.FakeJob.__init__


def job_init(self, *args, **kwargs):
    _job_init(self, *args, **kwargs)
    execution_class = kwargs.get("execution_class")
    if execution_class is None and len(args) > 20:
        execution_class = args[20]
    self.gap_execution_class_set = bool(execution_class)


glue_models.FakeJob.__init__ = job_init
glue_models.FakeJob.as_dict = job_as_dict


# Gap 7. Bucket policies: moto evaluates no Bool condition (it holds every one true) and gives S3 requests
# no aws:SecureTransport, so the TLS-only Deny every bucket carries would refuse every request. The server
# runs with -s and so serves HTTPS only: aws:SecureTransport is true, and a statement conditioned on it
# being false never applies.
def _denies_plain_http_only(statement):
    condition = statement.get("Condition") or {}
    secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and list(condition) == ["Bool"]
        and list(condition["Bool"]) == ["aws:SecureTransport"]
        and str(secure).lower() == "false"
    )


def get_permission(self, action, resource):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    document["Statement"] = [s for s in statements if not _denies_plain_http_only(s)]
    if not document["Statement"]:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)


s3_models.FakeBucket.get_permission = get_permission


# Gap 8. SQS GetQueueAttributes returns RedrivePolicy re-serialized with spaces after ":" and ",", so the
# provider sees a whitespace-only change on every plan. AWS returns the compact JSON it stores.
_queue_attributes = sqs_models.Queue.attributes


def queue_attributes(self):
    result = _queue_attributes.fget(self)
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
    return result


sqs_models.Queue.attributes = property(queue_attributes)


# Gap 9. Athena DeleteNamedQuery is not implemented (moto answers 500; the provider retries until its
# timeout), so no stack holding a named query can be destroyed. AWS deletes the query.
def delete_named_query(self):
    query_id = self._get_param("NamedQueryId")
    self.athena_backend.named_queries.pop(query_id, None)
    return "{}"


AthenaResponse.delete_named_query = delete_named_query


if __name__ == "__main__":
    main(["-H", "127.0.0.1", *sys.argv[1:]])
