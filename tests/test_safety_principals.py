"""Principals: ones KMS rejects (IAM propagation), deleted ones (unique IDs), multi-Region keys."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from fault_proxy import Fault, FaultProxy
from test_e2e_cli import (
    RunCli,
    account_of,
    assert_exit,
    create_key,
    policy_of,
    policy_text,
    put_policy,
    root_statement,
)

from kmswizard import workflow
from kmswizard.aws.gateway import KmsGateway
from kmswizard.aws.options import AwsOptions
from kmswizard.policy.sharing import USE_SID
from kmswizard.profiles import Profile
from kmswizard.report import render_plan
from kmswizard.workflow import apply_plan, build_plan

REGION = "us-west-2"
REPLICA_REGION = "eu-west-1"
ROLE = "arn:aws:iam::444455556666:role/JustCreated"
OTHER_ROOT = "arn:aws:iam::777788889999:root"
INVALID = "Policy contains a statement with one or more invalid principals."


def invalid_principals(count: int) -> Fault:
    return Fault("PutKeyPolicy", "error", count=count,
                 code="MalformedPolicyDocumentException", message=INVALID)


def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.toml"
    path.write_text('key = "alias/orders"\naccounts = ["777788889999"]\n'
                    f'principals = ["{ROLE}"]\n')
    return path


def status_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(("applied:", "failed:"))]


# --- 6. principals KMS rejects ----------------------------------------------------------------


def test_rejected_principals_are_named_and_nothing_is_written(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    fault_proxy.add(invalid_principals(count=100))
    env = {**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url}

    result = run_cli("apply", profile_file(tmp_path), "--yes", env=env)

    assert_exit(result, 1)
    [line] = status_lines(result.stderr)
    assert line.startswith("failed: alias/orders: KMS rejected the key policy: it names a "
                           "principal that does not exist")
    assert f"New in this change: {ROLE}, {OTHER_ROOT}." in line
    assert "--wait-for-principals" in line and line.endswith("Nothing was written")
    assert fault_proxy.count("PutKeyPolicy") == 1  # no waiting asked for: no retry
    assert policy_text(kms, meta["KeyId"]) == original


def test_wait_for_principals_retries_until_kms_sees_them(
    kms: Any, fault_proxy: FaultProxy, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    fault_proxy.add(invalid_principals(count=1))  # the role becomes visible after one try
    env = {**aws_env, "AWS_ENDPOINT_URL": fault_proxy.url}

    started = time.monotonic()
    result = run_cli("apply", profile_file(tmp_path), "--yes", "--wait-for-principals", "10",
                     env=env)
    elapsed = time.monotonic() - started

    assert_exit(result, 0)
    assert status_lines(result.stderr) == ["applied: alias/orders: key policy updated"]
    assert [r.fault for r in fault_proxy.calls("PutKeyPolicy")] == ["error", None]
    statements = policy_of(kms, meta["KeyId"])["Statement"]
    [use] = [s for s in statements if s.get("Sid") == USE_SID]
    assert use["Principal"]["AWS"] == [ROLE, OTHER_ROOT]
    assert policy_text(kms, meta["KeyId"]) != original
    assert elapsed >= 2, f"{elapsed:.1f} s"  # it waited (2 s) before trying again


class FakeClock:
    """Stands in for the time module in kmswizard.workflow: sleeping only moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.usefixtures("fast_aws")
