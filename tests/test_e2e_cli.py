"""End to end: the installed ``kmswizard`` console script, in a subprocess, against a moto server.

Every test creates its keys with boto3, runs the CLI through AWS_ENDPOINT_URL, and reads the key
policies back with boto3: what matters is what ends up in KMS, and the exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kmswizard import __version__
from kmswizard.policy.sharing import GRANTS_SID, USE_SID

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]  # the run_cli fixture (conftest.py)

MOTO_REGION = "us-west-2"  # the region aws_env configures
REPO = Path(__file__).resolve().parents[1]
SEED_ACCOUNT = REPO / "profiles" / "orders-account.toml"  # seed example 1
SEED_ROLES = REPO / "profiles" / "orders-roles.toml"  # seed example 2
SEED_REVOKE = REPO / "profiles" / "revoke-orders.toml"

EXTERNAL = "444455556666"
OTHER = "777788889999"
EXTERNAL_ROOT = f"arn:aws:iam::{EXTERNAL}:root"
ROLE = f"arn:aws:iam::{EXTERNAL}:role/ExampleRole"
USER = f"arn:aws:iam::{EXTERNAL}:user/ExampleUser"

SYMMETRIC_DEFAULTS = [
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
]
ASYMMETRIC_ENCRYPTION_DEFAULTS = [
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey", "kms:GetPublicKey",
]
SIGNING_DEFAULTS = ["kms:Sign", "kms:Verify", "kms:DescribeKey", "kms:GetPublicKey"]
HMAC_DEFAULTS = ["kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"]
GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
GRANT_CONDITION = {"Bool": {"kms:GrantIsForAWSResource": "true"}}

IAM_HEADING = "IAM policy for the external account's administrator"


# --- helpers ----------------------------------------------------------------------------------


def create_key(
    kms: Any,
    alias: str | None = None,
    *,
    spec: str = "SYMMETRIC_DEFAULT",
    usage: str = "ENCRYPT_DECRYPT",
    description: str = "",
) -> dict[str, Any]:
    """A customer managed key (with moto's default policy); returns its KeyMetadata."""
    meta = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=description)["KeyMetadata"]
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return dict(meta)


def account_of(meta: dict[str, Any]) -> str:
    return str(meta["Arn"].split(":")[4])


def policy_text(kms: Any, key_id: str) -> str:
    return str(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def policy_of(kms: Any, key_id: str) -> dict[str, Any]:
    return dict(json.loads(policy_text(kms, key_id)))


def put_policy(kms: Any, key_id: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    policy = {"Version": "2012-10-17", "Id": "test-policy", "Statement": statements}
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy, indent=4))
    return policy


def root_statement(account: str) -> dict[str, Any]:
    return {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def use_statement(principals: list[str], actions: list[str]) -> dict[str, Any]:
    return {
        "Sid": USE_SID,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": actions,
        "Resource": "*",
    }


def grants_statement(principals: list[str]) -> dict[str, Any]:
    return {
        "Sid": GRANTS_SID,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": GRANT_ACTIONS,
        "Resource": "*",
        "Condition": GRANT_CONDITION,
    }


def managed(policy: dict[str, Any], sid: str = USE_SID) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s.get("Sid") == sid]


