"""deploy/cloudformation.yaml: linted clean (cfn-lint; checkov when installed), and the rules that matter
to us asserted on the parsed template, also against the gunicorn settings and the app's production checks."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from config import check_production, load_config

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return parsed


@pytest.fixture(scope="module")
def gunicorn_settings() -> dict[str, Any]:
    return runpy.run_path(str(GUNICORN_CONFIG))


def resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    return template["Resources"][name]["Properties"]


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def attributes(items: list[dict[str, str]]) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in items}


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--regions", "eu-central-1", "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_is_clean() -> None:
    # checkov pins an older boto3 than the app: it has its own virtualenv (deploy/requirements-checkov.txt).
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    if not checkov:
        pytest.skip("no checkov (deploy/requirements-checkov.txt); set CHECKOV=/path/to/checkov to run it")
    options = ["--framework", "cloudformation", "--skip-download", "--compact", "--quiet"]
    result = subprocess.run(
        [checkov, "-f", str(TEMPLATE), *options],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "Failed checks: 0" in result.stdout


def test_tls_at_the_load_balancer(template: dict[str, Any]) -> None:
    https = resource(template, "HttpsListener")
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    redirect = resource(template, "HttpListener")["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    config = redirect["RedirectConfig"]
    assert config["Protocol"] == "HTTPS" and config["StatusCode"] == "HTTP_301"
    lb = attributes(resource(template, "LoadBalancer")["LoadBalancerAttributes"])
    assert lb["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_encryption_with_the_stack_key(template: dict[str, Any]) -> None:
    key = resource(template, "Key")
    assert key["EnableKeyRotation"] is True
    database = resource(template, "Database")
    assert database["StorageEncrypted"] is True and database["KmsKeyId"] == {"Ref": "Key"}
    assert database["PubliclyAccessible"] is False and database["DeletionProtection"] is True
    assert database["MultiAZ"] == {"Ref": "MultiAz"}
    assert template["Parameters"]["DbBackupRetentionDays"]["MinValue"] >= 7
    assert database["BackupRetentionPeriod"] == {"Ref": "DbBackupRetentionDays"}
    for name in ("DatabaseCredentials", "DatabaseUrl"):
        assert resource(template, name)["KmsKeyId"] == {"Ref": "Key"}
    for name, group in of_type(template, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}, name
        assert group["Properties"]["RetentionInDays"] >= 30, name


def test_backup_bucket_is_private_encrypted_versioned_and_tls_only(template: dict[str, Any]) -> None:
    bucket = resource(template, "BackupBucket")
    block = bucket["PublicAccessBlockConfiguration"]
    assert all(
        block[flag] is True
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    default = rule["ServerSideEncryptionByDefault"]
    assert default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}}
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)
    assert any("AbortIncompleteMultipartUpload" in rule for rule in rules)
    statements = resource(template, "BackupBucketPolicy")["PolicyDocument"]["Statement"]
    insecure = {"Bool": {"aws:SecureTransport": "false"}}
    assert any(s["Effect"] == "Deny" and s["Condition"] == insecure for s in statements)


def test_security_groups_chain_alb_to_tasks_to_database(template: dict[str, Any]) -> None:
    tasks_in = resource(template, "TaskSecurityGroup")["SecurityGroupIngress"]
    assert tasks_in == [
        {
            "IpProtocol": "tcp",
            "FromPort": 8000,
            "ToPort": 8000,
            "Description": "from the load balancer",
            "SourceSecurityGroupId": {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]},
        }
    ]
    db_in = resource(template, "DatabaseSecurityGroup")["SecurityGroupIngress"]
    tasks = {"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}
    assert len(db_in) == 1 and db_in[0]["SourceSecurityGroupId"] == tasks
    alb_ports = {
        (rule["FromPort"], rule["ToPort"])
        for rule in resource(template, "LoadBalancerSecurityGroup")["SecurityGroupIngress"]
    }
    assert alb_ports == {(443, 443), (80, 80)}


def test_roles_are_least_privilege(template: dict[str, Any]) -> None:
    def statements(role: str) -> list[dict[str, Any]]:
        return [s for p in resource(template, role)["Policies"] for s in p["PolicyDocument"]["Statement"]]

    assert statements("AppTaskRole") == [
        {
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
            "Resource": {"Fn::GetAtt": ["Key", "Arn"]},
        }
    ]
    backup_actions = {
        a
        for s in statements("BackupTaskRole")
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert backup_actions == {
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "kms:DescribeKey",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
    }
    for name in of_type(template, "AWS::IAM::Role"):
        for statement in statements(name) if "Policies" in resource(template, name) else []:
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            assert not any(a == "*" or a.endswith(":*") for a in actions), name
            assert statement["Resource"] != "*", name


def test_health_checks_and_shutdown_agree_with_gunicorn(
    template: dict[str, Any], gunicorn_settings: dict[str, Any]
) -> None:
    target_group = resource(template, "TargetGroup")
    assert target_group["HealthCheckPath"] == "/ready" and target_group["Port"] == 8000
    balancer = attributes(resource(template, "LoadBalancer")["LoadBalancerAttributes"])
    idle = int(balancer["idle_timeout.timeout_seconds"])
    # The ALB must close idle connections before gunicorn does, and outlast the app's 90 s action budget.
    assert 90 < idle < gunicorn_settings["keepalive"]
    app = resource(template, "AppTaskDefinition")["ContainerDefinitions"][0]
    assert app["StopTimeout"] > gunicorn_settings["graceful_timeout"]
    draining = attributes(target_group["TargetGroupAttributes"])["deregistration_delay.timeout_seconds"]
    assert int(draining) >= 90
    assert app["ReadonlyRootFilesystem"] is True
    assert app["LogConfiguration"]["LogDriver"] == "awslogs"


def test_backup_schedule_runs_create_then_prune(template: dict[str, Any]) -> None:
    target = resource(template, "BackupRule")["Targets"][0]
    assert target["EcsParameters"]["TaskDefinitionArn"] == {"Ref": "BackupTaskDefinition"}
    command = resource(template, "BackupTaskDefinition")["ContainerDefinitions"][0]["Command"]
    script = command[-1]
    assert script.index("flask --app app backup create") < script.index("flask --app app backup prune")
    assert "&&" in script  # no prune after a failed create


def placeholder(value: Any) -> str | None:
    """A stand-in for a CloudFormation value, as the deployed task would see it (None: conditional)."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        return str(value["Fn::Sub"]).replace("${DomainName}", "pagemail.example.com")
    if value == {"Ref": "AWS::Region"}:
        return "eu-central-1"
    if value == {"Fn::GetAtt": ["Key", "Arn"]}:
        return "arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    if "Ref" in value or "Fn::FindInMap" in value:
        return "2"
    return None


@pytest.mark.parametrize("container", ["AppTaskDefinition", "BackupTaskDefinition"])
def test_task_environment_passes_the_production_checks(template: dict[str, Any], container: str) -> None:
    definition = resource(template, container)["ContainerDefinitions"][0]
    variables = [item for item in definition["Environment"] if "Name" in item]  # not the conditional ones
    environ = {item["Name"]: placeholder(item["Value"]) for item in variables}
    secrets = {item["Name"] for item in definition["Secrets"] if "Name" in item}
    assert "DATABASE_URL" in secrets
    environ["DATABASE_URL"] = "postgresql+psycopg://pagemail:x@db.internal:5432/pagemail?sslmode=require"
    config = load_config({k: v for k, v in environ.items() if v is not None}, ROOT / "instance")
    assert config["IS_PRODUCTION"]
    check_production(config)  # raises ConfigError naming the variable if the template misses one