@pytest.mark.parametrize(("failures", "status", "slept"), [
    (2, "applied", [2.0, 4.0]),  # visible on the third try, 6 s in
    (100, "failed", [2.0, 4.0]),  # never: the next wait (8 s) would end after the 10 s
])
def test_wait_for_principals_backs_off_within_its_deadline(
    failures: int, status: str, slept: list[float], kms: Any, fault_proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_text(kms, meta["KeyId"])
    gateway = KmsGateway(AwsOptions(region=REGION, endpoint_url=fault_proxy.url))
    plan = build_plan(gateway, Profile(keys=("alias/orders",), accounts=("777788889999",),
                                       principals=(ROLE,)))
    clock = FakeClock()
    monkeypatch.setattr(workflow, "time", clock)
    fault_proxy.add(invalid_principals(count=failures))

    [outcome] = apply_plan(gateway, plan, wait_for_principals=10)

    assert outcome.status == status, outcome.message
    assert clock.slept == slept
    assert fault_proxy.count("PutKeyPolicy") == len(slept) + 1
    if status == "failed":
        assert f"New in this change: {ROLE}, {OTHER_ROOT}." in outcome.message
        assert policy_text(kms, meta["KeyId"]) == original
    else:
        assert policy_text(kms, meta["KeyId"]) == plan.keys[0].after_text


# --- 7. deleted principals (unique IDs) -------------------------------------------------------

DELETED_ROLE = "AROAEXAMPLEDELETED001"
DELETED_USER = "AIDAEXAMPLEDELETED002"


@pytest.mark.usefixtures("fast_aws")
def test_deleted_principals_are_kept_unchanged_and_reported(kms: Any, moto_endpoint: str) -> None:
    meta = create_key(kms, "alias/orders")
    owner = account_of(meta)
    original = put_policy(kms, meta["KeyId"], [
        root_statement(owner),
        {"Sid": "FormerAppRoles", "Effect": "Allow",
         "Principal": {"AWS": [DELETED_ROLE, f"arn:aws:iam::{owner}:role/App"]},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": DELETED_USER}, "Action": "kms:Schedule*",
         "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ])
    gateway = KmsGateway(AwsOptions(region=REGION, endpoint_url=moto_endpoint))

    for profile in (Profile(keys=("alias/orders",), accounts=("777788889999",)),  # share
                    Profile(keys=("alias/orders",))):  # then revoke
        plan = build_plan(gateway, profile)
        [key_plan] = plan.keys
        deleted = [f for f in key_plan.findings if f.code == "deleted-principal"]
        assert [f.severity for f in deleted] == ["warning", "warning"]
        assert DELETED_ROLE in deleted[0].message and "statement 1 ('FormerAppRoles')" in (
            deleted[0].message)
        assert DELETED_USER in deleted[1].message and "statement 2" in deleted[1].message
        assert all("kmswizard keeps it unchanged" in f.message for f in deleted)
        assert "warning deleted-principal: a principal in statement 1" in render_plan(plan, False)
        [outcome] = apply_plan(gateway, plan)
        assert outcome.status == "applied", outcome.message
        kept = [s for s in policy_of(kms, meta["KeyId"])["Statement"] if s.get("Sid") != USE_SID]
        assert json.dumps(kept) == json.dumps(original["Statement"]), "an unmanaged statement moved"

    assert policy_of(kms, meta["KeyId"]) == original


# --- 8. multi-Region keys ---------------------------------------------------------------------


AWS_MRK_ID = re.compile(r"^mrk-[0-9a-f]{32}$")


@pytest.fixture
def aws_style_mrk_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Multi-Region key IDs as AWS makes them, mrk- and 32 hex digits. moto 5 makes them
    mrk-<uuid with dashes>, which no real key has and kmswizard rightly refuses, and its request
    validation accepts only that form. The moto server runs in this process: patch both."""
    from moto.kms import models, responses

    real_generate = models.generate_key_id
    monkeypatch.setattr(models, "generate_key_id", lambda multi_region=False: (
        "mrk-" + uuid.uuid4().hex if multi_region else real_generate(multi_region)))
    real_validate = responses.KmsResponse._validate_cmk_id

    def validate(self: Any, key_id: str) -> None:
        if AWS_MRK_ID.match(key_id):
            if key_id not in self.kms_backend.keys:
                raise responses.NotFoundException(f"Key '{key_id}' does not exist")
            return
        real_validate(self, key_id)

    monkeypatch.setattr(responses.KmsResponse, "_validate_cmk_id", validate)


@pytest.mark.usefixtures("aws_style_mrk_ids")
def test_multi_region_primary_reports_its_replicas_and_both_can_be_shared(
    kms: Any, moto_endpoint: str, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    primary = kms.create_key(MultiRegion=True, Description="orders, everywhere")["KeyMetadata"]
    assert AWS_MRK_ID.match(primary["KeyId"])
    replica = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion=REPLICA_REGION)[
        "ReplicaKeyMetadata"]
    assert kms.describe_key(KeyId=primary["Arn"])["KeyMetadata"]["MultiRegionConfiguration"][
        "ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": REPLICA_REGION}]
    assert replica["Arn"] == primary["Arn"].replace(REGION, REPLICA_REGION)
    replica_kms = boto3.session.Session(
        region_name=REPLICA_REGION, aws_access_key_id="testing", aws_secret_access_key="testing",
    ).client("kms", endpoint_url=moto_endpoint)
    only_primary = tmp_path / "primary.toml"
    only_primary.write_text(f'key = "{primary["Arn"]}"\naccounts = ["777788889999"]\n')
    both = tmp_path / "both.toml"
    both.write_text(f'keys = ["{primary["Arn"]}", "{replica["Arn"]}"]\n'
                    'accounts = ["777788889999"]\n')

    plan = run_cli("plan", only_primary, "--json", env=aws_env)

    assert_exit(plan, 2)
    [key] = json.loads(plan.stdout)["keys"]
    [replicas] = [f for f in key["findings"] if f["code"] == "replicas"]
    assert replicas["severity"] == "info" and replica["Arn"] in replicas["message"]
    # With the replica in the same profile, nothing is left to report.
    planned_both = json.loads(run_cli("plan", both, "--json", env=aws_env).stdout)
    assert all(f["code"] != "replicas" for k in planned_both["keys"] for f in k["findings"])

    apply = run_cli("apply", both, "--yes", env=aws_env)

    assert_exit(apply, 0)
    assert status_lines(apply.stderr) == [
        f"applied: {primary['KeyId']}: key policy updated",
        f"applied: {replica['KeyId']}: key policy updated",
    ]
    for client in (kms, replica_kms):
        arn = primary["Arn"] if client is kms else replica["Arn"]
        statements = json.loads(client.get_key_policy(KeyId=arn, PolicyName="default")[
            "Policy"])["Statement"]
        [use] = [s for s in statements if s.get("Sid") == USE_SID]
        assert use["Principal"]["AWS"] == [OTHER_ROOT]
    # Same key ID, two regions: two backup folders.
    backups = Path(aws_env["XDG_STATE_HOME"]) / "kmswizard" / "backups" / account_of(primary)
    for region in (REGION, REPLICA_REGION):
        assert len(list((backups / region / primary["KeyId"]).glob("*.json"))) == 1, region
    assert_exit(run_cli("plan", both, env=aws_env), 0)
