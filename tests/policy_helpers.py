"""Shared helpers for the tests of the pure policy core (kmswizard.policy).

Not a conftest: import what you need with ``from policy_helpers import ...``.
Tests may use botocore (only kmswizard.policy itself may not).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Sequence
from typing import Any

import botocore.session

from kmswizard.policy.actions import ActionCatalogue
from kmswizard.policy.document import Policy
from kmswizard.policy.findings import Finding
from kmswizard.policy.keyinfo import KeyInfo
from kmswizard.policy.plan import KeyPlan, plan_key
from kmswizard.policy.sharing import ShareRequest

OWNER = "111122223333"
EXTERNAL = "444455556666"
OTHER = "777788889999"
THIRD = "123456789012"
REGION = "us-west-2"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{OWNER}:key/{KEY_ID}"
ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
USER = f"arn:aws:iam::{EXTERNAL}:user/ExampleUser"

SYMMETRIC_DEFAULTS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]
GRANT_ACTION_LIST = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
GRANT_CONDITION_BLOCK = {"Bool": {"kms:GrantIsForAWSResource": "true"}}

# The statement the console writes into every new key's policy.
ROOT_STATEMENT: dict[str, Any] = {
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
    "Action": "kms:*",
    "Resource": "*",
}


@functools.cache
def catalogue() -> ActionCatalogue:
    """The real catalogue, from botocore's KMS service model (read once per session)."""
    operations = botocore.session.get_session().get_service_model("kms").operation_names
    return ActionCatalogue.from_operations(operations)


def key_arn(key_id: str = KEY_ID, *, owner: str = OWNER, partition: str = "aws",
            region: str = REGION) -> str:
    return f"arn:{partition}:kms:{region}:{owner}:key/{key_id}"


def make_key(
    key_id: str = KEY_ID,
    *,
    spec: str = "SYMMETRIC_DEFAULT",
    usage: str = "ENCRYPT_DECRYPT",
    state: str = "Enabled",
    manager: str = "CUSTOMER",
    owner: str = OWNER,
    partition: str = "aws",
    region: str = REGION,
    aliases: tuple[str, ...] = (),
) -> KeyInfo:
    return KeyInfo(
        arn=key_arn(key_id, owner=owner, partition=partition, region=region),
        key_id=key_id,
        spec=spec,
        usage=usage,
        state=state,
        manager=manager,
        aliases=aliases,
    )


def default_policy(owner: str = OWNER, partition: str = "aws") -> Policy:
    """A fresh copy of the default key policy KMS gives a new key."""
    statement = copy.deepcopy(ROOT_STATEMENT)
    statement["Principal"] = {"AWS": f"arn:{partition}:iam::{owner}:root"}
    return {"Version": "2012-10-17", "Id": "key-default-1", "Statement": [statement]}


def dump(policy: Policy) -> str:
    """Policy text as KMS would return it (pretty JSON)."""
    return json.dumps(policy, indent=2)


def plan(
    policy: Policy | str | None = None,
    *,
    key: KeyInfo | None = None,
    accounts: Sequence[str] = (),
    principals: Sequence[str] = (),
    actions: Sequence[str] | None = None,
    grants: bool = False,
) -> KeyPlan:
    """plan_key with the real catalogue; the policy defaults to the default key policy."""
    if policy is None:
        policy = default_policy()
    text = policy if isinstance(policy, str) else dump(policy)
    request = ShareRequest(
        accounts=tuple(accounts),
        principals=tuple(principals),
        actions=tuple(actions) if actions is not None else None,
        grants_for_aws_resources=grants,
    )
    return plan_key(key or make_key(), text, request, catalogue())


def codes(key_plan: KeyPlan) -> list[str]:
    return [f.code for f in key_plan.findings]


def findings_with(key_plan: KeyPlan, code: str) -> list[Finding]:
    return [f for f in key_plan.findings if f.code == code]


def one_finding(key_plan: KeyPlan, code: str) -> Finding:
    found = findings_with(key_plan, code)
    assert len(found) == 1, f"expected one {code!r} finding, got {key_plan.findings!r}"
    return found[0]
