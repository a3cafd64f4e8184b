"""The embedded demo: an in-memory KMS (moto) seeded as account 111122223333 in us-west-2.

Nothing leaves the machine: moto intercepts every AWS call in this process.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import boto3
import botocore.session

from kmswizard.errors import UserError
from kmswizard.state import state_dir

DEMO_ACCOUNT = "111122223333"
DEMO_REGION = "us-west-2"
DEMO_NOTICE = "demo: an in-memory KMS for account 111122223333; nothing leaves this machine"

_lock = threading.Lock()
_mock: Any = None


def _default_policy(extra: list[dict[str, Any]] | None = None) -> str:
    """A key policy as the console writes it: root, key administrators, then key users."""
    root = f"arn:aws:iam::{DEMO_ACCOUNT}:root"
    statements: list[dict[str, Any]] = [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:role/KeyAdmin"},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                    "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                    "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion"],
         "Resource": "*"},
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-consolepolicy-3",
            "Statement": statements + (extra or []),
        },
        indent=4,
    )


_CONSOLE_SHARED = [
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
]

# (key ID, alias, KeyUsage, KeySpec, description, extra statements, state)
DEMO_KEYS: list[tuple[str, str, str, str, str, list[dict[str, Any]], str]] = [
    ("1234abcd-12ab-34cd-56ef-1234567890ab", "alias/orders", "ENCRYPT_DECRYPT",
     "SYMMETRIC_DEFAULT", "Orders service data", [], "Enabled"),
    ("2234abcd-12ab-34cd-56ef-1234567890ab", "alias/payments-rsa", "ENCRYPT_DECRYPT",
     "RSA_2048", "Payment tokens (RSA encryption)", [], "Enabled"),
    ("3234abcd-12ab-34cd-56ef-1234567890ab", "alias/release-signing", "SIGN_VERIFY",
     "ECC_NIST_P256", "Release artifact signing", [], "Enabled"),
    ("4234abcd-12ab-34cd-56ef-1234567890ab", "alias/key-exchange", "KEY_AGREEMENT",
     "ECC_NIST_P256", "Partner key agreement", [], "Enabled"),
    ("5234abcd-12ab-34cd-56ef-1234567890ab", "alias/webhook-hmac", "GENERATE_VERIFY_MAC",
     "HMAC_256", "Webhook signatures (HMAC)", [], "Enabled"),
    ("6234abcd-12ab-34cd-56ef-1234567890ab", "alias/analytics", "ENCRYPT_DECRYPT",
     "SYMMETRIC_DEFAULT", "Analytics exports, shared in the console", _CONSOLE_SHARED,
     "Enabled"),
    ("7234abcd-12ab-34cd-56ef-1234567890ab", "alias/legacy-billing", "ENCRYPT_DECRYPT",
     "SYMMETRIC_DEFAULT", "Old billing data (disabled)", [], "Disabled"),
    ("8234abcd-12ab-34cd-56ef-1234567890ab", "alias/retired-reports", "ENCRYPT_DECRYPT",
     "SYMMETRIC_DEFAULT", "Retired reports (pending deletion)", [], "PendingDeletion"),
]
AWS_MANAGED_KEY = ("9234abcd-12ab-34cd-56ef-1234567890ab", "alias/aws/s3",
                   "Default key that protects my S3 objects when no other key is defined")


def add_key(backend: Any, key_id: str, usage: str, spec: str, description: str,
            policy: str | None = None) -> Any:
    """Create a key in a moto backend with a fixed key ID (so demo screens are stable)."""
    key = backend.create_key(policy, usage, spec, description, None)
    backend.keys.pop(key.id)
    key.id = key_id
    key.arn = key.arn.rsplit("/", 1)[0] + "/" + key_id
    backend.keys[key_id] = key
    return key


def add_aws_managed_key(backend: Any, key_id: str, alias: str, description: str) -> Any:
    """moto cannot create AWS managed keys through the API; build one as AWS would show it."""
    key = add_key(backend, key_id, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", description)
    key.key_manager = "AWS"
    backend.create_alias(key.id, alias)
    return key


def seed(account: str = DEMO_ACCOUNT, region: str = DEMO_REGION) -> None:
    from moto.kms.models import kms_backends

    backend = kms_backends[account][region]
    for key_id, alias, usage, spec, description, extra, state in DEMO_KEYS:
        key = add_key(backend, key_id, usage, spec, description, _default_policy(extra))
        backend.create_alias(key.id, alias)
        if state == "Disabled":
            backend.disable_key(key.id)
        elif state == "PendingDeletion":
            backend.schedule_key_deletion(key.id, 30)
    add_aws_managed_key(backend, *AWS_MANAGED_KEY)


def demo_session() -> boto3.session.Session:
    """Start the in-memory KMS once per process and return a session bound to it."""
    global _mock
    with _lock:
        if _mock is None:
            os.environ["MOTO_ACCOUNT_ID"] = DEMO_ACCOUNT
            # Keep the demo's backups and audit log apart from those of real accounts.
            os.environ["KMSWIZARD_STATE_DIR"] = str(state_dir() / "demo")
            # The demo never uses a named profile (moto itself fails on a missing one).
            os.environ.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_DEFAULT_PROFILE", None)
            try:
                from moto import mock_aws
            except ImportError:
                raise UserError(
                    "the demo needs moto: pip install 'kmswizard[demo]'"
                ) from None
            _mock = mock_aws()
            _mock.start()
            seed()
    # An AWS_ENDPOINT_URL (env or config file) would otherwise send the demo's requests to that
    # endpoint instead of the in-memory KMS.
    core = botocore.session.Session()
    core.set_config_variable("ignore_configured_endpoint_urls", True)
    return boto3.session.Session(
        aws_access_key_id="demo", aws_secret_access_key="demo", region_name=DEMO_REGION,
        botocore_session=core,
    )