def write_profile(tmp_path: Path, text: str, name: str = "profile.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def iam_policy_in(stdout: str) -> dict[str, Any]:
    """The IAM policy JSON that a text plan prints after its heading."""
    assert IAM_HEADING in stdout, stdout
    start = stdout.index("{", stdout.index(IAM_HEADING))
    policy, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return dict(policy)


def assert_exit(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (
        f"exit {result.returncode}, expected {code}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    assert "Traceback" not in result.stdout + result.stderr


def assert_one_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1 with exactly one stderr line, ``kmswizard: error: ...``, naming every needle."""
    assert_exit(result, 1)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kmswizard: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


# --- seed examples: plan, apply, idempotence, revoke ------------------------------------------


def test_seed_example_1_plan_apply_then_nothing_to_change(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_of(kms, meta["KeyId"])

    plan = run_cli("plan", SEED_ACCOUNT, env=aws_env)
    assert_exit(plan, 2)
    assert "--- alias/orders (current)" in plan.stdout
    assert "+++ alias/orders (proposed)" in plan.stdout
    assert f'+      "Sid": "{USE_SID}",' in plan.stdout
    assert "1 of 1 key policies would change." in plan.stdout
    iam = iam_policy_in(plan.stdout)
    assert [s["Action"] for s in iam["Statement"]] == [SYMMETRIC_DEFAULTS, GRANT_ACTIONS]
    assert all(s["Resource"] == meta["Arn"] for s in iam["Statement"])
    assert policy_of(kms, meta["KeyId"]) == original  # plan writes nothing

    apply = run_cli("apply", SEED_ACCOUNT, "--yes", env=aws_env)
    assert_exit(apply, 0)
    assert "applied: alias/orders: key policy updated" in apply.stderr
    after = policy_of(kms, meta["KeyId"])
    assert after["Statement"] == [
        original["Statement"][0],
        use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS),
        grants_statement([EXTERNAL_ROOT]),
    ]
    assert {k: v for k, v in after.items() if k != "Statement"} == {
        k: v for k, v in original.items() if k != "Statement"
    }
    written = policy_text(kms, meta["KeyId"])

    again = run_cli("plan", SEED_ACCOUNT, env=aws_env)
    assert_exit(again, 0)
    assert "no change to the key policy" in again.stdout
    assert "0 of 1 key policies would change." in again.stdout

    reapply = run_cli("apply", SEED_ACCOUNT, "--yes", env=aws_env)
    assert_exit(reapply, 0)
    assert "nothing to change" in reapply.stderr
    assert policy_text(kms, meta["KeyId"]) == written


def test_apply_many_keys_at_a_chosen_put_rate_in_profile_order(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    """--concurrency and --put-rate change the pace only: every key is applied, reported in
    the profile's order, with its managed statement."""
    aliases = [f"alias/fleet-{i:02d}" for i in range(20)]
    ids = [create_key(kms, alias)["KeyId"] for alias in aliases]
    profile = write_profile(tmp_path, f'keys = {json.dumps(aliases)}\n'
                            f'accounts = ["{EXTERNAL}"]\n', "fleet.toml")

    apply = run_cli("apply", profile, "--yes", "--concurrency", "4", "--put-rate", "100",
                    env=aws_env)

    assert_exit(apply, 0)
    reported = [line.split(": ")[1] for line in apply.stderr.splitlines()
                if line.startswith("applied: ")]
    assert reported == aliases
    for key_id in ids:
        assert use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS) in policy_of(
            kms, key_id)["Statement"]


def test_seed_example_2_grants_one_role_and_one_user(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_of(kms, meta["KeyId"])

    result = run_cli("apply", SEED_ROLES, "--yes", env=aws_env)

    assert_exit(result, 0)
    after = policy_of(kms, meta["KeyId"])
    assert after["Statement"] == [
        *original["Statement"],
        use_statement([ROLE, USER], ["kms:Decrypt", "kms:DescribeKey"]),
    ]
    assert not managed(after, GRANTS_SID)


def test_revoke_profile_restores_the_original_statements(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_of(kms, meta["KeyId"])
    assert_exit(run_cli("apply", SEED_ACCOUNT, "--yes", env=aws_env), 0)
    assert len(policy_of(kms, meta["KeyId"])["Statement"]) == 3

    result = run_cli("apply", SEED_REVOKE, "--yes", env=aws_env)

    assert_exit(result, 0)
    assert policy_of(kms, meta["KeyId"]) == original


def test_dry_run_writes_nothing_and_exits_2(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    before = policy_text(kms, meta["KeyId"])

    result = run_cli("apply", SEED_ACCOUNT, "--dry-run", "--yes", env=aws_env)

    assert_exit(result, 2)
    assert "dry run: nothing was written" in result.stderr
    assert f'"Sid": "{USE_SID}"' in result.stdout
    assert policy_text(kms, meta["KeyId"]) == before


def test_apply_without_yes_off_a_terminal_refuses(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    meta = create_key(kms, "alias/orders")
    before = policy_text(kms, meta["KeyId"])

    # Even a "yes" piped in is no confirmation: only a terminal or --yes is.
    result = run_cli("apply", SEED_ACCOUNT, input="yes\n", env=aws_env)

    assert_one_error(result, "refusing to apply", "--yes")
    assert "+++ alias/orders (proposed)" in result.stdout  # the plan was shown
    assert policy_text(kms, meta["KeyId"]) == before


# --- JSON output ------------------------------------------------------------------------------


def test_plan_and_apply_json_structure(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_of(kms, meta["KeyId"])
    profile = write_profile(tmp_path, f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n')

    plan = run_cli("plan", profile, "--json", env=aws_env)
    assert_exit(plan, 2)
    data = json.loads(plan.stdout)
    assert set(data) == {"changed", "keys", "iam_policy"}
    assert data["changed"] is True
    [key] = data["keys"]
    assert set(key) == {"key_arn", "changed", "before", "after", "findings"}
    assert key["key_arn"] == meta["Arn"]
    assert key["changed"] is True
    assert key["before"] == original
    assert key["after"]["Statement"] == [
        *original["Statement"], use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS)
    ]
    assert key["findings"], "granting a whole account is reported"
    assert all(set(f) == {"severity", "code", "message"} for f in key["findings"])
    assert "whole-account" in {f["code"] for f in key["findings"]}
    assert data["iam_policy"]["Statement"][0]["Resource"] == meta["Arn"]
    assert policy_of(kms, meta["KeyId"]) == original

    apply = run_cli("apply", profile, "--json", "--yes", env=aws_env)
    assert_exit(apply, 0)
    applied = json.loads(apply.stdout)
    assert {"changed", "keys", "iam_policy"} <= set(applied)
    assert {k: applied[k] for k in ("changed", "keys", "iam_policy")} == data
    backup = Path(applied["applied"][0].pop("backup"))
    assert applied["applied"] == [
        {"key_arn": meta["Arn"], "status": "applied",
         "message": "alias/orders: key policy updated"}
    ]
    assert policy_of(kms, meta["KeyId"]) == key["after"]
    # The policy that was replaced is saved under the user's state directory.
    assert backup.is_relative_to(aws_env["XDG_STATE_HOME"])
    assert json.loads(json.loads(backup.read_text())["policy"]) == original


# --- several keys, several key types ----------------------------------------------------------


def test_several_key_types_iam_policy_and_apply(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    sym_a = create_key(kms, "alias/sym-a")
    sym_b = create_key(kms, "alias/sym-b")
    rsa = create_key(kms, spec="RSA_2048", usage="ENCRYPT_DECRYPT")
    ecc = create_key(kms, spec="ECC_NIST_P256", usage="SIGN_VERIFY")
    hmac = create_key(kms, "alias/hmac", spec="HMAC_256", usage="GENERATE_VERIFY_MAC")
    alias_arn = f"arn:aws:kms:{MOTO_REGION}:{account_of(sym_b)}:alias/sym-b"
    # Every form of key reference: alias name, key ID, key ARN, alias ARN.
    profile = write_profile(
        tmp_path,
        "keys = [\n"
        f'  "alias/sym-a",\n  "{rsa["KeyId"]}",\n  "{ecc["Arn"]}",\n  "alias/hmac",\n'
        f'  "{alias_arn}",\n]\naccounts = ["{EXTERNAL}"]\n',
    )
    expected = {
        (tuple(SYMMETRIC_DEFAULTS), (sym_a["Arn"], sym_b["Arn"])),
        (tuple(ASYMMETRIC_ENCRYPTION_DEFAULTS), (rsa["Arn"],)),
        (tuple(SIGNING_DEFAULTS), (ecc["Arn"],)),
        (tuple(HMAC_DEFAULTS), (hmac["Arn"],)),
    }

    iam = run_cli("iam-policy", profile, env=aws_env)

    assert_exit(iam, 0)
    policy = json.loads(iam.stdout)
    assert policy["Version"] == "2012-10-17"
    statements = policy["Statement"]
    assert len(statements) == 4  # one per distinct action set; no grants asked for
    found = {
        (tuple(s["Action"]),
         tuple(s["Resource"]) if isinstance(s["Resource"], list) else (s["Resource"],))
        for s in statements
    }
    assert found == expected
    assert len({s["Sid"] for s in statements}) == 4
    assert all(s["Effect"] == "Allow" and "Principal" not in s for s in statements)

    apply = run_cli("apply", profile, "--yes", env=aws_env)

    assert_exit(apply, 0)
    assert apply.stderr.count("key policy updated") == 5
    for meta, actions in [
        (sym_a, SYMMETRIC_DEFAULTS), (sym_b, SYMMETRIC_DEFAULTS),
        (rsa, ASYMMETRIC_ENCRYPTION_DEFAULTS), (ecc, SIGNING_DEFAULTS), (hmac, HMAC_DEFAULTS),
    ]:
        assert managed(policy_of(kms, meta["KeyId"])) == [
            use_statement([EXTERNAL_ROOT], actions)
        ], meta["KeySpec"]


def test_account_order_does_not_matter_and_removing_one_keeps_the_other(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    original = policy_of(kms, meta["KeyId"])
    both = write_profile(tmp_path, f'key = "alias/orders"\naccounts = ["{EXTERNAL}", "{OTHER}"]\n')
    assert_exit(run_cli("apply", both, "--yes", env=aws_env), 0)
    roots = [EXTERNAL_ROOT, f"arn:aws:iam::{OTHER}:root"]
    assert managed(policy_of(kms, meta["KeyId"])) == [use_statement(roots, SYMMETRIC_DEFAULTS)]

    swapped = write_profile(
        tmp_path, f'key = "alias/orders"\naccounts = ["{OTHER}", "{EXTERNAL}"]\n', "swapped.toml"
    )
    assert_exit(run_cli("plan", swapped, env=aws_env), 0)

    only_other = write_profile(
        tmp_path, f'key = "alias/orders"\naccounts = ["{OTHER}"]\n', "other.toml"
    )
    assert_exit(run_cli("apply", only_other, "--yes", env=aws_env), 0)
    after = policy_of(kms, meta["KeyId"])
    assert after["Statement"] == [
        *original["Statement"],
        use_statement([f"arn:aws:iam::{OTHER}:root"], SYMMETRIC_DEFAULTS),
    ]


# --- statements kmswizard does not manage -----------------------------------------------------


def test_unmanaged_statements_stay_identical(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/orders")
    owner = account_of(meta)
    statements = [
        root_statement(owner),
        {"Sid": "DenyDeletionOutsideTheOrg", "Effect": "Deny", "Principal": "*",
         "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
        {"Sid": "AdminsExceptDecrypt", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{owner}:role/KeyAdmin"},
         "NotAction": ["kms:Decrypt", "kms:ReEncrypt*"], "Resource": "*"},
        {"Sid": "ViaS3Only", "Effect": "Allow",
         "Principal": {"AWS": [f"arn:aws:iam::{owner}:role/App"]},
         "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com",
                                        "kms:CallerAccount": owner}}},
        {"Sid": "CloudWatchLogs", "Effect": "Allow",
         "Principal": {"Service": "logs.us-west-2.amazonaws.com"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
         "Action": "kms:DescribeKey", "Resource": "*"},
    ]
    original = put_policy(kms, meta["KeyId"], statements)
    profile = write_profile(
        tmp_path,
        f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\ngrants_for_aws_resources = true\n',
    )

    result = run_cli("apply", profile, "--yes", env=aws_env)

    assert_exit(result, 0)
    after = policy_of(kms, meta["KeyId"])
    assert after["Id"] == original["Id"]
    assert len(after["Statement"]) == len(statements) + 2
    for index, statement in enumerate(statements):
        assert after["Statement"][index] == statement, index
    assert after["Statement"][len(statements):] == [
        use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS), grants_statement([EXTERNAL_ROOT])
    ]


def test_console_shared_key_is_reported_not_duplicated(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/analytics")
    console = [
        root_statement(account_of(meta)),
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": [EXTERNAL_ROOT]}, "Action": SYMMETRIC_DEFAULTS, "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": [EXTERNAL_ROOT]}, "Action": GRANT_ACTIONS, "Resource": "*",
         "Condition": GRANT_CONDITION},
    ]
    put_policy(kms, meta["KeyId"], console)
    before = policy_text(kms, meta["KeyId"])
    profile = write_profile(
        tmp_path,
        f'key = "alias/analytics"\naccounts = ["{EXTERNAL}"]\ngrants_for_aws_resources = true\n',
    )

    result = run_cli("plan", profile, "--json", env=aws_env)

    assert_exit(result, 0)
    [key] = json.loads(result.stdout)["keys"]
    assert key["changed"] is False
    assert key["after"]["Statement"] == console
    granted = [f for f in key["findings"] if f["code"] == "already-granted"]
    assert len(granted) == 2  # the use and the grants statements both already cover it
    assert all("Allow" in f["message"] and EXTERNAL in f["message"] for f in granted)
    assert policy_text(kms, meta["KeyId"]) == before


# --- key listing ------------------------------------------------------------------------------


def test_keys_lists_every_key_with_its_details(
    kms: Any,
    aws_env: dict[str, str],
    run_cli: RunCli,
    aws_managed_key: Callable[..., dict[str, str]],
) -> None:
    orders = create_key(kms, "alias/orders", description="Orders data")
    kms.create_alias(AliasName="alias/orders-legacy", TargetKeyId=orders["KeyId"])
    rsa = create_key(kms, spec="RSA_2048", usage="ENCRYPT_DECRYPT")
    signing = create_key(kms, "alias/signing", spec="ECC_NIST_P256", usage="SIGN_VERIFY",
                         description="Release signing")
    kms.disable_key(KeyId=signing["KeyId"])
    ebs = aws_managed_key("alias/aws/ebs", "Default key for EBS")

    listed = run_cli("keys", "--json", env=aws_env)

    assert_exit(listed, 0)
    rows = json.loads(listed.stdout)
    fields = {"key_id", "arn", "aliases", "spec", "usage", "state", "manager", "description"}
    assert all(set(row) == fields for row in rows)
    by_id = {row["key_id"]: row for row in rows}
    # Only real keys: moto's made-up alias/aws/* aliases (no such key) are not listed.
    assert set(by_id) == {orders["KeyId"], rsa["KeyId"], signing["KeyId"], ebs["KeyId"]}
    assert by_id[orders["KeyId"]] == {
        "key_id": orders["KeyId"], "arn": orders["Arn"],
        "aliases": ["alias/orders", "alias/orders-legacy"], "spec": "SYMMETRIC_DEFAULT",
        "usage": "ENCRYPT_DECRYPT", "state": "Enabled", "manager": "CUSTOMER",
        "description": "Orders data",
    }
    assert by_id[rsa["KeyId"]]["aliases"] == []
    assert (by_id[rsa["KeyId"]]["spec"], by_id[rsa["KeyId"]]["usage"]) == (
        "RSA_2048", "ENCRYPT_DECRYPT")
    assert by_id[signing["KeyId"]]["state"] == "Disabled"
    assert by_id[signing["KeyId"]]["usage"] == "SIGN_VERIFY"
    assert by_id[ebs["KeyId"]]["manager"] == "AWS"
    assert by_id[ebs["KeyId"]]["aliases"] == ["alias/aws/ebs"]
    assert rows[-1]["key_id"] == ebs["KeyId"]  # AWS managed keys come last

    table = run_cli("keys", env=aws_env)

    assert_exit(table, 0)
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["KEY", "ID", "ALIASES"]
    assert len(lines) == 5
    row = {line.split()[0]: line for line in lines[1:]}
    assert set(row) == set(by_id)
    assert "alias/orders,alias/orders-legacy" in row[orders["KeyId"]]
    assert row[orders["KeyId"]].endswith(orders["Arn"])
    assert "Orders data" in row[orders["KeyId"]]
    assert row[ebs["KeyId"]].split()[1:6] == [
        "alias/aws/ebs", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "Enabled", "AWS"]
    assert "Disabled" in row[signing["KeyId"]].split()


# --- key states -------------------------------------------------------------------------------


def test_pending_deletion_refuses_granting_but_allows_revoking(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/retired")
    base = [root_statement(account_of(meta))]
    shared = put_policy(kms, meta["KeyId"], [
        *base, use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS)
    ])
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    before = policy_text(kms, meta["KeyId"])
    grant = write_profile(
        tmp_path, f'key = "alias/retired"\naccounts = ["{EXTERNAL}", "{OTHER}"]\n', "grant.toml"
    )

    refused = run_cli("apply", grant, "--yes", env=aws_env)

    line = assert_one_error(refused, "pending deletion")
    assert "nothing written" in line
    assert policy_text(kms, meta["KeyId"]) == before

    revoke = write_profile(tmp_path, 'key = "alias/retired"\naccounts = []\n', "revoke.toml")
    allowed = run_cli("apply", revoke, "--yes", env=aws_env)

    assert_exit(allowed, 0)
    after = policy_of(kms, meta["KeyId"])
    assert after["Statement"] == base
    assert after["Id"] == shared["Id"]


def test_disabled_key_warns_and_applies(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    meta = create_key(kms, "alias/legacy")
    kms.disable_key(KeyId=meta["KeyId"])
    profile = write_profile(tmp_path, f'key = "alias/legacy"\naccounts = ["{EXTERNAL}"]\n')

    result = run_cli("apply", profile, "--yes", env=aws_env)

    assert_exit(result, 0)
    assert "warning key-disabled: alias/legacy is disabled" in result.stdout
    assert managed(policy_of(kms, meta["KeyId"])) == [
        use_statement([EXTERNAL_ROOT], SYMMETRIC_DEFAULTS)
    ]


# --- bad input: one line on stderr, exit 1, nothing written -----------------------------------

VALID = f'key = "alias/orders"\naccounts = ["{EXTERNAL}"]\n'
MANAGED_KEY_ID = "0000abcd-12ab-34cd-56ef-1234567890ab"
UNREACHABLE = "http://127.0.0.1:1"

# (profile text, extra arguments, environment change, what the message names)
BAD_INPUT: dict[str, tuple[str | None, tuple[str, ...], str | None, tuple[str, ...]]] = {
    "toml-array-never-closed": (
        f'key = "alias/orders"\nregion = "us-west-2"\naccounts = ["{EXTERNAL}"\n', (), None,
        ("bad.toml:3:", "never closed"),
    ),
    "unknown-field": (
        f'key = "alias/orders"\nacounts = ["{EXTERNAL}"]\n', (), None,
        ("bad.toml:2:", "'acounts'"),
    ),
    "account-of-11-digits": (
        'key = "alias/orders"\naccounts = ["44445555666"]\n', (), None,
        ("bad.toml:2:", "'44445555666'", "12 digits"),
    ),
    "malformed-principal": (
        f'key = "alias/orders"\nprincipals = ["arn:aws:iam::{EXTERNAL}:rol/Reader"]\n', (), None,
        ("bad.toml:2:", f"arn:aws:iam::{EXTERNAL}:rol/Reader"),
    ),
    "everyone-principal": (
        'key = "alias/orders"\nprincipals = ["*"]\n', (), None, ("bad.toml:2:", "'*'"),
    ),
    "group-principal": (
        f'key = "alias/orders"\nprincipals = ["arn:aws:iam::{EXTERNAL}:group/Readers"]\n', (),
        None, ("bad.toml:2:", "group/Readers", "group"),
    ),
    "misspelled-action": (
        VALID + 'actions = ["kms:Decrypt", "kms:Decrypy"]\n', (), None,
        ("bad.toml:3:", "'kms:Decrypy'"),
    ),
    "key-not-found": (
        f'key = "alias/nope"\naccounts = ["{EXTERNAL}"]\n', (), None,
        ("'alias/nope'", "not found"),
    ),
    # Refused before any AWS call: the endpoint cannot be reached, yet the message is about
    # the key.
    "aws-managed-alias": (
        f'key = "alias/aws/ebs"\naccounts = ["{EXTERNAL}"]\n', (),
        f"AWS_ENDPOINT_URL={UNREACHABLE}", ("bad.toml:1:", "alias/aws/ebs", "AWS managed"),
    ),
    "aws-managed-key-id": (
        f'key = "{MANAGED_KEY_ID}"\naccounts = ["{EXTERNAL}"]\n', (), None,
        (MANAGED_KEY_ID, "AWS managed key"),
    ),
    "access-denied": (
        f'key = "alias/locked"\naccounts = ["{EXTERNAL}"]\n', (), None,
        ("DescribeKey alias/locked", "access denied"),
    ),
    "no-credentials": (VALID, (), "no-credentials", ("no AWS credentials",)),
    "endpoint-unreachable": (
        VALID, (), f"AWS_ENDPOINT_URL={UNREACHABLE}", ("cannot reach", UNREACHABLE),
    ),
    "profile-option": (VALID, ("--profile", "x"), None, ("--aws-profile",)),
    "concurrency-zero": (VALID, ("--concurrency", "0"), None, ("--concurrency 0", "1 to 64")),
    "put-rate-zero": (VALID, ("--put-rate", "0"), None, ("--put-rate 0", "0.1 to 1000")),
    "put-rate-not-a-number": (VALID, ("--put-rate", "nan"), None, ("--put-rate nan",)),
    "missing-profile-file": (None, (), None, ("missing.toml", "no such profile file")),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_error_line_and_writes_nothing(
    case: str,
    kms: Any,
    aws_env: dict[str, str],
    run_cli: RunCli,
    aws_managed_key: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    text, extra, env_change, needles = BAD_INPUT[case]
    orders = create_key(kms, "alias/orders")
    locked = create_key(kms, "alias/locked")
    # moto enforces an explicit Deny of kms:DescribeKey (and nothing else of IAM).
    put_policy(kms, locked["KeyId"], [
        root_statement(account_of(locked)),
        {"Sid": "DenyDescribe", "Effect": "Deny", "Principal": "*",
         "Action": ["kms:DescribeKey"], "Resource": "*"},
    ])
    aws_managed_key("alias/aws/ebs", key_id=MANAGED_KEY_ID)
    ids = [orders["KeyId"], locked["KeyId"], MANAGED_KEY_ID]
    before = {key_id: policy_text(kms, key_id) for key_id in ids}

    env = dict(aws_env)
    if env_change == "no-credentials":
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            del env[name]
        empty = tmp_path / "empty"
        empty.write_text("")
        env.update(AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty),
                   AWS_EC2_METADATA_DISABLED="true")
    elif env_change:
        name, value = env_change.split("=", 1)
        env[name] = value
    profile = write_profile(tmp_path, text, "bad.toml") if text else tmp_path / "missing.toml"

    result = run_cli("apply", profile, "--yes", *extra, env=env)

    assert_one_error(result, *needles)
    assert {key_id: policy_text(kms, key_id) for key_id in ids} == before


# --- the command itself -----------------------------------------------------------------------


def test_version_and_help(aws_env: dict[str, str], run_cli: RunCli) -> None:
    version = run_cli("--version", env=aws_env)
    assert_exit(version, 0)
    assert version.stdout.strip() == f"kmswizard {__version__}"

    help_text = run_cli("plan", "--help", env=aws_env)
    assert_exit(help_text, 0)
    assert help_text.stdout.startswith("usage: kmswizard plan")
    assert "--json" in help_text.stdout and "PROFILE" in help_text.stdout


def test_python_dash_m_kmswizard(aws_env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kmswizard", "--version"], env=aws_env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert_exit(result, 0)
    assert result.stdout.strip() == f"kmswizard {__version__}"


def test_demo_keys_use_the_embedded_kms_even_with_an_endpoint_configured(
    kms: Any, aws_env: dict[str, str], run_cli: RunCli
) -> None:
    server_key = create_key(kms, "alias/on-the-server")

    result = run_cli("keys", "--demo", env=aws_env)  # aws_env sets AWS_ENDPOINT_URL

    assert_exit(result, 0)
    assert "demo: an in-memory KMS for account 111122223333" in result.stderr
    assert "alias/orders" in result.stdout
    assert "alias/aws/s3" in result.stdout
    assert "arn:aws:kms:us-west-2:111122223333:key/" in result.stdout
    assert server_key["KeyId"] not in result.stdout
    assert "alias/on-the-server" not in result.stdout
